package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/json"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// env is how the program reads its environment; tests pass their own.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
	now    func() time.Time // the clock of everything a command dates (records, experiments, versions)
	// memProfile, when --memprofile is given, writes the heap profile as the command ends.
	memProfile func() error
	// stopPeak, when --memprofile-peak is given, stops its sampler.
	stopPeak func() error
}

// run is the whole program: it parses args, loads configuration and runs one command.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdout: stdout, stderr: stderr, now: time.Now}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetContext(ctx)
	defer pprof.StopCPUProfile() // a no-op unless --cpuprofile started one; also when the command fails
	err := root.ExecuteContext(ctx)
	if e.stopPeak != nil {
		if werr := e.stopPeak(); err == nil {
			err = werr
		}
	}
	if e.memProfile != nil {
		if werr := e.memProfile(); err == nil {
			err = werr
		}
	}
	return err
}

// newRoot builds the command tree.
func newRoot(e *env) *cobra.Command {
	getenv, stderr := e.getenv, e.stderr
	var configPath, logFormat, logLevel, cpuProfile, memProfile, peakProfile string
	root := &cobra.Command{
		Use:   "grouprank",
		Short: "Product picks for promoter-run chat groups",
		Long: `grouprank picks products for the chat groups of community commerce: offline jobs
learn each group's taste from its orders and pushes, an online service answers
"top picks for group G" in milliseconds.

Every flag can also come from a JSON config file (--config; sections by command,
e.g. {"gen": {"groups": 100000}}) or from the environment (GROUPRANK_<COMMAND>_<FLAG>,
e.g. GROUPRANK_GEN_GROUPS=100000). Flags given on the command line win, then the
environment, then the file.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			lg, err := newLogger(stderr, logFormat, logLevel)
			if err != nil {
				return err
			}
			e.log = lg
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
			}
			if memProfile != "" {
				e.memProfile = func() error { return writeHeapProfile(memProfile) }
			}
			if peakProfile != "" {
				e.stopPeak = startPeakProfile(peakProfile, 500*time.Millisecond)
			}
			if err := applyConfig(cmd, configPath, getenv); err != nil {
				return err
			}
			return checkFlags(cmd)
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&configPath, "config", getenv("GROUPRANK_CONFIG"), "JSON config file (env GROUPRANK_CONFIG)")
	pf.StringVar(&logFormat, "log-format", "text", "log format on stderr: text or json")
	pf.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	pf.StringVar(&cpuProfile, "cpuprofile", "", "write a Go CPU profile of the command to this file")
	pf.StringVar(&memProfile, "memprofile", "", "write a Go heap profile to this file when the command ends (what is still held then, and every allocation)")
	pf.StringVar(&peakProfile, "memprofile-peak", "", "write a Go heap profile to this file each time the live heap reaches a new high (1/16 above the last written), so that it ends holding what was live at the command's peak")
	root.AddCommand(genCmd(e), importCmd(e), demoCmd(e), evalCmd(e), tuneCmd(e), trainCmd(e), publishCmd(e), modelsCmd(e), serveCmd(e), eventsCmd(e), picksCmd(e), scoreCmd(e), catalogCmd(e), abCmd(e), simulateCmd(e))
	return root
}

// writeHeapProfile writes the heap profile, after a collection, to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// applyConfig fills every flag the command line did not set from the
// environment (GROUPRANK_<COMMAND>_<FLAG>) or else from the config file
// section of the command.
func applyConfig(cmd *cobra.Command, path string, getenv func(string) string) error {
	k := koanf.New(".")
	if path != "" {
		if err := k.Load(file.Provider(path), json.Parser()); err != nil {
			return fmt.Errorf("config %s: %w", path, err)
		}
	}
	section := strings.ReplaceAll(strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" "), " ", ".")
	envPrefix := "GROUPRANK_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(section)) + "_"
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" || f.Name == "config" {
			return
		}
		val, from := "", ""
		if v := getenv(envPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))); v != "" {
			val, from = v, "environment"
		} else if key := section + "." + f.Name; k.Exists(key) {
			val, from = k.String(key), "config file"
		} else {
			return
		}
		if serr := f.Value.Set(val); serr != nil {
			err = fmt.Errorf("--%s from the %s: %w", f.Name, from, serr)
		}
	})
	return err
}

// tookSince is the "took" attribute of a log line: the time since t0, to
// the millisecond (a duration, as the service's request log has it).
func tookSince(t0 time.Time) slog.Attr {
	return slog.Duration("took", time.Since(t0).Round(time.Millisecond))
}
