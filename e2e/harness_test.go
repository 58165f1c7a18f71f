package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The agent every test server knows.
const (
	agentName     = "agent"
	agentPassword = "correct horse battery staple"
)

// Bounds for one step of a test: waiting for a DOM condition, starting a process.
const (
	stepTimeout  = 30 * time.Second
	startTimeout = 30 * time.Second
	stopTimeout  = 20 * time.Second
	pollInterval = 50 * time.Millisecond
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
	rootDir   string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// moduleRoot is the directory holding go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	buildOnce.Do(build)
	if rootDir == "" {
		t.Fatalf("find module root: %v", buildErr)
	}
	return rootDir
}

// build compiles the real chatd binary once per test run.
func build() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		buildErr = fmt.Errorf("go env GOMOD: %v", err)
		return
	}
	rootDir = filepath.Dir(strings.TrimSpace(string(out)))
	buildDir, buildErr = os.MkdirTemp("", "chatd-e2e-")
	if buildErr != nil {
		return
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(buildDir, "chatd"), "./cmd/chatd")
	cmd.Dir = rootDir
	if out, err := cmd.CombinedOutput(); err != nil {
		buildErr = fmt.Errorf("go build ./cmd/chatd: %v\n%s", err, out)
	}
}

func chatdBinary(t *testing.T) string {
	t.Helper()
	moduleRoot(t)
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "chatd")
}

// server is one chatd child process over its own data directory.
type server struct {
	t      *testing.T
	bin    string
	dir    string
	addr   string
	extra  []string // more chatd flags
	cmd    *exec.Cmd
	exited chan struct{}

	mu   sync.Mutex
	logs []string
}

// startServer runs `chatd admin set` and then chatd on a free loopback port,
// with extra flags if given. The process is stopped when the test ends.
func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	s := &server{t: t, bin: chatdBinary(t), dir: t.TempDir(), extra: extra}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	set := exec.CommandContext(ctx, s.bin, "admin", "set", agentName, "--data", s.dir)
	set.Stdin = strings.NewReader(agentPassword + "\n")
	set.Env = s.env()
	if out, err := set.CombinedOutput(); err != nil {
		t.Fatalf("chatd admin set: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Logf("last chatd log lines:\n%s", strings.Join(s.logs, "\n"))
		}
	})
	s.start("127.0.0.1:0")
	return s
}

func (s *server) env() []string {
	// A cheap bcrypt cost keeps logins fast; it is only a test.
	return append(os.Environ(), "CHATD_BCRYPT_COST=4")
}

func (s *server) url() string { return "http://" + s.addr }

func (s *server) log(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logs = append(s.logs, line)
	if len(s.logs) > 60 {
		s.logs = s.logs[len(s.logs)-60:]
	}
}

// start launches chatd on addr and waits for its "listening" log line and /readyz.
func (s *server) start(addr string) {
	t := s.t
	t.Helper()
	args := []string{"--addr", addr, "--data", s.dir, "--log-format", "json",
		"--msg-rate", "50", "--msg-burst", "100", "--new-visitors-per-ip", "1000"}
	cmd := exec.Command(s.bin, append(args, s.extra...)...)
	cmd.Env = s.env()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chatd: %v", err)
	}
	listening := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			s.log(line)
			var ev struct {
				Message string `json:"message"`
				Addr    string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &ev) == nil && ev.Message == "listening" && ev.Addr != "" {
				select {
				case listening <- ev.Addr:
				default:
				}
			}
		}
		cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited
	select {
	case s.addr = <-listening:
	case <-exited:
		s.cmd = nil
		t.Fatalf("chatd exited before listening on %s", addr)
	case <-time.After(startTimeout):
		t.Fatalf("chatd did not log \"listening\" within %v", startTimeout)
	}
	deadline := time.Now().Add(startTimeout)
	for {
		res, err := http.Get(s.url() + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("chatd at %s not ready within %v: %v", s.addr, startTimeout, err)
		}
		time.Sleep(pollInterval) // polling with a deadline, not synchronisation by sleep
	}
}

// stop sends SIGTERM and waits for the process to exit (SIGKILL after stopTimeout).
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	start := time.Now()
	s.cmd.Process.Signal(syscall.SIGTERM)
	defer func() {
		if d := time.Since(start); d > 5*time.Second {
			s.t.Logf("note: chatd took %v to stop", d.Round(time.Millisecond)) // a diagnostic, not an assertion
		}
	}()
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		s.t.Errorf("chatd did not stop within %v; killing it", stopTimeout)
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// restart stops chatd and starts it again on the same address.
func (s *server) restart() {
	s.t.Helper()
	addr := s.addr
	s.stop()
	s.start(addr)
}

// chromiumPath finds the browser, skipping the test when there is none outside CI.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("CHATD_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium binary found and CI=true: the browser tests must run in CI")
	}
	t.Skip("no chromium binary found (install Debian's chromium); skipping browser test")
	return ""
}

// newBrowser starts a fresh headless Chromium and returns the context of its first tab.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	profile, err := os.MkdirTemp("", "chatd-e2e-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		bcancel()
		acancel()
		os.RemoveAll(profile)
	})
	// The first run starts the browser, which lives as long as that run's context:
	// bound it with a timer instead of a timeout context.
	timer := time.AfterFunc(startTimeout, bcancel)
	err = chromedp.Do(bctx)
	timer.Stop()
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// newTab opens another tab in the same browser (same profile and storage).
func newTab(t *testing.T, browser context.Context) (context.Context, context.CancelFunc) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	openTarget(t, ctx, cancel)
	return ctx, cancel
}

// openTarget creates the tab of a new context. The tab lives as long as the
// context of its first run, so that run gets no timeout context; a timer bounds it.
func openTarget(t *testing.T, ctx context.Context, cancel context.CancelFunc) {
	t.Helper()
	timer := time.AfterFunc(startTimeout, cancel)
	err := chromedp.Do(ctx)
	timer.Stop()
	if err != nil {
		t.Fatalf("open a tab: %v", err)
	}
}

// newTabInWindow opens another tab in the window of the browser's first tab, as a
// real tab: only the active tab of a window is visible, the others are hidden.
func newTabInWindow(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewWindow(false))
	t.Cleanup(cancel)
	openTarget(t, ctx, cancel)
	return ctx
}

// bringToFront makes tab the active (visible) tab of its window.
func bringToFront(t *testing.T, tab context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, page.BringToFront, cdp.Empty{}); err != nil {
		t.Fatalf("bring a tab to front: %v", err)
	}
}

// newIncognito opens a tab in a separate browser context (separate storage: another visitor).
func newIncognito(t *testing.T, browser context.Context) (context.Context, context.CancelFunc) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	openTarget(t, ctx, cancel)
	return ctx, cancel
}

// run runs actions in tab, bounded by stepTimeout.
func run(t *testing.T, tab context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// evalJS evaluates a JavaScript expression in tab and decodes its value.
func evalJS[T any](t *testing.T, tab context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition in tab until it is true, for at most stepTimeout.
func waitFor(t *testing.T, tab context.Context, what, cond string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout+5*time.Second)
	defer cancel()
	start := time.Now()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!("+cond+")",
		chromedp.WithPollingInterval(pollInterval), chromedp.WithPollingTimeout(stepTimeout)))
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Logf("note: waited %v for %s", d.Round(time.Millisecond), what) // a diagnostic, not an assertion
	}
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func screenshotsWanted() bool { return os.Getenv("CHATD_SCREENSHOTS") == "1" }

// screenshot saves the tab's viewport as docs/screenshots/name, only when CHATD_SCREENSHOTS=1.
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	if !screenshotsWanted() {
		return
	}
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	// Park the mouse in a corner so no button shows its hover state.
	if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 1, 1)); err != nil {
		t.Fatalf("move the mouse: %v", err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := filepath.Join(moduleRoot(t), "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote docs/screenshots/%s", name)
}
