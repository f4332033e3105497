//go:build unix

package live

import (
	"net"
	"syscall"
)

// writeNow writes b to conn if the connection's send buffer takes all of it
// at once, and reports whether it did. It never waits: a reader that does
// not keep up must not hold up the readers after it.
func writeNow(conn net.Conn, b []byte) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return writeSoon(conn, b)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var n int
	var werr error
	err = raw.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), b)
		return true // done, even if it would have blocked
	})
	return err == nil && werr == nil && n == len(b)
}

// left reports whether conn's reader has closed it (or it broke), without
// reading anything or waiting: a peek at what the connection received.
func left(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	var gone bool
	var b [1]byte
	err = raw.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		gone = n == 0 && rerr == nil || rerr != nil && rerr != syscall.EAGAIN && rerr != syscall.EWOULDBLOCK && rerr != syscall.EINTR
		return true
	})
	return err != nil || gone
}

// fileLimit is how many files the process may have open (its soft
// RLIMIT_NOFILE, which Go raises to the hard limit at start), or 0 if
// unknown.
func fileLimit() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur > 1<<30 {
		return 0
	}
	return int(lim.Cur)
}
