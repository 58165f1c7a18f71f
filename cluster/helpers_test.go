package cluster_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
)

func TestMain(m *testing.M) { chatdtest.Main(m) }

// step bounds one wait of the test for one event.
const step = 20 * time.Second

// node is one chatd cluster node run as a child process.
type node struct {
	name  string
	route string // its --cluster-listen
	*chatdtest.Process
	dead bool
}

// startCluster starts n nodes on 127.0.0.1 sharing one admins seed file
// (alice / "pw", role admin) and waits until all are ready.
func startCluster(t testing.TB, n int, extra ...string) []*node {
	t.Helper()
	bin := chatdtest.Binary(t)
	seedDir := t.TempDir()
	chatdtest.AdminSet(t, bin, seedDir, "alice", "pw")
	// alice manages too (the privacy endpoints need the admin role).
	if code, out, errOut := chatdtest.Run(t, bin, "", nil, "admin", "set", "alice", "--role", "admin", "--data", seedDir); code != 0 {
		t.Fatalf("chatd admin set --role admin: exit %d\n%s%s", code, out, errOut)
	}
	seed, err := os.ReadFile(filepath.Join(seedDir, "admins.json"))
	if err != nil {
		t.Fatal(err)
	}
	nodes := make([]*node, n)
	for i := range nodes {
		nodes[i] = &node{name: fmt.Sprintf("n%d", i+1), route: freeAddr(t)}
	}
	for i, nd := range nodes {
		data := t.TempDir()
		if err := os.WriteFile(filepath.Join(data, "admins.json"), seed, 0o600); err != nil {
			t.Fatal(err)
		}
		var peers []string
		for j, o := range nodes {
			if j != i {
				peers = append(peers, o.route)
			}
		}
		args := append([]string{"--cluster-name", "test", "--cluster-listen", nd.route,
			"--cluster-peers", strings.Join(peers, ","), "--node-name", nd.name,
			"--msg-rate", "500", "--msg-burst", "500"}, extra...)
		nd.Process = chatdtest.Start(t, bin, chatdtest.Options{Data: data, Args: args,
			Env: []string{"CHATD_CLUSTER_SECRET=test-secret-0123456789"}})
	}
	for _, nd := range nodes {
		waitReady(t, nd)
	}
	return nodes
}

// freeAddr returns a 127.0.0.1 port free right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitReady waits for the node's /readyz to answer 200.
func waitReady(t testing.TB, nd *node) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		res, err := http.Get(nd.URL() + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s not ready within 90s (last: %v)\n%s", nd.name, err, nd.Tail())
		}
		time.Sleep(100 * time.Millisecond) // polling an HTTP probe
	}
}

var leaderRE = regexp.MustCompile(`chatd_cluster_leader_info\{leader="([^"]*)"\} 1`)

// leader asks a node's /metrics which node leads the message stream.
func leader(t testing.TB, nd *node) string {
	t.Helper()
	deadline := time.Now().Add(step)
	for time.Now().Before(deadline) {
		res, err := http.Get(nd.URL() + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if m := leaderRE.FindSubmatch(b); m != nil && len(m[1]) > 0 {
				return string(m[1])
			}
		}
		time.Sleep(100 * time.Millisecond) // polling metrics
	}
	t.Fatalf("no stream leader reported by %s", nd.name)
	return ""
}

var appliedRE = regexp.MustCompile(`(?m)^chatd_cluster_applied_offset (\S+)$`)

// waitApplied waits until a node's /metrics says it has applied offset off
// (read its copy of the log up to there).
func waitApplied(t testing.TB, nd *node, off uint64) {
	t.Helper()
	deadline := time.Now().Add(step)
	for {
		res, err := http.Get(nd.URL() + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if m := appliedRE.FindSubmatch(b); m != nil {
				var got float64
				fmt.Sscan(string(m[1]), &got)
				if uint64(got) >= off {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s did not apply offset %d within %v", nd.name, off, step)
		}
		time.Sleep(50 * time.Millisecond) // polling metrics with a deadline
	}
}

// login gets an admin token from a node. A 503 (the sessions bucket still
// electing its leader after the cluster got its quorum back) is retried
// for up to step.
func login(t testing.TB, nd *node) string {
	t.Helper()
	deadline := time.Now().Add(step)
	res, err := http.Post(nd.URL()+"/api/login", "application/json", strings.NewReader(`{"name":"alice","password":"pw"}`))
	for err == nil && res.StatusCode == http.StatusServiceUnavailable && time.Now().Before(deadline) {
		res.Body.Close()
		time.Sleep(200 * time.Millisecond) // polling a write that waits for an election, with a deadline
		res, err = http.Post(nd.URL()+"/api/login", "application/json", strings.NewReader(`{"name":"alice","password":"pw"}`))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct{ Token string }
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != 200 {
		t.Fatalf("login on %s: %d %v", nd.name, res.StatusCode, err)
	}
	return body.Token
}

// history opens an admin socket on nd and returns admin:list and every message.
func history(t testing.TB, nd *node, token string) (list []listEntry, msgs []chatdtest.Message) {
	t.Helper()
	ws, err := chatdtest.DialWS(nd.URL(), "/ws/admin")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.Send("admin:add", map[string]any{"token": token, "after": 0}); err != nil {
		t.Fatal(err)
	}
	for got := false; ; {
		f, err := ws.Read(step)
		if err != nil {
			t.Fatalf("admin replay on %s: %v", nd.name, err)
		}
		switch f.Type {
		case "admin:list":
			json.Unmarshal(f.Data, &list)
		case "admin:messages":
			var part []chatdtest.Message
			json.Unmarshal(f.Data, &part)
			msgs = append(msgs, part...)
			got = true
			if len(part) < 500 {
				return list, msgs
			}
		case "error":
			t.Fatalf("admin replay on %s: %s", nd.name, f.Data)
		}
		_ = got
	}
}

type listEntry struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Connected bool   `json:"connected"`
}

// scanLog reports whether the node's log tail holds msg.
func scanLog(nd *node, msg string) bool {
	sc := bufio.NewScanner(strings.NewReader(nd.Tail()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), msg) {
			return true
		}
	}
	return false
}
