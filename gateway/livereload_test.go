package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestLiveReloadInjection pins where the live reload script goes. Issue 15:
// it was appended to every text/html answer, htmx fragments included, and
// each htmx swap opened one more EventSource until Chromium's six
// connections per host were used up and the page hung.
func TestLiveReloadInjection(t *testing.T) {
	const script = `<script src="/__gowsgi__/livereload.js?v=0"></script>`
	page := "<!DOCTYPE html>\n<html><head><title>t</title></head><body><h1>Hi</h1></body></html>\n"
	tests := []struct {
		name   string
		method string
		header map[string]string
		ctype  string
		status int
		chunks []string // written one Write (and Flush) each
		want   string   // the body the client gets
	}{
		{name: "full document gets it before </body>", chunks: []string{page},
			want: "<!DOCTYPE html>\n<html><head><title>t</title></head><body><h1>Hi</h1>" + script + "\n</body></html>\n"},
		{name: "document written byte by byte", chunks: strings.Split(page, ""),
			want: "<!DOCTYPE html>\n<html><head><title>t</title></head><body><h1>Hi</h1>" + script + "\n</body></html>\n"},
		{name: "upper-case tags, comment and BOM first", chunks: []string{"\xef\xbb\xbf<!-- x -->\n<HTML><BODY>x</BODY></HTML>"},
			want: "\xef\xbb\xbf<!-- x -->\n<HTML><BODY>x" + script + "\n</BODY></HTML>"},
		{name: "the last </body> wins", chunks: []string{"<html><body><pre>&lt;/body&gt;</body>", "</html>"},
			want: "<html><body><pre>&lt;/body&gt;" + script + "\n</body></html>"},
		{name: "document without </body> gets it at the end", chunks: []string{"<!doctype html><title>x</title><p>hi"},
			want: "<!doctype html><title>x</title><p>hi" + script + "\n"},
		{name: "fragment is left alone", chunks: []string{`<div id="n">1</div>`}, want: `<div id="n">1</div>`},
		{name: "fragment that ends with </body> is left alone", chunks: []string{"<tr><td>1</td></tr></body>"}, want: "<tr><td>1</td></tr></body>"},
		{name: "htmx request is left alone", header: map[string]string{"HX-Request": "true"}, chunks: []string{page}, want: page},
		{name: "Turbo frame request is left alone", header: map[string]string{"Turbo-Frame": "main"}, chunks: []string{page}, want: page},
		{name: "XHR request is left alone", header: map[string]string{"X-Requested-With": "XMLHttpRequest"}, chunks: []string{page}, want: page},
		{name: "fetch request is left alone", header: map[string]string{"Sec-Fetch-Dest": "empty"}, chunks: []string{page}, want: page},
		{name: "navigation gets it", header: map[string]string{"Sec-Fetch-Dest": "document"}, chunks: []string{page},
			want: "<!DOCTYPE html>\n<html><head><title>t</title></head><body><h1>Hi</h1>" + script + "\n</body></html>\n"},
		{name: "page with django-browser-reload is left alone",
			chunks: []string{`<html><body><script src="/static/django-browser-reload/reload-listener.js" data-worker-script-path="/static/django-browser-reload/reload-worker.js" defer></script></body></html>`},
			want:   `<html><body><script src="/static/django-browser-reload/reload-listener.js" data-worker-script-path="/static/django-browser-reload/reload-worker.js" defer></script></body></html>`},
		{name: "client mark split across writes is found", chunks: []string{"<html><body><script src=\"/static/django-browser", "-reload/reload-listener.js\"></script></body></html>"},
			want: "<html><body><script src=\"/static/django-browser-reload/reload-listener.js\"></script></body></html>"},
		{name: "error page gets it", status: 500, chunks: []string{page},
			want: "<!DOCTYPE html>\n<html><head><title>t</title></head><body><h1>Hi</h1>" + script + "\n</body></html>\n"},
		{name: "redirect is left alone", status: 302, chunks: []string{page}, want: page},
		{name: "JSON is left alone", ctype: "application/json", chunks: []string{`{"a": "<html><body></body>"}`}, want: `{"a": "<html><body></body>"}`},
		{name: "HEAD is left alone", method: http.MethodHead, chunks: []string{page}, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lr := NewLiveReload()
			h := lr.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctype := tc.ctype
				if ctype == "" {
					ctype = "text/html; charset=utf-8"
				}
				w.Header().Set("Content-Type", ctype)
				w.Header().Set("Content-Length", strconv.Itoa(len(strings.Join(tc.chunks, ""))))
				status := tc.status
				if status == 0 {
					status = http.StatusOK
				}
				w.WriteHeader(status)
				for _, c := range tc.chunks {
					io.WriteString(w, c)
					w.(http.Flusher).Flush()
				}
			}))
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			req, _ := http.NewRequest(method, srv.URL+"/", nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if string(body) != tc.want && !(method == http.MethodHead) {
				t.Errorf("body:\n%q\nwant:\n%q", body, tc.want)
			}
			if n := strings.Count(string(body), "livereload.js"); n > 1 {
				t.Errorf("%d live reload scripts, want at most 1", n)
			}
		})
	}
}

// TestLiveReloadStreams pins that a streamed page keeps streaming: what
// comes before the last "</body" seen goes out at once.
func TestLiveReloadStreams(t *testing.T) {
	step := make(chan struct{})
	lr := NewLiveReload()
	srv := httptest.NewServer(lr.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<!DOCTYPE html><html><body><p>first part, long enough to pass the tail that is held back</p>")
		w.(http.Flusher).Flush()
		<-step
		io.WriteString(w, "</body></html>")
	})))
	defer srv.Close()
	defer close(step)
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(resp.Body, buf, 20)
	if err != nil {
		t.Fatalf("the first part did not arrive before the handler finished: %v", err)
	}
	if !strings.HasPrefix(string(buf[:n]), "<!DOCTYPE html>") {
		t.Errorf("first bytes %q", buf[:n])
	}
}
