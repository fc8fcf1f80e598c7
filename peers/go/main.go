// Command parlab-peer-go is parlab's Go reference program: it runs the Go side of the
// experiments of "N-CS159: parallelism techniques in Python & Go" and prints one JSON
// row per measured configuration, as peers/PROTOCOL.md describes. Standard library only.
//
//	parlab-peer-go version
//	parlab-peer-go EXPERIMENT [--flag value]...
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
)

// defaultGOMAXPROCS is the runtime's own choice, read before any row changes it: the
// sched experiment reports it and every "all cores" technique runs under it.
var defaultGOMAXPROCS = runtime.GOMAXPROCS(0)

// experiments maps each experiment id to the function that parses its flags and prints
// its rows.
var experiments = map[string]func(a *args){
	"count":     runCount,
	"io":        runIO,
	"spawn":     runSpawn,
	"sched":     runSched,
	"waitgroup": runWaitgroup,
	"channel":   runChannel,
	"select":    runSelect,
	"pool":      runPool,
	"pingpong":  runPingpong,
	"advise":    runAdvise,
}

// children are the hidden subcommands a row re-executes this program with, so that
// the measured unit owns a whole process (its memory, or its exit).
var children = map[string]func(argv []string){
	spawnChildCmd:     spawnChild,
	waitgroupChildCmd: waitgroupChild,
}

func main() {
	if len(os.Args) < 2 {
		usageError("usage: parlab-peer-go version | EXPERIMENT [--flag value]...")
	}
	name, rest := os.Args[1], os.Args[2:]
	if name == "version" {
		if len(rest) != 0 {
			usageError("version takes no arguments")
		}
		printVersion()
		return
	}
	if child, ok := children[name]; ok {
		child(rest)
		// Returning from main ends the process at once, running goroutines included:
		// the waitgroup experiment's no-wait child relies on exactly that.
		return
	}
	run, ok := experiments[name]
	if !ok {
		usageError(fmt.Sprintf("unknown experiment '%s'", name))
	}
	run(parseArgs(name, rest))
}

func printVersion() {
	v := struct {
		Language   string `json:"language"`
		Version    string `json:"version"`
		NumCPU     int    `json:"num_cpu"`
		GOMAXPROCS int    `json:"gomaxprocs"`
	}{"go", runtime.Version(), runtime.NumCPU(), defaultGOMAXPROCS}
	writeJSONLine(v)
}

// stdout carries the protocol's JSON lines and nothing else. The encoder writes each
// line with one unbuffered write, so a row is out as soon as it is done.
var stdout = newEncoder()

func newEncoder() *json.Encoder {
	enc := json.NewEncoder(os.Stdout)
	// "DOWN<503>" should read as itself, not as \u003c escapes.
	enc.SetEscapeHTML(false)
	return enc
}

// writeJSONLine prints v as one line. In a fresh run (--one-run) a row other than the
// one asked for is not printed: the parent reads that one row alone.
func writeJSONLine(v interface{}) {
	if r, ok := v.(*Row); ok && session.oneRun != "" && rowKey(r) != session.oneRun {
		return
	}
	if err := stdout.Encode(v); err != nil {
		fmt.Fprintf(os.Stderr, "parlab-peer-go: cannot write a row: %v\n", err)
		os.Exit(1)
	}
}

// usageError reports bad input on one stderr line and exits with the protocol's 2.
func usageError(msg string) {
	fmt.Fprintf(os.Stderr, "parlab-peer-go: %s\n", oneLine(msg))
	os.Exit(2)
}
