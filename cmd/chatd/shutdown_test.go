package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestSIGTERMWithASocketThatNeverReads: a visitor socket that never reads
// (its replay fills the TCP window) does not hold the shutdown: chatd
// drops it, closes the store cleanly and exits 0, well inside a shutdown
// timeout shorter than the socket write timeout (10 s).
func TestSIGTERMWithASocketThatNeverReads(t *testing.T) {
	c := startChild(t, t.TempDir(), "--max-text", "60000", "--max-frame", "262144",
		"--msg-rate", "1000", "--msg-burst", "1000", "--quota-visitor", "100000000", "--quota-address", "100000000",
		"--shutdown-timeout", "4s")
	v, _, token := visitor(t, c.url(), "Ann")
	text := strings.Repeat("z", 60000)
	for i := range 150 { // a 9 MB history
		v.send("client:message", map[string]any{"cid": fmt.Sprint("c", i), "text": text})
		v.expect("client:message", nil)
	}

	// The tab that never reads: a tiny receive buffer, then client:add.
	nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	d := websocket.Dialer{HandshakeTimeout: wait, NetDialContext: nd.DialContext}
	stuck, _, err := d.Dial("ws"+strings.TrimPrefix(c.url(), "http")+"/ws/client", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	stuck.SetWriteDeadline(time.Now().Add(wait))
	if err := stuck.WriteJSON(map[string]any{"type": "client:add", "data": map[string]any{"token": token, "after": 0}}); err != nil {
		t.Fatal(err)
	}
	// Wait until chatd's side of that connection holds unsent data that no
	// longer moves: its writer is blocked on the full window.
	_, port, _ := net.SplitHostPort(c.Addr)
	local := stuck.LocalAddr().(*net.TCPAddr).Port
	deadline := time.Now().Add(6 * wait) // a loaded machine moves 9 MB slowly; a bound, not an assertion
	for last, same := -1, 0; same < 5; {
		if time.Now().After(deadline) {
			t.Fatalf("chatd's send queue to the stuck socket never filled (last %d bytes)", last)
		}
		q := sendQueue(t, port, local)
		if q > 0 && q == last {
			same++
		} else {
			same = 0
		}
		last = q
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}

	if err := c.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := c.Wait(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM with a socket that never reads; log:\n%s", code, c.log.String())
	}
	if c.log.count("stopped") != 1 || c.log.count("store close exceeded the shutdown deadline") != 0 {
		t.Fatalf("no clean stop:\n%s", c.log.String())
	}
}

// sendQueue returns the bytes queued for sending on the loopback TCP
// connection from local port srvPort to remote port peer (/proc/net/tcp,
// tx_queue), or -1 if there is none.
func sendQueue(t *testing.T, srvPort string, peer int) int {
	t.Helper()
	sp, _ := strconv.Atoi(srvPort)
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 5 || !strings.Contains(fs[1], ":") {
				continue
			}
			lp, _ := strconv.ParseInt(fs[1][strings.LastIndex(fs[1], ":")+1:], 16, 32)
			rp, _ := strconv.ParseInt(fs[2][strings.LastIndex(fs[2], ":")+1:], 16, 32)
			if int(lp) == sp && int(rp) == peer {
				tx, _ := strconv.ParseInt(fs[4][:strings.Index(fs[4], ":")], 16, 64)
				f.Close()
				return int(tx)
			}
		}
		f.Close()
	}
	return -1
}
