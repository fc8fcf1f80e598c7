package main

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
)

// Throughput mode of channel and select: how many integers per second a channel (or a
// select over two) moves, every one counted and summed on arrival.

// shape is producers x consumers x capacity.
type shape struct {
	producers, consumers, capacity int
}

func (s shape) label() string { return fmt.Sprintf("%d→%d", s.producers, s.consumers) }

// moved is what the consumers took: how many values and their sum.
type moved struct {
	count, sum uint64
}

// share is producer p's part of 0..n-1 among producers: p, p+producers, ...
func share(p, producers int, n uint64, send func(uint64)) {
	for v := uint64(p); v < n; v += uint64(producers) {
		send(v)
	}
}

// moveThrough sends 0..n-1 through one channel of the shape: the producers share the
// values, the consumers range over the channel until the last producer closes it.
func moveThrough(s shape, n uint64) moved {
	ch := make(chan uint64, s.capacity)
	var producers sync.WaitGroup
	for p := 0; p < s.producers; p++ {
		p := p
		producers.Add(1)
		go func() {
			defer producers.Done()
			share(p, s.producers, n, func(v uint64) { ch <- v })
		}()
	}
	go func() {
		producers.Wait()
		close(ch)
	}()
	got := make([]moved, s.consumers)
	var consumers sync.WaitGroup
	for c := 0; c < s.consumers; c++ {
		c := c
		consumers.Add(1)
		go func() {
			defer consumers.Done()
			var m moved
			for v := range ch {
				m.count++
				m.sum += v
			}
			got[c] = m
		}()
	}
	consumers.Wait()
	var total moved
	for _, m := range got {
		total.count += m.count
		total.sum += m.sum
	}
	return total
}

// selectThrough sends half of 0..n-1 down each of two channels, from one producer
// each, and one loop selects over both until both are closed.
func selectThrough(s shape, n uint64) moved {
	chans := []chan uint64{make(chan uint64, s.capacity), make(chan uint64, s.capacity)}
	for p, ch := range chans {
		p, ch := p, ch
		go func() {
			share(p, 2, n, func(v uint64) { ch <- v })
			close(ch)
		}()
	}
	var m moved
	a, b := chans[0], chans[1]
	// A closed channel is set to nil: a nil channel is never ready, so select stops
	// looking at it and the loop ends when both are done.
	for a != nil || b != nil {
		select {
		case v, ok := <-a:
			if !ok {
				a = nil
				continue
			}
			m.count++
			m.sum += v
		case v, ok := <-b:
			if !ok {
				b = nil
				continue
			}
			m.count++
			m.sum += v
		}
	}
	return m
}

// parseShapes reads "PxCxCAP,..".
func parseShapes(a *args, def string, selectMode bool) []shape {
	items, text := a.list("shapes", def)
	var out []shape
	for _, item := range items {
		parts := strings.Split(item, "x")
		var nums []int64
		for _, part := range parts {
			n, ok := parseInt(part)
			if !ok {
				break
			}
			nums = append(nums, n)
		}
		if len(parts) != 3 || len(nums) != 3 || nums[0] < 1 || nums[0] > 1024 || nums[1] < 1 || nums[1] > 1024 || nums[2] < 0 || nums[2] > 1<<24 {
			a.bad("shapes", text, "expected PRODUCERSxCONSUMERSxCAPACITY items, e.g. 1x1x0,2x2x1024")
		}
		s := shape{int(nums[0]), int(nums[1]), int(nums[2])}
		if selectMode && (s.producers != 2 || s.consumers != 1) {
			a.bad("shapes", text, "select has 2 producers (one per channel) and 1 consumer (the select loop): 2x1xCAPACITY")
		}
		out = append(out, s)
	}
	return out
}

// trialMessages is the size of the trial run that estimates a row's time.
const trialMessages = 20000

// confirmTrials are the trials a row must fail, one after the other, before it is
// skipped: a channel can be bimodal (spinning, then parking), so one short trial that
// caught it parking is checked with one five times longer, as parlab's own rows are.
var confirmTrials = []uint64{trialMessages, 5 * trialMessages}

// throughputTooLong says why a row of n messages would run over --skip-over, or ""
// when it fits, when n is no bigger than the first trial, or when --skip-over is 0.
// trial moves m messages and returns the seconds it took. Every trial in
// confirmTrials (none larger than n) must say too long; the skip message gives the
// last one's rate, the rate the decision rests on.
func throughputTooLong(c common, n uint64, trial func(m uint64) float64) string {
	if !c.estimating() || n <= confirmTrials[0] {
		return ""
	}
	why := ""
	for _, m := range confirmTrials {
		if m > n {
			m = n
		}
		took := math.Max(trial(m), 1e-9)
		rate := float64(m) / took
		basis := fmt.Sprintf(" at %s msgs/s from a %d-message trial", grouped(int64(rate)), m)
		if why = c.tooLong(float64(n)/rate, basis); why == "" {
			return ""
		}
	}
	return why + "; lower --messages to run it"
}

// throughputRows prints one row per shape for technique t of experiment; a row whose
// time the trials estimate over --skip-over is printed skipped with the estimate.
func throughputRows(experiment, technique string, c common, shapes []shape, n uint64, move func(shape, uint64) moved) {
	want := moved{count: n, sum: n * (n - 1) / 2}
	for _, s := range shapes {
		s := s
		row := newRow(experiment, technique, obj{"mode": "throughput", "shape": s.label(), "producers": s.producers, "consumers": s.consumers, "capacity": s.capacity, "messages": n})
		trial := func(m uint64) float64 {
			start := time.Now()
			move(s, m)
			return time.Since(start).Seconds()
		}
		if skipRow(row, throughputTooLong(c, n, trial)) {
			continue
		}
		runRow(row, func(r *Row) error {
			samples, last, err := measure(c, func() (moved, error) { return move(s, n), nil }, func(got moved) error {
				if got != want {
					return fmt.Errorf("received %d messages summing to %d, expected %d summing to %d", got.count, got.sum, want.count, want.sum)
				}
				return nil
			})
			if err != nil {
				return err
			}
			r.succeed(samples)
			m := median(samples)
			r.Extra = obj{"msgs_per_s": num(float64(n) / m), "ns_per_msg": num(m * 1e9 / float64(n)), "received": last.count, "sum": last.sum}
			return nil
		})
	}
}

// throughputFlags reads the throughput flags shared by channel and select.
type throughputFlags struct {
	on       bool
	messages uint64
	shapes   []shape
}

func readThroughputFlags(a *args, defShapes string, selectMode bool) throughputFlags {
	return throughputFlags{
		on:       a.boolean("throughput", false),
		messages: uint64(a.number("messages", 10000000, 1, 1000000000)),
		shapes:   parseShapes(a, defShapes, selectMode),
	}
}
