package main

import (
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
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
