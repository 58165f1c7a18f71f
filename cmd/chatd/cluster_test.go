package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatd/chatd/cluster"
	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/store"
)

// TestClusterFlagsValidate: cluster mode is refused with a clear message on
// every inconsistent combination, and off without any cluster flag.
func TestClusterFlagsValidate(t *testing.T) {
	secret := "0123456789abcdef"
	for _, tc := range []struct {
		name string
		args []string
		want string // substring of the error; "" = valid
	}{
		{"single node", nil, ""},
		{"embedded 3 nodes", []string{"--cluster-name", "c", "--node-name", "n1", "--cluster-secret", secret,
			"--cluster-peers", "10.0.0.2:6222,10.0.0.3:6222"}, ""},
		{"existing nats", []string{"--nats-url", "nats://127.0.0.1:4222", "--node-name", "n1"}, ""},
		{"both modes", []string{"--cluster-name", "c", "--nats-url", "nats://x:4222", "--node-name", "n1", "--cluster-secret", secret,
			"--cluster-peers", "a:1,b:2"}, "exclude each other"},
		{"no secret", []string{"--cluster-name", "c", "--node-name", "n1", "--cluster-peers", "a:1,b:2"}, "--cluster-secret"},
		{"short secret", []string{"--cluster-name", "c", "--node-name", "n1", "--cluster-secret", "short", "--cluster-peers", "a:1,b:2"}, "--cluster-secret"},
		{"bad node name", []string{"--cluster-name", "c", "--node-name", "n.1", "--cluster-secret", secret, "--cluster-peers", "a:1,b:2"}, "--node-name"},
		{"bad cluster name", []string{"--cluster-name", "c c", "--node-name", "n1", "--cluster-secret", secret, "--cluster-peers", "a:1,b:2"}, "--cluster-name"},
		{"bad peer", []string{"--cluster-name", "c", "--node-name", "n1", "--cluster-secret", secret, "--cluster-peers", "a,b:2"}, "--cluster-peers"},
		{"too few peers for 3 replicas", []string{"--cluster-name", "c", "--node-name", "n1", "--cluster-secret", secret, "--cluster-peers", "a:1"}, "needs at least 3 nodes"},
		{"bad replicas", []string{"--nats-url", "nats://x:4222", "--node-name", "n1", "--cluster-replicas", "7"}, "--cluster-replicas"},
		{"tiny dedupe window", []string{"--nats-url", "nats://x:4222", "--node-name", "n1", "--cluster-dedupe-window", "1ms"}, "--cluster-dedupe-window"},
		{"tiny presence ttl", []string{"--nats-url", "nats://x:4222", "--node-name", "n1", "--cluster-presence-ttl", "10ms"}, "--cluster-presence-ttl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c config
			if _, err := parseFlags(serveFlags(&c), tc.args, noEnv); err != nil {
				t.Fatal(err)
			}
			err := c.validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
			if tc.want == "" && c.Cluster.enabled() != (len(tc.args) > 0) {
				t.Fatalf("cluster mode %v for %v", c.Cluster.enabled(), tc.args)
			}
		})
	}
}

// TestSingleNodeRunsNoNATS: without cluster flags no NATS server or client
// runs in the process and /metrics has no cluster series.
func TestSingleNodeRunsNoNATS(t *testing.T) {
	p := startRun(t, t.TempDir())
	res, err := http.Get(p.url() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if strings.Contains(string(body), "chatd_cluster_") {
		t.Error("single node exports cluster metrics")
	}
	buf := make([]byte, 1<<22)
	stacks := string(buf[:runtime.Stack(buf, true)])
	for _, pkg := range []string{"nats-io/nats-server", "nats-io/nats.go", "github.com/chatd/chatd/cluster."} {
		if strings.Contains(stacks, pkg) {
			t.Errorf("a goroutine of %s runs in single-node mode", pkg)
		}
	}
}

// TestClusterImportExportCLI runs `chatd cluster import` and `export`
// against a one-node cluster that takes NATS clients with the cluster
// secret as token, and checks what they move and refuse.
func TestClusterImportExportCLI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	src := t.TempDir()
	st, err := store.Open(src, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := st.CreateVisitor(ctx, "Ann", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.AddMessage(ctx, store.NewMessage{Client: v.ID, From: store.FromClient, CID: "c1", Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	const secret = "cli-test-secret-0123"
	client := free()
	cs, err := cluster.Open(cluster.Config{Name: "t", Listen: free(), Node: "solo", Secret: secret, Client: client,
		DataDir: t.TempDir(), Replicas: 1, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if err := cs.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	url := "nats://" + secret + "@" + client
	cli := func(args ...string) (int, string, string) {
		var out strings.Builder
		errOut := newLogLines() // the command logs from several goroutines
		code := run(ctx, append([]string{"cluster"}, args...), mapEnv(map[string]string{"CHATD_NATS_URL": url}), &out, errOut)
		return code, out.String(), errOut.String()
	}
	if code, out, errOut := cli("import", "--data", src, "--cluster-replicas", "1"); code != 0 || !strings.Contains(out, "1 visitors, 1 messages (last offset 1") {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := cli("import", "--data", src, "--cluster-replicas", "1"); code == 0 || !strings.Contains(errOut, "already holds messages") {
		t.Errorf("second import: exit %d %s", code, errOut)
	}
	dst := filepath.Join(t.TempDir(), "out")
	if code, out, errOut := cli("export", "--data", dst, "--cluster-replicas", "1"); code != 0 || !strings.Contains(out, "1 visitors, 1 messages") {
		t.Fatalf("export: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := cli("export", "--data", dst, "--cluster-replicas", "1"); code == 0 || !strings.Contains(errOut, "already holds a store") {
		t.Errorf("export over a store: exit %d %s", code, errOut)
	}
	if code, _, errOut := cli("import", "--data", src, "--nats-url", "nats://wrong-secret@"+client, "--timeout", "3s"); code == 0 || !strings.Contains(errOut, "uthorization") {
		t.Errorf("a wrong secret was accepted: %s", errOut)
	}
	back, err := store.Open(dst, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if ms, _ := back.MessagesOf(v.ID, 0, 0); len(ms) != 1 || ms[0].Offset != 1 || ms[0].Text != "hello" {
		t.Errorf("exported messages %+v", ms)
	}
}
