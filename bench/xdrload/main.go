// Command xdrload measures a running node end to end: it ingests generated
// ~500-byte events over HTTP in NDJSON batches from several connections,
// then times an indexed query, and reads the node's peak memory from its
// /metrics. See docs/performance.md for the documented runs.
//
//	xdrload -url http://127.0.0.1:8080 -token xdrt_... -events 1000000 -batch 1000 -conns 4
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
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
		fmt.Fprintln(os.Stderr, "xdrload:", err)
		os.Exit(1)
	}
}

func run() error {
	base := flag.String("url", "http://127.0.0.1:8080", "node URL")
	token := flag.String("token", "", "API token (scope api: ingest, query and metrics)")
	total := flag.Int("events", 100_000, "events to ingest")
	batch := flag.Int("batch", 1000, "events per request")
	conns := flag.Int("conns", 4, "concurrent requests")
	queries := flag.Int("queries", 200, "indexed queries to time after ingest")
	hosts := flag.Int("ips", 10_000, "distinct source IPs in the generated events")
	flag.Parse()
	if *token == "" {
		return fmt.Errorf("-token is required")
	}
	c := &client{base: strings.TrimRight(*base, "/"), token: *token, http: &http.Client{Timeout: 5 * time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: *conns}}}

	// Pre-generate bodies so the load generator's own work stays out of the
	// measurement.
	if *total > 0 {
		if err := ingest(c, *total, *batch, *conns, *hosts); err != nil {
			return err
		}
	}
	if *queries > 0 {
		if err := queryLatency(c, *queries, *hosts); err != nil {
			return err
		}
	}
	if rss, err := c.metric("process_resident_memory_bytes"); err == nil {
		fmt.Printf("node RSS now: %.0f MiB\n", rss/(1<<20))
	}
	return nil
}

// ingest sends total events in batches from conns connections and reports
// the rate.
func ingest(c *client, total, batch, conns, hosts int) error {
	nBatches := (total + batch - 1) / batch
	bodies := make([][]byte, min(nBatches, 64))
	for i := range bodies {
		bodies[i] = genBatch(i, batch, hosts)
	}
	fmt.Printf("event size: %d bytes on average\n", len(bodies[0])/batch)

	var next, sent, rejected atomic.Int64
	var retries atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, conns)
	start := time.Now()
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(nBatches) {
					return
				}
				for {
					acc, rej, retry, err := c.ingest(bodies[int(i)%len(bodies)], fmt.Sprintf("load-%d-%d", start.UnixNano(), i))
					if err != nil {
						errc <- err
						return
					}
					if retry {
						retries.Add(1)
						time.Sleep(50 * time.Millisecond) // back-pressure asked us to wait
						continue
					}
					sent.Add(int64(acc))
					rejected.Add(int64(rej))
					break
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errc:
		return err
	default:
	}
	fmt.Printf("ingest: %d events in %.2fs = %.0f events/s (batch %d, %d connections, %d retries after 429/503, %d rejected)\n",
		sent.Load(), elapsed.Seconds(), float64(sent.Load())/elapsed.Seconds(), batch, conns, retries.Load(), rejected.Load())
	return nil
}

// queryLatency times n indexed queries, each for one source IP.
func queryLatency(c *client, n, hosts int) error {
	{
		var lat []time.Duration
		for i := 0; i < n; i++ {
			ip := fmt.Sprintf("10.%d.%d.%d", (i%hosts)/65536, ((i%hosts)/256)%256, (i%hosts)%256)
			t0 := time.Now()
			n, err := c.query("source.ip:"+ip, 100)
			if err != nil {
				return err
			}
			lat = append(lat, time.Since(t0))
			if i == 0 {
				fmt.Printf("query source.ip:%s returned %d events\n", ip, n)
			}
		}
		slices.Sort(lat)
		fmt.Printf("indexed query (limit 100), %d runs: p50 %.1f ms, p95 %.1f ms, max %.1f ms\n",
			len(lat), ms(lat[len(lat)/2]), ms(lat[len(lat)*95/100]), ms(lat[len(lat)-1]))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// genBatch renders n events of about 500 bytes of realistic shape. As from a
// real shipper, a batch covers a short stretch of time (one second here),
// and batch i is i seconds later than batch 0.
func genBatch(seed, n, hosts int) []byte {
	r := rand.New(rand.NewPCG(uint64(seed), 42))
	var b bytes.Buffer
	actions := []string{"ssh_login", "process_start", "network_connection", "file_create", "dns_query"}
	users := []string{"root", "alice", "bob", "svc-backup", "www-data", "carol"}
	base := time.Now().Add(-time.Hour).Add(time.Duration(seed) * time.Second)
	for i := 0; i < n; i++ {
		h := r.IntN(hosts)
		fmt.Fprintf(&b, `{"@timestamp":%q,"event":{"action":%q,"outcome":%q,"code":"%d","category":"authentication"},`+
			`"source":{"ip":"10.%d.%d.%d","port":%d},"destination":{"ip":"192.168.1.%d","port":22},`+
			`"user":{"name":%q},"host":{"name":"web-%02d.corp.example"},"process":{"executable":"/usr/sbin/sshd"},`+
			`"message":"Failed password for %s from 10.%d.%d.%d port %d ssh2 (attempt %d)","labels":{"site":"plant-7","rack":"r%d","zone":"ot-dmz"}}`+"\n",
			base.Add(time.Duration(r.IntN(1000))*time.Millisecond).UTC().Format(time.RFC3339Nano),
			actions[r.IntN(len(actions))], []string{"success", "failure"}[r.IntN(2)], 4624+r.IntN(3),
			h/65536, (h/256)%256, h%256, 1024+r.IntN(60000), r.IntN(254),
			users[r.IntN(len(users))], r.IntN(40),
			users[r.IntN(len(users))], h/65536, (h/256)%256, h%256, 1024+r.IntN(60000), r.IntN(10), r.IntN(100))
	}
	return b.Bytes()
}

type client struct {
	base, token string
	http        *http.Client
}

func (c *client) do(method, path string, body []byte, hdr map[string]string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(context.Background(), method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp, data, err
}

func (c *client) ingest(body []byte, batchID string) (accepted, rejected int, retry bool, err error) {
	resp, data, err := c.do(http.MethodPost, "/api/v1/ingest/json", body, map[string]string{"Idempotency-Key": batchID})
	if err != nil {
		return 0, 0, false, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return 0, 0, true, nil
	default:
		return 0, 0, false, fmt.Errorf("ingest: %s: %s", resp.Status, data)
	}
	var res struct{ Accepted, Rejected int }
	err = json.Unmarshal(data, &res)
	return res.Accepted, res.Rejected, false, err
}

func (c *client) query(q string, limit int) (int, error) {
	resp, data, err := c.do(http.MethodGet, fmt.Sprintf("/api/v1/events?limit=%d&q=%s", limit, url.QueryEscape(q)), nil, nil)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("query: %s: %s", resp.Status, data)
	}
	var res struct{ Events []json.RawMessage }
	err = json.Unmarshal(data, &res)
	return len(res.Events), err
}

func (c *client) metric(name string) (float64, error) {
	resp, data, err := c.do(http.MethodGet, "/metrics", nil, nil)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("metrics: %s", resp.Status)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			_, err := fmt.Sscanf(v, "%g", &f)
			return f, err
		}
	}
	return 0, fmt.Errorf("metric %s not found", name)
}
