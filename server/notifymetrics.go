package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatd/chatd/notify"
)

type notifyCounter struct{ v *prometheus.CounterVec }

func (c notifyCounter) Count(channel string, o notify.Outcome) {
	c.v.WithLabelValues(channel, string(o)).Inc()
}

// NotifyCounter registers chatd_notify_total{channel,outcome} and returns
// the notify.Metrics that counts into it, with every outcome of channels at 0
// from the start (so rates work at once). Call it once; a nil *Metrics
// (metrics off) returns a Metrics that counts nothing.
func (m *Metrics) NotifyCounter(channels ...string) notify.Metrics {
	if m == nil {
		return notify.Nop{}
	}
	v := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chatd_notify_total",
		Help: "Notifications by channel (email, push, webhook; events: the hub's events waiting to be dispatched) and outcome (sent, failed, retried, dropped, gone).",
	}, []string{"channel", "outcome"})
	for _, ch := range channels {
		for _, o := range notify.Outcomes {
			v.WithLabelValues(ch, string(o))
		}
	}
	m.reg.MustRegister(v)
	return notifyCounter{v}
}
