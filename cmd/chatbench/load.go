package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// connectVisitors opens n new visitors, dialConc at a time, and starts their
// readers. Failures are counted in the current phase; it returns those that
// connected and the connect (dial + handshake) latencies.
func (b *bench) connectVisitors(ctx context.Context, n int) ([]*visitor, *hist) {
	var (
		mu   sync.Mutex
		vs   = make([]*visitor, 0, n)
		h    = &hist{}
		next atomic.Int64
		wg   sync.WaitGroup
	)
	workers := min(b.cfg.dialConc, n)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				v, _, err := b.dialVisitor(ctx, fmt.Sprintf("bench %d", i), "", 0, 0)
				if err != nil {
					continue
				}
				h.record(time.Since(t0))
				go v.read()
				mu.Lock()
				vs = append(vs, v)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return vs, h
}

// connectAdmins logs in once and opens n admin sockets with their readers.
func (b *bench) connectAdmins(ctx context.Context, n int) ([]*admin, error) {
	if n == 0 {
		return nil, nil
	}
	if err := b.login(ctx); err != nil {
		return nil, err
	}
	as := make([]*admin, 0, n)
	for i := 0; i < n; i++ {
		a, err := b.dialAdmin(ctx)
		if err != nil {
			closeAdmins(as)
			return nil, err
		}
		go a.read()
		as = append(as, a)
	}
	return as, nil
}

// connectAll opens admins admin sockets, then visitors visitors (see
// connectVisitors). It fails when an admin socket cannot open or no visitor
// connects; otherwise the caller closes both (closeAll).
func (b *bench) connectAll(ctx context.Context, admins, visitors int) ([]*admin, []*visitor, *hist, error) {
	setup := b.cur.Load()
	as, err := b.connectAdmins(ctx, admins)
	if err != nil {
		return nil, nil, nil, err
	}
	vs, conn := b.connectVisitors(ctx, visitors)
	if len(vs) == 0 {
		closeAdmins(as)
		return nil, nil, nil, fmt.Errorf("no visitor could connect: %v", setup.errs.snapshot())
	}
	return as, vs, conn, nil
}

// closeAll closes the visitors, abruptly, then the admin sockets.
func closeAll(as []*admin, vs []*visitor) {
	closeVisitors(vs, false)
	closeAdmins(as)
}

// measured is one measured phase of load.
type measured struct {
	*phase
	cpu      *cpuMeter     // CPU used by the server (if its pid is known) and the tool
	elapsed  time.Duration // from the start until every message was answered
	complete bool          // every message was delivered to every admin socket
}

// measure runs load in a new phase, metering CPU for server pid (if not
// empty), and waits until its messages are answered and delivered to as
// (drain).
func (b *bench) measure(ctx context.Context, pid string, as []*admin, load func(*phase)) measured {
	p := b.newPhase()
	cpu := startCPU(pid)
	t0 := time.Now()
	load(p)
	answered, complete := b.drain(ctx, p, as)
	cpu.stop()
	return measured{phase: p, cpu: cpu, elapsed: answered.Sub(t0), complete: complete}
}

// perSec is n per second of the elapsed time, rounded to two decimals.
func (m measured) perSec(n uint64) float64 { return round2(float64(n) / m.elapsed.Seconds()) }

// closeVisitors closes every socket (graceful sends a close frame first) and
// waits, bounded, for the readers to end.
func closeVisitors(vs []*visitor, graceful bool) {
	var wg sync.WaitGroup
	ch := make(chan *visitor)
	for w := 0; w < min(64, len(vs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range ch {
				v.close(graceful)
			}
		}()
	}
	for _, v := range vs {
		ch <- v
	}
	close(ch)
	wg.Wait()
	deadline := time.After(10 * time.Second)
	for _, v := range vs {
		select {
		case <-v.done:
		case <-deadline:
			return
		}
	}
}

func closeAdmins(as []*admin) {
	for _, a := range as {
		a.close()
	}
	for _, a := range as {
		select {
		case <-a.done:
		case <-time.After(5 * time.Second):
		}
	}
}

// waitUntil polls cond every 5 ms until it holds, ctx ends or d passes; it
// reports whether cond held.
func waitUntil(ctx context.Context, d time.Duration, cond func() bool) bool {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return cond()
		case <-deadline.C:
			return cond()
		case <-t.C:
		}
	}
	return true
}

// drained reports whether every message sent in p was answered and delivered
// to each of admins sockets.
func drained(p *phase, admins int) bool {
	sent, failed := p.sent.Load(), p.failed.Load()
	return p.acked.Load()+failed >= sent && p.delivered.Load() >= (sent-min(sent, failed))*uint64(admins)
}

// drain waits, bounded by the setup timeout, until every message sent in p
// is answered (ack or error), then until every admin socket has it or one of
// them was lost. It returns when the answers were complete and whether
// everything was delivered.
func (b *bench) drain(ctx context.Context, p *phase, as []*admin) (answered time.Time, complete bool) {
	waitUntil(ctx, b.cfg.timeout, func() bool { return p.acked.Load()+p.failed.Load() >= p.sent.Load() })
	answered = time.Now()
	complete = waitUntil(ctx, b.cfg.timeout, func() bool { return drained(p, len(as)) || anyLost(as) })
	return answered, complete && drained(p, len(as))
}

// anyLost reports whether an admin socket has ended.
func anyLost(as []*admin) bool {
	for _, a := range as {
		select {
		case <-a.done:
			return true
		default:
		}
	}
	return false
}

// pace sends rate msg/s in total for d, spread round-robin over vs by
// `senders` goroutines (each owns a disjoint subset, so each socket has one
// writer). It returns the worst lag behind schedule.
func (b *bench) pace(ctx context.Context, p *phase, vs []*visitor, rate float64, d time.Duration, senders int) time.Duration {
	senders = max(1, min(senders, len(vs)))
	var (
		wg  sync.WaitGroup
		lag atomic.Int64
	)
	start := time.Now()
	end := start.Add(d)
	for w := 0; w < senders; w++ {
		var mine []*visitor
		for i := w; i < len(vs); i += senders {
			mine = append(mine, vs[i])
		}
		interval := time.Duration(float64(time.Second) * float64(senders) / rate)
		// stagger the senders so their sends interleave evenly
		first := start.Add(interval * time.Duration(w) / time.Duration(senders))
		wg.Add(1)
		go func() {
			defer wg.Done()
			timer := time.NewTimer(0)
			defer timer.Stop()
			rr := 0
			for k := 0; ; {
				due := first.Add(interval * time.Duration(k))
				if !due.Before(end) {
					return
				}
				if wait := time.Until(due); wait > 0 {
					timer.Reset(wait)
					select {
					case <-ctx.Done():
						return
					case <-timer.C:
					}
				} else if ctx.Err() != nil {
					return
				}
				now := time.Now()
				if l := int64(now.Sub(due)); l > lag.Load() {
					lag.Store(l) // racy max is fine: a report figure
				}
				// send everything that is due (catch up after a late wake-up)
				for ; !first.Add(interval * time.Duration(k)).After(now); k++ {
					if !first.Add(interval * time.Duration(k)).Before(end) {
						return
					}
					v := mine[rr%len(mine)]
					rr++
					_ = v.send(p)
				}
			}
		}()
	}
	wg.Wait()
	return time.Duration(lag.Load())
}
