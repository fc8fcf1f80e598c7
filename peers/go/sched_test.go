package main

import (
	"testing"
	"time"
)

func spinStrip(letters string, times ...time.Duration) *strip {
	return &strip{letters: []byte(letters), times: times}
}

func TestSpinRunsAreChecked(t *testing.T) {
	spin := 100 * time.Millisecond
	ok := []*strip{
		spinStrip("BS", 10*time.Millisecond, 100*time.Millisecond),
		spinStrip("SB", 60*time.Millisecond, 70*time.Millisecond),
	}
	for _, s := range ok {
		if err := checkSpin(s, spin); err != nil {
			t.Errorf("%q: %v", s.letters, err)
		}
	}
	bad := []*strip{
		spinStrip("S", 100*time.Millisecond),
		spinStrip("BSS", 10*time.Millisecond, 100*time.Millisecond, 101*time.Millisecond),
		spinStrip("BB", 10*time.Millisecond, 11*time.Millisecond),
		spinStrip("BA", 10*time.Millisecond, 11*time.Millisecond),
		// S printed before it could have spun.
		spinStrip("SB", 5*time.Millisecond, 10*time.Millisecond),
	}
	for _, s := range bad {
		if checkSpin(s, spin) == nil {
			t.Errorf("%q at %v passed", s.letters, s.times)
		}
	}
}
