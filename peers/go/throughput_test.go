package main

import (
	"strings"
	"testing"
	"time"
)

// A trial that reports the seconds given for each size, and records the sizes asked.
func fakeTrial(took map[uint64]float64, asked *[]uint64) func(uint64) float64 {
	return func(m uint64) float64 {
		*asked = append(*asked, m)
		return took[m]
	}
}

func TestASlowFirstTrialIsConfirmedBeforeTheRowIsSkipped(t *testing.T) {
	c := common{runs: 1, skipOver: time.Second}
	n := uint64(1000000)

	// The short trial caught the channel parking (1 s for 20,000: 50 s a run), the
	// longer one did not (0.1 s for 100,000: 1 s a run, within the limit): the row runs.
	var asked []uint64
	why := throughputTooLong(c, n, fakeTrial(map[uint64]float64{20000: 1, 100000: 0.1}, &asked))
	if why != "" {
		t.Fatalf("skipped on one slow trial: %s", why)
	}
	if len(asked) != 2 || asked[0] != 20000 || asked[1] != 100000 {
		t.Fatalf("trials %v, want 20000 then 100000", asked)
	}

	// Both slow: skipped, with the longer trial's rate as the basis.
	asked = nil
	why = throughputTooLong(c, n, fakeTrial(map[uint64]float64{20000: 1, 100000: 5}, &asked))
	if !strings.Contains(why, "from a 100000-message trial") || !strings.HasSuffix(why, "; lower --messages to run it") {
		t.Fatalf("skip message %q", why)
	}

	// A fast first trial needs no second one.
	asked = nil
	if why := throughputTooLong(c, n, fakeTrial(map[uint64]float64{20000: 0.001}, &asked)); why != "" || len(asked) != 1 {
		t.Fatalf("fast trial: %q after %v", why, asked)
	}
}

func TestTheConfirmingTrialIsNoLargerThanTheRow(t *testing.T) {
	c := common{runs: 1, skipOver: time.Millisecond}
	var asked []uint64
	why := throughputTooLong(c, 50000, fakeTrial(map[uint64]float64{20000: 1, 50000: 1}, &asked))
	if len(asked) != 2 || asked[1] != 50000 || !strings.Contains(why, "from a 50000-message trial") {
		t.Fatalf("trials %v, message %q", asked, why)
	}
	// A row no bigger than the trial, or --skip-over 0, is never estimated.
	asked = nil
	if throughputTooLong(c, 20000, fakeTrial(nil, &asked)) != "" || len(asked) != 0 {
		t.Fatalf("a 20000-message row was estimated: %v", asked)
	}
	if throughputTooLong(common{runs: 1}, 1000000, fakeTrial(nil, &asked)) != "" || len(asked) != 0 {
		t.Fatalf("--skip-over 0 estimated: %v", asked)
	}
}
