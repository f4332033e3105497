package main

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/eventhive/eventhive/store"
)

// report is one dialect's figures.
type report struct {
	dialect               store.Dialect
	opts                  options
	loadBefore, loadAfter string

	listing        *stats
	rush, own, hot *rushResult
	webhooks       *webhookResult
	expiry         *expiryResult

	rssIdle, rssRush, rssPeak int64

	claimRiver, claimNoRiver float64 // store-level claims/s
	claimCPU                 float64 // the store benchmark's own CPU µs a claim, with River's insert
	claimDatabaseCPU         float64 // PostgreSQL's CPU µs a claim in that benchmark
	claimSwitches            float64 // the store benchmark's own context switches a claim
	claimDatabaseSwitches    float64 // PostgreSQL's in that benchmark
	noopGet, noopPost        *stats
}

func (r *report) print(w io.Writer) {
	name := map[store.Dialect]string{store.SQLite: "SQLite", store.Postgres: "PostgreSQL"}[r.dialect]
	fmt.Fprintf(w, "== %s (load average %s before, %s after)\n\n", name, r.loadBefore, r.loadAfter)
	row := func(what, figure, limit, ratio, target string) {
		fmt.Fprintf(w, "%-34s %-28s %-30s %-7s %s\n", what, figure, limit, ratio, target)
	}
	row("figure", "value", "limit", "ratio", "target")
	row(strings.Repeat("-", 34), strings.Repeat("-", 28), strings.Repeat("-", 30), strings.Repeat("-", 7), strings.Repeat("-", 22))

	own := r.own
	row(fmt.Sprintf("(a) holds: %d buyers, a ticket each", r.opts.buyers),
		perSecond(own.holdsPerSecond(), "holds/s"),
		limitText(r.claimRiver, "store claim"), ratio(own.holdsPerSecond(), r.claimRiver), "≥1000/s, ratio ≥0.70")
	row("    latency", own.attempts.latencyText(), "", "", "")
	row("    holds, errors, oversold", fmt.Sprintf("%d of %d, %d, %d", own.holds, own.tickets, own.errors, own.oversold), "", "", "all, 0, 0")
	row("    CPU a hold", own.attempts.cpu.per(own.attempts.n()), "", "", "")
	row("    context switches a hold", own.attempts.cpu.switchesPer(own.attempts.n()), "", "", "")
	cores := runtime.NumCPU()
	ceiling := own.attempts.cpu.ceiling(own.attempts.n(), cores)
	row(fmt.Sprintf("    %d cores' ceiling at that CPU", cores), perSecond(ceiling, "holds/s"),
		limitText(r.claimRiver, "store claim"), ratio(ceiling, r.claimRiver), "")
	rush := r.rush
	row(fmt.Sprintf("(a) rush: %d buyers race, %d×%d tickets", r.opts.buyers, r.opts.rounds, r.opts.tickets),
		perSecond(rush.holdsPerSecond(), "holds/s"),
		limitText(r.claimRiver, "store claim"), ratio(rush.holdsPerSecond(), r.claimRiver), "")
	row("    POST /orders (holds and 409s)", perSecond(rush.attempts.rate(), "req/s"),
		limitText(r.noopPost.rate(), "no-op POST, signed in"), ratio(rush.attempts.rate(), r.noopPost.rate()), "")
	row("    latency", rush.attempts.latencyText(), "", "", "")
	row("    holds, 409s, errors", fmt.Sprintf("%d, %d, %d", rush.holds, rush.attempts.statuses[http.StatusConflict], rush.errors), "", "", "errors 0")
	row("    oversold (database)", fmt.Sprintf("%d (confirmations ≠ database: %d)", rush.oversold, rush.lost), "", "", "0")
	hot := r.hot
	row("(a) rush: one hot ticket", fmt.Sprintf("%d holds of %d requests", hot.holds, hot.attempts.n()), "", "", "1 hold")
	row("    latency", hot.attempts.latencyText(), "", "", "")
	row("    errors, oversold", fmt.Sprintf("%d, %d", hot.errors, hot.oversold), "", "", "0, 0")
	row("    resident memory", fmt.Sprintf("%s peak in the rush", mb(r.rssRush)), fmt.Sprintf("idle %s", mb(r.rssIdle)), "", "≤100 MB")

	l := r.listing
	row("(b) GET /, 100 for sale, 64 conns", perSecond(l.rate(), "req/s"), limitText(r.noopGet.rate(), "no-op GET"), ratio(l.rate(), r.noopGet.rate()), "≥5000/s")
	row("    latency", l.latencyText(), "", "", "p99 ≤25 ms")
	row("    errors", fmt.Sprint(l.errors+l.unexpected(http.StatusOK)), "", "", "0")
	row("    CPU a request", l.cpu.per(l.n()), "", "", "")
	row("    context switches a request", l.cpu.switchesPer(l.n()), "", "", "")

	wh := r.webhooks
	row("(c) webhooks, 32 conns", perSecond(wh.requests.rate(), "events/s"), limitText(r.noopGet.rate(), "no-op GET"), ratio(wh.requests.rate(), r.noopGet.rate()), "")
	row("    latency", wh.requests.latencyText(), "", "", "")
	row("    processed by River", fmt.Sprintf("%d in %.1f s: %.0f/s", wh.processed, wh.processing.Seconds(),
		float64(wh.processed)/wh.processing.Seconds()), "", "", "")
	row("    distinct, repeats, stored, errors", fmt.Sprintf("%d, %d, %d, %d", wh.distinct, wh.duplicates, wh.stored,
		wh.requests.errors+wh.requests.unexpected(http.StatusOK)), "", "", "stored = distinct")

	ex := r.expiry
	row(fmt.Sprintf("(d) expiry: %d holds at once", ex.holds), fmt.Sprintf("%d cancelled", ex.cancelled), "", "", "all")
	row("    expires_at → stored cancel", durations(ex.late), "", "", "p99 ≤250 ms")

	claimCPU := fmt.Sprintf("CPU a claim: Go %.0f µs", r.claimCPU)
	if r.claimDatabaseCPU > 0 {
		claimCPU += fmt.Sprintf(", PostgreSQL %.0f µs", r.claimDatabaseCPU)
	}
	row("(e) store claim, with River insert", perSecond(r.claimRiver, "claims/s"), claimCPU, "", "")
	if r.claimRiver > 0 {
		switches := fmt.Sprintf("Go %.1f", r.claimSwitches)
		if r.claimDatabaseCPU > 0 {
			switches += fmt.Sprintf(", PostgreSQL %.1f", r.claimDatabaseSwitches)
		}
		row("    context switches a claim", switches, "", "", "")
	}
	row("    without River's insert", perSecond(r.claimNoRiver, "claims/s"), "", ratio(r.claimRiver, r.claimNoRiver), "")
	row("    no-op GET, signed out, 64 conns", perSecond(r.noopGet.rate(), "req/s"), r.noopGet.latencyText(), "", "")
	row(fmt.Sprintf("    no-op POST, %d signed in", r.opts.buyers), perSecond(r.noopPost.rate(), "req/s"), r.noopPost.latencyText(), "", "")
	fmt.Fprintf(w, "\nPeak resident memory of the app over the whole run: %s.\n\n", mb(r.rssPeak))
}

func perSecond(v float64, unit string) string {
	if v == 0 {
		return "not measured"
	}
	return fmt.Sprintf("%.0f %s", v, unit)
}

func limitText(v float64, what string) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf("%s %.0f/s", what, v)
}

func ratio(v, limit float64) string {
	if limit == 0 || v == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", v/limit)
}

func durations(d []time.Duration) string {
	if len(d) == 0 {
		return "none"
	}
	d = slices.Clone(d)
	slices.Sort(d)
	at := func(p float64) time.Duration { return d[min(len(d)-1, max(0, int(float64(len(d))*p/100+0.5)-1))] }
	return fmt.Sprintf("p50 %s, p99 %s, max %s", ms(at(50)), ms(at(99)), ms(at(100)))
}
