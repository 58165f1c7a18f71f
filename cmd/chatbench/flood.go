package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// floodOpts are the flood mode's parameters.
type floodOpts struct {
	senders  int
	window   int
	admins   int
	duration time.Duration
	pid      int
}

// FloodReport is the result of the flood mode.
type FloodReport struct {
	Mode        string            `json:"mode"`
	Senders     int               `json:"senders"`
	Window      int               `json:"window"`
	Admins      int               `json:"admins"`
	Seconds     float64           `json:"seconds"`
	Sent        uint64            `json:"sent"`
	Acked       uint64            `json:"acked"`
	Failed      uint64            `json:"failed"`
	Delivered   uint64            `json:"delivered"`
	AckedPerSec float64           `json:"acked_per_sec"`
	Ack         Latency           `json:"ack"`
	Delivery    Latency           `json:"delivery"`
	ServerCPU   float64           `json:"server_cpu_cores,omitempty"`
	ToolCPU     float64           `json:"tool_cpu_cores"`
	Errors      map[string]uint64 `json:"errors"`
	Host        Host              `json:"host"`
}

// runFlood measures the most acknowledged messages per second: each of K
// visitors keeps `window` messages in flight and sends the next one as soon
// as one is answered (closed loop), for the duration.
func runFlood(ctx context.Context, b *bench, o floodOpts) (*FloodReport, error) {
	if o.senders < 1 || o.window < 1 || o.duration <= 0 {
		return nil, fmt.Errorf("flood needs --senders >= 1, --window >= 1 and --duration > 0")
	}
	setup := b.cur.Load()
	as, vs, _, err := b.connectAll(ctx, o.admins, o.senders)
	if err != nil {
		return nil, err
	}
	defer closeAll(as, vs)
	for _, v := range vs {
		v.acks = make(chan struct{}, o.window)
	}

	m := b.measure(ctx, serverPID(o.pid), as, func(p *phase) {
		sendCtx, stop := context.WithTimeout(ctx, o.duration)
		defer stop()
		done := sendCtx.Done()
		var wg sync.WaitGroup
		for _, v := range vs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < o.window; i++ {
					if v.send(p) != nil {
						return
					}
				}
				for {
					select {
					case <-done:
						return
					case <-v.acks:
						if v.send(p) != nil {
							return
						}
					}
				}
			}()
		}
		wg.Wait()
	})

	rep := &FloodReport{Mode: "flood", Senders: len(vs), Window: o.window, Admins: len(as)}
	rep.Seconds = round2(m.elapsed.Seconds())
	rep.Sent, rep.Acked, rep.Failed, rep.Delivered = m.sent.Load(), m.acked.Load(), m.failed.Load(), m.delivered.Load()
	rep.AckedPerSec = m.perSec(rep.Acked)
	rep.Ack, rep.Delivery = m.ack.summary(), m.del.summary()
	rep.ServerCPU, rep.ToolCPU = m.cpu.Server, m.cpu.Tool
	rep.Errors = mergeErrs(setup.errs.snapshot(), m.errs.snapshot())
	rep.Host = hostInfo()
	return rep, nil
}

func (r *FloodReport) rows() [][2]string {
	return [][2]string{
		{"mode", "flood"},
		{"senders x window", fmt.Sprintf("%d x %d", r.Senders, r.Window)},
		{"admins", strconv.Itoa(r.Admins)},
		{"duration", fmt.Sprintf("%.1f s", r.Seconds)},
		{"sent / acked / failed", fmt.Sprintf("%d / %d / %d", r.Sent, r.Acked, r.Failed)},
		{"delivered to admins", strconv.FormatUint(r.Delivered, 10)},
		{"acked msg/s", fmt.Sprintf("%.1f", r.AckedPerSec)},
		{"ack", latRow(r.Ack)},
		{"delivery visitor->admin", latRow(r.Delivery)},
		{"cpu server / tool", fmt.Sprintf("%.2f / %.2f cores", r.ServerCPU, r.ToolCPU)},
		{"errors", errRow(r.Errors)},
		r.Host.row(),
	}
}
