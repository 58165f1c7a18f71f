package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// serveWith serves h with httpServer's bounds shortened to header and
// request on 127.0.0.1:0, and returns its address.
func serveWith(t *testing.T, h http.Handler, header, request time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpServer(h, zerolog.Nop(), header, request)
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return ln.Addr().String()
}

// TestSlowRequestsAreCut: a client that declares a body and sends it slowly,
// or never, or never finishes its headers, has its connection closed by the
// server once the request bound is over, on every kind of route (a handler
// reading the body, one refusing before reading it, a GET that takes none).
// Before chatd bounded whole requests such a connection stayed open for as
// long as the client kept it (hours, for 4 KiB sent a byte a minute).
func TestSlowRequestsAreCut(t *testing.T) {
	if HTTPServer(http.NotFoundHandler(), zerolog.Nop()).ReadTimeout <= 0 {
		t.Fatal("HTTPServer does not bound the time a request may take")
	}
	s, _ := newTestServer(t, "SNAP", "")
	s.SetReady(true)
	const header, request = 200 * time.Millisecond, 600 * time.Millisecond
	addr := serveWith(t, s, header, request)

	for _, tc := range []struct {
		name    string
		head    string // sent at once
		trickle string // then sent a byte every 50 ms, round and round, until the server closes
	}{
		{"login body declared, never sent", "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n", ""},
		{"login body a byte at a time", "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\n{", " "},
		{"login chunked body never ending", "POST /api/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", "1\r\n \r\n"},
		{"logout without a token, body unread", "POST /api/logout HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n", "x"},
		{"GET with a body declared", "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n", ""},
		{"GET of a file with a chunked body", "GET /widget.js HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", "1\r\nx\r\n"},
		{"method refused, body trickled", "PATCH /api/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n", "y"},
		{"second request on a kept-alive connection", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nPOST /api/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n", "z"},
		{"headers never finished", "GET /healthz HTTP/1.1\r\nHost: x\r\n", "X-A: b\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, tc.head); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			defer close(stop)
			if tc.trickle != "" {
				go func() {
					tick := time.NewTicker(50 * time.Millisecond)
					defer tick.Stop()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						case <-tick.C:
						}
						if _, err := c.Write([]byte{tc.trickle[i%len(tc.trickle)]}); err != nil {
							return
						}
					}
				}()
			}
			// The server answers (an error or, for the kept-alive case, the
			// first request) and must then close: read to the end.
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			got, err := io.ReadAll(bufio.NewReader(c))
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("connection still open after 20 s (request bound %v); got %q", request, got)
			}
			if tc.name == "second request on a kept-alive connection" && !strings.Contains(string(got), "ok\n") {
				t.Fatalf("first request not answered: %q", got)
			}
		})
	}
}

// TestSlowRequestBoundKeepsGoodOnes: the bound is on reading a request, not
// on answering it: a body that arrives in time is read, and an answer that
// takes longer than the bound (a backup streaming a big store) is not cut.
func TestSlowRequestBoundKeepsGoodOnes(t *testing.T) {
	const header, request = 200 * time.Millisecond, 400 * time.Millisecond
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		b, code, msg := readBody(w, r, 1<<10)
		if code != 0 {
			http.Error(w, msg, code)
			return
		}
		w.Write(b)
	})
	mux.HandleFunc("GET /long", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first ")
		w.(http.Flusher).Flush()
		select { // the condition under test: an answer outlasting the read bound
		case <-time.After(3 * request):
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "last")
	})
	addr := serveWith(t, mux, header, request)
	res, err := http.Post("http://"+addr+"/echo", "application/json", strings.NewReader(`{"a":"b"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != `{"a":"b"}` {
		t.Fatalf("echo: %d %q", res.StatusCode, b)
	}
	res, err = http.Get("http://" + addr + "/long")
	if err != nil {
		t.Fatal(err)
	}
	b, err = io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || string(b) != "first last" {
		t.Fatalf("long answer cut: %q, %v", b, err)
	}
}
