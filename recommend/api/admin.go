package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// Admin changes which model is in service; the service swaps it in
// atomically, without dropping a request.
type Admin interface {
	Promote(ctx context.Context, version string) (string, error)
	Rollback(ctx context.Context) (string, error)
	Reload(ctx context.Context) (string, error)
}

// requireToken lets a request through only with "Authorization: Bearer
// <token>" matching the configured token (compared in constant time).
func (s *server) requireToken() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.deps.AdminToken == "" || s.deps.Admin == nil {
			writeError(c, http.StatusForbidden, errors.New("admin routes are disabled: the service has no admin token"))
			return
		}
		scheme, got, _ := strings.Cut(c.GetHeader("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.deps.AdminToken)) != 1 { // schemes are case-insensitive (RFC 9110)
			c.Header("WWW-Authenticate", `Bearer realm="grouprank admin"`)
			writeError(c, http.StatusUnauthorized, errors.New("admin routes need a valid bearer token"))
			return
		}
		c.Next()
	}
}

// modelChange runs one admin action and answers with the version now in service.
func (s *server) modelChange(do func(c *gin.Context) (string, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		v, err := do(c)
		if err != nil {
			writeError(c, 0, err)
			return
		}
		s.render(c, http.StatusOK, gin.H{"model_version": v})
	}
}

func (s *server) promote() gin.HandlerFunc {
	return s.modelChange(func(c *gin.Context) (string, error) {
		return s.deps.Admin.Promote(c.Request.Context(), c.Param("version"))
	})
}

func (s *server) rollback() gin.HandlerFunc {
	return s.modelChange(func(c *gin.Context) (string, error) { return s.deps.Admin.Rollback(c.Request.Context()) })
}

func (s *server) reload() gin.HandlerFunc {
	return s.modelChange(func(c *gin.Context) (string, error) { return s.deps.Admin.Reload(c.Request.Context()) })
}

// requireAPIKey lets picks and events through only with an X-API-Key header
// naming one of the configured apps' keys (compared in constant time); with
// no keys configured the routes are open.
func (s *server) requireAPIKey() gin.HandlerFunc {
	return func(c *gin.Context) {
		if len(s.deps.APIKeys) == 0 {
			c.Next()
			return
		}
		got := []byte(c.GetHeader("X-API-Key"))
		app := ""
		for name, key := range s.deps.APIKeys {
			if subtle.ConstantTimeCompare(got, []byte(key)) == 1 {
				app = name
			}
		}
		if app == "" {
			writeError(c, http.StatusUnauthorized, errors.New("this route needs a valid X-API-Key"))
			return
		}
		c.Set("app", app)
		c.Next()
	}
}
