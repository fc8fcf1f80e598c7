package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
)

// Fresh runs (peers/PROTOCOL.md, "Processes"): each counted run of a row is a new
// process of this program, started with the peer's own flags and --one-run, which does
// the row's warm-ups and then the one counted run, prints the row and exits. No row's
// run then inherits the heap, the GC's pacing or the goroutine stacks that another row
// (or an earlier run) left behind, as a benchmark tool runs each command afresh.

// session is how this process measures: set once from the common flags.
var session struct {
	// fresh: counted runs in new processes (--peer-process fresh, the default).
	fresh bool
	// oneRun: the key of the row this process is a fresh run of ("" when it is not).
	oneRun string
	// prior: the counted samples of that row's earlier fresh runs (--prior-samples).
	prior []float64
	// experiment and flags: how this process was started, for the fresh runs.
	experiment string
	flags      map[string]string
	runs       int
}

// ownProcess lists the experiments whose every run already is a child process of its
// own (the child is what they measure): their runs are not wrapped in fresh runs again.
var ownProcess = map[string]bool{"spawn": true, "waitgroup": true}

// freshRunFlags are the flags a fresh run gets from its parent, not from the peer's own
// command line.
var freshRunFlags = map[string]bool{
	"runs": true, "skip-over": true, "technique": true, "peer-process": true,
	"one-run": true, "prior-samples": true,
}

// rowKey is a row's identity across processes: its technique and params as JSON (map
// keys sorted), which tells a fresh run which row to compute.
func rowKey(r *Row) string {
	b, err := json.Marshal([]interface{}{r.Technique, r.Params})
	if err != nil {
		return r.Technique
	}
	return string(b)
}

// runFresh fills r from session.runs fresh runs, one after another. Each run gets the
// samples of the runs before it, so the last run's process prints the whole row (its
// values from its own run, its samples all of them); r is that row with the largest
// run's peak memory and every run's pid. A run that fails is the row's error.
func runFresh(r *Row) {
	key := rowKey(r)
	var last *Row
	var prior []float64
	var peak *int64
	var method *string
	pids := []int{}
	for i := 0; i < session.runs; i++ {
		got, pid, err := freshRun(r, key, prior)
		if err != nil {
			r.fail(fmt.Errorf("run %d: %v", i+1, err))
			return
		}
		if got.Status != "ok" || len(got.SamplesS) == 0 {
			// A failed run says which run it was; a row without runs is whole at once.
			*r = *got
			return
		}
		if len(got.SamplesS) != len(prior)+1 {
			r.fail(fmt.Errorf("run %d: its process returned %d samples, expected %d", i+1, len(got.SamplesS), len(prior)+1))
			return
		}
		prior, last = got.SamplesS, got
		pids = append(pids, pid)
		if got.PeakRSSBytes != nil && (peak == nil || *got.PeakRSSBytes > *peak) {
			peak, method = got.PeakRSSBytes, got.MemoryMethod
		}
	}
	*r = *last
	r.PeakRSSBytes, r.MemoryMethod = peak, method
	if r.Extra == nil {
		r.Extra = obj{}
	}
	r.Extra["run_pids"] = pids
}

// freshRun starts one fresh run of the row with this key and reads the row it prints.
// The child stays in this process's group (parlab kills the group) and dies with this
// process (dieWithParent).
func freshRun(r *Row, key string, prior []float64) (*Row, int, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, 0, err
	}
	argv := []string{session.experiment}
	names := make([]string, 0, len(session.flags))
	for name := range session.flags {
		if !freshRunFlags[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		argv = append(argv, "--"+name+"="+session.flags[name])
	}
	texts := make([]string, len(prior))
	for i, s := range prior {
		texts[i] = strconv.FormatFloat(s, 'g', -1, 64)
	}
	argv = append(argv, "--technique", r.Technique, "--runs", "1", "--skip-over", "0",
		"--peer-process", "shared", "--one-run", key)
	if len(texts) > 0 {
		argv = append(argv, "--prior-samples", strings.Join(texts, ","))
	}
	var out bytes.Buffer
	cmd := exec.Command(exe, argv...)
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	pid := cmd.Process.Pid
	if err := cmd.Wait(); err != nil {
		return nil, pid, fmt.Errorf("its process: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	dec := json.NewDecoder(strings.NewReader(lines[len(lines)-1]))
	// Numbers stay as written, so params and extra come back exactly.
	dec.UseNumber()
	var got Row
	if err := dec.Decode(&got); err != nil {
		return nil, pid, fmt.Errorf("its process printed %q: %v", oneLine(out.String()), err)
	}
	if rowKey(&got) != key {
		return nil, pid, fmt.Errorf("its process printed another row (%s)", got.Technique)
	}
	return &got, pid, nil
}

// readSessionFlags reads the flags of fresh runs: --peer-process fresh|shared (every
// experiment), and the hidden --one-run and --prior-samples a fresh run is started with.
func (a *args) readSessionFlags(c common) {
	mode, given := a.get("peer-process")
	if !given {
		mode = "fresh"
	}
	if mode != "fresh" && mode != "shared" {
		a.bad("peer-process", mode, "expected fresh or shared")
	}
	oneRun, _ := a.get("one-run")
	session.oneRun = oneRun
	session.fresh = mode == "fresh" && oneRun == ""
	session.prior = nil
	if text, ok := a.get("prior-samples"); ok && strings.TrimSpace(text) != "" {
		for _, item := range strings.Split(text, ",") {
			f, err := strconv.ParseFloat(strings.TrimSpace(item), 64)
			if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
				a.bad("prior-samples", text, "expected seconds, comma-separated")
			}
			session.prior = append(session.prior, f)
		}
	}
	session.experiment, session.flags, session.runs = a.experiment, a.raw, c.runs
}
