package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Estimates for --skip-over: a row that would run for minutes is printed skipped with
// how long it would take, instead of leaving parlab's terminal silent. parlab and the
// Python peer apply the same rule and write the same sentence (peers/PROTOCOL.md).

// trialTime is how long a trial runs at least: long enough to swamp the clock, short
// enough not to be noticed before a row.
const trialTime = 30 * time.Millisecond

// approx writes a duration as a person reads an estimate: 9m 40s, 25s, 2.5s, 120ms.
func approx(seconds float64) string {
	seconds = math.Max(seconds, 0)
	switch {
	case seconds >= 59.5:
		whole := int64(math.Round(seconds))
		if whole >= 3600 {
			minutes := (whole + 30) / 60
			if minutes%60 == 0 {
				return fmt.Sprintf("%dh", minutes/60)
			}
			return fmt.Sprintf("%dh %dm", minutes/60, minutes%60)
		}
		if whole%60 == 0 {
			return fmt.Sprintf("%dm", whole/60)
		}
		return fmt.Sprintf("%dm %ds", whole/60, whole%60)
	case seconds >= 9.95:
		return fmt.Sprintf("%ds", int64(math.Round(seconds)))
	case seconds >= 0.9995:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", seconds), ".0") + "s"
	case seconds >= 0.0005:
		return fmt.Sprintf("%dms", int64(math.Round(seconds*1e3)))
	}
	return fmt.Sprintf("%dµs", int64(math.Round(seconds*1e6)))
}

// rateText writes a rate with three significant digits and an SI prefix: 41.2M.
func rateText(perS float64) string {
	scale, prefix := 1.0, ""
	switch {
	case perS >= 1e9:
		scale, prefix = 1e9, "G"
	case perS >= 1e6:
		scale, prefix = 1e6, "M"
	case perS >= 1e3:
		scale, prefix = 1e3, "k"
	}
	v := perS / scale
	decimals := 2
	if v >= 100 {
		decimals = 0
	} else if v >= 10 {
		decimals = 1
	}
	return fmt.Sprintf("%.*f%s", decimals, v, prefix)
}

// grouped writes a whole number with thousands separated by commas (13,245,112), as
// parlab and the Python peer write message rates.
func grouped(n int64) string {
	digits := fmt.Sprint(n)
	sign := ""
	if n < 0 {
		sign, digits = "-", digits[1:]
	}
	var b strings.Builder
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return sign + b.String()
}

// tooLong says why a row whose runs take about perRun seconds each is skipped, or ""
// when it fits or --skip-over is 0. Warm-up runs count: they take as long, and with
// fresh runs every counted run's process does them again (not for rows whose runs are
// child processes anyway, ownProcess). basis says where the estimate came from
// (" at 41.2M steps/s").
func (c common) tooLong(perRun float64, basis string) string {
	limit := c.skipOver.Seconds()
	if limit <= 0 || math.IsNaN(perRun) {
		return ""
	}
	runs := c.warmup + c.runs
	if session.fresh && !ownProcess[c.experiment] {
		runs = c.runs * (1 + c.warmup)
	}
	total := perRun * float64(runs)
	if total <= limit {
		return ""
	}
	plural := "s"
	if runs == 1 {
		plural = ""
	}
	return fmt.Sprintf("would take about %s (%d run%s of %s%s), over --skip-over %s",
		approx(total), runs, plural, approx(perRun), basis, approx(limit))
}

// estimating reports whether rows are estimated at all (--skip-over 0 runs everything,
// and then no trial is worth its time).
func (c common) estimating() bool { return c.skipOver > 0 }

// skipRow prints r as skipped when why says it is, and reports whether it did.
func skipRow(r *Row, why string) bool {
	if why == "" {
		return false
	}
	r.skip(why)
	writeJSONLine(r)
	return true
}

// trialRate is units per second of work(units), doubling units until one trial takes
// trialTime.
func trialRate(work func(units int64), units int64) float64 {
	for {
		start := time.Now()
		work(units)
		took := time.Since(start).Seconds()
		if took >= trialTime.Seconds() || units >= 1<<34 {
			return float64(units) / math.Max(took, 1e-9)
		}
		units *= 2
	}
}

// scaledTrial is the seconds work of full units takes, from a timed trial of trial
// units; NaN when the work is no bigger than the trial.
func scaledTrial(full, trial int64, work func(units int64)) float64 {
	if full <= trial || trial <= 0 {
		return math.NaN()
	}
	start := time.Now()
	work(trial)
	return time.Since(start).Seconds() / float64(trial) * float64(full)
}

// lowerBound is the shortest time any schedule of these jobs could take, atOnce at a
// time on the Ps this process has: the shared work, never less than the longest job.
func lowerBound(jobTimes []float64, atOnce int) float64 {
	if atOnce > defaultGOMAXPROCS {
		atOnce = defaultGOMAXPROCS
	}
	if atOnce < 1 {
		atOnce = 1
	}
	total, longest := 0.0, 0.0
	for _, t := range jobTimes {
		total += t
		longest = math.Max(longest, t)
	}
	return math.Max(total/float64(atOnce), longest)
}
