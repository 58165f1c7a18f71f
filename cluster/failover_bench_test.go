package cluster_test

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
)

// BenchmarkLeaderFailover measures, on 3 nodes, what a visitor on a
// surviving node that keeps sending (each message waits for its ack or
// error, errors are retried at once) sees when the message stream's leader
// goes away. Run with -benchtime=1x.
//
//   - kill: kill -9 of the leader; reported as s/failover, the time from the
//     kill to the first acknowledgement of a message sent after it.
//   - sigterm: a clean stop of the leader (chatd's shutdown, in which
//     nats-server hands its leaderships over); reported as s/longest-gap,
//     the longest time between two acknowledgements from the signal until
//     the stopped node has exited and 20 more messages were acknowledged.
func BenchmarkLeaderFailover(b *testing.B) {
	b.Run("kill", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.ReportMetric(failover(b, false).Seconds(), "s/failover")
		}
	})
	b.Run("sigterm", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.ReportMetric(failover(b, true).Seconds(), "s/longest-gap")
		}
	})
}

func failover(b *testing.B, clean bool) time.Duration {
	b.StopTimer()
	nodes := startCluster(b, 3)
	defer func() {
		for _, nd := range nodes {
			nd.Stop(b)
		}
	}()
	lead := leader(b, nodes[0])
	var at, gone *node
	for _, nd := range nodes {
		if nd.name == lead {
			gone = nd
		} else if at == nil {
			at = nd
		}
	}
	ws, err := chatdtest.DialWS(at.URL(), "/ws/client")
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close()
	ws.Send("client:add", map[string]any{"name": "bench", "after": 0})
	for f, err := ws.Read(step); f.Type != "client:messages"; f, err = ws.Read(step) {
		if err != nil {
			b.Fatal(err)
		}
	}
	var (
		stoppedAt atomic.Int64
		exited    = make(chan struct{})
		took      time.Duration
		longest   time.Duration
		lastAck   time.Time
		after     = -1 // messages acknowledged since the stopped node exited
	)
	for k := 0; ; k++ {
		if k == 20 {
			stoppedAt.Store(time.Now().UnixNano())
			if clean {
				go func() { gone.Stop(b); close(exited) }()
			} else {
				gone.Kill(b)
				close(exited)
			}
		}
		cid := fmt.Sprintf("c%d", k)
		sent := time.Now()
		ws.Send("client:message", map[string]any{"cid": cid, "text": "x"})
		acked := false
		for {
			f, err := ws.Read(30 * time.Second)
			if err != nil {
				b.Fatal(err)
			}
			var m struct{ CID, Code string }
			json.Unmarshal(f.Data, &m)
			if m.CID != cid {
				continue
			}
			acked = f.Type == "client:message"
			break
		}
		if !acked {
			continue
		}
		prev := lastAck
		lastAck = time.Now()
		if k < 20 {
			continue
		}
		if !clean {
			if sent.UnixNano() > stoppedAt.Load() {
				took = time.Since(time.Unix(0, stoppedAt.Load()))
				return took
			}
			continue
		}
		longest = max(longest, lastAck.Sub(prev))
		select {
		case <-exited:
			if after++; after == 20 {
				return longest
			}
		default:
		}
	}
}
