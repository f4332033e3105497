package main

import (
	"bufio"
	"net"
	"testing"
)

// TestViewerRead feeds one viewer the messages an event page gets and checks
// what it was shown after each: the whole list, then counts of some
// listings, then a listing's page's box.
func TestViewerRead(t *testing.T) {
	v := &viewers{seen: make([][]shown, 1), first: 10, listings: 3}
	p := &page{left: make([]int32, v.listings), total: -1}
	server, client := net.Pipe()
	go func() {
		defer server.Close()
		for _, m := range []string{
			"retry: 1000\n: listings\n\n",
			"id: a-1\nevent: listings\ndata: <ul>\ndata: <li id=\"listing-10\"><span class=\"left\">4 of 4</span>\n" +
				"data: <li id=\"listing-11\"><span class=\"left\">5 of 5</span>\ndata: <li id=\"listing-12\"><span class=\"left\">6 of 6</span>\n\n",
			": keepalive\n\n",
			"id: a-2\nevent: counts\ndata: 10 3 0,12 0 5\n\n",
			"id: a-3\nevent: counts\ndata: 11 1 2\n\n",
			"id: a-4\nevent: buy\ndata: <p><span class=\"left\">7 of 9</span></p>\n\n",
		} {
			if _, err := server.Write([]byte(m)); err != nil {
				return
			}
		}
	}()
	lastID := v.read(0, client, bufio.NewReader(client), p)
	if lastID != "a-4" {
		t.Errorf("last id %q, want a-4", lastID)
	}
	var got []int
	for _, s := range v.seen[0] {
		got = append(got, s.left)
	}
	want := []int{15, 3 + 5 + 0, 3 + 1 + 0, 7}
	if len(got) != len(want) {
		t.Fatalf("shown %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("shown %v, want %v", got, want)
		}
	}
}
