package db

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

type note struct {
	N    uint64 `json:"n"`
	Who  string `json:"who"`
	Ref  string `json:"ref"`
	Body string `json:"body"`
}

func noteSchema() Schema[note] {
	return Schema[note]{
		Name: "notes",
		ID:   func(n *note) string { return SeqID(n.N) },
		Seq:  func(n *note, s uint64) { n.N = s },
		Indices: []Index{
			{Name: "who", Fields: []string{"who"}},
			{Name: "ref", Fields: []string{"who", "ref"}, Unique: true},
		},
	}
}

func openNotes(t testing.TB, dir string, opts Options) (*DB, *Collection[note]) {
	t.Helper()
	d, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCollection(d, noteSchema())
	if err != nil {
		d.Close()
		t.Fatal(err)
	}
	return d, c
}

// TestMain lets the crash tests re-run this binary as a writer child.
func TestMain(m *testing.M) {
	if os.Getenv("DB_TEST_CHILD") != "" {
		os.Exit(child(os.Getenv("DB_TEST_CHILD"), os.Getenv("DB_TEST_DIR"), os.Getenv("DB_TEST_SYNC")))
	}
	os.Exit(m.Run())
}

// child inserts notes from 8 writers and prints each sequence number once its
// Insert returned (the acknowledgement), until killed.
func child(mode, dir, policy string) int {
	if mode == "open" { // open dir once and report: used to open as another user
		d, err := Open(dir, Options{})
		if err != nil {
			fmt.Println(err)
			return 1
		}
		d.Close()
		fmt.Println("opened")
		return 0
	}
	p, iv, _ := ParseSyncPolicy(policy)
	opts := Options{Sync: p, Interval: iv}
	if mode == "shrink" {
		opts.ShrinkMinSize = 1
	}
	if mode == "fsize" {
		var lim syscall.Rlimit
		lim.Cur, lim.Max = 256<<10, 1<<40
		syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim)
	}
	d, err := Open(dir, opts)
	if err != nil {
		fmt.Println("open:", err)
		return 1
	}
	c, err := NewCollection(d, noteSchema())
	if err != nil {
		fmt.Println("collection:", err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	failed := false
	if mode == "shrink" {
		go func() {
			for {
				if err := d.Shrink(); err == nil {
					mu.Lock()
					fmt.Fprintln(out, "shrunk")
					out.Flush()
					mu.Unlock()
				}
			}
		}()
	}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				n, err := c.Insert(context.Background(), note{Who: fmt.Sprint("w", w), Ref: fmt.Sprint(i), Body: strings.Repeat("x", 200)})
				mu.Lock()
				if err != nil {
					if !failed {
						fmt.Fprintln(out, "error:", err)
						out.Flush()
					}
					failed = true
					mu.Unlock()
					return
				}
				fmt.Fprintln(out, n.N)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Full disk: the store still serves reads and reports the error on writes.
	if n := c.Count(); n == 0 {
		fmt.Println("no documents readable after write error")
	}
	fmt.Fprintln(out, "done")
	out.Flush()
	return 0
}

// runChild starts a writer child and returns the acknowledged sequence numbers
// it printed before it was killed after at least min acks (or exited).
func runChild(t *testing.T, mode, dir, policy string, min int) (acked []uint64, lines []string) {
	return runChildUntil(t, mode, dir, policy, func(acks int, lines []string) bool { return min > 0 && acks >= min })
}

func runChildUntil(t *testing.T, mode, dir, policy string, kill func(acks int, lines []string) bool) (acked []uint64, lines []string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DB_TEST_CHILD="+mode, "DB_TEST_DIR="+dir, "DB_TEST_SYNC="+policy)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		n, err := strconv.ParseUint(line, 10, 64)
		if err != nil {
			lines = append(lines, line)
			continue
		}
		acked = append(acked, n)
		if kill(len(acked), lines) {
			cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	cmd.Wait()
	return acked, lines
}

func TestKill9KeepsEveryAcknowledgedWrite(t *testing.T) {
	for _, policy := range []string{"always", "1s", "never"} {
		t.Run(policy, func(t *testing.T) {
			dir := t.TempDir()
			acked, lines := runChild(t, "write", dir, policy, 3000)
			if len(acked) < 3000 {
				t.Fatalf("child acked %d writes; output %q", len(acked), lines)
			}
			d, c := openNotes(t, dir, Options{})
			defer d.Close()
			for _, n := range acked {
				if _, err := c.Get(SeqID(n)); err != nil {
					t.Fatalf("acknowledged note %d lost after kill -9: %v", n, err)
				}
			}
			// Sequence numbers continue after the highest stored one.
			last := c.Seq()
			got, err := c.Insert(context.Background(), note{Who: "after", Ref: "1"})
			if err != nil || got.N != last+1 {
				t.Fatalf("insert after restart: n=%d (last %d), %v", got.N, last, err)
			}
		})
	}
}

func TestKill9DuringCompaction(t *testing.T) {
	dir := t.TempDir()
	// Kill at an arbitrary point after a few compactions (one is always running).
	acked, lines := runChildUntil(t, "shrink", dir, "never", func(acks int, lines []string) bool {
		return len(lines) >= 3 && acks%997 == 0
	})
	if len(lines) < 3 {
		t.Fatalf("child acked %d writes; output %q", len(acked), lines)
	}
	d, c := openNotes(t, dir, Options{})
	defer d.Close()
	for _, n := range acked {
		if _, err := c.Get(SeqID(n)); err != nil {
			t.Fatalf("note %d lost after kill -9 during compaction: %v", n, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "chatd.db.tmp")); !os.IsNotExist(err) {
		t.Errorf("temp file of the compaction left behind: %v", err)
	}
}

func TestFullDiskFailsWritesKeepsData(t *testing.T) {
	dir := t.TempDir()
	acked, lines := runChild(t, "fsize", dir, "always", 0)
	if len(acked) == 0 || len(lines) < 2 || !strings.HasPrefix(lines[0], "error:") || lines[len(lines)-1] != "done" {
		t.Fatalf("want acks, then a write error, then done; got %d acks and %q", len(acked), lines)
	}
	d, c := openNotes(t, dir, Options{})
	defer d.Close()
	for _, n := range acked {
		if _, err := c.Get(SeqID(n)); err != nil {
			t.Fatalf("note %d acknowledged before the disk filled is lost: %v", n, err)
		}
	}
}

func fill(t *testing.T, c *Collection[note], n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := c.Insert(context.Background(), note{Who: fmt.Sprint("w", i%3), Ref: fmt.Sprint(i), Body: "hello"}); err != nil {
			t.Fatal(err)
		}
	}
}

func logTo(buf *bytes.Buffer) zerolog.Logger { return zerolog.New(buf) }

func TestTornTailIsDroppedWithWarning(t *testing.T) {
	dir := t.TempDir()
	d, c := openNotes(t, dir, Options{})
	fill(t, c, 10)
	d.Close()
	path := filepath.Join(dir, "chatd.db")
	data, _ := os.ReadFile(path)
	// Half a record at the end, as a crash in the middle of write() leaves it.
	torn := "*3\r\n$3\r\nset\r\n$26\r\nnotes:00000000000000000011\r\n$60\r\n0badc0de{\"n\":11,\"who\""
	os.WriteFile(path, append(data, torn...), 0o600)
	cut := len(data) + len(torn)

	var log bytes.Buffer
	d, c = openNotes(t, dir, Options{Logger: logTo(&log)})
	defer d.Close()
	if c.Count() != 10 {
		t.Fatalf("count = %d, want the 10 whole records", c.Count())
	}
	if !strings.Contains(log.String(), "torn last record") || !strings.Contains(log.String(), fmt.Sprintf(`"bytes":%d`, len(torn))) {
		t.Fatalf("no warning with the byte count %d: %s", len(torn), log.String())
	}
	fi, _ := os.Stat(path)
	if fi.Size() != int64(cut-len(torn)) {
		t.Fatalf("torn tail not truncated: size %d, want %d", fi.Size(), cut-len(torn))
	}
}

func TestDamagedFileRefusesToOpen(t *testing.T) {
	dir := t.TempDir()
	d, c := openNotes(t, dir, Options{})
	fill(t, c, 50)
	d.Close()
	path := filepath.Join(dir, "chatd.db")
	orig, _ := os.ReadFile(path)
	mid := bytes.Index(orig[len(orig)/2:], []byte("hello")) + len(orig)/2
	lenDigit := bytes.Index(orig[len(orig)/2:], []byte("\r\n$")) + len(orig)/2 + 3
	cmd := bytes.Index(orig[len(orig)/2:], []byte("set")) + len(orig)/2
	key := bytes.Index(orig[len(orig)/2:], []byte("notes:")) + len(orig)/2 + 8
	for _, tc := range []struct {
		name string
		at   int
		to   byte
	}{
		{"value byte", mid, 'j'},
		{"length digit", lenDigit, '9'},
		{"command", cmd, 'x'},
		{"key byte", key, '7'},
		{"crlf", bytes.Index(orig[len(orig)/2:], []byte("\r\n")) + len(orig)/2, ' '},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := append([]byte(nil), orig...)
			bad[tc.at] = tc.to
			os.WriteFile(path, bad, 0o600)
			d, err := Open(dir, Options{})
			if err == nil {
				d.Close()
				t.Fatal("opened a damaged file")
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "at byte") || !strings.Contains(err.Error(), "backup") {
				t.Fatalf("error does not name file, position and remedy: %v", err)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, bad) {
				t.Fatal("a damaged file was modified")
			}
		})
	}
}

func TestSecondOpenerIsRefused(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d2, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		if d2 != nil {
			d2.Close()
		}
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	d.Close()
	d, err = Open(dir, Options{})
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	d.Close()
}

func TestIndicesUniqueAndReload(t *testing.T) {
	dir := t.TempDir()
	d, c := openNotes(t, dir, Options{})
	ctx := context.Background()
	fill(t, c, 30)
	_, err := c.Insert(ctx, note{Who: "w1", Ref: "1"})
	if !errors.Is(err, ErrDuplicate) {
		t.Fatalf("unique violation: %v", err)
	}
	// A failed insert burns no visible id: the next one is still dense or higher.
	n5, _ := c.FindOne("ref", "w2", "5")
	n5.Who = "w9"
	if err := c.Update(ctx, n5); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(ctx, SeqID(30)); err != nil {
		t.Fatal(err)
	}
	d.Close()

	d, c = openNotes(t, dir, Options{})
	defer d.Close()
	if c.Count() != 29 {
		t.Fatalf("count %d", c.Count())
	}
	ws, _ := c.Find(Query{Index: "who", Values: []string{"w9"}})
	if len(ws) != 1 || ws[0].Ref != "5" {
		t.Fatalf("updated index after reload: %+v", ws)
	}
	if _, err := c.FindOne("ref", "w2", "5"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old unique key still indexed: %v", err)
	}
	got, err := c.Insert(ctx, note{Who: "w0", Ref: "new"})
	if err != nil || got.N <= 30 {
		t.Fatalf("removed last id must not be reused: got %d, %v", got.N, err)
	}
	page, _ := c.Find(Query{Index: "who", Values: []string{"w0"}, After: SeqID(10), Before: SeqID(25), Limit: 2, Reverse: true})
	if len(page) != 2 || page[0].N != 22 || page[1].N != 19 {
		t.Fatalf("reverse page: %+v", page)
	}
}

func TestBackupDuringWrites(t *testing.T) {
	dir := t.TempDir()
	d, c := openNotes(t, dir, Options{})
	fill(t, c, 100)
	before := c.Seq()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				c.Insert(context.Background(), note{Who: fmt.Sprint("bw", w), Ref: fmt.Sprint(i), Body: strings.Repeat("y", 100)})
			}
		}()
	}
	var snap bytes.Buffer
	if err := d.Backup(&snap); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	d.Close()

	restored := t.TempDir()
	os.WriteFile(filepath.Join(restored, "chatd.db"), snap.Bytes(), 0o600)
	d2, c2 := openNotes(t, restored, Options{})
	defer d2.Close()
	for n := uint64(1); n <= before; n++ {
		if _, err := c2.Get(SeqID(n)); err != nil {
			t.Fatalf("note %d written before the backup is missing: %v", n, err)
		}
	}
}

func TestMigrationHook(t *testing.T) {
	dir := t.TempDir()
	d, c := openNotes(t, dir, Options{})
	fill(t, c, 3)
	d.Close()
	var calls []int
	d, err := Open(dir, Options{Version: 2, Migrate: func(from int, tx *Tx) error {
		calls = append(calls, from)
		return tx.Set("notes:extra", `{"n":0,"who":"migrated"}`)
	}})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if fmt.Sprint(calls) != "[1]" {
		t.Fatalf("migrations called %v, want [1]", calls)
	}
	if d, err := Open(dir, Options{Version: 1}); err == nil || !strings.Contains(err.Error(), "newer chatd") {
		if d != nil {
			d.Close()
		}
		t.Fatalf("older code on a newer file: %v", err)
	}
}

func TestParseSyncPolicy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want SyncPolicy
		iv   time.Duration
		bad  bool
	}{
		{"always", SyncAlways, 0, false},
		{"never", SyncNever, 0, false},
		{"1s", SyncInterval, time.Second, false},
		{"250ms", SyncInterval, 250 * time.Millisecond, false},
		{"0s", 0, 0, true},
		{"sometimes", 0, 0, true},
	} {
		p, iv, err := ParseSyncPolicy(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && (p != tc.want || iv != tc.iv)) {
			t.Errorf("%q: %v %v %v", tc.in, p, iv, err)
		}
	}
}

func TestSequenceNeverReusedAfterLostTail(t *testing.T) {
	dir := t.TempDir()
	d, c := openNotes(t, dir, Options{Sync: SyncNever})
	fill(t, c, 20)
	d.Close()
	path := filepath.Join(dir, "chatd.db")

	// A clean restart continues without a gap.
	d, c = openNotes(t, dir, Options{Sync: SyncNever})
	n, _ := c.Insert(context.Background(), note{Who: "a", Ref: "x"})
	if n.N != 21 {
		t.Fatalf("after a clean restart got %d, want 21", n.N)
	}
	for i := 0; i < 5; i++ {
		c.Insert(context.Background(), note{Who: "a", Ref: fmt.Sprint("more", i)})
	}
	d.Close()

	// Power loss under the "never" policy: the commit that carried note 21 also
	// carried the sequence reservation and was fsynced; notes 22..26 were
	// acknowledged but not yet on disk. None of 21..26 may be handed out again.
	data, _ := os.ReadFile(path)
	idx := bytes.Index(data, []byte("notes:"+SeqID(22)))
	cut := bytes.LastIndex(data[:idx], []byte("*3\r\n"))
	os.WriteFile(path, data[:cut], 0o600)
	d, c = openNotes(t, dir, Options{Sync: SyncNever})
	defer d.Close()
	n, err := c.Insert(context.Background(), note{Who: "b", Ref: "y"})
	if err != nil || n.N <= 26 {
		t.Fatalf("after losing the tail got %d (%v); numbers up to 26 were already handed out", n.N, err)
	}
}

func TestSeqIDSortsLikeNumbers(t *testing.T) {
	for _, n := range []uint64{0, 1, 9, 10, 42, 1 << 40, ^uint64(0)} {
		if got, want := SeqID(n), fmt.Sprintf("%020d", n); got != want {
			t.Errorf("SeqID(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestFsyncPolicy checks, through the store's own counters, that "always"
// fsyncs every commit before acknowledging, that "never" fsyncs only the
// sequence reservations, and that the interval policy fsyncs in the background.
func TestFsyncPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy string
		check  func(st Stats) bool
	}{
		{"always", func(st Stats) bool { return st.Syncs >= st.Commits }},
		{"never", func(st Stats) bool { return st.Syncs <= 2 }}, // schema record + one reservation
		{"50ms", func(st Stats) bool { return st.Syncs >= 3 && st.Syncs < st.Commits }},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			p, iv, _ := ParseSyncPolicy(tc.policy)
			d, c := openNotes(t, t.TempDir(), Options{Sync: p, Interval: iv})
			defer d.Close()
			deadline := time.Now().Add(10 * time.Second)
			for i := 0; i < 50 || (tc.policy == "50ms" && d.Stats().Syncs < 3 && time.Now().Before(deadline)); i++ {
				if _, err := c.Insert(context.Background(), note{Who: "w", Ref: fmt.Sprint(i)}); err != nil {
					t.Fatal(err)
				}
				if tc.policy == "50ms" && i >= 50 {
					time.Sleep(10 * time.Millisecond) // let the background fsync see new writes
				}
			}
			if st := d.Stats(); !tc.check(st) {
				t.Fatalf("commits %d, fsyncs %d", st.Commits, st.Syncs)
			}
		})
	}
}
