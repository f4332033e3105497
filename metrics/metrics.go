// Package metrics keeps EventHive's Prometheus metrics and serves them at
// /metrics: request latency by route, holds created, payments recorded,
// refunds, webhook events received, and the lateness and outcomes of River's
// jobs. Each app has its own registry, so tests can start several.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"

	"github.com/eventhive/eventhive/store"
)

// Metrics is one app's metrics. It implements store.Observer, so the store
// reports what it committed.
type Metrics struct {
	registry      *prometheus.Registry
	requests      *prometheus.HistogramVec
	holds         prometheus.Counter
	payments      *prometheus.CounterVec
	refunds       prometheus.Counter
	webhookEvents *prometheus.CounterVec
	jobLateness   *prometheus.HistogramVec
	jobsFinished  *prometheus.CounterVec
	liveDelivery  prometheus.Histogram
}

// New returns an app's metrics, with the Go runtime's and the process's.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "eventhive_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern, method and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method", "code"}),
		holds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventhive_holds_created_total",
			Help: "Orders created, each holding its ticket for the payment window.",
		}),
		payments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventhive_payments_recorded_total",
			Help: "Payments recorded, once per checkout session: succeeded (the order is paid) or refund_pending (it is refunded).",
		}, []string{"status"}),
		refunds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventhive_refunds_total",
			Help: "Payments whose refund went through.",
		}),
		webhookEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventhive_webhook_events_received_total",
			Help: "Correctly signed Stripe webhook events received, by type, repeats included.",
		}, []string{"type"}),
		jobLateness: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "eventhive_job_lateness_seconds",
			Help:    "Time from a job's scheduled time to the start of its run, by job kind.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"kind"}),
		jobsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventhive_jobs_finished_total",
			Help: "Job runs by kind and outcome: completed, failed (to be retried or discarded), cancelled or snoozed.",
		}, []string{"kind", "outcome"}),
		liveDelivery: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "eventhive_live_delivery_seconds",
			Help:    "Time from this process hearing of a change to every open page that shows it having been sent it, by message.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, .75, 1, 1.5, 2, 2.5, 5, 10},
		}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.holds, m.payments, m.refunds, m.webhookEvents, m.jobLateness, m.jobsFinished, m.liveDelivery,
	)
	return m
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Middleware times every request and records it under its chi route
// pattern (e.g. /orders/{id}) and method. Every label comes from a closed
// set, so that no request can add a series: requests that match no route
// count under "unmatched", methods other than the usual seven under "other".
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil {
			if p := rc.RoutePattern(); p != "" {
				route = p
			}
		}
		if strings.HasSuffix(route, "/live") {
			return // an event stream lasts as long as its page: not a latency
		}
		m.requests.WithLabelValues(route, methodLabel(r.Method), strconv.Itoa(sw.code())).Observe(time.Since(start).Seconds())
	})
}

// methodLabel is a request's method as a label: one of the usual methods,
// else "other".
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

// statusWriter remembers the status code of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Unwrap lets http.ResponseController reach the connection (flushing for
// server-sent events, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush sends buffered data to the client, for streamed responses.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Streams is what ObserveStreams reads: *live.Streams.
type Streams interface {
	Count() int     // open now
	Max() int       // the most that may be open
	Refused() int64 // refused since start, because Max were open
}

// ObserveStreams adds gauges of the process's open event streams (pages
// with live updates) and of their limit, and a count of those refused.
func (m *Metrics) ObserveStreams(s Streams) {
	m.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "eventhive_live_streams_open",
			Help: "Event streams open: pages getting live updates from this process.",
		}, func() float64 { return float64(s.Count()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "eventhive_live_streams_max",
			Help: "How many event streams this process holds open at most (MAX_LIVE_STREAMS).",
		}, func() float64 { return float64(s.Max()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "eventhive_live_streams_refused_total",
			Help: "Event streams refused with 503 because the most were open.",
		}, func() float64 { return float64(s.Refused()) }),
	)
}

// LiveDelivered records a live message that carried a change, sent to all
// its pages delay after the change was heard.
func (m *Metrics) LiveDelivered(delay time.Duration) { m.liveDelivery.Observe(delay.Seconds()) }

// HoldCreated implements store.Observer.
func (m *Metrics) HoldCreated() { m.holds.Inc() }

// PaymentRecorded implements store.Observer.
func (m *Metrics) PaymentRecorded(status store.PaymentStatus) {
	m.payments.WithLabelValues(string(status)).Inc()
}

// PaymentRefunded implements store.Observer.
func (m *Metrics) PaymentRefunded() { m.refunds.Inc() }

// WebhookEvent counts a correctly signed webhook event of the given type.
func (m *Metrics) WebhookEvent(eventType string) {
	m.webhookEvents.WithLabelValues(eventType).Inc()
}

// jobEvents are the River events ObserveJobs counts.
var jobEvents = map[river.EventKind]string{
	river.EventKindJobCompleted: "completed",
	river.EventKindJobFailed:    "failed",
	river.EventKindJobCancelled: "cancelled",
	river.EventKindJobSnoozed:   "snoozed",
}

// ObserveJobs records the lateness and outcome of every job the client
// works, from River's event subscription, until ctx ends. Call it before
// the client starts.
func (m *Metrics) ObserveJobs(ctx context.Context, client *river.Client[*sql.Tx]) {
	kinds := make([]river.EventKind, 0, len(jobEvents))
	for k := range jobEvents {
		kinds = append(kinds, k)
	}
	events, cancel := client.SubscribeConfig(&river.SubscribeConfig{Kinds: kinds, ChanSize: 10_000})
	go func() {
		defer cancel()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-events:
				if !ok {
					return
				}
				m.observeJob(e)
			}
		}
	}()
}

func (m *Metrics) observeJob(e *river.Event) {
	if e.Job == nil {
		return
	}
	if e.JobStats != nil {
		m.jobLateness.WithLabelValues(e.Job.Kind).Observe(max(e.JobStats.QueueWaitDuration, 0).Seconds())
	}
	m.jobsFinished.WithLabelValues(e.Job.Kind, jobEvents[e.Kind]).Inc()
}
