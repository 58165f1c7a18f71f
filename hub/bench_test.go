package hub

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// BenchmarkFanOut: one visitor message, acknowledged to the visitor's N tabs
// and delivered to one admin; an op ends when all N+1 sockets have it. The
// store runs with its default fsync policy (every second).
func BenchmarkFanOut(b *testing.B) {
	for _, tabs := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("tabs=%d", tabs), func(b *testing.B) {
			ts := startServer(b, Config{MsgRate: 1e9, MsgBurst: 1 << 30, SendBuffer: 1024})
			adm, _, _ := ts.admin("adm", 0)
			first, id, _ := ts.visitor("tab0", "Ann", "", 0)
			adm.expectStatus(id.ID, true)
			socks := []*ws{first}
			for i := 1; i < tabs; i++ {
				w, _, _ := ts.visitor(fmt.Sprint("tab", i), "Ann", id.Token, 0)
				socks = append(socks, w)
			}
			socks = append(socks, adm)
			b.ResetTimer()
			var wg sync.WaitGroup
			errs := make(chan error, len(socks))
			for _, w := range socks {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range b.N {
						w.c.SetReadDeadline(time.Now().Add(wait))
						if _, _, err := w.c.ReadMessage(); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			for i := range b.N {
				first.c.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"type":"client:message","data":{"cid":"b%d","text":"benchmark message"}}`, i))
			}
			wg.Wait()
			b.StopTimer()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
		})
	}
}
