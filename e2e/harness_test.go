package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The agent every test server knows; visitors see it by its display name.
const (
	agentName     = "agent"
	agentPassword = "correct horse battery staple"
	agentDisplay  = "Alice from Acme"
)

// Bounds for one step of a test: waiting for a DOM condition, starting a process.
const (
	stepTimeout  = 30 * time.Second
	startTimeout = 30 * time.Second
	pollInterval = 50 * time.Millisecond
)

func TestMain(m *testing.M) { chatdtest.Main(m) }

// server is one chatd child process over its own data directory.
type server struct {
	*chatdtest.Process
	t   *testing.T
	dir string // data directory
}

// startServer runs `chatd admin set` and then chatd on a free loopback port,
// with extra flags if given, and waits until it is ready. The process is
// stopped when the test ends.
func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	return startServerEnv(t, nil, extra...)
}

// startServerEnv is startServer with more environment variables for chatd.
func startServerEnv(t *testing.T, env []string, extra ...string) *server {
	t.Helper()
	bin, dir := chatdtest.Binary(t), t.TempDir()
	chatdtest.AdminSet(t, bin, dir, agentName, agentPassword)
	if code, out, errOut := chatdtest.Run(t, bin, "", nil, "admin", "set", agentName, "--display", agentDisplay, "--data", dir); code != 0 {
		t.Fatalf("chatd admin set --display: exit %d\n%s%s", code, out, errOut)
	}
	args := []string{"--msg-rate", "50", "--msg-burst", "100", "--new-visitors-per-ip", "1000"}
	s := &server{t: t, dir: dir, Process: chatdtest.Start(t, bin, chatdtest.Options{
		Data: dir,
		Args: append(args, extra...),
		// A cheap bcrypt cost keeps logins fast; it is only a test.
		Env: append([]string{"CHATD_BCRYPT_COST=4"}, env...),
	})}
	s.waitReady()
	return s
}

func (s *server) url() string { return s.URL() }

// stop sends SIGTERM and waits for the process to exit (SIGKILL after a bound).
func (s *server) stop() { s.Stop(s.t) }

// restart stops chatd if it runs and starts it again on the same address.
func (s *server) restart() {
	s.t.Helper()
	s.Restart(s.t)
	s.waitReady()
}

// waitReady polls /readyz until it answers 200.
func (s *server) waitReady() {
	t := s.t
	t.Helper()
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
			t.Fatalf("chatd at %s not ready within %v: %v", s.Addr, startTimeout, err)
		}
		time.Sleep(pollInterval) // polling with a deadline, not synchronisation by sleep
	}
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
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
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
	opts = append(opts, extra...)
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
	dir := filepath.Join(chatdtest.ModuleRoot(t), "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote docs/screenshots/%s", name)
}
