package main

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// pool (Figure 12): W worker goroutines take jobs fib(1)..fib(M) from a jobs channel
// and put their answers on a results channel.

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

func runPool(a *args) {
	c := a.common([]string{"goroutines"})
	maxFib := int(a.number("max-fib", 40, 1, 50))
	workers := a.intList("workers", "1..20,50", 1, 1024)
	orders := a.choices("order", "ascending", []string{"ascending", "largest-first"})
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
	for _, t := range c.techniques {
		for _, order := range orders {
			jobs := make([]int, maxFib)
			for i := range jobs {
				jobs[i] = i + 1
				if order == "largest-first" {
					jobs[i] = maxFib - i
				}
			}
			for _, w := range workers {
				w := w
				row := newRow("pool", t, obj{"workers": w, "order": order})
				if jobTimes != nil && skipRow(row, c.tooLong(lowerBound(jobTimes, w), fmt.Sprintf(" at %s fib calls/s a core", rateText(rate)))) {
					continue
				}
				runRow(row, func(r *Row) error {
					samples, last, err := measure(c, func() ([]fibResult, error) { return workerPool(jobs, w), nil }, func(got []fibResult) error {
						seen := make(map[int]bool, len(got))
						for _, res := range got {
							if want := fibExact(res.n); res.value != want || seen[res.n] {
								return fmt.Errorf("fib(%d) came back as %d (expected %d, once)", res.n, res.value, want)
							}
							seen[res.n] = true
						}
						if len(seen) != len(jobs) {
							return fmt.Errorf("%d of %d jobs came back", len(seen), len(jobs))
						}
						return nil
					})
					if err != nil {
						return err
					}
					r.succeed(samples)
					var sum uint64
					for _, res := range last {
						sum += res.value
					}
					r.Extra = obj{"fib_sum": sum}
					r.Lines = []string{fmt.Sprintf("Total time taken<%d>: %.0f msec", w, median(samples)*1000)}
					return nil
				})
			}
		}
	}
}
