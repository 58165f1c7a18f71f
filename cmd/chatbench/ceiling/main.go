// Command ceiling is a measuring stick for chatbench flood, not a chat
// server: it speaks just enough of chatd's protocol (docs/protocol.md) for
// the flood mode, over melody with the hub's socket settings, and does no
// other work per message. It stores nothing, checks nothing and keeps no
// history, so its acked msg/s on a machine is the most any hub built on
// melody can reach there with this protocol: one frame read and two frames
// written per message (the sender's ack, every admin's copy). It keeps an
// idle socket as small as the hub does, so chatbench steady against it
// measures what melody itself holds per socket.
//
//	go run ./cmd/chatbench/ceiling --addr 127.0.0.1:8090 &
//	chatbench --url http://127.0.0.1:8090 --admin x --password-file pw flood ...
//
// docs/performance.md ("The ceiling of a melody hub") reports its figures.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/olahol/melody"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(1)
	}
	if err := run(ctx, ln); err != nil {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(1)
	}
}

// server holds the two melody instances and the offset counter.
type server struct {
	clients, admins *melody.Melody
	offset          atomic.Uint64
	pool            sync.Pool
}

// run serves on ln until ctx ends.
func run(ctx context.Context, ln net.Listener) error {
	s := &server{}
	s.clients, s.admins = s.newMelody(64), s.newMelody(4096)
	s.clients.HandleMessage(s.clientFrame)
	s.admins.HandleMessage(s.adminFrame)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/login", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"token":"ceiling"}`))
	})
	mux.HandleFunc("/ws/client", func(w http.ResponseWriter, r *http.Request) { serve(s.clients, w, r) })
	mux.HandleFunc("/ws/admin", func(w http.ResponseWriter, r *http.Request) { serve(s.admins, w, r) })
	go returnMemory(ctx)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.clients.Close()
		_ = s.admins.Close()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	}
	return nil
}

// serve does what the hub does to keep an idle socket small (hub.serve,
// hub.slimRequest, hub.onConnect): melody runs on a goroutine of its own, so
// net/http's connection goroutine ends after the upgrade and frees its stack
// and buffers; melody gets only the upgrade headers and drops the request
// once open.
func serve(m *melody.Melody, w http.ResponseWriter, r *http.Request) {
	slim := &http.Request{Method: r.Method, URL: r.URL, Proto: r.Proto, ProtoMajor: r.ProtoMajor,
		ProtoMinor: r.ProtoMinor, Host: r.Host, RemoteAddr: r.RemoteAddr, Header: http.Header{}}
	for _, k := range []string{"Connection", "Upgrade", "Sec-Websocket-Version", "Sec-Websocket-Key"} {
		slim.Header[k] = r.Header[k]
	}
	open, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		_ = m.HandleRequestWithKeys(w, slim, map[string]any{"open": open})
	}()
	select {
	case <-open:
	case <-done:
	}
}

// opened is the connect handler: it drops the request and releases serve.
func opened(s *melody.Session) {
	s.Request = nil
	if v, ok := s.Get("open"); ok {
		close(v.(chan struct{}))
	}
}

// returnMemory hands free pages back every 5 s, as chatd's memory returner
// does once the process is quiet (cmd/chatd/memory.go), so an idle figure
// counts what the sockets hold, not what the connect burst left.
func returnMemory(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			debug.FreeOSMemory()
		}
	}
}

// newMelody mirrors the hub's socket settings (hub.newMelody).
func (s *server) newMelody(buffer int) *melody.Melody {
	m := melody.New()
	m.Config.MessageBufferSize = buffer
	m.Config.MaxMessageSize = 64 << 10
	m.Upgrader = &websocket.Upgrader{
		ReadBufferSize:  512,
		WriteBufferSize: 4096,
		WriteBufferPool: &s.pool,
		CheckOrigin:     func(*http.Request) bool { return true },
	}
	m.HandleConnect(opened)
	return m
}

var (
	typeClientAdd     = []byte(`"type":"client:add"`)
	typeClientMessage = []byte(`"type":"client:message"`)
	typeAdminAdd      = []byte(`"type":"admin:add"`)
)

// clientFrame answers client:add with an id and an empty history, and
// client:message with its ack and the admins' copy.
func (s *server) clientFrame(ss *melody.Session, b []byte) {
	switch {
	case bytes.Contains(b, typeClientMessage):
		cid := field(b, `"cid":"`)
		off := strconv.FormatUint(s.offset.Add(1), 10)
		data := `{"offset":` + off + `,"client":"v","from":"client","cid":"` + string(cid) + `","text":"x","at":"` + time.Now().UTC().Format(time.RFC3339Nano) + `"}`
		_ = ss.Write([]byte(`{"type":"client:message","data":` + data + `}`))
		_ = s.admins.Broadcast([]byte(`{"type":"admin:message","data":` + data + `}`))
	case bytes.Contains(b, typeClientAdd):
		_ = ss.Write([]byte(`{"type":"client:id","data":{"id":"v","token":"t"}}`))
		_ = ss.Write([]byte(`{"type":"client:messages","data":[]}`))
	}
}

// adminFrame answers admin:add with an empty list and history.
func (s *server) adminFrame(ss *melody.Session, b []byte) {
	if bytes.Contains(b, typeAdminAdd) {
		_ = ss.Write([]byte(`{"type":"admin:list","data":[]}`))
		_ = ss.Write([]byte(`{"type":"admin:messages","data":[]}`))
	}
}

// field returns the JSON string value after key (no escapes expected).
func field(b []byte, key string) []byte {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return nil
	}
	rest := b[i+len(key):]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return nil
}
