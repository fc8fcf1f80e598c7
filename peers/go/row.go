package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// obj is a JSON object of params or extra values.
type obj map[string]interface{}

// Row is one protocol row: exactly the keys parlab's runner accepts.
type Row struct {
	Experiment   string    `json:"experiment"`
	Language     string    `json:"language"`
	Technique    string    `json:"technique"`
	Params       obj       `json:"params"`
	Status       string    `json:"status"`
	Message      *string   `json:"message"`
	SamplesS     []float64 `json:"samples_s"`
	Validated    bool      `json:"validated"`
	PeakRSSBytes *int64    `json:"peak_rss_bytes"`
	MemoryMethod *string   `json:"memory_method"`
	Extra        obj       `json:"extra"`
	Events       []Event   `json:"events,omitempty"`
	Lines        []string  `json:"lines,omitempty"`
}

// Event is one moment of a row's last run, t_s from the start of that run.
type Event struct {
	TS    float64 `json:"t_s"`
	Lane  string  `json:"lane"`
	Kind  string  `json:"kind"`
	Label string  `json:"label"`
}

func event(t time.Duration, lane, kind, label string) Event {
	return Event{TS: nonNegative(t.Seconds()), Lane: lane, Kind: kind, Label: label}
}

func sortEvents(events []Event) {
	sort.SliceStable(events, func(i, j int) bool { return events[i].TS < events[j].TS })
}

func newRow(experiment, technique string, params obj) *Row {
	return &Row{
		Experiment: experiment,
		Language:   "go",
		Technique:  technique,
		Params:     params,
		Status:     "ok",
		SamplesS:   []float64{},
		Extra:      obj{},
	}
}

// succeed marks the row measured: every run was checked, so it is validated. Its peak
// memory is what measure saw of its runs, unless the row set one (succeedWithPeak).
func (r *Row) succeed(samples []float64) {
	r.Status = "ok"
	r.Message = nil
	r.SamplesS = samples
	r.Validated = true
	if r.PeakRSSBytes == nil {
		r.PeakRSSBytes, r.MemoryMethod = rowPeak()
	}
}

func (r *Row) fail(err error) {
	msg := oneLine(err.Error())
	r.Status = "error"
	r.Message = &msg
	r.SamplesS = []float64{}
	r.Validated = false
}

func (r *Row) skip(why string) {
	msg := oneLine(why)
	r.Status = "skipped"
	r.Message = &msg
	r.SamplesS = []float64{}
	r.Validated = false
	r.PeakRSSBytes = nil
	r.MemoryMethod = nil
}

// runRow fills a row with body and prints it. An error or a panic in body becomes an
// error row, and the program goes on with the next row.
//
// With fresh runs (the default, fresh.go) the row's counted runs are each a new process
// of this program, and body runs there; in such a process (--one-run) only the row
// asked for is computed, printed, and the process ends.
func runRow(r *Row, body func(r *Row) error) {
	if session.oneRun != "" {
		if rowKey(r) != session.oneRun {
			return
		}
		runHere(r, body)
		writeJSONLine(r)
		os.Exit(0)
	}
	switch {
	case ownProcess[r.Experiment]:
		runHere(r, body)
	case session.fresh:
		runFresh(r)
	default:
		runHere(r, body)
		// Every run in this one process, as run_pids says.
		if r.Status == "ok" && len(r.SamplesS) > 0 {
			pids := make([]int, len(r.SamplesS))
			for i := range pids {
				pids[i] = os.Getpid()
			}
			r.Extra["run_pids"] = pids
		}
	}
	writeJSONLine(r)
}

// runHere fills a row with body in this process.
func runHere(r *Row, body func(r *Row) error) {
	measured = memoryOfRuns{}
	func() {
		defer func() {
			if p := recover(); p != nil {
				r.fail(fmt.Errorf("panic: %v", p))
				fmt.Fprintf(os.Stderr, "parlab-peer-go: %s/%s panicked: %v\n%s", r.Experiment, r.Technique, p, debug.Stack())
			}
		}()
		if err := body(r); err != nil {
			r.fail(err)
		}
	}()
}

// measure runs warm-up runs (thrown away) and then the counted runs, timing each with
// the monotonic clock and checking each result; the first failing run ends it. The
// result returned is the last run's, a run that failed its check included, so an error
// row can still show what that run saw.
func measure[T any](c common, run func() (T, error), check func(T) error) ([]float64, T, error) {
	return measureOwn(c, func() (T, float64, error) {
		start := time.Now()
		result, err := run()
		return result, time.Since(start).Seconds(), err
	}, check)
}

// measureOwn is measure for runs that time themselves, such as a child process that
// reports how long its part took without its own start-up.
//
// In a fresh run (--one-run) it does the warm-ups and one counted run, and returns the
// counted samples of the runs before it (--prior-samples) with this one's, so the row
// this process prints is the whole row. Elsewhere each run's peak memory is measured
// from a reset of the high-water mark (measured, rowPeak).
func measureOwn[T any](c common, run func() (T, float64, error), check func(T) error) ([]float64, T, error) {
	var last T
	runs, samples := c.runs, make([]float64, 0, c.runs)
	if session.oneRun != "" {
		runs, samples = 1, append(samples, session.prior...)
	}
	before := len(samples)
	for i := 0; i < c.warmup+runs; i++ {
		reset := session.oneRun == "" && resetPeakRSS()
		result, seconds, err := run()
		if reset {
			measured.note(peakSinceReset())
		}
		if err == nil {
			if err = check(result); err != nil {
				last = result
			}
		}
		if err != nil {
			if i < c.warmup {
				err = fmt.Errorf("warm-up run %d: %w", i+1, err)
			} else {
				err = fmt.Errorf("run %d: %w", before+i-c.warmup+1, err)
			}
			return nil, last, err
		}
		last = result
		if i >= c.warmup {
			samples = append(samples, nonNegative(seconds))
		}
	}
	return samples, last, nil
}

func median(samples []float64) float64 {
	if len(samples) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), samples...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// num is a float for JSON, or null where it is not a number (JSON has no NaN).
func num(f float64) interface{} {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return f
}

func nonNegative(f float64) float64 {
	if f < 0 || math.IsNaN(f) {
		return 0
	}
	return f
}

// secs formats seconds as Go prints a float64: the shortest exact form.
func secs(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// How a row's peak_rss_bytes was measured (peers/PROTOCOL.md, "Peak memory"): parlab
// and both peers write the same ids.
const (
	// The peak of the process that ran the run, over that run (a fresh process's whole
	// life, or since the high-water mark was reset), plus the sum of the peaks of the
	// child processes the run started; the row shows its largest run's.
	memoryPerRun = "per-run-peak+children-sum"
	// The same where the mark could not be reset: the process's peak over its life.
	memoryLifetime = "lifetime-peak+children-sum"
)

// memoryOfRuns is what measure saw of the current row's peak memory, run by run.
type memoryOfRuns struct{ peak *int64 }

// measured belongs to the row runHere is filling; rows run one at a time.
var measured memoryOfRuns

func (m *memoryOfRuns) note(peak *int64) {
	if peak != nil && (m.peak == nil || *peak > *m.peak) {
		m.peak = peak
	}
}

// rowPeak is the current row's peak memory and how it was measured: the largest of its
// runs' peaks since each reset; in a fresh run, this process's whole life (it was
// started for the run); elsewhere, where the reset failed, the life of the process.
func rowPeak() (*int64, *string) {
	method := memoryPerRun
	peak := measured.peak
	if peak == nil {
		peak = selfPeakRSS()
		if session.oneRun == "" {
			method = memoryLifetime
		}
	}
	if peak == nil {
		return nil, nil
	}
	return peak, &method
}

// resetPeakRSS lets VmHWM restart from the current RSS (Linux 4.0+), so the next
// reading is one run's peak; false where the kernel refuses.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakSinceReset is VmHWM: the peak resident memory since the last reset.
func peakSinceReset() *int64 {
	b, err := statusBytes("VmHWM:")
	if err != nil {
		return nil
	}
	return &b
}

// selfPeakRSS is this process's peak resident memory (ru_maxrss is in KiB on Linux).
func selfPeakRSS() *int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return nil
	}
	b := int64(ru.Maxrss) * 1024
	return &b
}

// childPeakRSS is a finished child's peak resident memory, from its rusage.
func childPeakRSS(state *os.ProcessState) int64 {
	if state == nil {
		return 0
	}
	if ru, ok := state.SysUsage().(*syscall.Rusage); ok {
		return int64(ru.Maxrss) * 1024
	}
	return 0
}

// vmRSS reads the resident memory now from /proc/self/status.
func vmRSS() (int64, error) { return statusBytes("VmRSS:") }

// statusBytes reads a memory line (VmRSS:, VmHWM:) of /proc/self/status in bytes.
func statusBytes(field string) (int64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field) {
			fields := strings.Fields(line[len(field):])
			if len(fields) >= 1 {
				kb, err := strconv.ParseInt(fields[0], 10, 64)
				if err == nil {
					return kb * 1024, nil
				}
			}
		}
	}
	return 0, errors.New("no " + field + " line in /proc/self/status")
}

// oneLine keeps a message on one line, as stderr and row messages must be.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// sleepUntil sleeps until t0+at: scheduling against the start instead of sleeping back to
// back keeps late wake-ups from adding up.
func sleepUntil(t0 time.Time, at time.Duration) {
	if d := time.Until(t0.Add(at)); d > 0 {
		time.Sleep(d)
	}
}

// busy burns CPU for d without a blocking point, as writing to a terminal costs CPU.
func busy(d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
	}
}

// succeedWithPeak is succeed for rows whose every run is a child process of its own
// (ownProcess): the run's process is the child, so the row's peak memory is the largest
// child's peak (childPeak), as parlab's spawn rows report their child's; the peer's own
// memory is no run's.
func (r *Row) succeedWithPeak(samples []float64, childPeak int64) {
	peak, method := childPeak, memoryPerRun
	r.PeakRSSBytes, r.MemoryMethod = &peak, &method
	r.succeed(samples)
}

// forEach runs one(0)..one(n-1): one after another, or each in its own goroutine,
// waiting for all of them.
func forEach(n int, concurrent bool, one func(int)) {
	if !concurrent {
		for i := 0; i < n; i++ {
			one(i)
		}
		return
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		i := i
		wg.Add(1)
		go func() {
			defer wg.Done()
			one(i)
		}()
	}
	wg.Wait()
}
