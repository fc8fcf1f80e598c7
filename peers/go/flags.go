package main

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// args holds an experiment's flags as given. Each getter parses one flag (or returns
// its default) and exits with a usage error on a bad value; finish then rejects every
// flag no getter asked for, so the getters are the one list of what is accepted.
type args struct {
	experiment string
	raw        map[string]string
	used       map[string]bool
}

// parseArgs splits "--name value" (or "--name=value") pairs. Every flag takes exactly
// one value, so a flag without one is an error.
func parseArgs(experiment string, argv []string) *args {
	a := &args{experiment: experiment, raw: map[string]string{}, used: map[string]bool{}}
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		if !strings.HasPrefix(arg, "--") || len(arg) == 2 {
			usageError(fmt.Sprintf("%s: unexpected argument '%s' (flags are --name value)", experiment, arg))
		}
		name, value := arg[2:], ""
		if eq := strings.IndexByte(name, '='); eq >= 0 {
			name, value = name[:eq], name[eq+1:]
		} else {
			if i+1 >= len(argv) {
				usageError(fmt.Sprintf("%s: --%s needs a value", experiment, name))
			}
			i++
			value = argv[i]
		}
		if _, dup := a.raw[name]; dup {
			usageError(fmt.Sprintf("%s: --%s given twice", experiment, name))
		}
		a.raw[name] = value
	}
	return a
}

// get returns the flag's text and whether it was given, and marks it as known.
func (a *args) get(name string) (string, bool) {
	a.used[name] = true
	v, ok := a.raw[name]
	return v, ok
}

func (a *args) bad(name, value, want string) {
	usageError(fmt.Sprintf("%s: --%s '%s': %s", a.experiment, name, value, want))
}

// finish rejects flags that this experiment does not know.
func (a *args) finish() {
	var unknown []string
	for name := range a.raw {
		if !a.used[name] {
			unknown = append(unknown, "--"+name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		usageError(fmt.Sprintf("%s: unknown flag %s", a.experiment, strings.Join(unknown, ", ")))
	}
}

// parseInt reads a whole number: digits (underscores allowed, as in 10_000_000) or a
// float literal with an integral value (1e7).
func parseInt(text string) (int64, bool) {
	clean := strings.ReplaceAll(strings.TrimSpace(text), "_", "")
	if n, err := strconv.ParseInt(clean, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(clean, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
		return 0, false
	}
	return int64(f), true
}

// number returns a whole-number flag within [least, most].
func (a *args) number(name string, def, least, most int64) int64 {
	text, ok := a.get(name)
	if !ok {
		return def
	}
	n, good := parseInt(text)
	if !good || n < least || n > most {
		a.bad(name, text, fmt.Sprintf("expected a whole number from %d to %d", least, most))
	}
	return n
}

// seconds returns a duration flag given in seconds as a decimal; positive demands
// more than zero, otherwise zero is allowed.
func (a *args) seconds(name string, def float64, positive bool) time.Duration {
	text, ok := a.get(name)
	if !ok {
		return secondsToDuration(def)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || (positive && f == 0) || f > 1e6 {
		want := "expected seconds as a decimal, 0 or more"
		if positive {
			want = "expected seconds as a decimal above 0"
		}
		a.bad(name, text, want)
	}
	return secondsToDuration(f)
}

func secondsToDuration(s float64) time.Duration {
	return time.Duration(math.Round(s * float64(time.Second)))
}

// boolean returns a 0/1 flag.
func (a *args) boolean(name string, def bool) bool {
	text, ok := a.get(name)
	if !ok {
		return def
	}
	switch strings.TrimSpace(text) {
	case "0":
		return false
	case "1":
		return true
	}
	a.bad(name, text, "expected 0 or 1")
	return false
}

// list returns a comma-separated flag split into its non-empty items.
func (a *args) list(name, def string) ([]string, string) {
	text, ok := a.get(name)
	if !ok {
		text = def
	}
	var items []string
	for _, item := range strings.Split(text, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	if len(items) == 0 {
		a.bad(name, text, "expected a comma-separated list")
	}
	return items, text
}

// choices returns a list flag whose items must each be one of allowed, in the order
// given, without repeats.
func (a *args) choices(name, def string, allowed []string) []string {
	items, text := a.list(name, def)
	seen := map[string]bool{}
	var out []string
	for _, item := range items {
		if !contains(allowed, item) {
			a.bad(name, text, fmt.Sprintf("'%s' is not one of %s", item, strings.Join(allowed, ", ")))
		}
		if !seen[item] {
			seen[item] = true
			out = append(out, item)
		}
	}
	return out
}

// intList returns a list of whole numbers in [least, most]; an item may be an
// inclusive range such as 1..20.
func (a *args) intList(name, def string, least, most int64) []int {
	items, text := a.list(name, def)
	var out []int
	for _, item := range items {
		lo, hi := item, item
		if i := strings.Index(item, ".."); i >= 0 {
			lo, hi = item[:i], item[i+2:]
		}
		from, ok1 := parseInt(lo)
		to, ok2 := parseInt(hi)
		if !ok1 || !ok2 || from < least || to > most || from > to {
			a.bad(name, text, fmt.Sprintf("expected whole numbers or ranges (a..b) from %d to %d", least, most))
		}
		for n := from; n <= to; n++ {
			out = append(out, int(n))
		}
	}
	return out
}

// stringsList returns a list flag as given (items checked by the caller).
func (a *args) stringsList(name string) ([]string, bool) {
	if _, ok := a.raw[name]; !ok {
		a.used[name] = true
		return nil, false
	}
	items, _ := a.list(name, "")
	return items, true
}

// common are the flags every experiment takes.
type common struct {
	experiment   string
	runs, warmup int
	techniques   []string
	// skipOver: a row estimated to take longer, warm-up included, is printed skipped
	// with its estimate; 0 runs every row (estimate.go).
	skipOver time.Duration
}

// common reads --runs, --warmup, --skip-over, --technique and --peer-process (with the
// hidden flags of fresh runs, fresh.go); all lists the
// experiment's technique ids in the order its rows come.
func (a *args) common(all []string) common {
	c := common{
		experiment: a.experiment,
		runs:       int(a.number("runs", 3, 1, 1000)),
		warmup:     int(a.number("warmup", 1, 0, 1000)),
		skipOver:   a.seconds("skip-over", 60, false),
	}
	asked := a.choices("technique", strings.Join(all, ","), all)
	for _, t := range all {
		if contains(asked, t) {
			c.techniques = append(c.techniques, t)
		}
	}
	a.readSessionFlags(c)
	return c
}

func (c common) has(technique string) bool { return contains(c.techniques, technique) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
