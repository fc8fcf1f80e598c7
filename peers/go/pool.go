package main

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
)

// pool (Figure 12): W worker goroutines take jobs fib(1)..fib(M) from a jobs channel
// and put their answers on a results channel; the sequential rows run the same jobs in
// one loop, the baseline of the pool rows' speedups and bound.

// fib is the naive recursion the pool exists to spread over cores.
func fib(n int) uint64 {
	if n < 2 {
		return uint64(n)
	}
	return fib(n-1) + fib(n-2)
}

// fibExact is the iterative fib that checks the pool's answers.
func fibExact(n int) uint64 {
	a, b := uint64(0), uint64(1)
	for i := 0; i < n; i++ {
		a, b = b, a+b
	}
	return a
}

// fibCalls is how many calls the naive fib makes for fib(n).
func fibCalls(n int) float64 { return 2*float64(fibExact(n+1)) - 1 }

// fibSink keeps the trial's results alive, so the compiler cannot drop the calls.
var fibSink uint64

// fibRate is the naive fib's calls per second, from fib(k) for k rising until one
// takes trialTime.
func fibRate() float64 {
	for k := 12; ; k++ {
		start := time.Now()
		fibSink += fib(k)
		took := time.Since(start).Seconds()
		if took >= trialTime.Seconds() || k >= 45 {
			return fibCalls(k) / math.Max(took, 1e-9)
		}
	}
}

type fibResult struct {
	n     int
	value uint64
}

// workerPool runs the jobs on workers goroutines. main knows how many results to
// expect, so it takes exactly that many and never waits for a close of results.
func workerPool(jobs []int, workers int) []fibResult {
	jobCh := make(chan int, len(jobs))
	results := make(chan fibResult, len(jobs))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobCh {
				results <- fibResult{n, fib(n)}
			}
		}()
	}
	for _, n := range jobs {
		jobCh <- n
	}
	close(jobCh) // lets every worker's range end once the jobs are gone
	out := make([]fibResult, 0, len(jobs))
	for range jobs {
		out = append(out, <-results)
	}
	wg.Wait() // all workers have returned: none outlives the run
	return out
}

// sequentialRun runs the same jobs in the same order one after another in the calling
// goroutine: the baseline each pool row of that order is measured against. It also
// times each job, by n.
func sequentialRun(jobs []int) ([]fibResult, map[int]float64) {
	out := make([]fibResult, 0, len(jobs))
	times := make(map[int]float64, len(jobs))
	for _, n := range jobs {
		start := time.Now()
		out = append(out, fibResult{n, fib(n)})
		times[n] = time.Since(start).Seconds()
	}
	return out, times
}

// poolRun is one run of a pool row: the results, and for a sequential row each job's
// time by n.
type poolRun struct {
	results  []fibResult
	jobTimes map[int]float64
}

// poolArm is one row of the pool experiment: its row, how to run it once, and every
// run's output so far (warm-ups first).
type poolArm struct {
	row     *Row
	workers int
	once    func() poolRun
	runs    []poolRun
}

// measureInterleaved measures every arm with the same runs and warm-ups, one run of
// each in turn (all warm-ups first), so a drift of the machine's speed falls on the
// sequential baseline and the pool rows alike. An arm whose check fails drops out of
// later rounds and gets the error; the others go on. Samples come back per arm.
//
// In a fresh run (--one-run) only the arm asked for runs: its warm-ups and one counted
// run, after the counted samples of the runs before it (--prior-samples), as measureOwn
// does for other rows.
func measureInterleaved(c common, arms []*poolArm, check func(poolRun) error) ([][]float64, []error) {
	samples := make([][]float64, len(arms))
	errs := make([]error, len(arms))
	runs := c.runs
	if session.oneRun != "" {
		runs = 1
		for a, arm := range arms {
			if rowKey(arm.row) == session.oneRun {
				samples[a] = append(samples[a], session.prior...)
			} else {
				errs[a] = fmt.Errorf("not the row of this fresh run")
			}
		}
	}
	for i := 0; i < c.warmup+runs; i++ {
		for a, arm := range arms {
			if errs[a] != nil {
				continue
			}
			start := time.Now()
			out, err := runOnce(arm.once)
			took := time.Since(start).Seconds()
			arm.runs = append(arm.runs, out)
			if err == nil {
				err = check(out)
			}
			if err != nil {
				if i < c.warmup {
					errs[a] = fmt.Errorf("warm-up run %d: %w", i+1, err)
				} else {
					errs[a] = fmt.Errorf("run %d: %w", len(samples[a])+1, err)
				}
				continue
			}
			if i >= c.warmup {
				samples[a] = append(samples[a], nonNegative(took))
			}
		}
	}
	return samples, errs
}

// runOnce runs one run, turning a panic into the row's error: the runs happen outside
// runRow, whose own recover would otherwise keep one bad row from ending the peer.
func runOnce(once func() poolRun) (out poolRun, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return once(), nil
}

func runPool(a *args) {
	c := a.common([]string{"sequential", "goroutines"})
	maxFib := int(a.number("max-fib", 40, 1, 50))
	workers := a.intList("workers", "1..20,50", 1, 1024)
	orders := a.choices("order", "ascending", []string{"ascending", "largest-first"})
	schedule := a.choices("schedule", "interleaved", []string{"interleaved", "grouped"})
	if len(schedule) != 1 {
		a.bad("schedule", strings.Join(schedule, ","), "expected one of interleaved, grouped")
	}
	a.finish()

	// --skip-over: every job's time from the naive fib's calls per second in a trial.
	var jobTimes []float64
	rate := 0.0
	if c.estimating() {
		rate = fibRate()
		for n := 1; n <= maxFib; n++ {
			jobTimes = append(jobTimes, fibCalls(n)/rate)
		}
	}
	check := func(got poolRun) error {
		seen := make(map[int]bool, len(got.results))
		for _, res := range got.results {
			if want := fibExact(res.n); res.value != want || seen[res.n] {
				return fmt.Errorf("fib(%d) came back as %d (expected %d, once)", res.n, res.value, want)
			}
			seen[res.n] = true
		}
		if len(seen) != maxFib {
			return fmt.Errorf("%d of %d jobs came back", len(seen), maxFib)
		}
		return nil
	}
	// Sequential rows first, one per order, then a row per order and worker count.
	var arms []*poolArm
	for _, t := range c.techniques {
		sizes := workers
		if t == "sequential" {
			sizes = []int{1}
		}
		for _, order := range orders {
			jobs := make([]int, maxFib)
			for i := range jobs {
				jobs[i] = i + 1
				if order == "largest-first" {
					jobs[i] = maxFib - i
				}
			}
			for _, w := range sizes {
				w := w
				row := newRow("pool", t, obj{"workers": w, "order": order})
				if jobTimes != nil && skipRow(row, c.tooLong(lowerBound(jobTimes, w), fmt.Sprintf(" at %s fib calls/s a core", rateText(rate)))) {
					continue
				}
				once := func() poolRun { return poolRun{results: workerPool(jobs, w)} }
				if t == "sequential" {
					once = func() poolRun {
						results, times := sequentialRun(jobs)
						return poolRun{results: results, jobTimes: times}
					}
				}
				arms = append(arms, &poolArm{row: row, workers: w, once: once})
			}
		}
	}
	if schedule[0] == "grouped" {
		for _, arm := range arms {
			samples, errs := measureInterleaved(c, []*poolArm{arm}, check)
			finishPoolRow(arm, samples[0], errs[0], c, maxFib)
		}
		return
	}
	samples, errs := measureInterleaved(c, arms, check)
	for i, arm := range arms {
		finishPoolRow(arm, samples[i], errs[i], c, maxFib)
	}
}

// finishPoolRow fills a measured row and prints it: the sum of the last run's results,
// and for a sequential row each job's median time over the counted runs, fib(1) first.
func finishPoolRow(arm *poolArm, samples []float64, err error, c common, maxFib int) {
	runRow(arm.row, func(r *Row) error {
		if err != nil {
			return err
		}
		r.succeed(samples)
		last := arm.runs[len(arm.runs)-1]
		var sum uint64
		for _, res := range last.results {
			sum += res.value
		}
		r.Extra = obj{"fib_sum": sum}
		if last.jobTimes != nil {
			// A fresh run's process saw only its own counted run; the samples before it
			// came from other processes.
			n := len(samples)
			if n > len(arm.runs) {
				n = 1
			}
			counted := arm.runs[len(arm.runs)-n:]
			times := make([]float64, maxFib)
			for n := 1; n <= maxFib; n++ {
				each := make([]float64, 0, len(counted))
				for _, run := range counted {
					each = append(each, run.jobTimes[n])
				}
				times[n-1] = median(each)
			}
			r.Extra["job_times_s"] = times
		}
		r.Lines = []string{fmt.Sprintf("Total time taken<%d>: %.0f msec", arm.workers, median(samples)*1000)}
		return nil
	})
}
