package hub

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/store"
	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"
)

const childEnv = "CHATD_HUB_MEM_CHILD"

// BenchmarkIdleVisitorSocketMemory measures the resident memory one idle,
// identified visitor socket costs the server. The server runs in a child
// process (this test binary), so the client side is not counted; visitors are
// created before the baseline, so their store documents are not counted
// either. Run with -benchtime=1x; it reports KiB/socket (RSS) and the Go heap
// and stack parts.
func BenchmarkIdleVisitorSocketMemory(b *testing.B) {
	const warm, n = 200, 3000
	cmd := exec.Command(os.Args[0], "-test.run=^TestMemChildServer$", "-test.v=false")
	cmd.Env = append(os.Environ(), childEnv+"="+strconv.Itoa(warm+n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	out := bufio.NewScanner(stdout)
	out.Buffer(make([]byte, 1<<20), 1<<20)
	line := func() string {
		if !out.Scan() {
			b.Fatalf("child ended: %v", out.Err())
		}
		return out.Text()
	}
	addr := strings.TrimPrefix(line(), "addr=")
	tokens := make([]string, warm+n)
	for i := range tokens {
		tokens[i] = line()
	}
	measure := func() (rss, heap, stack float64) {
		fmt.Fprintln(stdin, "measure")
		_, err := fmt.Sscanf(line(), "rss=%g heap=%g stack=%g", &rss, &heap, &stack)
		if err != nil {
			b.Fatal(err)
		}
		return
	}
	var conns []*websocket.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// What a browser sends with a WebSocket upgrade, roughly.
	hdr := http.Header{
		"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"},
		"Accept-Language": {"en-GB,en;q=0.9,de;q=0.8"},
		"Accept-Encoding": {"gzip, deflate, br"},
		"Cache-Control":   {"no-cache"},
		"Pragma":          {"no-cache"},
		"Origin":          {"http://" + addr},
		"Cookie":          {"_ga=GA1.1.123456789.1700000000; session=" + strings.Repeat("abcdef0123456789", 12)},
	}
	open := func(from, to int) {
		for i := from; i < to; i++ {
			c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws/client", hdr)
			if err != nil {
				b.Fatalf("dial %d: %v", i, err)
			}
			conns = append(conns, c)
			c.SetReadDeadline(time.Now().Add(wait))
			if err := c.WriteJSON(map[string]any{"type": evClientAdd, "data": map[string]any{"name": "M", "token": tokens[i]}}); err != nil {
				b.Fatal(err)
			}
			for range 2 { // client:id, client:messages
				if _, _, err := c.ReadMessage(); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	open(0, warm)
	r0, h0, s0 := measure()
	open(warm, warm+n)
	r1, h1, s1 := measure()
	b.ReportMetric((r1-r0)/n/1024, "KiB-RSS/socket")
	b.ReportMetric((h1-h0)/n/1024, "KiB-heap/socket")
	b.ReportMetric((s1-s0)/n/1024, "KiB-stack/socket")
}

// TestMemChildServer is the child side of BenchmarkIdleVisitorSocketMemory;
// it does nothing in a normal test run.
func TestMemChildServer(t *testing.T) {
	nv, _ := strconv.Atoi(os.Getenv(childEnv))
	if nv == 0 {
		t.Skip("child process of BenchmarkIdleVisitorSocketMemory")
	}
	st, err := store.Open(t.TempDir(), db.Options{Sync: db.SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := New(Config{SocketsPerIP: 1 << 20}, st, &testAuth{}, zerolog.Nop())
	mux := http.NewServeMux()
	mux.HandleFunc("/ws/client", h.ServeClient)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	fmt.Println("addr=" + ln.Addr().String())
	for i := range nv {
		_, tok, err := st.CreateVisitor(context.Background(), "M", nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = i
		fmt.Println(tok)
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		// Several cycles: each GC halves idle goroutine stacks at most once,
		// as a long-running server's periodic GCs would.
		for range 4 {
			runtime.GC()
		}
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("rss=%d heap=%d stack=%d\n", rss(), ms.HeapInuse, ms.StackInuse)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	h.Shutdown(ctx)
	srv.Shutdown(ctx)
}

// rss reads this process's resident set size in bytes.
func rss() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return kb * 1024
		}
	}
	return 0
}
