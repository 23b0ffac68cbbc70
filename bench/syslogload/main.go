// Command syslogload sends generated RFC 5424 sshd messages over TCP with
// octet counting (RFC 6587) as fast as the receiver takes them, and reports
// the rate. scripts/syslog-bench.sh runs it against a node and rsyslog.
//
//	syslogload -addr 127.0.0.1:601 -n 1000000
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:601", "syslog TCP address")
	n := flag.Int("n", 100_000, "messages to send")
	flag.Parse()
	if err := send(*addr, *n); err != nil {
		fmt.Fprintln(os.Stderr, "syslogload:", err)
		os.Exit(1)
	}
}

func send(addr string, n int) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	w := bufio.NewWriterSize(conn, 256<<10)
	start := time.Now()
	host, _ := os.Hostname()
	for i := 0; i < n; i++ {
		msg := fmt.Sprintf("<38>1 %s %s sshd %d - - Failed password for invalid user u%d from 10.%d.%d.%d port %d ssh2",
			start.Add(time.Duration(i)*time.Microsecond).UTC().Format(time.RFC3339Nano), host, 1000+i%5000, i%997,
			i%200, (i/200)%250, i%250, 1024+i%60000)
		if _, err := fmt.Fprintf(w, "%d %s", len(msg), msg); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	d := time.Since(start)
	fmt.Printf("sent %d messages in %.2fs (%.0f/s accepted by the receiver's socket)\n", n, d.Seconds(), float64(n)/d.Seconds())
	return nil
}
