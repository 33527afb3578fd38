package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

// k8sObject is the part of a Kubernetes manifest the test reads.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Resources []string `yaml:"resources"`
	Spec      struct {
		Replicas    int     `yaml:"replicas"`
		Template    podTmpl `yaml:"template"`
		JobTemplate struct {
			Spec struct {
				Template podTmpl `yaml:"template"`
			} `yaml:"spec"`
		} `yaml:"jobTemplate"`
	} `yaml:"spec"`
}

type podTmpl struct {
	Spec struct {
		InitContainers []k8sContainer `yaml:"initContainers"`
		Containers     []k8sContainer `yaml:"containers"`
	} `yaml:"spec"`
}

type k8sContainer struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Env   []struct {
		Name string `yaml:"name"`
	} `yaml:"env"`
	ReadinessProbe *struct {
		HTTPGet struct {
			Path string `yaml:"path"`
		} `yaml:"httpGet"`
	} `yaml:"readinessProbe"`
}

// TestDeployManifests: deploy/kubernetes parses, kustomization names every
// manifest, and every grouprank container's arguments and GROUPRANK_*
// variables are flags its command has (a renamed flag breaks this test, not
// a deployment); serve is ready on /readyz and keeps as many copies as there
// are NATS servers.
func TestDeployManifests(t *testing.T) {
	dir := filepath.Join("..", "..", "deploy", "kubernetes")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) < 4 {
		t.Fatalf("manifests %v %v", files, err)
	}
	var objs []k8sObject
	var kust *k8sObject
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		for {
			var o k8sObject
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o.Kind == "" || o.APIVersion == "" {
				t.Fatalf("%s: a document without kind or apiVersion", f)
			}
			if o.Kind == "Kustomization" {
				kust = &o
				continue
			}
			if o.Metadata.Name == "" {
				t.Errorf("%s: a %s without a name", f, o.Kind)
			}
			objs = append(objs, o)
		}
	}
	if kust == nil {
		t.Fatal("no kustomization.yaml")
	}
	for _, f := range files {
		if n := filepath.Base(f); n != "kustomization.yaml" && !slices.Contains(kust.Resources, n) {
			t.Errorf("kustomization.yaml does not list %s", n)
		}
	}
	natsServers, serveReplicas, checked := 0, "", 0
	for _, o := range objs {
		pods := []podTmpl{o.Spec.Template, o.Spec.JobTemplate.Spec.Template}
		if o.Kind == "StatefulSet" && o.Metadata.Name == "nats" {
			natsServers = o.Spec.Replicas
		}
		for _, p := range pods {
			for _, c := range append(p.Spec.InitContainers, p.Spec.Containers...) {
				if c.Image != "grouprank" {
					continue
				}
				checked++
				name := o.Metadata.Name + "/" + c.Name
				root := newRoot(&env{getenv: func(string) string { return "" }, stdout: io.Discard, stderr: io.Discard})
				args := make([]string, len(c.Args))
				for k, a := range c.Args {
					args[k] = strings.NewReplacer("$(VERSION)", "v1", "$(JOB_COMPLETION_INDEX)", "0", "$(JOB_UID)", "uid").Replace(a)
				}
				cmd, rest, err := root.Find(args)
				if err != nil || cmd == root {
					t.Errorf("%s: %v is no command (%v)", name, args, err)
					continue
				}
				if err := cmd.ParseFlags(rest); err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
					t.Errorf("%s: %v", name, err)
				}
				if f := cmd.Flags().Lookup("shard"); f != nil {
					if _, err := parseShard(f.Value.String()); err != nil {
						t.Errorf("%s: %v", name, err)
					}
				}
				if f := cmd.Flags().Lookup("at"); f != nil && cmd.Name() == "picks" {
					if _, err := parseAt(f.Value.String(), time.Now()); err != nil {
						t.Errorf("%s: %v", name, err)
					}
				}
				prefix := "GROUPRANK_" + strings.ToUpper(strings.ReplaceAll(strings.TrimPrefix(cmd.CommandPath(), "grouprank "), " ", "_")) + "_"
				for _, v := range c.Env {
					if f, ok := strings.CutPrefix(v.Name, prefix); ok {
						if cmd.Flags().Lookup(strings.ToLower(strings.ReplaceAll(f, "_", "-"))) == nil {
							t.Errorf("%s: %s names no flag of %s", name, v.Name, cmd.CommandPath())
						}
					} else if strings.HasPrefix(v.Name, "GROUPRANK_") {
						t.Errorf("%s: %s is not a variable of %s", name, v.Name, cmd.CommandPath())
					}
				}
				if cmd.Name() == "serve" {
					serveReplicas = cmd.Flags().Lookup("nats-replicas").Value.String()
					if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
						t.Errorf("%s: readiness is not /readyz", name)
					}
					if d := cmd.Flags().Lookup("drain"); d == nil || d.Value.String() == "0s" {
						t.Errorf("%s: serve does not drain before it stops", name)
					}
				}
			}
		}
	}
	if checked < 3 || natsServers != 3 || serveReplicas != "3" {
		t.Errorf("%d grouprank containers checked; %d NATS servers, serve --nats-replicas %s", checked, natsServers, serveReplicas)
	}
}
