package live

import (
	"net"
	"time"
)

// writeWait is how long writeSoon waits for a connection to take a message.
const writeWait = 50 * time.Millisecond

// writeSoon writes b to conn within writeWait, and reports whether all of it
// went: for connections whose descriptor writeNow cannot reach.
func writeSoon(conn net.Conn, b []byte) bool {
	if conn.SetWriteDeadline(time.Now().Add(writeWait)) != nil {
		return false
	}
	n, err := conn.Write(b)
	return err == nil && n == len(b)
}
