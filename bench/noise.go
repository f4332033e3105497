package main

import (
	"fmt"
	"slices"
	"time"
)

// noise measures how long 2,000 sleeps of a millisecond take: on an idle
// machine p99 stays near 1 ms; other work, or a virtual machine that
// freezes now and then, shows here first, and in every latency after.
func noise() string {
	d := make([]time.Duration, 2000)
	for i := range d {
		t := time.Now()
		time.Sleep(time.Millisecond)
		d[i] = time.Since(t)
	}
	slices.Sort(d)
	return fmt.Sprintf("time.Sleep(1ms) ×%d: p50 %s, p99 %s, max %s", len(d), ms(d[len(d)/2]), ms(d[len(d)*99/100-1]), ms(d[len(d)-1]))
}
