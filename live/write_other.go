//go:build !unix

package live

import "net"

func writeNow(conn net.Conn, b []byte) bool { return writeSoon(conn, b) }

// left cannot tell here: a stream whose reader left is noticed when a
// keep-alive fails to go.
func left(net.Conn) bool { return false }

func fileLimit() int { return 0 }
