package smoke

// This file makes a check's requests as a browser reaching the app
// directly would, and judges each answer.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// NewClient makes requests as a browser would reach the app directly:
// no proxy from the environment, redirects not followed.
func NewClient() (*http.Client, *http.Transport) {
	t := &http.Transport{
		Proxy:       nil,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	return &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, t
}

// maxBody is how much of an answer is read for --expect-body; the
// rest is read and dropped, so the time covers the whole answer.
const maxBody = 16 << 20

// Do makes one request and judges it. The run ends when runCtx does (a
// signal): the request then reports itself interrupted; it times out
// after timeout. version goes into the User-Agent.
func Do(runCtx context.Context, client *http.Client, base, host, version string, timeout time.Duration, req *Request) Result {
	res := Result{Name: req.Name(), Want: req.Want.String()}
	ctx, cancel := context.WithTimeout(runCtx, timeout)
	defer cancel()
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, base+req.Path, body)
	if err != nil {
		res.Line = fmt.Sprintf("%s: %v", req.Name(), err)
		return res
	}
	if host != "" {
		hreq.Host = host
	}
	hreq.Header.Set("User-Agent", "gowsgi-check/"+version)
	if req.ContentType != "" {
		hreq.Header.Set("Content-Type", req.ContentType)
	}
	start := time.Now()
	resp, err := client.Do(hreq)
	var got []byte
	if err == nil {
		got, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
		}
		resp.Body.Close()
		res.Status = resp.StatusCode
	}
	d := time.Since(start)
	res.DurationMS = float64(d.Microseconds()) / 1000
	switch {
	case err != nil && runCtx.Err() != nil:
		res.Line = fmt.Sprintf("%s interrupted after %s", req.Name(), FmtMS(d))
		return res
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		res.TimedOut = true
		res.Line = fmt.Sprintf("%s timed out: no complete answer within %s (--timeout)", req.Name(), timeout)
		return res
	case err != nil:
		res.Line = fmt.Sprintf("%s failed: %v", req.Name(), err)
		return res
	}
	ms := FmtMS(d)
	if !req.Want.OK(resp.StatusCode) {
		res.Line = fmt.Sprintf("%s %d (want %s) in %s", req.Name(), resp.StatusCode, req.Want, ms)
		res.Detail = BodyExcerpt(got)
		return res
	}
	for _, text := range req.Expect {
		if !bytes.Contains(got, []byte(text)) {
			res.Line = fmt.Sprintf("%s %d in %s, but the body lacks %q", req.Name(), resp.StatusCode, ms, text)
			res.Detail = BodyExcerpt(got)
			return res
		}
	}
	res.OK = true
	res.Line = fmt.Sprintf("%s %d in %s", req.Name(), resp.StatusCode, ms)
	return res
}
