package main

// This file drives a real browser: Debian's headless Chromium through its
// chromedriver, spoken to in W3C WebDriver (plain HTTP and JSON, no client
// library), against `gowsgi dev`. It proves what no HTTP-level test can: the
// script gowsgi injects runs, keeps its EventSource open, and reloads the
// page by itself after a save.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The Debian packages chromium and chromium-driver, which
// scripts/setup-system.sh installs.
const (
	chromiumBin     = "/usr/bin/chromium"
	chromedriverBin = "/usr/bin/chromedriver"
)

// TestLiveReloadInChromium opens /items/ of a dev server in Chromium, then
// saves a template and, later, a view, and watches the open page change with
// no WebDriver navigation in between: only the injected live-reload script
// can have reloaded it. The template save must not start new workers; the
// code save must start exactly one new generation.
func TestLiveReloadInChromium(t *testing.T) {
	for _, bin := range []string{chromiumBin, chromedriverBin} {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("no %s (%v): run scripts/setup-system.sh (make test does), which installs chromium and chromium-driver", bin, err)
		}
	}
	start := time.Now()
	site := copySiteForBrowser(t)
	srv := startGowsgi(t, site, nil, "dev", "--python", testPython(t), site, "127.0.0.1:0")
	newWorkers := func() int { return strings.Count(srv.out.String(), "changed; starting new workers") }

	driver := startChromedriver(t)
	browser := driver.newSession(t)
	// Fail with everything a reader needs to see what the browser saw.
	dump := func() string {
		return fmt.Sprintf("gowsgi output:\n%s\nchromedriver output:\n%s", srv.out, driver.out)
	}

	browser.navigate(t, srv.url+"/items/")
	if got := browser.script(t, `return document.querySelector("h1").textContent`); got != "Items" {
		t.Fatalf("h1 of /items/ is %v, want \"Items\"\n%s", got, dump())
	}
	if got := browser.script(t, `return document.querySelectorAll('script[src^="/__gowsgi__/livereload.js"]').length`); got != 1.0 {
		t.Fatalf("/items/ has %v live-reload scripts, want 1\n%s", got, dump())
	}

	// reloadsItself saves a file once the page listens, then waits until the
	// page shows the new content. The mark proves that the page was loaded
	// again rather than patched.
	reloadsItself := func(t *testing.T, path, old, new, probe string, want any) {
		browser.waitEventStream(t, dump)
		browser.script(t, `window.gowsgiTestMark = true; return null`)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(string(b), old) != 1 {
			t.Fatalf("%s does not hold %q exactly once; testdata/mysite changed?", path, old)
		}
		saveLikeAnEditor(t, path, strings.Replace(string(b), old, new, 1))
		got, ok := browser.poll(probe, want, 15*time.Second)
		if !ok {
			t.Fatalf("the open page never showed the change: %s returned %v, want %v\n%s", probe, got, want, dump())
		}
		if marked := browser.script(t, `return window.gowsgiTestMark === true`); marked != false {
			t.Fatalf("the page changed without a reload (mark still set)\n%s", dump())
		}
	}

	t.Run("template save reloads only the browser", func(t *testing.T) {
		reloadsItself(t, filepath.Join(site, "shop", "templates", "shop", "items.html"),
			"<h1>Items</h1>", "<h1>Items (edited)</h1>",
			`return document.querySelector("h1").textContent`, "Items (edited)")
		if !strings.Contains(srv.out.String(), "shop/templates/shop/items.html changed; reloading the browser") {
			t.Errorf("gowsgi did not log the browser reload\n%s", dump())
		}
		if n := newWorkers(); n != 0 {
			t.Errorf("a template save started new workers %d time(s), want none\n%s", n, dump())
		}
	})

	t.Run("code save reloads the browser once the new workers are live", func(t *testing.T) {
		// Only the view knows how many items /items/ lists: the rendered
		// list shrinks from 3 items to 1 only if the new code serves it.
		reloadsItself(t, filepath.Join(site, "shop", "views.py"),
			"list(Item.objects.all())", "list(Item.objects.all()[:1])",
			`return [document.querySelector("h1").textContent, document.querySelectorAll("#items li").length]`,
			[]any{"Items (edited)", 1.0})
		if n := newWorkers(); n != 1 {
			t.Errorf("a code save started new workers %d time(s), want 1\n%s", n, dump())
		}
		if !regexp.MustCompile(`generation \d+ live`).MatchString(srv.out.String()) {
			t.Errorf("gowsgi did not log the new generation\n%s", dump())
		}
	})
	t.Logf("browser test took %s", time.Since(start).Round(time.Millisecond))
}

// TestLiveReloadHtmxAndCSSInChromium pins issue 15's two browser bugs on a
// real htmx page (testdata/htmx): the live reload script was injected into
// every fragment htmx swapped in, each swap opened one more EventSource, and
// after five swaps Chromium's six connections per host were held by event
// streams, so the sixth click never got an answer; and a saved CSS file did
// not show after the automatic reload, because dev static files went out
// without Cache-Control and Chromium reused its cached copy.
func TestLiveReloadHtmxAndCSSInChromium(t *testing.T) {
	for _, bin := range []string{chromiumBin, chromedriverBin} {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("no %s (%v): run scripts/setup-system.sh (make test does), which installs chromium and chromium-driver", bin, err)
		}
	}
	site := copySiteForBrowser(t)
	htmx := filepath.Join(repoRoot(t), "testdata", "htmx")
	copyFile(t, filepath.Join(htmx, "htmxdemo.py"), filepath.Join(site, "mysite", "htmxdemo.py"))
	copyFile(t, filepath.Join(htmx, "htmx.min.js"), filepath.Join(site, "shop", "static", "shop", "htmx.min.js"))
	css := filepath.Join(site, "shop", "static", "shop", "htmxdemo.css")
	if err := os.WriteFile(css, []byte("#title { color: rgb(255, 0, 0); }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A stylesheet last changed long ago is fresh for weeks by HTTP's
	// heuristic (10% of its age) when no Cache-Control says otherwise.
	old := time.Now().Add(-365 * 24 * time.Hour)
	os.Chtimes(css, old, old)
	urls := filepath.Join(site, "mysite", "urls.py")
	b, err := os.ReadFile(urls)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(urls, append(b, []byte("\nfrom mysite import htmxdemo  # noqa: E402\n\nurlpatterns = htmxdemo.urlpatterns + urlpatterns\n")...), 0o644)

	srv := startGowsgi(t, site, nil, "dev", "--python", testPython(t), "--skip-checks", site, "127.0.0.1:0")
	driver := startChromedriver(t)
	browser := driver.newSession(t)
	dump := func() string {
		return fmt.Sprintf("gowsgi output:\n%s\nchromedriver output:\n%s", srv.out, driver.out)
	}
	browser.navigate(t, srv.url+"/htmx/")
	if got := browser.script(t, `return typeof htmx`); got != "object" {
		t.Fatalf("htmx did not load (typeof htmx = %v)\n%s", got, dump())
	}

	t.Run("htmx swaps get no live reload script and never run out of connections", func(t *testing.T) {
		// Twelve swaps: twice Chromium's six connections per host.
		for i := 1; i <= 12; i++ {
			browser.script(t, `document.getElementById("more").click(); return null`)
			if got, ok := browser.poll(`return document.querySelectorAll("#list li").length`, float64(i), 10*time.Second); !ok {
				t.Fatalf("click %d: the list has %v items, want %d: the swap never got its answer\n%s", i, got, i, dump())
			}
		}
		if got := browser.script(t, `return document.querySelectorAll('script[src*="/__gowsgi__/livereload"]').length`); got != 1.0 {
			t.Errorf("the page has %v live reload scripts after the swaps, want 1\n%s", got, dump())
		}
		if got := browser.script(t, `return document.querySelectorAll("#list script").length`); got != 0.0 {
			t.Errorf("the swapped fragments hold %v scripts, want 0\n%s", got, dump())
		}
		if last := browser.script(t, `var e = document.body.lastElementChild; return e.tagName + " " + e.getAttribute("src")`); !strings.HasPrefix(last.(string), "SCRIPT /__gowsgi__/livereload.js") {
			t.Errorf("the body's last element is %v, want the live reload script (before </body>)\n%s", last, dump())
		}
	})

	t.Run("a saved stylesheet shows after the automatic reload", func(t *testing.T) {
		color := `return getComputedStyle(document.getElementById("title")).color`
		if got := browser.script(t, color); got != "rgb(255, 0, 0)" {
			t.Fatalf("title colour %v before the save, want rgb(255, 0, 0)\n%s", got, dump())
		}
		browser.waitEventStream(t, dump)
		browser.script(t, `window.gowsgiTestMark = true; return null`)
		saveLikeAnEditor(t, css, "#title { color: rgb(0, 0, 255); }\n")
		if got, ok := browser.poll(`return window.gowsgiTestMark === true ? "not reloaded" : getComputedStyle(document.getElementById("title")).color`,
			"rgb(0, 0, 255)", 15*time.Second); !ok {
			t.Fatalf("after the save and the reload the title is %v, want rgb(0, 0, 255)\n%s", got, dump())
		}
	})
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copySiteForBrowser copies testdata/mysite with its migrated database (the
// items page queries it), leaving out __pycache__, to a directory the test
// may edit.
func copySiteForBrowser(t *testing.T) string {
	t.Helper()
	src := filepath.Join(repoRoot(t), "testdata", "mysite")
	dst := filepath.Join(t.TempDir(), "mysite")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		switch {
		case d.IsDir() && d.Name() == "__pycache__":
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatalf("copying testdata/mysite: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dst, "db.sqlite3")); err != nil {
		t.Fatalf("testdata/mysite has no db.sqlite3 (%v): run `make test`, which migrates it", err)
	}
	return dst
}

// saveLikeAnEditor replaces path the way editors save: write a temporary
// file (*.tmp, which the watcher ignores), then rename it over the original.
func saveLikeAnEditor(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// chromedriver is a running /usr/bin/chromedriver. It leads its own
// process group, and the Chromium it starts stays in that group, except for
// chrome_crashpad_handler, which daemonizes (new session, parent init). Its
// HOME is under tmp, so every browser process names tmp in its command line
// (--user-data-dir, or crashpad's --database): stop finds stragglers by
// either mark, and nothing is written to the real home.
type chromedriver struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	url  string // http://127.0.0.1:port
	tmp  string // HOME and Chromium's user data directory
	done chan struct{}
}

var chromedriverReadyRE = regexp.MustCompile(`ChromeDriver was started successfully on port (\d+)`)

// startChromedriver runs chromedriver on a port of its choosing and waits
// until it says which one and its /status reports ready.
func startChromedriver(t *testing.T) *chromedriver {
	t.Helper()
	tmp := t.TempDir()
	cmd := exec.Command(chromedriverBin, "--port=0")
	cmd.Env = append(os.Environ(), "HOME="+tmp,
		"XDG_CONFIG_HOME="+filepath.Join(tmp, ".config"), "XDG_CACHE_HOME="+filepath.Join(tmp, ".cache"))
	out := newSyncBuffer()
	cmd.Stdout, cmd.Stderr = out, out
	// Pdeathsig: a test binary killed by the go test timeout takes
	// chromedriver with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting chromedriver: %v", err)
	}
	d := &chromedriver{cmd: cmd, out: out, tmp: tmp, done: make(chan struct{})}
	go d.reap()
	t.Cleanup(func() { d.stop(t) })

	m, ok := out.waitFor(chromedriverReadyRE, 30*time.Second)
	if !ok {
		t.Fatalf("chromedriver did not say it started; output:\n%s", out)
	}
	d.url = "http://127.0.0.1:" + m[1]
	deadline := time.Now().Add(30 * time.Second)
	for {
		var status struct {
			Ready   bool   `json:"ready"`
			Message string `json:"message"`
		}
		err := d.call(http.MethodGet, "/status", nil, &status)
		if err == nil && status.Ready {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromedriver at %s not ready (%v, %q); output:\n%s", d.url, err, status.Message, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *chromedriver) reap() {
	d.cmd.Wait()
	close(d.done)
}

// stop ends chromedriver and every browser process: SIGTERM to the group,
// then SIGKILL by PID to whatever is left after 10s, which fails the test.
func (d *chromedriver) stop(t *testing.T) {
	pgid := d.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	for _, pid := range browserProcesses(pgid, d.tmp) {
		syscall.Kill(pid, syscall.SIGTERM) // the crashpad handlers
	}
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		t.Errorf("chromedriver did not stop on SIGTERM within 10s; output:\n%s", d.out)
	}
	// Chromium's helpers may outlive chromedriver by a moment; give the
	// group the same grace, then kill what is left by PID.
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := browserProcesses(pgid, d.tmp)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, pid := range left {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Errorf("browser processes %v outlived chromedriver by 10s; killed them", left)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// browserProcesses lists the live processes (not zombies) whose process
// group is pgid or whose command line names a path under dir.
func browserProcesses(pgid int, dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parens.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 3 || f[0] == "Z" {
			continue
		}
		g, _ := strconv.Atoi(f[2])
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if g == pgid || bytes.Contains(cmdline, []byte(dir+"/")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// call sends one WebDriver command and decodes its "value" into result
// (unless nil). A WebDriver error comes back as a Go error.
func (d *chromedriver) call(method, path string, body, result any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, d.url+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("%s %s: status %d, not JSON: %q", method, path, resp.StatusCode, trunc(string(raw)))
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		json.Unmarshal(env.Value, &e)
		return fmt.Errorf("%s %s: %d %s: %s", method, path, resp.StatusCode, e.Error, trunc(e.Message))
	}
	if result == nil {
		return nil
	}
	return json.Unmarshal(env.Value, result)
}

// browserSession is one WebDriver session: one headless Chromium.
type browserSession struct {
	d    *chromedriver
	path string // /session/ID
}

// newSession starts Chromium. The session is deleted (which quits the
// browser) when the test ends, before chromedriver stops.
func (d *chromedriver) newSession(t *testing.T) *browserSession {
	t.Helper()
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"timeouts":    map[string]int{"pageLoad": 30_000, "script": 10_000},
		// The performance log carries the DevTools network events that
		// tell when the page's EventSource is connected.
		"goog:loggingPrefs": map[string]string{"performance": "ALL"},
		"goog:chromeOptions": map[string]any{
			"binary": chromiumBin,
			"args": []string{
				"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
				"--disable-quic", "--no-first-run", "--disable-background-networking",
				"--disable-component-update", "--disable-sync",
				"--user-data-dir=" + filepath.Join(d.tmp, "profile"),
			},
			"perfLoggingPrefs": map[string]any{"enableNetwork": true, "enablePage": false},
		},
	}}}
	var created struct {
		SessionID string `json:"sessionId"`
	}
	if err := d.call(http.MethodPost, "/session", caps, &created); err != nil {
		t.Fatalf("starting Chromium: %v\nchromedriver output:\n%s", err, d.out)
	}
	s := &browserSession{d: d, path: "/session/" + created.SessionID}
	t.Cleanup(func() {
		if err := d.call(http.MethodDelete, s.path, nil, nil); err != nil {
			t.Errorf("deleting the WebDriver session: %v", err)
		}
	})
	return s
}

func (s *browserSession) navigate(t *testing.T, url string) {
	t.Helper()
	if err := s.d.call(http.MethodPost, s.path+"/url", map[string]string{"url": url}, nil); err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
}

// script runs JavaScript in the page and returns its result as
// encoding/json decodes it (numbers are float64).
func (s *browserSession) script(t *testing.T, js string) any {
	t.Helper()
	v, err := s.exec(js)
	if err != nil {
		t.Fatalf("running %s: %v", js, err)
	}
	return v
}

func (s *browserSession) exec(js string) (any, error) {
	var v any
	err := s.d.call(http.MethodPost, s.path+"/execute/sync", map[string]any{"script": js, "args": []any{}}, &v)
	return v, err
}

// poll runs js every 100ms until it returns want or timeout passes. Errors
// are expected while the page reloads; the last result or error is
// returned on timeout.
func (s *browserSession) poll(js string, want any, timeout time.Duration) (any, bool) {
	wantJSON, _ := json.Marshal(want)
	deadline := time.Now().Add(timeout)
	var last any
	for {
		v, err := s.exec(js)
		if err != nil {
			last = err
		} else {
			last = v
			if got, _ := json.Marshal(v); bytes.Equal(got, wantJSON) {
				return v, true
			}
		}
		if time.Now().After(deadline) {
			return last, false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitEventStream waits until the page's live-reload EventSource has its
// response headers, which gowsgi sends only after it registered the page
// for reload events: a save before that could go unnoticed. It reads (and
// so drains) the performance log.
func (s *browserSession) waitEventStream(t *testing.T, dump func() string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var entries []struct {
			Message string `json:"message"`
		}
		if err := s.d.call(http.MethodPost, s.path+"/se/log", map[string]string{"type": "performance"}, &entries); err != nil {
			t.Fatalf("reading the performance log: %v", err)
		}
		for _, e := range entries {
			var m struct {
				Message struct {
					Method string `json:"method"`
					Params struct {
						Type     string `json:"type"`
						Response struct {
							URL    string `json:"url"`
							Status int    `json:"status"`
						} `json:"response"`
					} `json:"params"`
				} `json:"message"`
			}
			if json.Unmarshal([]byte(e.Message), &m) != nil {
				continue
			}
			r := m.Message.Params.Response
			if m.Message.Method == "Network.responseReceived" && m.Message.Params.Type == "EventSource" &&
				strings.Contains(r.URL, "/__gowsgi__/livereload?since=") && r.Status == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page's live-reload EventSource never connected\n%s", dump())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
