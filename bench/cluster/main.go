// Command cluster runs one JetStream server of a local cluster on
// 127.0.0.1 until interrupted (bench/cluster.sh starts three and kills and
// restarts them one at a time); "cluster check" compares the events a
// cluster stored with those it acknowledged.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"grouprank/data/jetstream/jstest"
	"grouprank/data/parquetio"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "check" {
		os.Exit(check(os.Args[2:]))
	}
	index := flag.Int("index", 0, "this member's position in --routes")
	port := flag.Int("port", 4222, "client port")
	routes := flag.String("routes", "6222,6223,6224", "every member's route port, comma-separated")
	dir := flag.String("store", "js", "JetStream store directory")
	flag.Parse()
	var ports []int
	for _, f := range strings.Split(*routes, ",") {
		p, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			fmt.Fprintln(os.Stderr, "cluster: --routes:", err)
			os.Exit(2)
		}
		ports = append(ports, p)
	}
	if *index < 0 || *index >= len(ports) {
		fmt.Fprintln(os.Stderr, "cluster: --index must name one of --routes")
		os.Exit(2)
	}
	s, err := jstest.Member(*index, *port, ports, *dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("nats://127.0.0.1:%d ready\n", *port)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	s.Shutdown()
	s.WaitForShutdown()
}

// check reads an events export (--events) and the ids acknowledged
// (--acked, one per line) and prints how many acknowledged ids are missing
// and how many ids are stored more than once; it fails unless both are 0.
func check(args []string) int {
	fs := flag.NewFlagSet("check", flag.ExitOnError)
	events := fs.String("events", "events.parquet", "grouprank events export output")
	acked := fs.String("acked", "acked", "acknowledged event ids, one per line")
	fs.Parse(args)
	evs, err := parquetio.ReadFile(*events, parquetio.Events)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	stored := map[string]int{}
	for _, e := range evs {
		stored[e.ID]++
	}
	b, err := os.ReadFile(*acked)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ids := map[string]bool{}
	for _, id := range strings.Fields(string(b)) {
		ids[id] = true
	}
	lost, dup := 0, 0
	for id := range ids {
		if stored[id] == 0 {
			lost++
		}
	}
	for _, n := range stored {
		if n > 1 {
			dup++
		}
	}
	fmt.Printf("%d %d %d %d\n", len(ids), len(stored), lost, dup)
	if lost > 0 || dup > 0 {
		return 1
	}
	return 0
}
