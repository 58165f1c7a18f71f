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
	pid := ""
	if o.pid > 0 {
		pid = strconv.Itoa(o.pid)
	}
	setup := b.cur.Load()
	as, err := b.connectAdmins(ctx, o.admins)
	if err != nil {
		return nil, err
	}
	defer closeAdmins(as)
	vs, _ := b.connectVisitors(ctx, o.senders)
	defer closeVisitors(vs, false)
	if len(vs) == 0 {
		return nil, fmt.Errorf("no visitor could connect: %v", setup.errs.snapshot())
	}
	for _, v := range vs {
		v.acks = make(chan struct{}, o.window)
	}

	p := b.newPhase()
	cpu := startCPU(pid)
	t0 := time.Now()
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
	answered, _ := b.drain(ctx, p, as)
	cpu.stop()
	el := answered.Sub(t0)

	rep := &FloodReport{Mode: "flood", Senders: len(vs), Window: o.window, Admins: len(as)}
	rep.Seconds = round2(el.Seconds())
	rep.Sent, rep.Acked, rep.Failed, rep.Delivered = p.sent.Load(), p.acked.Load(), p.failed.Load(), p.delivered.Load()
	rep.AckedPerSec = round2(float64(rep.Acked) / el.Seconds())
	rep.Ack, rep.Delivery = p.ack.summary(), p.del.summary()
	rep.ServerCPU, rep.ToolCPU = cpu.Server, cpu.Tool
	rep.Errors = mergeErrs(setup.errs.snapshot(), p.errs.snapshot())
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
