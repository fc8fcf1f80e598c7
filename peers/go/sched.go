package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"runtime"
	"sync"
	"time"
)

// sched (Figures 6-8, §3.1-3.3): five goroutines print their letter A-E, one after
// another, with a blocking point before every print, and with none; and one goroutine
// that spins with no blocking point at all while another wants to print.

var letters = []byte("ABCDE")

// strip is the shared output the units print to, with when each letter landed.
type strip struct {
	t0      time.Time
	cost    time.Duration
	mu      sync.Mutex
	letters []byte
	times   []time.Duration
}

func newStrip(cost time.Duration, capacity int) *strip {
	return &strip{t0: time.Now(), cost: cost, letters: make([]byte, 0, capacity), times: make([]time.Duration, 0, capacity)}
}

// print costs CPU as a terminal write does, then puts the letter on the strip.
func (s *strip) print(letter byte) {
	busy(s.cost)
	s.mu.Lock()
	s.letters = append(s.letters, letter)
	s.times = append(s.times, time.Since(s.t0))
	s.mu.Unlock()
}

func (s *strip) counts() []int {
	counts := make([]int, len(letters))
	for _, l := range s.letters {
		if i := bytes.IndexByte(letters, l); i >= 0 {
			counts[i]++
		}
	}
	return counts
}

func (s *strip) switches() int {
	n := 0
	for i := 1; i < len(s.letters); i++ {
		if s.letters[i] != s.letters[i-1] {
			n++
		}
	}
	return n
}

func (s *strip) events() []Event {
	events := make([]Event, 0, 2*len(s.letters))
	for i, l := range s.letters {
		if i > 0 && s.letters[i-1] != l {
			events = append(events, event(s.times[i], "strip", "switch", fmt.Sprintf("%c→%c", s.letters[i-1], l)))
		}
		events = append(events, event(s.times[i], "unit "+string(l), "print", string(l)))
	}
	return events
}

type schedConfig struct {
	prints      int
	pause, cost time.Duration
	spin        time.Duration
}

// printLetters is Figures 6-8: sequential prints in the calling goroutine, A's prints
// first; otherwise one goroutine per letter, sleeping before each print when blocking.
func printLetters(cfg schedConfig, sequential, blocking bool) *strip {
	s := newStrip(cfg.cost, cfg.prints*len(letters))
	if sequential {
		for _, l := range letters {
			for i := 0; i < cfg.prints; i++ {
				s.print(l)
			}
		}
		return s
	}
	var wg sync.WaitGroup
	for _, l := range letters {
		l := l
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < cfg.prints; i++ {
				if blocking {
					time.Sleep(cfg.pause)
				}
				s.print(l)
			}
		}()
	}
	wg.Wait()
	return s
}

// spinLoop is CPU work with no function call inside its loop, so no cooperative
// preemption point: only the runtime's asynchronous preemption (a signal, Go 1.14+)
// can take the thread from it. Not inlined, and its result is used, so it stays.
//
//go:noinline
func spinLoop(iterations int64) uint64 {
	x := uint64(1)
	for i := int64(0); i < iterations; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

var (
	spinRateOnce sync.Once
	spinRate     float64 // spinLoop iterations per second
	spinSink     uint64
)

// spinIterations calibrates spinLoop once: how many iterations take d. The fastest of
// a few timings, since a slower one only means something else ran meanwhile.
func spinIterations(d time.Duration) int64 {
	spinRateOnce.Do(func() {
		const probe = 1 << 22
		for i := 0; i < 5; i++ {
			start := time.Now()
			spinSink += spinLoop(probe)
			if rate := probe / time.Since(start).Seconds(); rate > spinRate {
				spinRate = rate
			}
		}
	})
	return int64(spinRate * d.Seconds())
}

// spinDemo: B sleeps spin/10 and then prints; S spins for spin with no blocking point
// and then prints. Returns the strip and how late B printed after it wanted to.
func spinDemo(cfg schedConfig) (*strip, time.Duration, error) {
	iterations := spinIterations(cfg.spin)
	want := cfg.spin / 10
	s := newStrip(0, 2)
	var wg sync.WaitGroup
	wg.Add(2)
	// B must already be asleep on its timer when S starts spinning. Started one after
	// the other, on one P the scheduler would run the newest goroutine (S) first and B
	// would not even begin its sleep, so S starts only once B has.
	sleeping := make(chan struct{})
	go func() {
		defer wg.Done()
		close(sleeping)
		time.Sleep(want)
		s.print('B')
	}()
	<-sleeping
	go func() {
		defer wg.Done()
		spinSink += spinLoop(iterations)
		s.print('S')
	}()
	wg.Wait()
	for i, l := range s.letters {
		if l == 'B' {
			return s, s.times[i] - want, nil
		}
	}
	return s, 0, fmt.Errorf("B never printed")
}

func runSched(a *args) {
	c := a.common([]string{"sequential", "goroutines-1", "goroutines", "runtime"})
	cfg := schedConfig{
		prints: int(a.number("prints", 101, 1, 100000)),
		pause:  a.seconds("pause", 0.001, false),
		cost:   a.seconds("print-cost", 0.00002, false),
		spin:   a.seconds("spin", 0.05, true),
	}
	variants := a.choices("variant", "sequential,blocking,busy,spin", []string{"sequential", "blocking", "busy", "spin"})
	a.finish()

	for _, v := range variants {
		for _, t := range c.techniques {
			// Figure 6 is the sequential program; the other variants need goroutines.
			if t == "runtime" || (v == "sequential") != (t == "sequential") {
				continue
			}
			v, t := v, t
			row := newRow("sched", t, obj{"variant": v})
			basis := ": its prints and pauses"
			if v == "spin" {
				basis = ": its spin"
			}
			if skipRow(row, c.tooLong(schedRun(cfg, v, t), basis)) {
				continue
			}
			runRow(row, func(r *Row) error {
				if t == "goroutines-1" {
					previous := runtime.GOMAXPROCS(1)
					defer runtime.GOMAXPROCS(previous)
				}
				if v == "spin" {
					return spinRow(r, c, cfg)
				}
				return stripRow(r, c, cfg, v)
			})
		}
	}
	if c.has("runtime") {
		row := newRow("sched", "runtime", obj{"variant": "facts"})
		row.Validated = true
		// The paper says GOMAXPROCS defaulted to 1 before go1.15; the runtime's own
		// default shows what this Go does (NumCPU since Go 1.5).
		row.Extra = obj{"version": runtime.Version(), "num_cpu": runtime.NumCPU(), "gomaxprocs_default": defaultGOMAXPROCS}
		// Set, the variable is the figure above, and the runtime's default went unseen.
		if env, ok := os.LookupEnv("GOMAXPROCS"); ok {
			row.Extra["gomaxprocs_env"] = env
		}
		row.Lines = []string{
			"Version " + runtime.Version(),
			fmt.Sprintf("NumCPU %d", runtime.NumCPU()),
			fmt.Sprintf("GOMAXPROCS %d (the default)", defaultGOMAXPROCS),
		}
		writeJSONLine(row)
	}
}

// schedRun is how long one run of a variant takes at least, from its flags: each unit's
// pauses and prints one after another, and all the prints' CPU time shared by the Ps.
func schedRun(cfg schedConfig, variant, technique string) float64 {
	if variant == "spin" {
		return cfg.spin.Seconds()
	}
	prints := float64(cfg.prints)
	work := float64(len(letters)) * prints * cfg.cost.Seconds()
	if variant == "sequential" {
		return work
	}
	chain := prints * cfg.cost.Seconds()
	if variant == "blocking" {
		chain += prints * cfg.pause.Seconds()
	}
	atOnce := defaultGOMAXPROCS
	if technique == "goroutines-1" {
		atOnce = 1
	}
	return math.Max(chain, work/float64(atOnce))
}

func stripRow(r *Row, c common, cfg schedConfig, variant string) error {
	samples, last, err := measure(c, func() (*strip, error) {
		return printLetters(cfg, variant == "sequential", variant == "blocking"), nil
	}, func(s *strip) error {
		for i, n := range s.counts() {
			if n != cfg.prints {
				return fmt.Errorf("%c printed %d times, expected %d", letters[i], n, cfg.prints)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.succeed(samples)
	switches := last.switches()
	r.Extra = obj{
		"strip":    string(last.letters),
		"counts":   last.counts(),
		"switches": switches,
		"mean_run": float64(len(last.letters)) / float64(switches+1),
	}
	r.Events = last.events()
	// Figures 6-8 print the strip in lines of 60 letters.
	for i := 0; i < len(last.letters); i += 60 {
		end := i + 60
		if end > len(last.letters) {
			end = len(last.letters)
		}
		r.Lines = append(r.Lines, string(last.letters[i:end]))
	}
	return nil
}

// checkSpin is a spin run's check, parlab's check_spin: B and S each printed once, and
// S only after at least half its spin (the loop is calibrated, so a little under the
// flag is no fault; an S that printed early did not spin).
func checkSpin(s *strip, spin time.Duration) error {
	b, sAt := 0, time.Duration(-1)
	for i, l := range s.letters {
		switch l {
		case 'B':
			b++
		case 'S':
			if sAt >= 0 {
				return fmt.Errorf("S printed twice: %q", s.letters)
			}
			sAt = s.times[i]
		default:
			return fmt.Errorf("printed %q, expected B once and S once", s.letters)
		}
	}
	if b != 1 || sAt < 0 {
		return fmt.Errorf("printed %q, expected B once and S once", s.letters)
	}
	if sAt < spin/2 {
		return fmt.Errorf("S printed at %.3fs of a %.3fs spin: it did not spin", sAt.Seconds(), spin.Seconds())
	}
	return nil
}

func spinRow(r *Row, c common, cfg schedConfig) error {
	spinIterations(cfg.spin) // calibrate before the clock runs
	var waited time.Duration
	samples, last, err := measure(c, func() (*strip, error) {
		s, w, err := spinDemo(cfg)
		waited = w
		return s, err
	}, func(s *strip) error { return checkSpin(s, cfg.spin) })
	if err != nil {
		return err
	}
	r.succeed(samples)
	r.Extra = obj{"waited_s": nonNegative(waited.Seconds()), "strip": string(last.letters)}
	r.Events = last.events()
	// Printed B before S: B got a thread while S was still in its loop.
	order := "B printed before S finished"
	if string(last.letters) != "BS" {
		order = "B printed only after S finished"
	}
	r.Lines = []string{fmt.Sprintf("B wanted to print at %.3fs and printed %.3fs later; S spun %.3fs with no blocking point; %s (GOMAXPROCS %d)",
		(cfg.spin / 10).Seconds(), nonNegative(waited.Seconds()), cfg.spin.Seconds(), order, runtime.GOMAXPROCS(0))}
	return nil
}
