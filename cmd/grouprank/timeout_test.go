package main

import (
	"bufio"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSlowClientsCutOff: a client that sends its body slowly, one that
// sends half its headers, and an idle keep-alive are all cut off within the
// configured timeouts.
func TestSlowClientsCutOff(t *testing.T) {
	dir, _, root := published(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := startServe(t, ctx, nil, "--root", root, "--addr", "127.0.0.1:0", "--live", filepath.Join(dir, "live"),
		"--read-timeout", "1s", "--write-timeout", "2s", "--idle-timeout", "1s")
	addr := strings.TrimPrefix(base, "http://")
	for _, c := range []struct{ name, send string }{
		{"a slow body", "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"events\":["},
		{"half the headers", "GET /healthz HTTP/1.1\r\nHost: x\r\n"},
		{"an idle keep-alive", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			t0 := time.Now()
			if _, err := conn.Write([]byte(c.send)); err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			rd := bufio.NewReader(conn)
			var got strings.Builder
			for { // read until the server closes the connection
				line, err := rd.ReadString('\n')
				got.WriteString(line)
				if err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						t.Fatalf("still open after 10 s; read %q", got.String())
					}
					break
				}
			}
			if took := time.Since(t0); took > 4*time.Second {
				t.Errorf("cut off after %s, want within the 1 s timeouts (and a little)", took)
			}
			if c.name == "an idle keep-alive" && !strings.Contains(got.String(), "200 OK") {
				t.Errorf("the request before going idle was not answered: %q", got.String())
			}
		})
	}
	cancel()
	<-done
}
