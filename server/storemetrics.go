package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatd/chatd/db"
)

// WatchStore exports the store's health and file counters, read once per scrape.
func (m *Metrics) WatchStore(health func() db.Health, stats func() db.Stats) {
	m.reg.MustRegister(&storeCollector{health: health, stats: stats})
}

var (
	descStoreWritable = prometheus.NewDesc("chatd_store_writable",
		"1 while the store accepts writes, 0 while it cannot write (see /readyz for the reason).", nil, nil)
	descStoreFile = prometheus.NewDesc("chatd_store_file_bytes",
		"Size of the data file.", nil, nil)
	descStoreLive = prometheus.NewDesc("chatd_store_live_bytes",
		"Bytes the live records take; the file is compacted when it is twice this.", nil, nil)
	descStoreCompactions = prometheus.NewDesc("chatd_store_compactions_total",
		"Compactions of the data file, by outcome.", []string{"outcome"}, nil)
	descStoreIOErrors = prometheus.NewDesc("chatd_store_io_errors_total",
		"Failed writes and fsyncs of the data file.", []string{"op"}, nil)
	descStoreDamaged = prometheus.NewDesc("chatd_store_damaged_documents",
		"Stored documents met that are not documents of their collection (wrong shape, edited by hand); skipped, kept in the file, each named once in the log.", nil, nil)
)

type storeCollector struct {
	health func() db.Health
	stats  func() db.Stats
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStoreWritable, descStoreFile, descStoreLive, descStoreCompactions, descStoreIOErrors, descStoreDamaged} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	writable := 0.0
	if c.health().OK {
		writable = 1
	}
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(descStoreWritable, prometheus.GaugeValue, writable)
	ch <- prometheus.MustNewConstMetric(descStoreFile, prometheus.GaugeValue, float64(s.FileSize))
	ch <- prometheus.MustNewConstMetric(descStoreLive, prometheus.GaugeValue, float64(s.LiveSize))
	ch <- prometheus.MustNewConstMetric(descStoreCompactions, prometheus.CounterValue, float64(s.Shrinks), "ok")
	ch <- prometheus.MustNewConstMetric(descStoreCompactions, prometheus.CounterValue, float64(s.ShrinkErrors), "failed")
	ch <- prometheus.MustNewConstMetric(descStoreIOErrors, prometheus.CounterValue, float64(s.WriteErrors), "write")
	ch <- prometheus.MustNewConstMetric(descStoreIOErrors, prometheus.CounterValue, float64(s.SyncErrors), "fsync")
	ch <- prometheus.MustNewConstMetric(descStoreDamaged, prometheus.GaugeValue, float64(s.Damaged))
}
