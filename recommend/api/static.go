package api

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
)

// staticFiles serves the dashboard's embedded files, each compressed once
// (gzip, when the client accepts it) and tagged with its hash for caching.
type staticFiles struct {
	fsys  fs.FS
	mu    sync.Mutex
	files map[string]*staticFile
}

type staticFile struct {
	raw, gz []byte
	etag    string
	ctype   string
}

func newStaticFiles(fsys fs.FS) *staticFiles {
	return &staticFiles{fsys: fsys, files: map[string]*staticFile{}}
}

// get reads name once; fs.ErrNotExist for a missing file or a directory.
func (s *staticFiles) get(name string) (*staticFile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.files[name]; ok {
		return f, nil
	}
	raw, err := fs.ReadFile(s.fsys, name)
	if err != nil {
		return nil, fs.ErrNotExist
	}
	f := &staticFile{raw: raw, ctype: mime.TypeByExtension(path.Ext(name))}
	if f.ctype == "" {
		f.ctype = http.DetectContentType(raw)
	}
	h := sha256.Sum256(raw)
	f.etag = `"` + hex.EncodeToString(h[:8]) + `"`
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(raw)
	zw.Close()
	if b.Len() < len(raw) {
		f.gz = b.Bytes()
	}
	s.files[name] = f
	return f, nil
}

// uiRedirect sends /ui to /ui/ (the pages' relative links need the slash).
func (s *server) uiRedirect() gin.HandlerFunc {
	return func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/ui/") }
}

// uiFile is GET /ui/{file}: the dashboard (index.html for /ui/).
func (s *server) uiFile() gin.HandlerFunc {
	return func(c *gin.Context) {
		name := strings.TrimPrefix(path.Clean(c.Param("file")), "/")
		if name == "" || name == "." {
			name = "index.html"
		}
		f, err := s.static.get(name)
		if errors.Is(err, fs.ErrNotExist) {
			writeError(c, http.StatusNotFound, errors.New("no such dashboard file: "+name))
			return
		}
		h := c.Writer.Header()
		// the page holds the admin token: no framing, scripts from the service alone
		h.Set("Content-Security-Policy", dashboardCSP)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("ETag", f.etag)
		h.Set("Cache-Control", "no-cache") // revalidate: the ETag makes it a 304 when unchanged
		h.Set("Vary", "Accept-Encoding")
		if c.GetHeader("If-None-Match") == f.etag {
			c.Status(http.StatusNotModified)
			return
		}
		body := f.raw
		if f.gz != nil && strings.Contains(c.GetHeader("Accept-Encoding"), "gzip") {
			h.Set("Content-Encoding", "gzip")
			body = f.gz
		}
		c.Data(http.StatusOK, f.ctype, body)
	}
}

// dashboardCSP allows the dashboard's own scripts, styles (ECharts sets
// inline styles), images and API calls, and nothing else: no inline or
// foreign script, no framing, no form posted elsewhere.
const dashboardCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
