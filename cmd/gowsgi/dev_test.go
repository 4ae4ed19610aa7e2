package main

import (
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// copyMysite copies testdata/mysite (with its migrated sqlite database) to
// a temporary directory that a test may edit.
func copyMysite(t *testing.T) string {
	t.Helper()
	src := filepath.Join(repoRoot(t), "testdata", "mysite")
	dst := filepath.Join(t.TempDir(), "mysite")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() && d.Name() == "__pycache__" {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// saveFile writes a file the way editors do: a temporary file renamed over it.
func saveFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".gowsgi-tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// waitBody polls url until its body satisfies ok.
func waitBody(t *testing.T, url string, ok func(code int, body string) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var code int
	var body string
	for time.Now().Before(deadline) {
		code, _, body = get(t, nil, url)
		if ok(code, body) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never became what the test waits for; last: %d %s", url, code, trunc(body))
}

var reloadLine = regexp.MustCompile(`changed; starting new workers`)

// TestDevReload: saves swap in new workers while a steady load of requests
// sees no failure; templates reload without new workers; broken code shows
// the error page until it is fixed.
func TestDevReload(t *testing.T) {
	dir := copyMysite(t)
	p := startGowsgi(t, dir, nil, "dev", ".", "127.0.0.1:0", "--python", testPython(t))
	// The version of the test python's Django: `make test` runs this with
	// Django 5.2 and again with Django 6.x.
	django, err := exec.Command(testPython(t), "-c", "import django; print(django.get_version())").Output()
	if err != nil {
		t.Fatalf("asking the test python for its Django version: %v", err)
	}
	for _, want := range []string{"Django version " + strings.TrimSpace(string(django)) + ", using settings 'mysite.settings'", "Quit the server with CONTROL-C.", "Starting gowsgi"} {
		if !strings.Contains(p.out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, p.out)
		}
	}
	reloads := func() int { return len(reloadLine.FindAllString(p.out.String(), -1)) }

	t.Run("code change under load fails nothing", func(t *testing.T) {
		var failures, total atomic.Int64
		var mu sync.Mutex
		var firstFailure string
		stop := make(chan struct{})
		var wg sync.WaitGroup
		load := func(client *http.Client) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				total.Add(1)
				resp, err := client.Get(p.url + "/version/")
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != 200 {
					failures.Add(1)
					mu.Lock()
					if firstFailure == "" {
						firstFailure = fmt.Sprint(err, resp)
					}
					mu.Unlock()
				}
			}
		}
		for i := 0; i < 3; i++ {
			wg.Add(2)
			go load(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}})
			go load(&http.Client{Transport: &http.Transport{}})
		}
		for v := 2; v <= 4; v++ {
			saveFile(t, filepath.Join(dir, "mysite", "version.py"), fmt.Sprintf("VERSION = \"%d\"\n", v))
			want := fmt.Sprint(v)
			waitBody(t, p.url+"/version/", func(code int, body string) bool { return code == 200 && body == want })
		}
		close(stop)
		wg.Wait()
		if failures.Load() != 0 {
			t.Fatalf("%d of %d requests failed during 3 reloads; first: %s", failures.Load(), total.Load(), firstFailure)
		}
		if total.Load() < 30 {
			t.Fatalf("only %d requests ran: the load did not overlap the reloads", total.Load())
		}
		t.Logf("%d requests, 0 failed, during 3 reloads", total.Load())
	})

	t.Run("template change needs no new workers", func(t *testing.T) {
		before := reloads()
		tmpl := filepath.Join(dir, "shop", "templates", "shop", "items.html")
		b, err := os.ReadFile(tmpl)
		if err != nil {
			t.Fatal(err)
		}
		saveFile(t, tmpl, strings.Replace(string(b), "<h1>Items</h1>", "<h1>Items (edited)</h1>", 1))
		waitBody(t, p.url+"/items/", func(code int, body string) bool { return strings.Contains(body, "Items (edited)") })
		if _, ok := p.out.waitFor(regexp.MustCompile(`items.html changed; reloading the browser`), 10*time.Second); !ok {
			t.Errorf("no browser reload logged for the template:\n%s", p.out)
		}
		if reloads() != before {
			t.Errorf("a template change started new workers")
		}
	})

	t.Run("broken code shows the error page until fixed", func(t *testing.T) {
		views := filepath.Join(dir, "shop", "views.py")
		good, err := os.ReadFile(views)
		if err != nil {
			t.Fatal(err)
		}
		saveFile(t, views, string(good)+"\ndef broken(:\n")
		waitBody(t, p.url+"/", func(code int, body string) bool { return code == 500 })
		_, h, body := get(t, nil, p.url+"/items/")
		for _, want := range []string{"SyntaxError", "views.py, line", "def broken(:", `class="cur"`} {
			if !strings.Contains(body, want) {
				t.Errorf("error page lacks %q:\n%s", want, trunc(body))
			}
		}
		if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Errorf("error page Content-Type %q", h.Get("Content-Type"))
		}
		if !strings.Contains(p.out.String(), "SyntaxError") {
			t.Errorf("the console lacks the traceback")
		}
		saveFile(t, views, string(good))
		waitBody(t, p.url+"/", func(code int, body string) bool { return code == 200 && body == "Hello from mysite" })
	})

	t.Run("a burst of 50 files makes one reload", func(t *testing.T) {
		before := reloads()
		pkg := filepath.Join(dir, "burst")
		os.MkdirAll(pkg, 0o755)
		for i := 0; i < 50; i++ {
			os.WriteFile(filepath.Join(pkg, fmt.Sprintf("m%02d.py", i)), []byte("X = 1\n"), 0o644)
		}
		if _, ok := p.out.waitFor(regexp.MustCompile(`burst/m\d\d.py and 49 more changed; starting new workers`), 15*time.Second); !ok {
			t.Fatalf("no single reload for the burst:\n%s", p.out)
		}
		// Nothing else arrives once the batch is out.
		time.Sleep(500 * time.Millisecond)
		if n := reloads() - before; n != 1 {
			t.Fatalf("%d reloads for one burst, want 1", n)
		}
	})

	t.Run("static files from the finders", func(t *testing.T) {
		for _, path := range []string{"/static/shop/style.css", "/static/site/robots.txt"} {
			code, h, _ := get(t, nil, p.url+path)
			if code != 200 || h.Get("Accept-Ranges") != "bytes" {
				t.Errorf("%s: %d, Accept-Ranges %q (gowsgi serves static files with range support)", path, code, h.Get("Accept-Ranges"))
			}
		}
	})
}

// TestDevStatic: with DEBUG off, static files are served only with
// --insecure; --nostatic turns gowsgi's static serving off.
func TestDevStatic(t *testing.T) {
	dir := copyMysite(t)
	os.WriteFile(filepath.Join(dir, "media", "hello.txt"), []byte("media file"), 0o644)
	tests := []struct {
		name       string
		args       []string
		wantStatic int
		wantMedia  int
	}{
		{"debug off", nil, 404, 200},
		{"debug off, --insecure", []string{"--insecure"}, 200, 200},
		{"--nostatic", []string{"--insecure", "--nostatic"}, 404, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"dev", dir, "127.0.0.1:0", "--python", testPython(t), "--noreload"}, tc.args...)
			p := startGowsgi(t, dir, []string{"DJANGO_DEBUG=0"}, args...)
			if code, _, _ := get(t, nil, p.url+"/static/shop/style.css"); code != tc.wantStatic {
				t.Errorf("static: %d, want %d", code, tc.wantStatic)
			}
			if code, _, _ := get(t, nil, p.url+"/media/hello.txt"); code != tc.wantMedia {
				t.Errorf("media: %d, want %d", code, tc.wantMedia)
			}
			p.stop()
		})
	}
}

// TestDevErrors: a wrong project dir, a taken port or bad arguments say
// what was looked for and what to do.
func TestDevErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	empty := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"no manage.py", []string{"dev", empty, "127.0.0.1:0"}, exitUsage, []string{"no manage.py in it", filepath.Join(empty, "manage.py"), "hint:"}},
		{"no such dir", []string{"dev", filepath.Join(empty, "nope"), "127.0.0.1:0"}, exitUsage, []string{"no such directory"}},
		{"bad addrport", []string{"dev", "testdata/mysite", "80x"}, exitUsage, []string{"ADDRPORT", "hint:"}},
		{"port in use", []string{"dev", "testdata/mysite", busy.Addr().String()}, exitError, []string{"address already in use", "hint:"}},
		{"too many arguments", []string{"dev", "a", "b", "c"}, exitUsage, []string{"too many arguments"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runGowsgi(t, repoRoot(t), 60*time.Second, append(tc.args, "--python", testPython(t))...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d", code, tc.wantCode)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// TestDevImportedOutsideProject: a module the app imports from outside the
// project (a package installed in editable mode, a PYTHONPATH entry) is
// watched too, because the workers report what they imported.
func TestDevImportedOutsideProject(t *testing.T) {
	dir := copyMysite(t)
	ext := t.TempDir()
	os.WriteFile(filepath.Join(ext, "extmod.py"), []byte("VALUE = \"from outside 1\"\n"), 0o644)
	saveFile(t, filepath.Join(dir, "mysite", "version.py"), "from extmod import VALUE as VERSION\n")
	p := startGowsgi(t, dir, []string{"PYTHONPATH=" + ext}, "dev", ".", "127.0.0.1:0", "--python", testPython(t), "--no-livereload")
	waitBody(t, p.url+"/version/", func(code int, body string) bool { return body == "from outside 1" })
	saveFile(t, filepath.Join(ext, "extmod.py"), "VALUE = \"from outside 2\"\n")
	waitBody(t, p.url+"/version/", func(code int, body string) bool { return body == "from outside 2" })
}

// TestDevPackageChange: an installed or upgraded package (a new
// *.dist-info in site-packages) restarts the zygote, so new workers import
// the new code, while requests keep being answered.
func TestDevPackageChange(t *testing.T) {
	dir := copyMysite(t)
	p := startGowsgi(t, dir, nil, "dev", ".", "127.0.0.1:0", "--python", testPython(t), "--no-livereload")
	out, err := exec.Command(testPython(t), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").Output()
	if err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(strings.TrimSpace(string(out)), "gowsgi_test_fake_pkg-1.0.dist-info")
	os.RemoveAll(fake)
	t.Cleanup(func() { os.RemoveAll(fake) })
	var failures, answered atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if resp, err := http.Get(p.url + "/"); err != nil || resp.StatusCode != 200 {
				failures.Add(1)
			} else {
				resp.Body.Close()
				answered.Add(1)
			}
		}
	}()
	if err := os.Mkdir(fake, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.out.waitFor(regexp.MustCompile(`installed packages changed; restarting the zygote`), 15*time.Second); !ok {
		t.Fatalf("no zygote restart:\n%s", p.out)
	}
	before := answered.Load()
	if _, ok := p.out.waitFor(regexp.MustCompile(`site-packages changed; starting new workers(?s:.*)generation 2 live`), 60*time.Second); !ok {
		t.Fatalf("no new generation:\n%s", p.out)
	}
	during := answered.Load() - before
	close(stop)
	<-done
	if failures.Load() != 0 {
		t.Fatalf("%d requests failed across the zygote restart", failures.Load())
	}
	// No failure means nothing unless requests ran meanwhile (issue 13, bug 6).
	if during == 0 {
		t.Fatal("no request was answered while the zygote restarted")
	}
}

// copyChecksite copies testdata/checksite (issue 15's system-checks
// project) to a temporary directory.
func copyChecksite(t *testing.T) string {
	t.Helper()
	src := filepath.Join(repoRoot(t), "testdata", "checksite")
	dst := filepath.Join(t.TempDir(), "checksite")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestDevSystemChecks pins issue 15: runserver runs Django's system checks
// and warns about unapplied migrations before it serves, and refuses to
// start on an error such as admin.E108; gowsgi dev served such a project
// without a word.
func TestDevSystemChecks(t *testing.T) {
	dir := copyChecksite(t)
	tests := []struct {
		name   string
		args   []string
		starts bool
		want   []string
		absent []string
	}{
		{name: "admin.E108 stops the start", args: []string{"--settings", "checksite.settings_broken"}, want: []string{
			"Performing system checks...",
			"SystemCheckError: System check identified some issues:",
			"ERRORS:",
			"<class 'catalog.admin.BookAdmin'>: (admin.E108) The value of 'list_display[1]' refers to 'no_such_field'",
			"System check identified 1 issue (0 silenced).",
			"not starting, as runserver would not",
			"hint: fix them and start gowsgi dev again, or pass --skip-checks",
		}},
		{name: "--skip-checks starts anyway", args: []string{"--settings", "checksite.settings_broken", "--skip-checks"}, starts: true,
			want:   []string{"You have 19 unapplied migration(s)", "Run 'python manage.py migrate' to apply them."},
			absent: []string{"Performing system checks", "admin.E108"}},
		{name: "clean project: no issues and the migrations warning", starts: true, want: []string{
			"Performing system checks...\n\nSystem check identified no issues (0 silenced).\n",
			"You have 19 unapplied migration(s). Your project may not work properly until you apply the migrations for app(s): admin, auth, catalog, contenttypes, sessions.",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"dev", "--python", testPython(t), "--noreload", "--no-color"}, tc.args...)
			args = append(args, dir, "127.0.0.1:0")
			var out string
			if tc.starts {
				p := startGowsgi(t, dir, nil, args...)
				if code, _, body := get(t, nil, p.url+"/"); code != 200 || body != "checksite\n" {
					t.Errorf("GET / = %d %q", code, body)
				}
				p.stop()
				out = p.out.String()
			} else {
				var code int
				code, out = runGowsgi(t, dir, 60*time.Second, args...)
				if code != exitUsage {
					t.Errorf("exit %d, want %d", code, exitUsage)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			for _, w := range tc.absent {
				if strings.Contains(out, w) {
					t.Errorf("output has %q", w)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// TestDevRunserverFlags pins issue 15: runserver's options work with its
// meaning, or say in one line that they mean nothing here, and an unknown
// flag is one line with a hint, not the whole help.
func TestDevRunserverFlags(t *testing.T) {
	dir := copyChecksite(t)
	t.Run("unknown flag is one line", func(t *testing.T) {
		code, out := runGowsgi(t, dir, 30*time.Second, "dev", "--no-such-flag", ".")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != exitUsage || len(lines) != 2 || !strings.Contains(lines[0], "flag provided but not defined: -no-such-flag") ||
			!strings.HasPrefix(lines[1], "hint: gowsgi dev --help") {
			t.Errorf("exit %d, output:\n%s", code, out)
		}
	})
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"--nothreading", []string{"--nothreading"}, []string{"1 process(es) x 1 thread(s)"}},
		{"manage.py's options", []string{"--verbosity", "2", "--traceback", "--no-color", "--settings", "checksite.settings", "--pythonpath", "extra"},
			[]string{"gowsgi: --verbosity 2: gowsgi dev prints the same at every verbosity", "gowsgi: --traceback: gowsgi dev always prints tracebacks"}},
		{"flags after the arguments, as runserver takes them", []string{"--", "--noreload", "--skip-checks"}, []string{"1 process(es) x 4 thread(s)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"dev", "--python", testPython(t)}
			pos := []string{".", "127.0.0.1:0"}
			if len(tc.args) > 0 && tc.args[0] == "--" {
				args = append(append(args, pos...), tc.args[1:]...)
			} else {
				args = append(append(args, tc.args...), pos...)
			}
			p := startGowsgi(t, dir, nil, args...)
			if code, _, _ := get(t, nil, p.url+"/"); code != 200 {
				t.Errorf("GET / = %d", code)
			}
			p.stop()
			for _, w := range tc.want {
				if !strings.Contains(p.out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, p.out)
				}
			}
		})
	}
	t.Run("--ipv6 listens on ::1", func(t *testing.T) {
		if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
			t.Skipf("no IPv6 loopback here: %v", err)
		} else {
			ln.Close()
		}
		p := startGowsgi(t, dir, nil, "dev", "--python", testPython(t), "-6", "--skip-checks", ".", "0")
		if !strings.HasPrefix(p.addr, "[::1]:") {
			t.Errorf("listening on %s, want [::1]:PORT", p.addr)
		}
	})
}

// TestDevTrustProxy pins issue 15: runserver ignores forwarding headers,
// and gowsgi dev applied them from loopback (a local ngrok or Vite proxy),
// which turned pages into 400 DisallowedHost and links into https://.
func TestDevTrustProxy(t *testing.T) {
	app := filepath.Join(repoRoot(t), "testdata", "apps", "environ.py")
	tests := []struct {
		name       string
		args       []string
		wantHost   string
		wantScheme string
	}{
		{"default: nobody is trusted", nil, "127.0.0.1", "http"},
		{"--trust-proxy loopback", []string{"--trust-proxy", "loopback"}, "public.example", "https"},
		{"--trust-proxy another address", []string{"--trust-proxy", "10.1.2.3"}, "127.0.0.1", "http"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"dev", "--python", testPython(t), "--noreload", "--wsgi-file", app}, tc.args...)
			p := startGowsgi(t, t.TempDir(), nil, append(args, ".", "127.0.0.1:0")...)
			req, _ := http.NewRequest("GET", p.url+"/", nil)
			req.Header.Set("X-Forwarded-Host", "public.example")
			req.Header.Set("X-Forwarded-Proto", "https")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			host := regexp.MustCompile(`"HTTP_HOST":"([^":]*)`).FindSubmatch(body)
			scheme := regexp.MustCompile(`"wsgi.url_scheme":"([^"]*)"`).FindSubmatch(body)
			if host == nil || scheme == nil || string(host[1]) != tc.wantHost || string(scheme[1]) != tc.wantScheme {
				t.Errorf("environ %s: want host %s, scheme %s", trunc(string(body)), tc.wantHost, tc.wantScheme)
			}
		})
	}
}

// TestDevLogsWhatItAnswers pins issue 15: the request log left out static
// files and logged the error page as "500 0".
func TestDevLogsWhatItAnswers(t *testing.T) {
	dir := copyMysite(t)
	p := startGowsgi(t, dir, nil, "dev", "--python", testPython(t), "--skip-checks", ".", "127.0.0.1:0")
	if code, _, _ := get(t, nil, p.url+"/static/shop/style.css"); code != 200 {
		t.Fatalf("static file: %d", code)
	}
	logged := regexp.MustCompile(`"GET /static/shop/style.css HTTP/1.1" 200 [1-9]\d*`)
	if _, ok := p.out.waitFor(logged, 10*time.Second); !ok {
		t.Errorf("the static file was not logged with its size:\n%s", p.out)
	}
	saveFile(t, filepath.Join(dir, "shop", "views.py"), "this is not python\n")
	waitBody(t, p.url+"/items/", func(code int, body string) bool { return code == 500 })
	page := regexp.MustCompile(`"GET /items/ HTTP/1.1" 500 ([1-9]\d{2,})`)
	if _, ok := p.out.waitFor(page, 10*time.Second); !ok {
		t.Errorf("the error page was not logged with its size:\n%s", p.out)
	}
}

// TestDevDjangoStage: once the zygote's Django stage is ready (it holds the
// settings and the third-party apps' models), a save forks workers from it
// that serve the new code, and a save of the settings starts a new zygote,
// so the workers never hold the old settings.
func TestDevDjangoStage(t *testing.T) {
	dir := copyChecksite(t)
	p := startGowsgi(t, dir, nil, "dev", "--python", testPython(t), "--skip-checks", "--no-livereload", ".", "127.0.0.1:0")
	if _, ok := p.out.waitFor(regexp.MustCompile(`django stage: imported \d+ more modules`), 60*time.Second); !ok {
		t.Fatalf("the Django stage never became ready:\n%s", p.out)
	}
	waitBody(t, p.url+"/", func(code int, body string) bool { return body == "checksite\n" })
	urls := filepath.Join(dir, "checksite", "urls.py")
	b, _ := os.ReadFile(urls)
	saveFile(t, urls, strings.Replace(string(b), `"checksite") + "\n"`, `"checksite") + " v2\n"`, 1))
	waitBody(t, p.url+"/", func(code int, body string) bool { return body == "checksite v2\n" })
	settings := filepath.Join(dir, "checksite", "settings.py")
	b, _ = os.ReadFile(settings)
	saveFile(t, settings, string(b)+"\nGREETING = \"new settings\"\n")
	waitBody(t, p.url+"/", func(code int, body string) bool { return body == "new settings v2\n" })
}

// TestDevNoDjangoHint pins issue 15: with an interpreter that has no
// Django (no virtualenv active), the hint named --chdir and --module,
// which dev does not have, and never --python.
func TestDevNoDjangoHint(t *testing.T) {
	// The test interpreter without its site-packages: no Django.
	bare := filepath.Join(t.TempDir(), "python")
	os.WriteFile(bare, []byte("#!/bin/sh\nexec "+testPython(t)+" -S \"$@\"\n"), 0o755)
	code, out := runGowsgi(t, repoRoot(t), 60*time.Second, "dev", "--python", bare, "testdata/checksite", "127.0.0.1:0")
	if code != exitAppLoad {
		t.Errorf("exit %d, want %d", code, exitAppLoad)
	}
	want := "hint: " + bare + " has no module \"django\": it is not the project's virtualenv? Activate the virtualenv, or pass --python"
	if !strings.Contains(out, want) || strings.Contains(out, "--chdir") {
		t.Errorf("output lacks %q or names --chdir:\n%s", want, out)
	}
}

// TestDevStandby: the Django stage's standby has run the project's part of
// django.setup(); a save of a file it did not import (views, urls) forks the
// workers from it, and a save of one it did (models.py) must not: the new
// workers would hold the old models.
func TestDevStandby(t *testing.T) {
	dir := copyChecksite(t)
	p := startGowsgi(t, dir, nil, "dev", "--python", testPython(t), "--skip-checks", "--no-livereload", ".", "127.0.0.1:0")
	standby := regexp.MustCompile(`django stage: standby ready`)
	if _, ok := p.out.waitFor(standby, 60*time.Second); !ok {
		t.Fatalf("no standby:\n%s", p.out)
	}
	urls := filepath.Join(dir, "checksite", "urls.py")
	b, _ := os.ReadFile(urls)
	src := strings.Replace(string(b), `"checksite") + "\n"`, `"checksite") + getattr(catalog_models, "SUFFIX", "") + "\n"`, 1)
	saveFile(t, urls, "from catalog import models as catalog_models\n"+src)
	waitBody(t, p.url+"/", func(code int, body string) bool { return body == "checksite\n" && code == 200 })
	if n := len(standby.FindAllString(p.out.String(), -1)); n != 1 {
		t.Errorf("a urls.py save made %d standbys, want the first one only", n)
	}
	models := filepath.Join(dir, "catalog", "models.py")
	b, _ = os.ReadFile(models)
	saveFile(t, models, string(b)+"\nSUFFIX = \" (new models)\"\n")
	waitBody(t, p.url+"/", func(code int, body string) bool { return body == "checksite (new models)\n" })
	// A new standby follows, with the new models.
	if _, ok := p.out.waitFor(regexp.MustCompile(`(?s)standby ready.*standby ready`), 60*time.Second); !ok {
		t.Fatalf("no new standby after the models save:\n%s", p.out)
	}
	b, _ = os.ReadFile(urls)
	saveFile(t, urls, strings.Replace(string(b), `"checksite")`, `"checksite v3")`, 1))
	waitBody(t, p.url+"/", func(code int, body string) bool { return body == "checksite v3 (new models)\n" })
}
