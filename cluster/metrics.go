package cluster

import "github.com/prometheus/client_golang/prometheus"

var (
	descQuorum = prometheus.NewDesc("chatd_cluster_quorum",
		"1 if the message stream has a leader and a majority of current replicas, as this node sees it.", nil, nil)
	descLeader = prometheus.NewDesc("chatd_cluster_leader",
		"1 if this node is the message stream's leader.", nil, nil)
	descLeaderInfo = prometheus.NewDesc("chatd_cluster_leader_info",
		"Always 1; the label names the message stream's leader (empty when there is none).", []string{"leader"}, nil)
	descReplicas = prometheus.NewDesc("chatd_cluster_replicas_current",
		"Replicas of the message stream current with its leader, the leader included.", nil, nil)
	descLast = prometheus.NewDesc("chatd_cluster_stream_last_offset",
		"Last offset of the message stream, from its leader.", nil, nil)
	descApplied = prometheus.NewDesc("chatd_cluster_applied_offset",
		"Last offset this node has read from the stream and delivered to its sockets.", nil, nil)
	descLag = prometheus.NewDesc("chatd_cluster_stream_lag",
		"Messages committed that this node has not delivered yet (last - applied).", nil, nil)
	descReady = prometheus.NewDesc("chatd_cluster_ready",
		"1 if this node serves (set up, caught up, quorum).", nil, nil)
	descNotifier = prometheus.NewDesc("chatd_cluster_notifier",
		"1 if this node is the one sending notifications (mail, push, webhooks) now.", nil, nil)
)

// Collector exports this node's view of the cluster, read once per scrape.
func (s *Store) Collector() prometheus.Collector { return collector{s} }

type collector struct{ s *Store }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQuorum, descLeader, descLeaderInfo, descReplicas, descLast, descApplied, descLag, descReady, descNotifier} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Status()
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	lag := uint64(0)
	if st.Last > st.Applied {
		lag = st.Last - st.Applied
	}
	ch <- prometheus.MustNewConstMetric(descQuorum, prometheus.GaugeValue, b(st.Quorum))
	ch <- prometheus.MustNewConstMetric(descLeader, prometheus.GaugeValue, b(st.Leader != "" && st.Leader == st.Node))
	ch <- prometheus.MustNewConstMetric(descLeaderInfo, prometheus.GaugeValue, 1, st.Leader)
	ch <- prometheus.MustNewConstMetric(descReplicas, prometheus.GaugeValue, float64(st.Replicas))
	ch <- prometheus.MustNewConstMetric(descLast, prometheus.GaugeValue, float64(st.Last))
	ch <- prometheus.MustNewConstMetric(descApplied, prometheus.GaugeValue, float64(st.Applied))
	ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(lag))
	ch <- prometheus.MustNewConstMetric(descReady, prometheus.GaugeValue, b(st.Ready))
	ch <- prometheus.MustNewConstMetric(descNotifier, prometheus.GaugeValue, b(c.s.Notifier()))
}
