package server

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/hub"
	"github.com/chatd/chatd/store"
)

// TestSettingsOnAFailingDisk: a PUT /api/settings whose write or fsync
// fails answers 503 saying nothing was saved, and changes nothing: GET, the
// store's copy, the admin sockets (no admin:settings) and, after a restart,
// the file all keep the old values. Once the disk recovers (a write fault:
// at once; a failed fsync stops the store: after a restart) the same PUT
// works.
func TestSettingsOnAFailingDisk(t *testing.T) {
	for _, tc := range []struct {
		name        string
		write, sync error
		restart     bool // the store stops after this fault: recovery needs a restart
	}{
		{"full disk", syscall.ENOSPC, nil, false},
		{"write error", syscall.EIO, nil, false},
		{"fsync error", nil, syscall.EIO, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var failing atomic.Bool
			fault := func(err error) func(int) error {
				return func(int) error {
					if err != nil && failing.Load() {
						return err
					}
					return nil
				}
			}
			is := newInboxServerOpts(t, dir, hub.Config{}, db.Options{Faults: &db.Faults{Write: fault(tc.write), Sync: fault(tc.sync)}})
			sock := is.adminWS(t, is.bo)
			if res, body := do(t, "PUT", is.url+"/api/settings", `{"assign_limit":4}`, is.ann); res.StatusCode != 200 {
				t.Fatalf("PUT before the fault = %d %s", res.StatusCode, body)
			}
			nextFrame(t, sock, "admin:settings")
			old := getSettingsAs(t, is, is.ann)

			failing.Store(true)
			res, body := do(t, "PUT", is.url+"/api/settings", `{"auto_assign":true,"assign_limit":9,"retention_days":5}`, is.ann)
			if res.StatusCode != 503 || !strings.Contains(body, "settings not saved") {
				t.Fatalf("PUT during the fault = %d %s, want 503 saying the settings were not saved", res.StatusCode, body)
			}
			if got := getSettingsAs(t, is, is.ann); !reflect.DeepEqual(got, old) {
				t.Fatalf("GET after a failed PUT %+v, want %+v", got, old)
			}
			if p, err := is.st.StoredSettings(); err != nil || p.AutoAssign != nil || p.RetentionDays != nil || p.AssignLimit == nil || *p.AssignLimit != 4 {
				t.Fatalf("store after a failed PUT: %+v %v, want only assign_limit 4", p, err)
			}
			failing.Store(false)
			if tc.restart {
				if res, body := do(t, "PUT", is.url+"/api/settings", `{"auto_assign":true}`, is.ann); res.StatusCode != 503 {
					t.Fatalf("PUT after a failed fsync, before a restart = %d %s, want 503", res.StatusCode, body)
				}
				is.stop()
				is = newInboxServerWith(t, dir, hub.Config{})
				if got := getSettingsAs(t, is, is.ann); !reflect.DeepEqual(got, old) {
					t.Fatalf("after a restart, a PUT answered 503 is in force: %+v, want %+v", got, old)
				}
				sock = is.adminWS(t, is.bo)
			}
			if res, body := do(t, "PUT", is.url+"/api/settings", `{"auto_assign":true,"retention_days":6}`, is.ann); res.StatusCode != 200 {
				t.Fatalf("PUT after the disk recovered = %d %s", res.StatusCode, body)
			}
			// The first admin:settings since the fault is the good change's.
			var f struct {
				hub.SettingsView
				By string `json:"by"`
			}
			json.Unmarshal(nextFrame(t, sock, "admin:settings"), &f)
			want := store.InboxSettings{AutoAssign: true, AssignLimit: 4, RetentionDays: 6}
			if f.InboxSettings != want {
				t.Fatalf("admin:settings %+v, want %+v", f.InboxSettings, want)
			}
			is.stop()
			is = newInboxServerWith(t, dir, hub.Config{})
			if got := getSettingsAs(t, is, is.ann); got.InboxSettings != want {
				t.Fatalf("after a restart %+v, want %+v", got.InboxSettings, want)
			}
		})
	}
}
