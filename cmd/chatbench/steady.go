package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"
)

// steadyOpts are the steady mode's parameters.
type steadyOpts struct {
	visitors int
	admins   int
	rate     float64
	duration time.Duration
	senders  int
	settle   time.Duration
	pid      int
	progress time.Duration
	out      io.Writer
	typing   float64 // fraction of the visitors typing (typing.go)
	typeRate float64 // typing events per second per typing visitor
}

// Memory is the server's resident memory around connecting the visitors.
type Memory struct {
	PID          int     `json:"pid"`
	RSSBeforeKiB int64   `json:"rss_before_kib"`
	RSSIdleKiB   int64   `json:"rss_idle_kib"`
	RSSAfterKiB  int64   `json:"rss_after_kib"`
	PerVisitor   float64 `json:"kib_per_idle_visitor"`
}

// SteadyReport is the result of the steady mode.
type SteadyReport struct {
	Mode        string            `json:"mode"`
	Visitors    int               `json:"visitors"`
	Connected   int               `json:"connected"`
	Admins      int               `json:"admins"`
	Rate        float64           `json:"rate"`
	Seconds     float64           `json:"seconds"`
	Sent        uint64            `json:"sent"`
	Acked       uint64            `json:"acked"`
	Failed      uint64            `json:"failed"`
	Delivered   uint64            `json:"delivered"`
	AckedPerSec float64           `json:"acked_per_sec"`
	Delivery    Latency           `json:"delivery"`
	Ack         Latency           `json:"ack"`
	Connect     Latency           `json:"connect"`
	PacingLag   float64           `json:"pacing_lag_max_ms"`
	ServerCPU   float64           `json:"server_cpu_cores,omitempty"`
	ToolCPU     float64           `json:"tool_cpu_cores"`
	ToolRSSKiB  int64             `json:"tool_rss_kib"`
	Memory      *Memory           `json:"memory,omitempty"`
	Errors      map[string]uint64 `json:"errors"`
	Host        Host              `json:"host"`
	Typing      float64           `json:"typing_fraction,omitempty"`
	TypingSent  uint64            `json:"typing_sent,omitempty"`
}

func runSteady(ctx context.Context, b *bench, o steadyOpts) (*SteadyReport, error) {
	if o.visitors < 1 || o.rate <= 0 || o.duration <= 0 {
		return nil, fmt.Errorf("steady needs --visitors >= 1, --rate > 0 and --duration > 0")
	}
	pid := serverPID(o.pid)
	setup := b.cur.Load()
	rep := &SteadyReport{Mode: "steady", Visitors: o.visitors, Admins: o.admins, Rate: o.rate, Typing: o.typing}
	if pid != "" {
		rss, err := rssKiB(pid)
		if err != nil {
			return nil, err
		}
		rep.Memory = &Memory{PID: o.pid, RSSBeforeKiB: rss}
	}
	as, vs, conn, err := b.connectAll(ctx, o.admins, o.visitors)
	if err != nil {
		return nil, err
	}
	defer closeAll(as, vs)
	rep.Connected = len(vs)
	rep.Connect = conn.summary()
	if rep.Memory != nil {
		// let the server finish its per-connection work before reading RSS
		sleepCtx(ctx, o.settle)
		rep.Memory.RSSIdleKiB, _ = rssKiB(pid)
		rep.Memory.PerVisitor = round2(float64(rep.Memory.RSSIdleKiB-rep.Memory.RSSBeforeKiB) / float64(len(vs)))
	}

	var lag time.Duration
	m := b.measure(ctx, pid, as, func(p *phase) {
		stopProgress := b.progress(ctx, p, o.progress, o.out)
		typed := make(chan uint64, 1)
		go func() { typed <- typeLoad(ctx, vs, o.typing, o.typeRate, o.duration) }()
		lag = b.pace(ctx, p, vs, o.rate, o.duration, o.senders)
		rep.TypingSent = <-typed
		stopProgress()
	})

	rep.Seconds = round2(m.elapsed.Seconds())
	rep.Sent, rep.Acked, rep.Failed, rep.Delivered = m.sent.Load(), m.acked.Load(), m.failed.Load(), m.delivered.Load()
	rep.AckedPerSec = m.perSec(rep.Acked)
	rep.Delivery, rep.Ack = m.del.summary(), m.ack.summary()
	rep.PacingLag = ms(lag)
	rep.ServerCPU, rep.ToolCPU = m.cpu.Server, m.cpu.Tool
	rep.ToolRSSKiB, _ = rssKiB("self")
	if rep.Memory != nil {
		rep.Memory.RSSAfterKiB, _ = rssKiB(pid)
	}
	rep.Errors = mergeErrs(setup.errs.snapshot(), m.errs.snapshot())
	rep.Host = hostInfo()
	return rep, nil
}

// progress prints, every interval until the returned stop is called, the
// messages sent and delivered and the delivery percentiles of that interval.
func (b *bench) progress(ctx context.Context, p *phase, every time.Duration, w io.Writer) (stop func()) {
	if every <= 0 || w == nil {
		return func() {}
	}
	b.win.Store(&hist{})
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(every)
		defer t.Stop()
		t0 := time.Now()
		var sent0, del0 uint64
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case now := <-t.C:
				h := b.win.Swap(&hist{})
				sent, del := p.sent.Load(), p.delivered.Load()
				s := h.summary()
				fmt.Fprintf(w, "t=%5.1fs sent=%d delivered=%d p50=%.2fms p99=%.2fms max=%.2fms\n",
					now.Sub(t0).Seconds(), sent-sent0, del-del0, s.P50, s.P99, s.Max)
				sent0, del0 = sent, del
			}
		}
	}()
	return func() {
		close(done)
		<-exited
		b.win.Store(nil)
	}
}

// sleepCtx waits d or until ctx ends. Used only to let a measured process
// settle before reading its memory, never to synchronise.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func mergeErrs(ms ...map[string]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for _, m := range ms {
		for k, v := range m {
			out[k] += v
		}
	}
	return out
}

func (r *SteadyReport) rows() [][2]string {
	rows := [][2]string{
		{"mode", "steady"},
		{"visitors connected", fmt.Sprintf("%d / %d", r.Connected, r.Visitors)},
		{"admins", strconv.Itoa(r.Admins)},
		{"target rate", fmt.Sprintf("%.0f msg/s for %.1f s", r.Rate, r.Seconds)},
		{"sent / acked / failed", fmt.Sprintf("%d / %d / %d", r.Sent, r.Acked, r.Failed)},
		{"delivered to admins", strconv.FormatUint(r.Delivered, 10)},
		{"acked msg/s", fmt.Sprintf("%.1f", r.AckedPerSec)},
		{"delivery visitor->admin", latRow(r.Delivery)},
		{"ack", latRow(r.Ack)},
		{"connect", latRow(r.Connect)},
		{"pacing lag max", fmt.Sprintf("%.1f ms", r.PacingLag)},
		{"typing events sent", fmt.Sprintf("%d (%.0f%% of the visitors typing)", r.TypingSent, 100*r.Typing)},
		{"cpu server / tool", fmt.Sprintf("%.2f / %.2f cores", r.ServerCPU, r.ToolCPU)},
		{"tool rss", fmt.Sprintf("%d KiB", r.ToolRSSKiB)},
	}
	if m := r.Memory; m != nil {
		rows = append(rows,
			[2]string{"server rss before/idle/after", fmt.Sprintf("%d / %d / %d KiB", m.RSSBeforeKiB, m.RSSIdleKiB, m.RSSAfterKiB)},
			[2]string{"server rss per idle visitor", fmt.Sprintf("%.2f KiB", m.PerVisitor)})
	}
	return append(rows, [2]string{"errors", errRow(r.Errors)}, r.Host.row())
}
