//go:build !linux

package syslogd

import "net"

// Elsewhere than Linux the kernel's drops are not reported.
func watchKernelDrops(*net.UDPConn) bool { return false }

func kernelDropTotal([]byte) (uint32, bool) { return 0, false }
