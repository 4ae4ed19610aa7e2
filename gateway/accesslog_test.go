package gateway

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAccessLogSendAfterClose pins issue 13, bug 3: Close closed the line
// channel while handlers that outlived the grace period could still log,
// and a send on a closed channel panics, even inside a select with a
// default. Lines logged after Close are now dropped; those before it are
// written.
func TestAccessLogSendAfterClose(t *testing.T) {
	out := &lockedBuffer{}
	l := NewAccessLog(out)
	r := &http.Request{Method: "GET", RequestURI: "/", Proto: "HTTP/1.1", RemoteAddr: "10.0.0.1:1", URL: &url.URL{Path: "/"}}
	l.Request(r, 200, 1, time.Millisecond, 0, 0)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for j := 0; j < 2000; j++ {
				l.Request(r, 200, 1, time.Millisecond, 0, 0)
			}
		}()
	}
	close(start)
	l.Close()
	wg.Wait()
	l.Request(r, 200, 1, time.Millisecond, 0, 0) // long after Close
	l.Close()                                    // twice is fine
	if !strings.HasPrefix(out.String(), "10.0.0.1 - [") {
		t.Errorf("the line logged before Close is missing: %.80q", out.String())
	}
}
