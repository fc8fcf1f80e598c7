package main

import (
	"bytes"
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
//
// A run is timed here, in the parent, from the child's spawn until it has exited, as
// parlab times its own rows (extra.timing says so): a clock inside the child's main
// would leave out the process's start and end, and stop before a no-wait child has
// really ended.

const waitgroupChildCmd = "__waitgroup-child"

// waitgroupTiming is extra.timing: what a sample times, named as parlab names it.
const waitgroupTiming = "child-spawn-to-exit"

// waitgroupChild is the child side: PEER __waitgroup-child wait|no-wait PRINTS PAUSE_S.
// Letters go to stdout unbuffered, one write each, so what was printed before the
// process ended is really out.
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
	// main returns next, and the process ends with whatever is still running.
}

type waitgroupRun struct {
	counts   []int
	printed  int
	other    int // bytes that are not letters A-E
	exitCode int // the child's exit status: 0 when it ended by itself
	peak     int64
}

// waitgroupOnce runs one child and returns what it printed and its life in seconds,
// from just before its spawn until it had exited and its output was read.
func waitgroupOnce(variant string, prints int, pause time.Duration) (waitgroupRun, float64, error) {
	exe, err := os.Executable()
	if err != nil {
		return waitgroupRun{}, 0, err
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(exe, waitgroupChildCmd, variant, strconv.Itoa(prints), secs(pause.Seconds()))
	cmd.Stdout, cmd.Stderr = &out, &errOut
	dieWithParent(cmd)
	start := time.Now()
	err = cmd.Run()
	life := time.Since(start).Seconds()
	if err != nil {
		return waitgroupRun{}, 0, fmt.Errorf("child process: %v: %s", err, oneLine(errOut.String()))
	}
	run := waitgroupRun{counts: make([]int, len(letters)), exitCode: cmd.ProcessState.ExitCode(), peak: childPeakRSS(cmd.ProcessState)}
	for _, b := range out.Bytes() {
		if i := bytes.IndexByte(letters, b); i >= 0 {
			run.counts[i]++
			run.printed++
		} else {
			run.other++
		}
	}
	return run, life, nil
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
					run, life, err := waitgroupOnce(variant, prints, pause)
					if run.peak > peak {
						peak = run.peak
					}
					return run, life, err
				}, func(run waitgroupRun) error {
					// Both variants: the process ended by itself, and no unit printed more
					// than its share; waiting must deliver every letter.
					if run.exitCode != 0 {
						return fmt.Errorf("the child exited with status %d", run.exitCode)
					}
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
				r.Extra = obj{"printed": last.printed, "expected": expected, "counts": last.counts, "exit_code": last.exitCode, "timing": waitgroupTiming}
				r.Lines = []string{fmt.Sprintf("%s: the child lived %.3fs from spawn to exit; %d of %d letters printed", variant, median(samples), last.printed, expected)}
				return nil
			})
		}
	}
}
