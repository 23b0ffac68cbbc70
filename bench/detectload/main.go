// Command detectload measures event → alert latency on a running node
// while it ingests a steady stream: sshd auth-log lines at -rate events/s
// (mostly routine, some failed logins from many addresses), with probes:
// every -probe-every, a new address fails ten logins at once, which the
// built-in "SSH brute force" rule turns into an alert. It polls
// GET /api/v1/alerts and reports, per probe, the time from sending its
// batch to seeing its alert. See docs/performance.md.
//
//	detectload -url http://127.0.0.1:8080 -token xdrt_... -rate 10000 -duration 60s
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "detectload:", err)
		os.Exit(1)
	}
}

type client struct {
	base, token string
	http        *http.Client
}

func (c *client) do(method, path string, body []byte) ([]byte, error) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	return b, err
}

func run() error {
	base := flag.String("url", "http://127.0.0.1:8080", "node URL")
	token := flag.String("token", "", "API token (scope api)")
	rate := flag.Int("rate", 10_000, "events per second to ingest")
	batch := flag.Int("batch", 500, "events per request")
	conns := flag.Int("conns", 4, "concurrent requests")
	duration := flag.Duration("duration", time.Minute, "how long to ingest")
	probeEvery := flag.Duration("probe-every", 200*time.Millisecond, "how often a new address brute-forces")
	warmup := flag.Duration("warmup", 10*time.Second, "ingest this long before the first probe (the node compiles the rule set on the first batch)")
	flag.Parse()
	if *token == "" {
		return fmt.Errorf("-token is required")
	}
	c := &client{base: strings.TrimRight(*base, "/"), token: *token,
		http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: *conns + 1}}}

	var (
		mu    sync.Mutex
		sent  = map[string]time.Time{} // probe address → when its batch was sent
		seen  = map[string]time.Duration{}
		stop  = make(chan struct{})
		polls sync.WaitGroup
	)
	polls.Add(1)
	go func() { // the alert watcher
		defer polls.Done()
		// Only the probes' alerts, newest first: the answer stops at the
		// 20th match, so each poll reads a few seconds of alerts, not all.
		q := "/api/v1/alerts?limit=20&q=" + url.QueryEscape(`rule_title:"SSH brute force" AND entities.value:198.18.*`)
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			b, err := c.do("GET", q, nil)
			now := time.Now()
			if err != nil {
				fmt.Fprintln(os.Stderr, "poll:", err)
				continue
			}
			var page struct {
				Alerts []struct {
					Entities []struct{ Value string } `json:"entities"`
				} `json:"alerts"`
			}
			if err := json.Unmarshal(b, &page); err != nil {
				fmt.Fprintln(os.Stderr, "poll:", err)
				continue
			}
			mu.Lock()
			for _, a := range page.Alerts {
				if len(a.Entities) == 0 {
					continue
				}
				ip := a.Entities[0].Value
				if t, ok := sent[ip]; ok {
					if _, done := seen[ip]; !done {
						seen[ip] = now.Sub(t)
					}
				}
			}
			mu.Unlock()
		}
	}()

	jobs := make(chan []byte, *conns)
	var accepted, failed atomic.Int64
	var workers sync.WaitGroup
	for range *conns {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for body := range jobs {
				if _, err := c.do("POST", "/api/v1/ingest/auth", body); err != nil {
					failed.Add(1)
					fmt.Fprintln(os.Stderr, "ingest:", err)
					continue
				}
				accepted.Add(int64(bytes.Count(body, []byte("\n"))))
			}
		}()
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) * float64(*batch) / float64(*rate))
	tick := time.NewTicker(interval)
	nextProbe := start.Add(*warmup)
	probes := 0
	for n := 0; time.Since(start) < *warmup+*duration; n++ {
		<-tick.C
		var buf bytes.Buffer
		now := time.Now().UTC()
		probe := ""
		if now.After(nextProbe) {
			probes++
			probe = fmt.Sprintf("198.18.%d.%d", probes/250%250, probes%250+1)
			nextProbe = nextProbe.Add(*probeEvery)
			for i := range 10 {
				fmt.Fprintf(&buf, "%s srv-1 sshd[%d]: Failed password for root from %s port %d ssh2\n", now.Format(time.RFC3339Nano), 1000+i, probe, 40000+i)
			}
		}
		for i := 0; i < *batch-10*min(len(probe), 1); i++ {
			writeBackground(&buf, now, n, i)
		}
		// A probe's clock starts when its events are made, so time spent
		// queued behind earlier batches counts.
		if probe != "" {
			mu.Lock()
			sent[probe] = time.Now()
			mu.Unlock()
		}
		jobs <- buf.Bytes()
	}
	close(jobs)
	workers.Wait()
	elapsed := time.Since(start)
	time.Sleep(2 * time.Second) // let the watcher see the last probes
	close(stop)
	polls.Wait()

	mu.Lock()
	defer mu.Unlock()
	var lat []time.Duration
	type slow struct {
		at time.Duration // after the start
		d  time.Duration
	}
	var slowest []slow
	for ip, d := range seen {
		lat = append(lat, d)
		slowest = append(slowest, slow{sent[ip].Sub(start), d})
	}
	slices.Sort(lat)
	slices.SortFunc(slowest, func(a, b slow) int { return int(b.d - a.d) })
	for _, s := range slowest[:min(5, len(slowest))] {
		fmt.Printf("slow probe: sent %.1f s after the start, alert after %v\n", s.at.Seconds(), s.d.Round(time.Millisecond))
	}
	fmt.Printf("ingested %d events in %.1f s (%v warm-up first) = %.0f events/s (target %d), %d failed requests\n",
		accepted.Load(), elapsed.Seconds(), *warmup, float64(accepted.Load())/elapsed.Seconds(), *rate, failed.Load())
	fmt.Printf("probes: %d sent, %d alerts seen\n", len(sent), len(seen))
	if len(lat) > 0 {
		pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
		fmt.Printf("event → alert visible: p50 %v  p90 %v  p99 %v  max %v\n",
			pct(0.50).Round(time.Millisecond), pct(0.90).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	}
	if len(seen) < len(sent) {
		return fmt.Errorf("%d probes raised no alert", len(sent)-len(seen))
	}
	return nil
}

// writeBackground writes one routine auth-log line: logins, sudo, sessions,
// and now and then a failed login from one of 2,000 addresses.
func writeBackground(buf *bytes.Buffer, now time.Time, n, i int) {
	ts := now.Format(time.RFC3339Nano)
	ip := fmt.Sprintf("10.%d.%d.%d", 20+i%4, (n+i)%50, i%40+1)
	switch i % 20 {
	case 0:
		fmt.Fprintf(buf, "%s srv-%d sshd[%d]: Failed password for alice from %s port %d ssh2\n", ts, i%8, 2000+i, ip, 50000+i)
	case 1, 2:
		fmt.Fprintf(buf, "%s srv-%d sshd[%d]: Accepted publickey for deploy from %s port %d ssh2: ED25519 SHA256:abc\n", ts, i%8, 2000+i, ip, 50000+i)
	case 3, 4, 5:
		fmt.Fprintf(buf, "%s srv-%d sudo: deploy : TTY=pts/0 ; PWD=/srv ; USER=root ; COMMAND=/usr/bin/systemctl restart app%d\n", ts, i%8, i%10)
	default:
		fmt.Fprintf(buf, "%s srv-%d sshd[%d]: pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)\n", ts, i%8, 2000+i)
	}
}
