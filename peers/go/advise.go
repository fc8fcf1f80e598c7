package main

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// advise (parlab advise): the user's own shape of work, the same synthetic tasks
// through every technique: one after another, a goroutine per task, a pool of W.

// adviseTask is one task: CPU steps, then a wait, with a payload in and a result out.
type adviseTask struct {
	index       uint64
	steps       int64
	payload     []byte
	resultBytes int
	wait        time.Duration
	url         string
}

// adviseDone is what a task hands back.
type adviseDone struct {
	checksum uint32
	steps    int64
	cpu      float64
	status   int
	result   []byte
}

// adviseFiller is size bytes of printable text that depend on seed: the seed mixed and
// written as 16 hex digits, repeated; parlab and the Python peer build theirs the same way.
func adviseFiller(seed uint64, size int) []byte {
	unit := []byte(fmt.Sprintf("%016x", seed*0x9E3779B97F4A7C15))
	return bytes.Repeat(unit, size/16+1)[:size]
}

// threadCPU is the CPU time of the calling OS thread (getrusage RUSAGE_THREAD, which
// is 1 on Linux; 0 where there is none). The caller locks its goroutine to the thread.
func threadCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// stepsPerCPUSecond is countdown's rate per second of this thread's CPU time: CPU
// time, not wall time, so a busy machine does not make the tasks burn less.
func stepsPerCPUSecond() float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for n := int64(1 << 16); ; n *= 2 {
		start := threadCPU()
		countSink += countdown(n)
		took := threadCPU() - start
		if took >= 0.05 || n >= 1<<36 {
			return float64(n) / maxFloat(took, 1e-9)
		}
	}
}

func maxFloat(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

// compute is the CPU share of a task on a locked thread: digest the payload, burn
// the steps, build the result.
func (t adviseTask) compute() adviseDone {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := threadCPU()
	sum := crc32.ChecksumIEEE(t.payload)
	left := countdown(t.steps)
	result := adviseFiller(uint64(sum)^t.index, t.resultBytes)
	return adviseDone{checksum: sum, steps: t.steps - left, cpu: threadCPU() - start, result: result}
}

// run is the whole task: the CPU share, then the wait.
func (t adviseTask) run(client *http.Client) adviseDone {
	d := t.compute()
	if t.url == "" {
		time.Sleep(t.wait)
		return d
	}
	resp, err := client.Get(t.url)
	if err != nil {
		return d
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil {
		d.status = resp.StatusCode
	}
	return d
}

// check is nil when d is t's right answer.
func (t adviseTask) check(d adviseDone) error {
	want := crc32.ChecksumIEEE(t.payload)
	switch {
	case d.checksum != want:
		return fmt.Errorf("task %d read a payload with checksum %08x, expected %08x", t.index, d.checksum, want)
	case d.steps != t.steps:
		return fmt.Errorf("task %d counted %d steps of %d", t.index, d.steps, t.steps)
	case !bytes.Equal(d.result, adviseFiller(uint64(want)^t.index, t.resultBytes)):
		return fmt.Errorf("task %d gave a wrong result of %d bytes", t.index, len(d.result))
	case t.url != "" && d.status != 200:
		return fmt.Errorf("task %d's request got %d", t.index, d.status)
	}
	return nil
}

// adviseRun runs every task once with technique on workers: results in task order.
// A fresh HTTP client per run with keep-alives off, so every request is a new
// connection, as in parlab and the Python peer.
func adviseRun(technique string, workers int, tasks []adviseTask) []adviseDone {
	transport := &http.Transport{DisableKeepAlives: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: time.Minute}
	out := make([]adviseDone, len(tasks))
	switch technique {
	case "sequential":
		forEach(len(tasks), false, func(i int) { out[i] = tasks[i].run(client) })
	case "goroutines":
		forEach(len(tasks), true, func(i int) { out[i] = tasks[i].run(client) })
	default: // pool: workers goroutines pulling task indices from one channel
		jobs := make(chan int, len(tasks))
		for i := range tasks {
			jobs <- i
		}
		close(jobs)
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range jobs {
					out[i] = tasks[i].run(client)
				}
			}()
		}
		wg.Wait()
	}
	return out
}

func runAdvise(a *args) {
	c := a.common([]string{"sequential", "goroutines", "pool"})
	cpu := a.seconds("cpu", 0, false)
	wait := a.seconds("wait", 0, false)
	n := int(a.number("tasks", 1, 1, 1000000))
	payload := int(a.number("payload", 0, 0, 1<<40))
	result := int(a.number("result", 0, 0, 1<<40))
	workers := a.intList("workers", "1,2,4", 1, 1024)
	kind := a.choices("wait-kind", "sleep", []string{"sleep", "http"})[0]
	url, _ := a.get("url")
	steps := a.number("steps", -1, -1, 1<<62)
	rate := 0.0
	if text, ok := a.get("steps-per-s"); ok {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			a.bad("steps-per-s", text, "expected a rate above 0")
		}
		rate = f
	}
	a.finish()
	if kind == "http" && url == "" {
		usageError("advise: --wait-kind http needs --url")
	}
	if kind != "http" {
		url = ""
	}
	if steps < 0 {
		// Calibrated once here; fresh runs get the same steps and rate as flags.
		r := stepsPerCPUSecond()
		steps = int64(cpu.Seconds()*r + 0.5)
		rate = r
		session.flags["steps"] = fmt.Sprint(steps)
		session.flags["steps-per-s"] = fmt.Sprint(r)
	}
	tasks := make([]adviseTask, n)
	for i := range tasks {
		tasks[i] = adviseTask{index: uint64(i), steps: steps, payload: adviseFiller(uint64(i), payload),
			resultBytes: result, wait: wait, url: url}
	}
	check := func(got []adviseDone) error {
		for i, t := range tasks {
			if err := t.check(got[i]); err != nil {
				return err
			}
		}
		return nil
	}
	for _, t := range c.techniques {
		t := t
		sizes := []int{n}
		switch t {
		case "sequential":
			sizes = []int{1}
		case "pool":
			sizes = nil
			for _, w := range workers {
				if w <= n {
					sizes = append(sizes, w)
				}
			}
		}
		for _, w := range sizes {
			w := w
			row := newRow("advise", t, obj{"workers": w})
			runRow(row, func(r *Row) error {
				samples, last, err := measure(c, func() ([]adviseDone, error) {
					return adviseRun(t, w, tasks), nil
				}, check)
				if err != nil {
					return err
				}
				r.succeed(samples)
				total := 0.0
				for _, d := range last {
					total += d.cpu
				}
				r.Extra = obj{"cpu_per_task_s": total / float64(len(last)), "cpu_total_s": total, "steps_per_s": rate}
				return nil
			})
		}
	}
}
