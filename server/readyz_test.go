package server

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/db"
)

// TestReadyzFollowsStoreHealth: /readyz is 503 with the store's reason while
// a real store cannot write (a full disk, then a failed fsync), 200 again
// once a write succeeds (not after the fsync failure: that needs a restart).
func TestReadyzFollowsStoreHealth(t *testing.T) {
	var failWrite, failSync atomic.Bool
	d, err := db.Open(t.TempDir(), db.Options{Sync: db.SyncAlways, Faults: &db.Faults{
		Write: func(int) error {
			if failWrite.Load() {
				return syscall.ENOSPC
			}
			return nil
		},
		Sync: func(int) error {
			if failSync.Load() {
				return syscall.EIO
			}
			return nil
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c, err := db.NewCollection(d, db.Schema[struct{ ID string }]{Name: "things", ID: func(x *struct{ ID string }) string { return x.ID }})
	if err != nil {
		t.Fatal(err)
	}
	s, ts := newTestServer(t, "SNAP", "")
	s.cfg.StoreHealth = d.Health
	s.SetReady(true)
	readyz := func() (int, string) {
		res, body := do(t, "GET", ts.URL+"/readyz", "", "")
		return res.StatusCode, strings.TrimSpace(body)
	}
	insert := func(id string) error { _, err := c.Insert(context.Background(), struct{ ID string }{id}); return err }

	if code, body := readyz(); code != http.StatusOK {
		t.Fatalf("healthy store: %d %s", code, body)
	}
	failWrite.Store(true)
	if insert("a") == nil {
		t.Fatal("write did not fail")
	}
	if code, body := readyz(); code != http.StatusServiceUnavailable || body != "not ready: store writes failing: write failed: no space left on device" {
		t.Fatalf("full disk: %d %q", code, body)
	}
	failWrite.Store(false)
	// The store's background probe write clears the state without any writer.
	deadline := time.Now().Add(10 * time.Second)
	for code, _ := readyz(); code != http.StatusOK; code, _ = readyz() {
		if time.Now().After(deadline) {
			t.Fatal("readyz stayed 503 after the disk had room again")
		}
		time.Sleep(20 * time.Millisecond)
	}
	failSync.Store(true)
	if insert("b") == nil {
		t.Fatal("fsync did not fail")
	}
	failSync.Store(false)
	if code, body := readyz(); code != http.StatusServiceUnavailable || body != "not ready: store stopped writing after fsync failed: input/output error; restart needed" {
		t.Fatalf("failed fsync: %d %q", code, body)
	}
	if insert("c") == nil {
		t.Fatal("a failed store accepted a write")
	}
}
