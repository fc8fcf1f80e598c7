package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// spawn (§3.2): N goroutines alive at once, then released and joined; what each costs
// in time and memory. Every run is a fresh child process, so one run's goroutine stacks
// (which the runtime keeps for reuse) never count in another's memory.
//
// Bytes per unit are measured as parlab and the Python peer measure them
// (peers/PROTOCOL.md, spawn): the child resets its peak resident memory, reads its
// resident memory as the baseline, runs the goroutines, and after they were joined
// reads the peak; (peak - baseline) / N. A snapshot while they are alive would differ
// from the other languages' figure by whatever the runtime touched and gave back.

const spawnChildCmd = "__spawn-child"

// The row's extra.method: how the growth was measured, the same names in every language.
const (
	peakMinusBaseline         = "peak-minus-baseline"
	lifetimePeakMinusBaseline = "lifetime-peak-minus-baseline"
)

// spawnReport is what a child measured, printed as its one stdout line.
type spawnReport struct {
	Units     int64   `json:"units"`
	Ran       int64   `json:"ran"`
	BaselineB int64   `json:"baseline_rss_bytes"`
	PeakB     int64   `json:"peak_rss_bytes"`
	PeakReset bool    `json:"peak_reset"`
	SpawnS    float64 `json:"spawn_s"`
	AliveS    float64 `json:"alive_s"`
	JoinS     float64 `json:"join_s"`
	PeakRSSB  int64   `json:"-"`
}

// method names how rep's growth was measured.
func (rep spawnReport) method() string {
	if rep.PeakReset {
		return peakMinusBaseline
	}
	return lifetimePeakMinusBaseline
}

// spawnChild is the child side: PEER __spawn-child N.
func spawnChild(argv []string) {
	if len(argv) != 1 {
		usageError(spawnChildCmd + " takes the number of goroutines")
	}
	n, err := strconv.ParseInt(argv[0], 10, 64)
	if err != nil || n < 1 {
		usageError(spawnChildCmd + ": bad goroutine count " + argv[0])
	}
	// Start from a settled heap so the baseline is what the process needs without them;
	// the peak is reset just before the baseline is read, so it starts there.
	runtime.GC()
	debug.FreeOSMemory()
	reset := resetPeakRSS()
	baseline, err := statusBytes("VmRSS:")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	release := make(chan struct{})
	var alive, done sync.WaitGroup
	var ran int64
	alive.Add(int(n))
	done.Add(int(n))
	t0 := time.Now()
	for i := int64(0); i < n; i++ {
		go func() {
			alive.Done()
			<-release // every goroutine blocks on the one shared release
			atomic.AddInt64(&ran, 1)
			done.Done()
		}()
	}
	spawnS := time.Since(t0).Seconds()
	alive.Wait()
	aliveS := time.Since(t0).Seconds()
	t1 := time.Now()
	close(release)
	done.Wait()
	joinS := time.Since(t1).Seconds()
	// The peak is a high-water mark: read after the join, it holds the moment all were alive.
	peak, err := statusBytes("VmHWM:")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rep := spawnReport{Units: n, Ran: atomic.LoadInt64(&ran), BaselineB: baseline, PeakB: peak, PeakReset: reset, SpawnS: spawnS, AliveS: aliveS, JoinS: joinS}
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		os.Exit(1)
	}
}

// spawnTrialUnits is how many goroutines the trial that estimates a row spawns.
const spawnTrialUnits = 20000

// spawnAndJoin is a row's work without its child process and memory reads: n
// goroutines that block on one release, released and joined.
func spawnAndJoin(n int64) {
	release := make(chan struct{})
	var done sync.WaitGroup
	done.Add(int(n))
	for i := int64(0); i < n; i++ {
		go func() {
			<-release
			done.Done()
		}()
	}
	close(release)
	done.Wait()
}

// spawnOnce runs one child and reads its report.
func spawnOnce(n int64) (spawnReport, error) {
	exe, err := os.Executable()
	if err != nil {
		return spawnReport{}, err
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(exe, spawnChildCmd, strconv.FormatInt(n, 10))
	cmd.Stdout, cmd.Stderr = &out, &errOut
	dieWithParent(cmd)
	if err := cmd.Run(); err != nil {
		return spawnReport{}, fmt.Errorf("child process: %v: %s", err, oneLine(errOut.String()))
	}
	var rep spawnReport
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &rep); err != nil {
		return spawnReport{}, fmt.Errorf("child report %q: %v", out.String(), err)
	}
	rep.PeakRSSB = childPeakRSS(cmd.ProcessState)
	return rep, nil
}

func runSpawn(a *args) {
	c := a.common([]string{"goroutines"})
	n := a.number("tasks", 100000, 1, 100000000)
	// The Python peer's thread count; this peer has no threads row.
	a.number("threads", 1, 1, 100000000)
	a.finish()

	for _, t := range c.techniques {
		row := newRow("spawn", t, obj{"units": n, "stack": "default"})
		if c.estimating() && skipRow(row, c.tooLong(scaledTrial(n, spawnTrialUnits, spawnAndJoin), fmt.Sprintf(" from %d goroutines spawned in a trial", spawnTrialUnits))) {
			continue
		}
		runRow(row, func(r *Row) error {
			var peak int64
			samples, last, err := measureOwn(c, func() (spawnReport, float64, error) {
				rep, err := spawnOnce(n)
				if rep.PeakRSSB > peak {
					peak = rep.PeakRSSB
				}
				// From the first spawn to all joined.
				return rep, rep.AliveS + rep.JoinS, err
			}, func(rep spawnReport) error {
				if rep.Units != n || rep.Ran != n {
					return fmt.Errorf("%d of %d goroutines ran", rep.Ran, n)
				}
				return nil
			})
			if err != nil {
				return err
			}
			r.succeedWithPeak(samples, peak)
			// The peak started at the baseline, so the growth is never below zero.
			growth := last.PeakB - last.BaselineB
			if growth < 0 {
				growth = 0
			}
			r.Extra = obj{
				"spawn_s":            last.SpawnS,
				"alive_s":            last.AliveS,
				"join_s":             last.JoinS,
				"spawn_ns_per_unit":  last.SpawnS * 1e9 / float64(n),
				"bytes_per_unit":     float64(growth) / float64(n),
				"growth_bytes":       growth,
				"baseline_rss_bytes": last.BaselineB,
				"method":             last.method(),
			}
			r.Lines = []string{fmt.Sprintf("%d goroutines alive at once: %.0f bytes (%s) and %.0f ns each to start; all alive after %.3fs, released and joined in %.3fs",
				n, float64(growth)/float64(n), last.method(), last.SpawnS*1e9/float64(n), last.AliveS, last.JoinS)}
			return nil
		})
	}
}
