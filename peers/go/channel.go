package main

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// channel (Figure 9): one sender puts A, B, C, D into a channel of capacity C; the
// receiver only starts after a few units. Each send's attempt and completion is timed,
// so a send that waited for the receiver shows as such, not just as an order of lines.

// sentLetters are what the one sender sends, in order.
var sentLetters = []string{"A", "B", "C", "D"}

// handoff is one Figure 9 run, times from its start.
type handoff struct {
	letters    []string
	attempted  []time.Duration
	completed  []time.Duration
	senderEnd  time.Duration
	recvStart  time.Duration
	received   []string
	receivedAt []time.Duration
}

func runHandoff(capacity, receiverDelay int, unit time.Duration) handoff {
	var h handoff
	ch := make(chan string, capacity)
	t0 := time.Now()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // sender: the only goroutine that writes its fields of h
		defer wg.Done()
		for _, letter := range sentLetters {
			attempted := time.Since(t0)
			ch <- letter
			h.letters = append(h.letters, letter)
			h.attempted = append(h.attempted, attempted)
			h.completed = append(h.completed, time.Since(t0))
		}
		close(ch) // the sender closes, so the receiver's range ends
		h.senderEnd = time.Since(t0)
	}()
	go func() { // receiver: the only goroutine that writes its fields of h
		defer wg.Done()
		time.Sleep(time.Duration(receiverDelay) * unit)
		h.recvStart = time.Since(t0)
		for letter := range ch {
			h.received = append(h.received, letter)
			h.receivedAt = append(h.receivedAt, time.Since(t0))
		}
	}()
	wg.Wait()
	return h
}

func runChannel(a *args) {
	c := a.common([]string{"chan"})
	capacity := int(a.number("capacity", 1, 0, 1000000))
	delay := int(a.number("receiver-delay", 5, 0, 10000))
	unit := a.seconds("unit", 0.1, true)
	tp := readThroughputFlags(a, "1x1x0,1x1x1,1x1x1024,2x2x1024", false)
	a.finish()

	if tp.on {
		for _, t := range c.techniques {
			throughputRows("channel", t, c, tp.shapes, tp.messages, moveThrough)
		}
		return
	}
	for _, t := range c.techniques {
		row := newRow("channel", t, obj{"capacity": capacity, "receiver_delay": delay})
		// The receiver sleeps its delay; the rest of a run is a few hand-offs.
		if skipRow(row, c.tooLong(float64(delay)*unit.Seconds(), ": the receiver's delay")) {
			continue
		}
		runRow(row, func(r *Row) error {
			samples, h, err := measure(c, func() (handoff, error) { return runHandoff(capacity, delay, unit), nil }, func(h handoff) error {
				want := fmt.Sprint(sentLetters)
				if fmt.Sprint(h.letters) != want || fmt.Sprint(h.received) != want {
					return fmt.Errorf("sent %v and received %v, expected %v both", h.letters, h.received, want)
				}
				return nil
			})
			if err != nil {
				return err
			}
			r.succeed(samples)
			fillHandoff(r, h, delay, unit)
			return nil
		})
	}
}

// fillHandoff puts a run's times (in units) in extra, its moments in events and the
// paper's lines, in the order things happened, in lines.
func fillHandoff(r *Row, h handoff, delay int, unit time.Duration) {
	u := func(d time.Duration) float64 { return d.Seconds() / unit.Seconds() }
	units := func(ds []time.Duration) []float64 {
		out := make([]float64, len(ds))
		for i, d := range ds {
			out[i] = u(d)
		}
		return out
	}
	blocked := make([]time.Duration, len(h.attempted))
	for i := range blocked {
		blocked[i] = h.completed[i] - h.attempted[i]
	}
	r.Extra = obj{
		"letters":              h.letters,
		"attempted_units":      units(h.attempted),
		"completed_units":      units(h.completed),
		"blocked_units":        units(blocked),
		"received":             h.received,
		"received_units":       units(h.receivedAt),
		"receiver_start_units": u(h.recvStart),
	}

	type moment struct {
		at    time.Duration
		order int
		line  string
	}
	var moments []moment
	at := func(d time.Duration) string { return fmt.Sprintf("t=%.2f", u(d)) }
	for i, l := range h.letters {
		r.Events = append(r.Events, event(h.attempted[i], "sender", "send", l))
		moments = append(moments, moment{h.attempted[i], 0, fmt.Sprintf("%s sending ....  (%s)", l, at(h.attempted[i]))})
		// Nanoseconds pass in any send; a quarter of a unit is a send that waited.
		if blocked[i] > unit/4 {
			r.Events = append(r.Events, event(h.attempted[i], "sender", "blocked", fmt.Sprintf("%s blocked %.3fs", l, blocked[i].Seconds())))
			moments = append(moments, moment{h.completed[i], 1, fmt.Sprintf("   (%s went in after %.1f units blocked, %s)", l, u(blocked[i]), at(h.completed[i]))})
		}
		r.Events = append(r.Events, event(h.completed[i], "sender", "sent", l))
	}
	r.Events = append(r.Events, event(h.senderEnd, "sender", "end", "sender finished"))
	r.Events = append(r.Events, event(h.recvStart, "receiver", "start", "receiver starts"))
	moments = append(moments, moment{h.recvStart, 0, fmt.Sprintf("Receiver Starts @t=%d  (%s)", delay, at(h.recvStart))})
	for i, l := range h.received {
		r.Events = append(r.Events, event(h.receivedAt[i], "receiver", "receive", l))
		moments = append(moments, moment{h.receivedAt[i], 2, fmt.Sprintf("Receiver: %s  (%s)", l, at(h.receivedAt[i]))})
	}
	sortEvents(r.Events)
	sort.SliceStable(moments, func(i, j int) bool {
		if moments[i].at != moments[j].at {
			return moments[i].at < moments[j].at
		}
		return moments[i].order < moments[j].order
	})
	for _, m := range moments {
		r.Lines = append(r.Lines, m.line)
	}
}
