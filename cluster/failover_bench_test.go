package cluster_test

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
)

// BenchmarkLeaderFailover measures, on 3 nodes, the time from kill -9 of the
// message stream's leader to the first acknowledgement of a message stored
// under the new leader, for a visitor on a surviving node that keeps sending
// (each message waits for its ack or error, errors are retried at once).
// Reported as s/failover; run with -benchtime=1x.
func BenchmarkLeaderFailover(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		nodes := startCluster(b, 3)
		lead := leader(b, nodes[0])
		var at *node
		var killed *node
		for _, nd := range nodes {
			if nd.name == lead {
				killed = nd
			} else if at == nil {
				at = nd
			}
		}
		ws, err := chatdtest.DialWS(at.URL(), "/ws/client")
		if err != nil {
			b.Fatal(err)
		}
		ws.Send("client:add", map[string]any{"name": "bench", "after": 0})
		for f, err := ws.Read(step); f.Type != "client:messages"; f, err = ws.Read(step) {
			if err != nil {
				b.Fatal(err)
			}
		}
		var killedAt atomic.Int64
		var took time.Duration
		for k := 0; took == 0; k++ {
			if k == 20 {
				killedAt.Store(time.Now().UnixNano())
				killed.Kill(b)
			}
			cid := fmt.Sprintf("c%d", k)
			sent := time.Now()
			ws.Send("client:message", map[string]any{"cid": cid, "text": "x"})
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
				if f.Type == "client:message" && killedAt.Load() != 0 && sent.UnixNano() > killedAt.Load() {
					took = time.Since(time.Unix(0, killedAt.Load()))
				}
				break
			}
		}
		ws.Close()
		b.ReportMetric(took.Seconds(), "s/failover")
		for _, nd := range nodes {
			nd.Stop(b)
		}
	}
}
