// Package chatdtest starts real chatd child processes for tests.
//
// A test package calls Main from its TestMain, gets the binary with Binary
// (built once per test binary), gives it an admin with AdminSet and starts it
// with Start, which waits for the "listening" log line and stops the child
// when the test ends. Tests that build chatd their own way pass that binary
// to Start instead.
package chatdtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Bounds for one step; tests never assert them.
const (
	StartTimeout = 30 * time.Second // until the "listening" line
	StopTimeout  = 20 * time.Second // from SIGTERM (or any wait for an exit) until the exit
	RunTimeout   = 30 * time.Second // for a command that runs to completion
)

// tailLines is how many of the child's last log lines a failing test shows.
const tailLines = 60

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
	rootOnce  sync.Once
	rootDir   string
	rootErr   error
)

// Main runs the tests of m, removes the binary Binary built and exits:
// call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// ModuleRoot is the directory holding go.mod, from `go env GOMOD`.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	rootOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		gomod := strings.TrimSpace(string(out))
		if err != nil || gomod == "" || gomod == os.DevNull {
			rootErr = fmt.Errorf("go env GOMOD = %q: %v", gomod, err)
			return
		}
		rootDir = filepath.Dir(gomod)
	})
	if rootErr != nil {
		t.Fatalf("find module root: %v", rootErr)
	}
	return rootDir
}

// Binary builds ./cmd/chatd from the module root on first use and returns the
// binary's path; later calls, from any test of the test binary, reuse it.
// The package's TestMain must call Main, which removes it.
func Binary(t testing.TB) string {
	t.Helper()
	root := ModuleRoot(t)
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "chatdtest-"); buildErr != nil {
			return
		}
		// Others may run the binary: tests run it as another user (Options.Credential, RunAs).
		if buildErr = os.Chmod(buildDir, 0o755); buildErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		bin := filepath.Join(buildDir, "chatd")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/chatd")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/chatd: %v\n%s", err, out)
			return
		}
		buildBin = bin
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// CleanEnv is this process's environment without CHATD_* variables, then extra.
func CleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CHATD_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// Run runs bin to completion (bounded by RunTimeout) with stdin and the
// environment CleanEnv(env...), and returns its exit code and output.
// It fails the test only if bin cannot be started.
func Run(t testing.TB, bin, stdin string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return RunAs(t, nil, bin, stdin, env, args...)
}

// RunAs is Run as the user cred (nil: this process's user; else the test
// must run as root).
func RunAs(t testing.TB, cred *syscall.Credential, bin, stdin string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), RunTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = CleanEnv(env...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil && cmd.ProcessState == nil {
		t.Fatalf("run chatd %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), o.String(), e.String()
}

// AdminSet runs `chatd admin set NAME --data DIR --bcrypt-cost 4` with the
// password on stdin, and fails the test unless it succeeds.
func AdminSet(t testing.TB, bin, data, name, password string) {
	t.Helper()
	args := []string{"admin", "set", name, "--data", data, "--bcrypt-cost", "4"}
	if code, out, errOut := Run(t, bin, password+"\n", nil, args...); code != 0 {
		t.Fatalf("chatd admin set: exit %d\n%s%s", code, out, errOut)
	}
}

// Options says how to run a child.
type Options struct {
	// Data is the data directory. Start passes
	// --addr 127.0.0.1:0 --data Data --log-format json before Args; with Data
	// empty it passes no flag of its own (but --addr on a restart), and Args
	// and Env must choose the address and JSON logs.
	Data string
	Args []string  // more flags
	Env  []string  // added to CleanEnv()
	Log  io.Writer // if set, receives each log line of the child, newline included
	// Credential, if set, runs the child as that user (the test must run as
	// root; see Nobody and WorldDir).
	Credential *syscall.Credential
}

// Process is a running chatd child. Its methods are for the test's goroutine.
type Process struct {
	Addr string // host:port from the "listening" log line

	bin  string
	opts Options
	cmd  *exec.Cmd
	done chan struct{} // closed once the child has exited; err is then set
	err  error
	live bool // started, and no Stop, Kill or Wait has seen its exit yet

	mu   sync.Mutex
	tail []string // the last tailLines log lines
}

// Start runs bin as described by o and waits for its "listening" line. The
// child is stopped (Stop) when the test ends, and a failing test shows its
// last log lines.
func Start(t testing.TB, bin string, o Options) *Process {
	t.Helper()
	p := &Process{bin: bin, opts: o}
	t.Cleanup(func() {
		p.Stop(t)
		if t.Failed() {
			t.Logf("last chatd log lines:\n%s", p.Tail())
		}
	})
	p.start(t, "127.0.0.1:0")
	return p
}

// URL is the child's base URL, http://host:port.
func (p *Process) URL() string { return "http://" + p.Addr }

// PID is the child's process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Tail returns the child's last log lines.
func (p *Process) Tail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}

// Signal sends sig to the child.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Restart starts the child again on the same address and data, after
// stopping it (Stop) if it still runs.
func (p *Process) Restart(t testing.TB) {
	t.Helper()
	p.Stop(t)
	p.start(t, p.Addr)
}

// Stop sends SIGTERM and waits, at most StopTimeout, for the child to exit;
// then it kills it. A child that does not stop in time or exits with an
// error (also before Stop was called) fails the test. Stop does nothing if
// Stop, Kill or Wait already saw the child exit.
func (p *Process) Stop(t testing.TB) {
	t.Helper()
	if !p.live {
		return
	}
	p.live = false
	start := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("chatd exit after SIGTERM: %v", p.err)
		}
	case <-time.After(StopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("chatd did not stop within %v of SIGTERM", StopTimeout)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Logf("note: chatd took %v to stop", d.Round(time.Millisecond)) // a diagnostic, not an assertion
	}
}

// Kill kills the child with SIGKILL and waits for its exit.
func (p *Process) Kill(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill chatd: %v", err)
	}
	p.Wait(t)
}

// Wait waits, at most StopTimeout, for the child to exit (after a signal
// the test sent) and returns its exit code.
func (p *Process) Wait(t testing.TB) int {
	t.Helper()
	select {
	case <-p.done:
		p.live = false
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(StopTimeout):
		t.Fatalf("chatd did not exit within %v", StopTimeout)
		return -1
	}
}

// start launches the child on addr and waits for its "listening" line.
func (p *Process) start(t testing.TB, addr string) {
	t.Helper()
	var args []string
	if p.opts.Data != "" {
		args = []string{"--addr", addr, "--data", p.opts.Data, "--log-format", "json"}
	} else if p.Addr != "" {
		args = []string{"--addr", addr} // a restart of a child configured by Args and Env
	}
	cmd := exec.Command(p.bin, append(args, p.opts.Args...)...)
	cmd.Env = CleanEnv(p.opts.Env...)
	if p.opts.Credential != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.opts.Credential}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chatd: %v", err)
	}
	p.cmd, p.done, p.live = cmd, make(chan struct{}), true
	listening := make(chan string, 1)
	go p.read(stderr, listening)
	select {
	case p.Addr = <-listening:
	case <-p.done:
		p.live = false
		t.Fatalf("chatd exited before listening on %s: %v", addr, p.err)
	case <-time.After(StartTimeout):
		t.Fatalf("chatd did not log \"listening\" within %v", StartTimeout)
	}
}

// read reads the child's log until it ends, sends the first "listening"
// address, then reaps the child.
func (p *Process) read(stderr io.Reader, listening chan<- string) {
	done, cmd := p.done, p.cmd
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if p.opts.Log != nil {
			p.opts.Log.Write(append(bytes.Clone(line), '\n'))
		}
		p.mu.Lock()
		p.tail = append(p.tail, string(line))
		if len(p.tail) > tailLines {
			p.tail = p.tail[len(p.tail)-tailLines:]
		}
		p.mu.Unlock()
		var ev struct {
			Message string `json:"message"`
			Addr    string `json:"addr"`
		}
		if json.Unmarshal(line, &ev) == nil && ev.Message == "listening" && ev.Addr != "" {
			select {
			case listening <- ev.Addr:
			default:
			}
		}
	}
	io.Copy(io.Discard, stderr)
	p.err = cmd.Wait()
	close(done)
}
