package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// waitgroup (§3.4): when main returns, goroutines still running die with the process;
// waiting on a sync.WaitGroup keeps them to the end. Each run is a child process whose
// main really returns, and its printed letters are counted here.

const waitgroupChildCmd = "__waitgroup-child"

// waitgroupChild is the child side: PEER __waitgroup-child wait|no-wait PRINTS PAUSE_S.
// Letters go to stdout unbuffered, one write each, so what was printed before the
// process ended is really out; its own timing goes to stderr as one JSON line.
func waitgroupChild(argv []string) {
	if len(argv) != 3 || (argv[0] != "wait" && argv[0] != "no-wait") {
		usageError(waitgroupChildCmd + " takes wait|no-wait PRINTS PAUSE_S")
	}
	prints, err1 := strconv.Atoi(argv[1])
	pauseS, err2 := strconv.ParseFloat(argv[2], 64)
	if err1 != nil || err2 != nil || prints < 0 || pauseS < 0 {
		usageError(waitgroupChildCmd + ": bad PRINTS or PAUSE_S")
	}
	pause := secondsToDuration(pauseS)
	t0 := time.Now()
	var wg sync.WaitGroup
	for _, l := range letters {
		letter := []byte{l}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < prints; i++ {
				time.Sleep(pause)
				os.Stdout.Write(letter)
			}
		}()
	}
	if argv[0] == "wait" {
		wg.Wait()
	}
	fmt.Fprintf(os.Stderr, "{\"main_s\": %s}\n", secs(time.Since(t0).Seconds()))
	// main returns next, and the process ends with whatever is still running.
}

type waitgroupRun struct {
	counts  []int
	printed int
	other   int // bytes that are not letters A-E
	peak    int64
}

func waitgroupOnce(variant string, prints int, pause time.Duration) (waitgroupRun, float64, error) {
	exe, err := os.Executable()
	if err != nil {
		return waitgroupRun{}, 0, err
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(exe, waitgroupChildCmd, variant, strconv.Itoa(prints), secs(pause.Seconds()))
	cmd.Stdout, cmd.Stderr = &out, &errOut
	dieWithParent(cmd)
	if err := cmd.Run(); err != nil {
		return waitgroupRun{}, 0, fmt.Errorf("child process: %v: %s", err, oneLine(errOut.String()))
	}
	var timing struct {
		MainS *float64 `json:"main_s"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(errOut.Bytes()), &timing); err != nil || timing.MainS == nil {
		return waitgroupRun{}, 0, fmt.Errorf("child's timing line %q: %v", errOut.String(), err)
	}
	run := waitgroupRun{counts: make([]int, len(letters)), peak: childPeakRSS(cmd.ProcessState)}
	for _, b := range out.Bytes() {
		if i := bytes.IndexByte(letters, b); i >= 0 {
			run.counts[i]++
			run.printed++
		} else {
			run.other++
		}
	}
	return run, *timing.MainS, nil
}

func runWaitgroup(a *args) {
	c := a.common([]string{"goroutines"})
	prints := int(a.number("prints", 101, 1, 1000000))
	pause := a.seconds("pause", 0.001, false)
	a.finish()

	expected := len(letters) * prints
	for _, t := range c.techniques {
		for _, variant := range []string{"no-wait", "wait"} {
			variant := variant
			row := newRow("waitgroup", t, obj{"variant": variant})
			// Each unit pauses before every print; no-wait ends sooner, but not by much.
			if skipRow(row, c.tooLong(float64(prints)*pause.Seconds(), ": its prints' pauses")) {
				continue
			}
			runRow(row, func(r *Row) error {
				var peak int64
				samples, last, err := measureOwn(c, func() (waitgroupRun, float64, error) {
					run, mainS, err := waitgroupOnce(variant, prints, pause)
					if run.peak > peak {
						peak = run.peak
					}
					return run, mainS, err
				}, func(run waitgroupRun) error {
					if run.other != 0 {
						return fmt.Errorf("the child wrote %d bytes that are not letters A-E", run.other)
					}
					for i, n := range run.counts {
						if n > prints || (variant == "wait" && n != prints) {
							return fmt.Errorf("%c printed %d times, expected %d", letters[i], n, prints)
						}
					}
					return nil
				})
				if err != nil {
					return err
				}
				r.succeedWithPeak(samples, peak)
				r.Extra = obj{"printed": last.printed, "expected": expected, "counts": last.counts}
				r.Lines = []string{fmt.Sprintf("%s: main returned after %.3fs; %d of %d letters printed", variant, median(samples), last.printed, expected)}
				return nil
			})
		}
	}
}
