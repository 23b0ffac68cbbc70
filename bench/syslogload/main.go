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
	"strconv"
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
	// Messages are built by appending into reused buffers: the sender
	// shares the machine with the receiver, so its CPU is kept small.
	var msg, frame []byte
	for i := 0; i < n; i++ {
		msg = append(msg[:0], "<38>1 "...)
		msg = start.Add(time.Duration(i)*time.Microsecond).UTC().AppendFormat(msg, time.RFC3339Nano)
		msg = append(append(append(msg, ' '), host...), " sshd "...)
		msg = strconv.AppendInt(msg, int64(1000+i%5000), 10)
		msg = append(msg, " - - Failed password for invalid user u"...)
		msg = strconv.AppendInt(msg, int64(i%997), 10)
		msg = append(msg, " from 10."...)
		msg = strconv.AppendInt(msg, int64(i%200), 10)
		msg = append(msg, '.')
		msg = strconv.AppendInt(msg, int64((i/200)%250), 10)
		msg = append(msg, '.')
		msg = strconv.AppendInt(msg, int64(i%250), 10)
		msg = append(msg, " port "...)
		msg = strconv.AppendInt(msg, int64(1024+i%60000), 10)
		msg = append(msg, " ssh2"...)
		frame = append(strconv.AppendInt(frame[:0], int64(len(msg)), 10), ' ')
		if _, err := w.Write(append(frame, msg...)); err != nil {
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
