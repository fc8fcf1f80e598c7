package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// io (Figure 4): check web sites one after another, or one goroutine per site.

// checked is one run: per URL (in URL order) its status (0: no answer), the error, and
// when its request started and ended.
type checked struct {
	statuses []int
	errs     []string
	starts   []time.Duration
	ends     []time.Duration
}

// siteName is a URL's last path segment: the embedded server's /site/NAME gives NAME.
func siteName(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		if seg := strings.Trim(u.Path, "/"); seg != "" {
			return seg[strings.LastIndex(seg, "/")+1:]
		}
		if u.Host != "" {
			return u.Host
		}
	}
	return raw
}

// checkSites GETs every URL once. A fresh client per run with keep-alives off, so no
// run (and no request) reuses another's connection.
func checkSites(urls []string, timeout time.Duration, concurrent bool) checked {
	transport := &http.Transport{Proxy: http.ProxyFromEnvironment, DisableKeepAlives: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: timeout}
	c := checked{
		statuses: make([]int, len(urls)),
		errs:     make([]string, len(urls)),
		starts:   make([]time.Duration, len(urls)),
		ends:     make([]time.Duration, len(urls)),
	}
	t0 := time.Now()
	one := func(i int) {
		c.starts[i] = time.Since(t0)
		defer func() { c.ends[i] = time.Since(t0) }()
		resp, err := client.Get(urls[i])
		if err != nil {
			c.errs[i] = err.Error()
			return
		}
		// Read the answer to its end: a check is done when the reply is in.
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			c.errs[i] = err.Error()
			return
		}
		// Any status is an answer, a 503 included.
		c.statuses[i] = resp.StatusCode
	}
	forEach(len(urls), concurrent, one)
	return c
}

func runIO(a *args) {
	c := a.common([]string{"sequential", "goroutines"})
	urls, given := a.stringsList("urls")
	if !given {
		usageError("io: --urls is required (--urls U1,U2,..)")
	}
	var expect []int
	if items, ok := a.stringsList("expect"); ok {
		if len(items) != len(urls) {
			a.bad("expect", strings.Join(items, ","), fmt.Sprintf("expected one status per URL (%d)", len(urls)))
		}
		for _, item := range items {
			s, good := parseInt(item)
			if !good || s < 100 || s > 599 {
				a.bad("expect", strings.Join(items, ","), "expected HTTP statuses (100 to 599)")
			}
			expect = append(expect, int(s))
		}
	}
	timeout := a.seconds("request-timeout", 10, true)
	// The size of Python's process pool; goroutines need no pool.
	a.number("workers", 1, 1, 10000)
	a.finish()

	names := make([]string, len(urls))
	for i, u := range urls {
		names[i] = siteName(u)
	}
	check := func(got checked) error {
		for i, s := range got.statuses {
			want := 0
			if expect != nil {
				want = expect[i]
			}
			if (expect != nil && s != want) || (expect == nil && s == 0) {
				if s == 0 {
					return fmt.Errorf("%s gave no answer: %s", urls[i], got.errs[i])
				}
				return fmt.Errorf("%s answered %d, expected %d", urls[i], s, want)
			}
		}
		return nil
	}
	for _, t := range c.techniques {
		t := t
		workers, function := 1, "sequential_monitoring"
		if t == "goroutines" {
			workers, function = len(urls), "goroutine_monitoring"
		}
		row := newRow("io", t, obj{"workers": workers, "sites": len(urls)})
		runRow(row, func(r *Row) error {
			samples, last, err := measure(c, func() (checked, error) {
				return checkSites(urls, timeout, t == "goroutines"), nil
			}, check)
			if last.statuses == nil {
				return err
			}
			// An error row keeps what its failing run saw, as an ok row shows its last.
			if err == nil {
				r.succeed(samples)
			}
			fine, down, failed := 0, 0, 0
			for _, s := range last.statuses {
				switch {
				case s == 200:
					fine++
				case s == 0:
					failed++
				default:
					down++
				}
			}
			r.Extra = obj{"statuses": last.statuses, "fine": fine, "down": down, "failed": failed}
			order := make([]int, len(urls))
			for i := range order {
				order[i] = i
				lane := fmt.Sprintf("site-%d", i+1)
				r.Events = append(r.Events, event(last.starts[i], lane, "start", names[i]), event(last.ends[i], lane, "end", names[i]))
			}
			sortEvents(r.Events)
			// The paper's lines come in the order the checks finished.
			sort.SliceStable(order, func(x, y int) bool { return last.ends[order[x]] < last.ends[order[y]] })
			for _, i := range order {
				switch s := last.statuses[i]; {
				case s == 200:
					r.Lines = append(r.Lines, "FINE: "+names[i])
				case s == 0:
					r.Lines = append(r.Lines, fmt.Sprintf("FAILED: %s (%s)", names[i], oneLine(last.errs[i])))
				default:
					r.Lines = append(r.Lines, fmt.Sprintf("DOWN<%d>: %s", s, names[i]))
				}
			}
			if err != nil {
				return err
			}
			r.Lines = append(r.Lines, fmt.Sprintf("Function '%s' executed in %ss", function, secs(median(samples))))
			return nil
		})
	}
}
