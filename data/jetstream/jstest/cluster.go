// Package jstest runs real NATS JetStream servers in-process on loopback:
// one, or a cluster of three that replicates every stream and bucket. Tests
// and the local cluster script use it; the service never does (it connects
// to servers it is given).
package jstest

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Cluster is a set of JetStream servers on 127.0.0.1, clustered when more
// than one.
type Cluster struct {
	Servers []*server.Server
	opts    []*server.Options
}

// Start starts n servers (1, or 3 for a replicated cluster) with their
// stores under dir and waits until they serve clients and JetStream.
func Start(dir string, n int) (*Cluster, error) {
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	c := &Cluster{}
	var routes []*url.URL
	for k := range n {
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", ports[n+k])})
	}
	for k := range n {
		o := &server.Options{ServerName: fmt.Sprintf("gr-%d", k), Host: "127.0.0.1", Port: ports[k], JetStream: true,
			StoreDir: filepath.Join(dir, fmt.Sprintf("js-%d", k)), NoLog: true, NoSigs: true,
			JetStreamMaxMemory: 64 << 20, JetStreamMaxStore: 4 << 30}
		if n > 1 {
			o.Cluster = server.ClusterOpts{Name: "grouprank", Host: "127.0.0.1", Port: ports[n+k]}
			o.Routes = routes
		}
		c.opts = append(c.opts, o)
	}
	for k := range n {
		if err := c.start(k); err != nil {
			c.Shutdown()
			return nil, err
		}
	}
	return c, c.waitReady(30 * time.Second)
}

func (c *Cluster) start(k int) error {
	s, err := server.NewServer(c.opts[k])
	if err != nil {
		return fmt.Errorf("jstest: server %d: %w", k, err)
	}
	go s.Start()
	if !s.ReadyForConnections(20 * time.Second) {
		return fmt.Errorf("jstest: server %d did not start", k)
	}
	if k < len(c.Servers) {
		c.Servers[k] = s
	} else {
		c.Servers = append(c.Servers, s)
	}
	return nil
}

// waitReady waits until JetStream has a meta leader (every server agrees).
func (c *Cluster) waitReady(d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		ok := true
		for _, s := range c.Servers {
			if s == nil || !s.Running() {
				continue
			}
			if !s.JetStreamEnabled() || (len(c.Servers) > 1 && !s.JetStreamIsCurrent()) {
				ok = false
			}
		}
		if ok {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("jstest: JetStream not ready after %s", d)
}

// URL is the client URL of every server, comma-separated (nats.Connect's form).
func (c *Cluster) URL() string {
	var us []string
	for _, o := range c.opts {
		us = append(us, fmt.Sprintf("nats://127.0.0.1:%d", o.Port))
	}
	return strings.Join(us, ",")
}

// Kill stops server k at once (its store stays on disk).
func (c *Cluster) Kill(k int) {
	c.Servers[k].Shutdown()
	c.Servers[k].WaitForShutdown()
}

// Restart starts server k again on its ports and store, and waits for the
// cluster to agree again.
func (c *Cluster) Restart(k int) error {
	if err := c.start(k); err != nil {
		return err
	}
	return c.waitReady(30 * time.Second)
}

// Member starts one server of a cluster whose members listen for routes on
// routePorts (this one on routePorts[index]), serving clients on port, its
// store in dir: a cluster of separate processes, which the local cluster
// script kills and restarts one at a time.
func Member(index, port int, routePorts []int, dir string) (*server.Server, error) {
	var routes []*url.URL
	for _, p := range routePorts {
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	o := &server.Options{ServerName: fmt.Sprintf("gr-%d", index), Host: "127.0.0.1", Port: port, JetStream: true,
		StoreDir: dir, NoLog: true, NoSigs: true, JetStreamMaxMemory: 64 << 20, JetStreamMaxStore: 4 << 30,
		Cluster: server.ClusterOpts{Name: "grouprank", Host: "127.0.0.1", Port: routePorts[index]}, Routes: routes}
	s, err := server.NewServer(o)
	if err != nil {
		return nil, fmt.Errorf("jstest: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(20 * time.Second) {
		return nil, fmt.Errorf("jstest: server %d did not start", index)
	}
	return s, nil
}

// Shutdown stops every server.
func (c *Cluster) Shutdown() {
	for _, s := range c.Servers {
		if s != nil {
			s.Shutdown()
			s.WaitForShutdown()
		}
	}
}

// freePorts finds n ports free on 127.0.0.1 (by listening on port 0; a
// port could be taken again before the server binds it, which the tests'
// callers would see as a start error).
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("jstest: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
