package syslogd

import (
	"encoding/binary"
	"net"
	"syscall"
)

// The kernel drops datagrams that arrive while the socket's receive buffer
// is full, before the listener can read (and count) them. With SO_RXQ_OVFL
// set, every datagram read carries the socket's running total of such
// drops, so they are counted as received and dropped like the queue's own.

// watchKernelDrops asks the kernel to report the socket's drop total; it
// reports whether it will.
func watchKernelDrops(c *net.UDPConn) bool {
	raw, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, 1)
	}); err != nil || serr != nil {
		return false
	}
	return true
}

// kernelDropTotal reads the drop total from a datagram's control data.
func kernelDropTotal(oob []byte) (uint32, bool) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SO_RXQ_OVFL && len(m.Data) >= 4 {
			return binary.NativeEndian.Uint32(m.Data), true
		}
	}
	return 0, false
}
