package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/hub"
)

// Metrics is chatd's Prometheus registry (one per server, no globals).
type Metrics struct {
	reg        *prometheus.Registry
	write      prometheus.Histogram
	fsync      prometheus.Histogram
	commitDocs prometheus.Histogram
	loginFail  *prometheus.CounterVec
}

// NewMetrics builds a registry with the store, login and Go runtime/process metrics.
// Pass ObserveCommit as db.Options.OnCommit and call WatchHub once the hub exists.
func NewMetrics() *Metrics {
	lat := prometheus.ExponentialBuckets(0.00005, 2, 16) // 50µs .. ~1.6s
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		write: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "chatd_store_write_seconds", Help: "Time to append one group commit to the store file.",
			Buckets: lat,
		}),
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "chatd_store_fsync_seconds", Help: "Time spent in fsync for commits synced inline.",
			Buckets: lat,
		}),
		commitDocs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "chatd_store_commit_docs", Help: "Documents written per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		loginFail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatd_login_failures_total", Help: "Failed admin logins by reason.",
		}, []string{"reason"}),
	}
	for _, r := range []string{"bad_credentials", "rate_limited", "error"} {
		m.loginFail.WithLabelValues(r)
	}
	m.reg.MustRegister(m.write, m.fsync, m.commitDocs, m.loginFail,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveCommit records one store commit; use it as db.Options.OnCommit.
func (m *Metrics) ObserveCommit(s db.CommitStats) {
	m.write.Observe(s.Write.Seconds())
	if s.Sync > 0 {
		m.fsync.Observe(s.Sync.Seconds())
	}
	m.commitDocs.Observe(float64(s.Docs))
}

// WatchHub exports the hub's live counters, read once per scrape.
func (m *Metrics) WatchHub(stats func() hub.Stats) {
	m.reg.MustRegister(&hubCollector{stats: stats})
}

// Handler serves the registry in Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry exposes the registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

func (m *Metrics) loginFailed(reason string) {
	if m != nil {
		m.loginFail.WithLabelValues(reason).Inc()
	}
}

var (
	descVisitors = prometheus.NewDesc("chatd_visitors_connected",
		"Visitors with at least one open socket.", nil, nil)
	descVisitorSockets = prometheus.NewDesc("chatd_visitor_sockets",
		"Open visitor sockets.", nil, nil)
	descAdmins = prometheus.NewDesc("chatd_admin_sockets",
		"Open admin sockets.", nil, nil)
	descMessages = prometheus.NewDesc("chatd_messages_stored_total",
		"Messages stored since start.", nil, nil)
	descDropped = prometheus.NewDesc("chatd_dropped_slow_sockets_total",
		"Sockets closed because their send buffer was full.", nil, nil)
	descRejected = prometheus.NewDesc("chatd_rejected_frames_total",
		"Frames and sockets answered with an error, by error code (origin_not_allowed counts refused sockets).", []string{"reason"}, nil)
	descRetentionSweeps = prometheus.NewDesc("chatd_retention_sweeps_total",
		"Retention sweeps run since start (--retention-days).", nil, nil)
	descRetentionDeleted = prometheus.NewDesc("chatd_retention_deleted_visitors_total",
		"Visitors deleted by retention sweeps since start.", nil, nil)
)

type hubCollector struct{ stats func() hub.Stats }

func (c *hubCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descVisitors, descVisitorSockets, descAdmins,
		descMessages, descDropped, descRejected, descRetentionSweeps, descRetentionDeleted} {
		ch <- d
	}
}

func (c *hubCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(descVisitors, prometheus.GaugeValue, float64(s.Visitors))
	ch <- prometheus.MustNewConstMetric(descVisitorSockets, prometheus.GaugeValue, float64(s.VisitorSockets))
	ch <- prometheus.MustNewConstMetric(descAdmins, prometheus.GaugeValue, float64(s.Admins))
	ch <- prometheus.MustNewConstMetric(descMessages, prometheus.CounterValue, float64(s.MessagesStored))
	ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(s.DroppedSlow))
	ch <- prometheus.MustNewConstMetric(descRetentionSweeps, prometheus.CounterValue, float64(s.RetentionSweeps))
	ch <- prometheus.MustNewConstMetric(descRetentionDeleted, prometheus.CounterValue, float64(s.RetentionDeleted))
	// Every error code of the hub, at 0 before it first happens (so rates
	// work from the start); labels are codes, never client input.
	for _, reason := range hub.ErrorCodes() {
		ch <- prometheus.MustNewConstMetric(descRejected, prometheus.CounterValue, float64(s.Rejected[reason]), reason)
	}
}
