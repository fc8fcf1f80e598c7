package main

import (
	"fmt"
	"runtime"
	"time"
)

// select (Figures 10-11): a fast producer every half unit and a slow one every two
// units, each on its own channel, and one loop that selects over both.

var (
	producerNames = []string{"fast", "slow"}
	// The paper's lines for a message from each producer.
	confirmations = []string{"Confirmed in 500ms", "Confirmed in Two Seconds"}
)

// taken is one message the select loop received: which producer, sent and received
// when (from the run's start).
type taken struct {
	producer       int
	sent, received time.Duration
}

type ticks struct {
	taken  []taken
	sent   []int // messages each producer sent
	missed []int // messages each producer dropped: its channel was still full when the next was due
}

func (t ticks) counts() []int {
	counts := make([]int, 2)
	for _, m := range t.taken {
		counts[m.producer]++
	}
	return counts
}

// runTicks runs the producers for duration units and the select loop until both have
// closed their channels; nothing is left running when it returns.
func runTicks(unit time.Duration, durationUnits int) ticks {
	periods := []time.Duration{unit / 2, 2 * unit}
	duration := time.Duration(durationUnits) * unit
	t0 := time.Now()
	chans := make([]chan time.Duration, 2)
	sentBy := make([]chan [2]int, 2)
	for p := range chans {
		// Room for one message, as parlab's Rust rows: a message not taken before the
		// next is due is dropped, so a loop that neglected one channel would move the
		// ratio instead of only making messages wait.
		chans[p] = make(chan time.Duration, 1)
		sentBy[p] = make(chan [2]int, 1)
		p := p
		go func() {
			sent, missed := 0, 0
			// Sends at k periods from the start (not sleeps back to back), up to duration.
			for k := time.Duration(1); k*periods[p] <= duration; k++ {
				sleepUntil(t0, k*periods[p])
				due := time.NewTimer(time.Until(t0.Add((k + 1) * periods[p])))
				select {
				case chans[p] <- time.Since(t0):
					sent++
				case <-due.C:
					missed++
				}
				due.Stop()
			}
			sentBy[p] <- [2]int{sent, missed}
			close(chans[p])
		}()
	}
	var t ticks
	fast, slow := chans[0], chans[1]
	// Receiving from a closed channel answers at once with ok false; set to nil, the
	// channel is never ready again, and the loop ends when both are nil.
	for fast != nil || slow != nil {
		select {
		case sent, ok := <-fast:
			if !ok {
				fast = nil
				continue
			}
			t.taken = append(t.taken, taken{0, sent, time.Since(t0)})
		case sent, ok := <-slow:
			if !ok {
				slow = nil
				continue
			}
			t.taken = append(t.taken, taken{1, sent, time.Since(t0)})
		}
	}
	a, b := <-sentBy[0], <-sentBy[1]
	t.sent = []int{a[0], b[0]}
	t.missed = []int{a[1], b[1]}
	return t
}

// saturatedSplit keeps both channels full and counts how n choices of one select split
// between them; before each choice it waits until both hold a message, so every choice
// is a real one. Go picks at random among ready cases: about half each.
func saturatedSplit(n int) [2]int {
	fast, slow := make(chan struct{}, 1), make(chan struct{}, 1)
	done := make(chan struct{})
	fill := func(c chan struct{}) {
		for {
			select {
			case c <- struct{}{}:
			case <-done:
				return
			}
		}
	}
	go fill(fast)
	go fill(slow)
	var split [2]int
	for i := 0; i < n; i++ {
		for len(fast) == 0 || len(slow) == 0 {
			runtime.Gosched()
		}
		select {
		case <-fast:
			split[0]++
		case <-slow:
			split[1]++
		}
	}
	close(done)
	return split
}

func runSelect(a *args) {
	c := a.common([]string{"select"})
	unit := a.seconds("unit", 0.1, true)
	durationUnits := int(a.number("duration", 10, 1, 100000))
	tp := readThroughputFlags(a, "2x1x1,2x1x1024", true)
	a.finish()

	if tp.on {
		for _, t := range c.techniques {
			throughputRows("select", t, c, tp.shapes, tp.messages, selectThrough)
		}
		return
	}
	for _, t := range c.techniques {
		row := newRow("select", t, obj{"duration_units": durationUnits})
		if skipRow(row, c.tooLong(float64(durationUnits)*unit.Seconds(), ": its duration")) {
			continue
		}
		runRow(row, func(r *Row) error {
			samples, last, err := measure(c, func() (ticks, error) { return runTicks(unit, durationUnits), nil }, func(t ticks) error {
				if got := t.counts(); got[0] != t.sent[0] || got[1] != t.sent[1] {
					return fmt.Errorf("took %v messages, the producers sent %v", got, t.sent)
				}
				return nil
			})
			if err != nil {
				return err
			}
			r.succeed(samples)
			counts := last.counts()
			var maxWait, sumWait float64
			for _, m := range last.taken {
				wait := (m.received - m.sent).Seconds()
				sumWait += wait
				if wait > maxWait {
					maxWait = wait
				}
				r.Events = append(r.Events,
					event(m.sent, "producer-"+producerNames[m.producer], "sent", confirmations[m.producer]),
					event(m.received, "select", "receive", confirmations[m.producer]))
				r.Lines = append(r.Lines, confirmations[m.producer])
			}
			sortEvents(r.Events)
			mean := 0.0
			if len(last.taken) > 0 {
				mean = sumWait / float64(len(last.taken))
			}
			var ratio interface{}
			if counts[1] > 0 {
				ratio = float64(counts[0]) / float64(counts[1])
			}
			split := saturatedSplit(1000)
			r.Extra = obj{
				"counts":          obj{"fast": counts[0], "slow": counts[1]},
				"ratio":           ratio,
				"max_wait_s":      maxWait,
				"mean_wait_s":     mean,
				"missed":          obj{"fast": last.missed[0], "slow": last.missed[1]},
				"saturated_split": obj{"fast": split[0], "slow": split[1]},
			}
			r.Lines = append(r.Lines, fmt.Sprintf("received %d fast and %d slow messages; longest wait from send to receipt %.6fs", counts[0], counts[1], maxWait))
			r.Lines = append(r.Lines, fmt.Sprintf("dropped for a full channel: %d fast, %d slow; with both channels kept full, 1000 choices went %d:%d", last.missed[0], last.missed[1], split[0], split[1]))
			return nil
		})
	}
}
