package main

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// rampOpts are the ramp mode's parameters.
type rampOpts struct {
	visitors  int
	admins    int
	startRate float64
	step      float64
	maxRate   float64
	stepDur   time.Duration
	p99Max    time.Duration
	maxErrors float64 // allowed fraction of failed or missing messages
	senders   int
	pid       int
}

// RampStep is one rate tried by the ramp mode.
type RampStep struct {
	Rate        float64 `json:"rate"`
	Sent        uint64  `json:"sent"`
	Acked       uint64  `json:"acked"`
	Delivered   uint64  `json:"delivered"`
	Errors      uint64  `json:"errors"`
	AckedPerSec float64 `json:"acked_per_sec"`
	Delivery    Latency `json:"delivery"`
	ServerCPU   float64 `json:"server_cpu_cores,omitempty"`
	ToolCPU     float64 `json:"tool_cpu_cores"`
	Pass        bool    `json:"pass"`
	Reason      string  `json:"reason,omitempty"`
}

// RampReport is the result of the ramp mode.
type RampReport struct {
	Mode      string            `json:"mode"`
	Visitors  int               `json:"visitors"`
	Connected int               `json:"connected"`
	Admins    int               `json:"admins"`
	P99MaxMs  float64           `json:"p99_max_ms"`
	MaxErrors float64           `json:"max_error_ratio"`
	Capacity  float64           `json:"capacity"`
	Steps     []RampStep        `json:"steps"`
	Errors    map[string]uint64 `json:"errors"`
	Host      Host              `json:"host"`
}

// runRamp raises the rate step by step over the same connected visitors
// until a step fails (p99 delivery above the threshold, too many errors, or
// the server cannot keep the rate) and reports the last passing rate.
func runRamp(ctx context.Context, b *bench, o rampOpts) (*RampReport, error) {
	if o.visitors < 1 || o.startRate <= 0 || o.step <= 0 || o.stepDur <= 0 || o.admins < 1 {
		return nil, fmt.Errorf("ramp needs --visitors >= 1, --admins >= 1, --start > 0, --step > 0, --step-duration > 0")
	}
	pid := serverPID(o.pid)
	setup := b.cur.Load()
	as, vs, _, err := b.connectAll(ctx, o.admins, o.visitors)
	if err != nil {
		return nil, err
	}
	defer closeAll(as, vs)
	rep := &RampReport{Mode: "ramp", Visitors: o.visitors, Connected: len(vs), Admins: len(as),
		P99MaxMs: ms(o.p99Max), MaxErrors: o.maxErrors}
	all := []map[string]uint64{setup.errs.snapshot()}
	for rate := o.startRate; rate <= o.maxRate && ctx.Err() == nil; rate += o.step {
		m := b.measure(ctx, pid, as, func(p *phase) { b.pace(ctx, p, vs, rate, o.stepDur, o.senders) })
		s := RampStep{Rate: rate, Sent: m.sent.Load(), Acked: m.acked.Load(), Delivered: m.delivered.Load(),
			Errors: m.errs.total(), Delivery: m.del.summary(), ServerCPU: m.cpu.Server, ToolCPU: m.cpu.Tool}
		s.AckedPerSec = m.perSec(s.Acked)
		all = append(all, m.errs.snapshot())
		expected := float64(s.Sent) * float64(len(as))
		missing := 0.0
		if expected > 0 {
			missing = (expected - float64(s.Delivered)) / expected
		}
		switch {
		case s.Delivery.P99 > ms(o.p99Max):
			s.Reason = fmt.Sprintf("p99 %.1f ms > %.1f ms", s.Delivery.P99, ms(o.p99Max))
		case s.Sent > 0 && float64(s.Errors)/float64(s.Sent) > o.maxErrors:
			s.Reason = fmt.Sprintf("%d errors", s.Errors)
		case !m.complete && missing > o.maxErrors:
			s.Reason = fmt.Sprintf("%.1f%% not delivered", missing*100)
		case float64(s.Sent) < 0.95*rate*o.stepDur.Seconds():
			s.Reason = fmt.Sprintf("could only send %d of %.0f", s.Sent, rate*o.stepDur.Seconds())
		default:
			s.Pass = true
			rep.Capacity = rate
		}
		rep.Steps = append(rep.Steps, s)
		if !s.Pass {
			break
		}
	}
	rep.Errors = mergeErrs(all...)
	rep.Host = hostInfo()
	return rep, nil
}

func (r *RampReport) rows() [][2]string {
	return [][2]string{
		{"mode", "ramp"},
		{"visitors connected", fmt.Sprintf("%d / %d", r.Connected, r.Visitors)},
		{"admins", strconv.Itoa(r.Admins)},
		{"pass if", fmt.Sprintf("p99 delivery <= %.1f ms, error ratio <= %g", r.P99MaxMs, r.MaxErrors)},
		{"capacity", fmt.Sprintf("%.0f msg/s", r.Capacity)},
		{"errors", errRow(r.Errors)},
		r.Host.row(),
	}
}

func (r *RampReport) stepTable() ([]string, [][]string) {
	head := []string{"rate", "sent", "acked/s", "delivered", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "cpu srv", "cpu tool", "result"}
	var out [][]string
	for _, s := range r.Steps {
		res := "pass"
		if !s.Pass {
			res = "FAIL: " + s.Reason
		}
		out = append(out, []string{
			fmt.Sprintf("%.0f", s.Rate), strconv.FormatUint(s.Sent, 10), fmt.Sprintf("%.0f", s.AckedPerSec),
			strconv.FormatUint(s.Delivered, 10),
			fmt.Sprintf("%.2f", s.Delivery.P50), fmt.Sprintf("%.2f", s.Delivery.P90),
			fmt.Sprintf("%.2f", s.Delivery.P99), fmt.Sprintf("%.2f", s.Delivery.Max),
			strconv.FormatUint(s.Errors, 10), fmt.Sprintf("%.2f", s.ServerCPU), fmt.Sprintf("%.2f", s.ToolCPU), res,
		})
	}
	return head, out
}
