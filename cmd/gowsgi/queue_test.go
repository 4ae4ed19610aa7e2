package main

// queue-gets with real Python workers: GETs queued behind running requests
// (pyworker/pool.go) get their own answers, next to POSTs that never queue.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestQueueGets(t *testing.T) {
	// queue-gets is the proxy path's: through the engine nothing queues.
	p, stats := startAppsWithStats(t, "--processes", "1", "--threads", "1", "--queue-gets", "--engine", "off")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for c := 0; c < 12; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				if c%4 == 3 {
					// POSTs have a body: they never queue.
					body := fmt.Sprintf("post %d-%d", c, i)
					resp, err := client.Post(p.url+"/echo/", "text/plain", strings.NewReader(body))
					if err != nil {
						errs <- err
						return
					}
					got := readBody(resp)
					if resp.StatusCode != 200 || !strings.Contains(got, body) {
						errs <- fmt.Errorf("POST %q: %d %q", body, resp.StatusCode, got)
						return
					}
					continue
				}
				q := fmt.Sprintf("c=%d&i=%d", c, i)
				resp, err := client.Get(p.url + "/environ/x?" + q)
				if err != nil {
					errs <- err
					return
				}
				var env map[string]any
				if err := json.Unmarshal([]byte(readBody(resp)), &env); err != nil || env["QUERY_STRING"] != q {
					errs <- fmt.Errorf("GET ?%s: answered %v (%v)", q, env["QUERY_STRING"], err)
					return
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := value(t, scrape(t, stats), "gowsgi_requests_queued_total"); n == 0 {
		t.Error("gowsgi_requests_queued_total = 0: nothing queued with 12 clients on one thread")
	}
}

func readBody(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
