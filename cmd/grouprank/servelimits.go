package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"grouprank/data"
)

// connLimits bound what one client can hold of the server: the time to send
// a request and to take an answer, an idle keep-alive, and the connections
// open at once.
type connLimits struct {
	read, write, idle time.Duration
	conns             int
}

var defaultConnLimits = connLimits{read: 15 * time.Second, write: 30 * time.Second, idle: 60 * time.Second, conns: 4096}

// server is the HTTP server of h with the limits (zero fields: the defaults).
func (l connLimits) server(h http.Handler) *http.Server {
	d := defaultConnLimits
	for _, f := range []struct{ v, def *time.Duration }{{&l.read, &d.read}, {&l.write, &d.write}, {&l.idle, &d.idle}} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return &http.Server{Handler: h, ReadHeaderTimeout: min(5*time.Second, l.read), ReadTimeout: l.read, WriteTimeout: l.write, IdleTimeout: l.idle}
}

// parseAPIKeys reads "app:key,app:key".
func parseAPIKeys(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		app, key, ok := strings.Cut(pair, ":")
		if !ok || app == "" || len(key) < 8 {
			return nil, fmt.Errorf("--api-keys: %q: want app:key with a key of at least 8 characters", pair)
		}
		out[app] = key
	}
	return out, nil
}

// loopback reports whether addr (host:port) listens on this machine only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// flags registers the limits' flags, their current values the defaults.
func (l *connLimits) flags(fs *pflag.FlagSet) {
	fs.DurationVar(&l.read, "read-timeout", l.read, "a request, its body included, must arrive within this (slow clients are cut off)")
	fs.DurationVar(&l.write, "write-timeout", l.write, "an answer must be written within this (clients that do not read are cut off)")
	fs.DurationVar(&l.idle, "idle-timeout", l.idle, "a kept-alive connection is closed after this long without a request")
	fs.IntVar(&l.conns, "max-conns", l.conns, "connections open at once; more wait to be accepted")
}

// check refuses a timeout that is not positive, naming its flag.
func (l connLimits) check() error {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"read-timeout", l.read}, {"write-timeout", l.write}, {"idle-timeout", l.idle}} {
		if f.d <= 0 {
			return fmt.Errorf("--%s %s: want a duration > 0: %w", f.name, f.d, data.ErrInvalid)
		}
	}
	return nil
}
