// Command brotligen compresses the static files with brotli at its best, once,
// at build time (go generate ./static), into static/br, which package static
// embeds: at start-up the same work would take seconds.
package main

import (
	"fmt"
	"os"

	"github.com/eventhive/eventhive/static"
)

func main() {
	if err := static.WriteBrotli("br"); err != nil {
		fmt.Fprintln(os.Stderr, "brotligen:", err)
		os.Exit(1)
	}
}
