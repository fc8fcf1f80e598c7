package main

import (
	"fmt"
	"math"
	"runtime"
	"time"
)

// count (Figure 2): count a number down to zero, in one loop or split into chunks that
// goroutines count at once.

// countdown is the paper's `while n > 0: n -= 1`. It is never inlined and its final
// value is returned and summed by the caller, so the compiler cannot drop the loop or
// fold it into its result at the call site.
//
//go:noinline
func countdown(n int64) int64 {
	for n > 0 {
		n--
	}
	return n
}

// countSink keeps the trial's counts alive, so the compiler cannot drop them.
var countSink int64

// goroutinesRate is the steps per second of k goroutines counting units each at once:
// the goroutines row in small.
func goroutinesRate(k int, units int64) float64 {
	finals := make([]int64, k)
	start := time.Now()
	forEach(k, true, func(i int) { finals[i] = countdown(units) })
	took := time.Since(start).Seconds()
	for _, f := range finals {
		countSink += f
	}
	return float64(k) * float64(units) / math.Max(took, 1e-9)
}

// chunkSizes splits n into k whole parts that sum to n; the first n mod k get one more.
func chunkSizes(n int64, k int) []int64 {
	sizes := make([]int64, k)
	for i := range sizes {
		sizes[i] = n / int64(k)
		if int64(i) < n%int64(k) {
			sizes[i]++
		}
	}
	return sizes
}

// counted is one run: the sum of the counters' final values, how many counters ran,
// and when each started and ended.
type counted struct {
	remaining int64
	ran       int
	events    []Event
}

// countChunks counts every chunk down. sequential counts its single chunk in the
// calling goroutine; otherwise one goroutine per chunk, joined with a WaitGroup, all
// started inside the timed run.
func countChunks(chunks []int64, inline bool) counted {
	t0 := time.Now()
	finals := make([]int64, len(chunks))
	starts := make([]time.Duration, len(chunks))
	ends := make([]time.Duration, len(chunks))
	one := func(i int) {
		starts[i] = time.Since(t0)
		finals[i] = countdown(chunks[i])
		ends[i] = time.Since(t0)
	}
	forEach(len(chunks), !inline, one)
	c := counted{ran: len(chunks)}
	for i, f := range finals {
		c.remaining += f
		lane := fmt.Sprintf("worker-%d", i+1)
		label := fmt.Sprintf("chunk %d", i+1)
		c.events = append(c.events, event(starts[i], lane, "start", label), event(ends[i], lane, "end", label))
	}
	sortEvents(c.events)
	return c
}

func runCount(a *args) {
	c := a.common([]string{"sequential", "goroutines", "goroutines-1"})
	n := a.number("n", 50000000, 0, 1<<62)
	k := int(a.number("chunks", 5, 1, 1024))
	// Python's peer also counts float chunks; this peer counts ints only.
	a.choices("chunk-type", "int", []string{"int"})
	a.finish()

	rate := 0.0
	if c.estimating() {
		rate = trialRate(func(units int64) { countSink += countdown(units) }, 1<<16)
	}
	for _, t := range c.techniques {
		t := t
		chunks := chunkSizes(n, k)
		if t == "sequential" {
			chunks = []int64{n}
		}
		row := newRow("count", t, obj{"chunks": len(chunks), "workers": len(chunks), "chunk_type": "int"})
		if c.estimating() {
			perRun, basis := float64(n)/rate, fmt.Sprintf(" at %s steps/s a core", rateText(rate))
			if t == "goroutines" {
				// At the rate a small run of the row itself got: on a busy machine k
				// goroutines get fewer cores than it has.
				together := goroutinesRate(k, int64(rate*2*trialTime.Seconds()/float64(k))+1000)
				perRun = math.Max(float64(n)/together, float64(chunks[0])/rate)
				basis = fmt.Sprintf(" at %s steps/s in %d goroutines", rateText(together), k)
			}
			if skipRow(row, c.tooLong(perRun, basis)) {
				continue
			}
		}
		runRow(row, func(r *Row) error {
			if t == "goroutines-1" {
				// One P: the goroutines take turns on one OS thread at a time.
				previous := runtime.GOMAXPROCS(1)
				defer runtime.GOMAXPROCS(previous)
			}
			samples, last, err := measure(c,
				func() (counted, error) { return countChunks(chunks, t == "sequential"), nil },
				func(got counted) error {
					if got.ran != len(chunks) || got.remaining != 0 {
						return fmt.Errorf("%d of %d counters ran and %d remained, expected all and 0", got.ran, len(chunks), got.remaining)
					}
					return nil
				})
			if err != nil {
				return err
			}
			r.succeed(samples)
			r.Extra["remaining"] = last.remaining
			r.Events = last.events
			function := "parallel_exec"
			if t == "sequential" {
				function = "sequential_exec"
			}
			r.Lines = []string{fmt.Sprintf("Function '%s' executed in %ss", function, secs(median(samples)))}
			return nil
		})
	}
}
