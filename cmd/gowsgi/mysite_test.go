package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestMysite serves the real Django project with 2 processes x 2 threads,
// exactly as the "done when" command does, and checks every view.
func TestMysite(t *testing.T) {
	s := startGowsgi(t, repoRoot(t), nil, "serve", "--http", "127.0.0.1:0", "--chdir", "testdata/mysite",
		"--module", "mysite.wsgi:application", "--processes", "2", "--threads", "2", "--python", testPython(t))
	css, err := os.ReadFile(filepath.Join(repoRoot(t), "testdata/mysite/shop/static/shop/style.css"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		status     int
		body       string // exact when set
		contains   []string
		ctype      string // prefix
	}{
		{name: "plain text", path: "/", status: 200, body: "Hello from mysite", ctype: "text/plain"},
		{name: "template with a query", path: "/items/", status: 200, ctype: "text/html",
			contains: []string{"<h1>Items</h1>", "Apple: 0.50 (10)", "Banana: 0.25 (20)", "Cherry: 3.00 (5)", "3 items"}},
		{name: "form page", path: "/form/", status: 200, ctype: "text/html", contains: []string{"<form"}},
		{name: "streaming", path: "/stream/?n=3&delay=0", status: 200, body: "chunk 0\nchunk 1\nchunk 2\n"},
		{name: "static file", path: "/static/shop/style.css", status: 200, body: string(css), ctype: "text/css"},
		{name: "version", path: "/version/", status: 200, body: "1"},
		{name: "view raising", path: "/error/", status: 500},
		{name: "not found", path: "/no/such/page/", status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, h, body := get(t, nil, s.url+tc.path)
			if code != tc.status {
				t.Fatalf("status %d, want %d; body %s", code, tc.status, trunc(body))
			}
			if tc.body != "" && body != tc.body {
				t.Errorf("body %q, want %q", trunc(body), trunc(tc.body))
			}
			for _, c := range tc.contains {
				if !strings.Contains(body, c) {
					t.Errorf("body lacks %q:\n%s", c, body)
				}
			}
			if !strings.HasPrefix(h.Get("Content-Type"), tc.ctype) {
				t.Errorf("Content-Type %q, want %q...", h.Get("Content-Type"), tc.ctype)
			}
		})
	}
	t.Run("POST form", func(t *testing.T) {
		resp, err := http.PostForm(s.url+"/form/", url.Values{"name": {"gowsgi"}, "lang": {"go", "python"}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %d, decode %v", resp.StatusCode, err)
		}
		if !strings.Contains(mustJSON(got), "gowsgi") || !strings.Contains(mustJSON(got), "python") {
			t.Fatalf("echoed %v", got)
		}
	})
	t.Run("POST with CSRF protection refuses a missing token", func(t *testing.T) {
		resp, err := http.PostForm(s.url+"/form-csrf/", url.Values{"name": {"x"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("status %d, want 403", resp.StatusCode)
		}
	})
	t.Run("file upload", func(t *testing.T) {
		data := bytes.Repeat([]byte("gowsgi upload "), 3<<20/14) // ~3 MiB: spooled to a temp file by Django
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "data.bin")
		fw.Write(data)
		mw.Close()
		resp, err := http.Post(s.url+"/upload/", mw.FormDataContentType(), &buf)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got struct {
			Name   string `json:"name"`
			Size   int    `json:"size"`
			SHA256 string `json:"sha256"`
		}
		body, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("status %d body %s", resp.StatusCode, body)
		}
		sum := sha256.Sum256(data)
		if got.Name != "data.bin" || got.Size != len(data) || got.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("upload answered %+v, want data.bin, %d bytes, %x", got, len(data), sum)
		}
	})
	t.Run("requests spread over both processes", func(t *testing.T) {
		// Concurrent requests take whichever thread slot is free, so both
		// processes show up within a few rounds; no timing is assumed.
		pids := map[string]bool{}
		var mu sync.Mutex
		for round := 0; round < 50 && len(pids) < 2; round++ {
			var wg sync.WaitGroup
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					code, _, pid := get(t, nil, s.url+"/pid/")
					mu.Lock()
					if code == 200 {
						pids[pid] = true
					}
					mu.Unlock()
				}()
			}
			wg.Wait()
		}
		if len(pids) < 2 {
			t.Fatalf("400 concurrent requests all went to %v", pids)
		}
	})
	t.Run("environ through Django", func(t *testing.T) {
		_, _, body := get(t, nil, s.url+"/echo-environ/?a=1")
		var env map[string]any
		if err := json.Unmarshal([]byte(body), &env); err != nil {
			t.Fatal(err)
		}
		if env["QUERY_STRING"] != "a=1" || env["wsgi.multithread"] != true || env["wsgi.multiprocess"] != true || env["PATH_INFO"] != "/echo-environ/" {
			t.Fatalf("environ %v", env)
		}
	})
	t.Run("view errors reach the log", func(t *testing.T) {
		if !strings.Contains(s.out.String(), "deliberate error from mysite /error/") {
			t.Fatalf("the /error/ traceback is not in the log:\n%s", s.out)
		}
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
