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
