package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// stormOpts are the storm mode's parameters.
type stormOpts struct {
	visitors int
	history  int  // messages each visitor sends before the drop
	missed   int  // admin replies per visitor while it is offline
	full     bool // reconnect with after=0 (whole history) instead of the last offset seen
}

// StormReport is the result of the storm mode.
type StormReport struct {
	Mode        string            `json:"mode"`
	Visitors    int               `json:"visitors"`
	Connected   int               `json:"connected"`
	History     int               `json:"history"`
	Missed      int               `json:"missed"`
	Full        bool              `json:"full_replay"`
	Reconnected int               `json:"reconnected"`
	Replayed    uint64            `json:"replayed"`
	AllBackMs   float64           `json:"all_back_ms"`
	Restore     Latency           `json:"restore"`
	Errors      map[string]uint64 `json:"errors"`
	Host        Host              `json:"host"`
}

// runStorm connects N visitors, gives each a history, drops them all, lets an
// admin reply while they are away, then reconnects all at once with their
// token and the last offset seen, and times until each has its history back.
func runStorm(ctx context.Context, b *bench, o stormOpts) (*StormReport, error) {
	if o.visitors < 1 || o.history < 0 || o.missed < 0 {
		return nil, fmt.Errorf("storm needs --visitors >= 1, --history >= 0, --missed >= 0")
	}
	setup := b.cur.Load()
	admins := 0 // one admin replies while the visitors are away
	if o.missed > 0 {
		admins = 1
	}
	as, vs, _, err := b.connectAll(ctx, admins, o.visitors)
	if err != nil {
		return nil, err
	}
	defer closeAdmins(as) // the visitors are dropped on purpose below
	rep := &StormReport{Mode: "storm", Visitors: o.visitors, Connected: len(vs), History: o.history, Missed: o.missed, Full: o.full}

	// History: each visitor sends its messages one by one, waiting for each ack.
	if o.history > 0 {
		for _, v := range vs {
			v.acks = make(chan struct{}, 1)
		}
		var wg sync.WaitGroup
		sem := make(chan struct{}, b.cfg.dialConc)
		for _, v := range vs {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				for i := 0; i < o.history; i++ {
					if v.send(setup) != nil {
						return
					}
					select {
					case <-v.acks:
					case <-ctx.Done():
						return
					case <-time.After(b.cfg.timeout):
						setup.errs.add("history_timeout")
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	if err := ctx.Err(); err != nil {
		closeVisitors(vs, false)
		return nil, err
	}

	// Drop everyone at once, abruptly, as a network cut would.
	var offline0 uint64
	if len(as) > 0 {
		offline0 = as[0].offline.Load()
	}
	closeVisitors(vs, false)
	if len(as) > 0 {
		// wait (bounded) until the server has seen them all go
		a := as[0]
		if !waitUntil(ctx, b.cfg.timeout, func() bool { return a.offline.Load()-offline0 >= uint64(len(vs)) }) {
			setup.errs.add("offline_not_seen")
		}
		// replies while they are away, a bounded number in flight
		const inFlight = 64
		acked0 := a.replyAck.Load()
		total := uint64(len(vs) * o.missed)
		var sent uint64
		for i := 0; i < o.missed; i++ {
			for _, v := range vs {
				if !waitUntil(ctx, b.cfg.timeout, func() bool { return sent-(a.replyAck.Load()-acked0) < inFlight }) {
					return nil, fmt.Errorf("admin replies not acknowledged: %d of %d", a.replyAck.Load()-acked0, sent)
				}
				if err := a.reply(v.id); err != nil {
					return nil, err
				}
				sent++
			}
		}
		if !waitUntil(ctx, b.cfg.timeout, func() bool { return a.replyAck.Load()-acked0 >= total }) {
			return nil, fmt.Errorf("admin replies not acknowledged: %d of %d", a.replyAck.Load()-acked0, total)
		}
	}

	// The storm: every visitor reconnects at the same instant.
	p := b.newPhase()
	var (
		wg       sync.WaitGroup
		ready    sync.WaitGroup
		mu       sync.Mutex
		back     []*visitor
		replayed atomic.Uint64
		okCount  atomic.Int64
	)
	gate := make(chan struct{})
	var t0 time.Time
	for _, old := range vs {
		wg.Add(1)
		ready.Add(1)
		go func() {
			defer wg.Done()
			after, expect := old.last.Load(), o.missed
			if o.full {
				after, expect = 0, o.history+o.missed
			}
			ready.Done()
			<-gate
			v, n, err := b.dialVisitor(ctx, "bench", old.token, after, expect)
			if err != nil {
				return
			}
			p.ack.record(time.Since(t0)) // time until this visitor has its history back
			go v.read()
			replayed.Add(uint64(n))
			okCount.Add(1)
			mu.Lock()
			back = append(back, v)
			mu.Unlock()
		}()
	}
	ready.Wait()
	t0 = time.Now()
	close(gate)
	wg.Wait()
	allBack := time.Since(t0)
	closeVisitors(back, true)

	rep.Reconnected = int(okCount.Load())
	rep.Replayed = replayed.Load()
	rep.Restore = p.ack.summary()
	if rep.Reconnected == len(vs) {
		rep.AllBackMs = ms(allBack)
	}
	rep.Errors = mergeErrs(setup.errs.snapshot(), p.errs.snapshot())
	rep.Host = hostInfo()
	return rep, nil
}

func (r *StormReport) rows() [][2]string {
	replay := "after last offset seen"
	if r.Full {
		replay = "full (after=0)"
	}
	all := "not all came back"
	if r.AllBackMs > 0 || r.Reconnected == r.Connected {
		all = fmt.Sprintf("%.1f ms", r.AllBackMs)
	}
	return [][2]string{
		{"mode", "storm"},
		{"visitors connected", fmt.Sprintf("%d / %d", r.Connected, r.Visitors)},
		{"history / missed per visitor", fmt.Sprintf("%d / %d", r.History, r.Missed)},
		{"replay", replay},
		{"reconnected with history", fmt.Sprintf("%d / %d", r.Reconnected, r.Connected)},
		{"messages replayed", strconv.FormatUint(r.Replayed, 10)},
		{"time until history back", latRow(r.Restore)},
		{"all visitors back after", all},
		{"errors", errRow(r.Errors)},
		r.Host.row(),
	}
}
