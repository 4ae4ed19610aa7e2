// Command loadgen is the benchmark's paced load client for the reload and
// HUP measures: it records every request's start, end, status and the first
// bytes of its body, which wrk cannot (wrk reports a latency distribution
// over the whole run, not which requests failed or stalled in a window).
//
//	loadgen -url http://127.0.0.1:8000/version/ -close 8 -pace 25ms -out reqs.csv
//
// Each client is one goroutine that sends a request, waits for the whole
// answer, then sleeps out the rest of its pace; a stalled server therefore
// shows up as one long request per client, not as a queue. Keep-alive
// clients (-keepalive N) each own one connection; new-connection clients
// (-close N) send "Connection: close" and dial for every request.
//
// It prints "loadgen: running" on stderr once the clients started, stops
// sending when its standard input closes (or on SIGINT/SIGTERM), waits for
// the requests in flight and writes one CSV line per request to -out:
//
//	start_unix_ns,duration_ns,client_kind,status,error,body
//
// status is 0 when no answer came; error is "" for a 2xx whose body holds
// -expect, else one of: status, body, refused, reset, eof, timeout, other.
//
// With -report-bodies it also prints "body END_UNIX_NS TEXT" on stdout each
// time a 2xx body differs from the previous one, so the runner learns at once
// when a reloaded server answers with new code.
package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// record is one request as the runner analyses it.
type record struct {
	start    time.Time
	duration time.Duration
	kind     string // "keepalive" or "close"
	status   int
	errClass string
	body     string
}

type config struct {
	url         string
	method      string
	body        string
	contentType string
	expect      []byte
	pace        time.Duration
	timeout     time.Duration
	bodies      *bodyReporter // nil without -report-bodies
}

// bodyReporter prints a line whenever a 2xx body differs from the last one.
type bodyReporter struct {
	mu   sync.Mutex
	last string
}

func (b *bodyReporter) see(end time.Time, body string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if body == b.last {
		return
	}
	b.last = body
	fmt.Printf("body %d %s\n", end.UnixNano(), strings.ReplaceAll(body, "\n", " "))
}

func main() {
	var (
		cfg       config
		keepalive = flag.Int("keepalive", 0, "keep-alive clients (one connection each)")
		closing   = flag.Int("close", 0, "new-connection clients (Connection: close)")
		out       = flag.String("out", "", "CSV file for the per-request records (required)")
		expect    = flag.String("expect", "", "a 2xx body must contain this text")
		report    = flag.Bool("report-bodies", false, "print each change of the 2xx body on stdout")
	)
	flag.StringVar(&cfg.url, "url", "", "URL to request (required)")
	flag.StringVar(&cfg.method, "method", "GET", "HTTP method")
	flag.StringVar(&cfg.body, "body", "", "request body (sent with every request when not empty)")
	flag.StringVar(&cfg.contentType, "content-type", "application/x-www-form-urlencoded", "Content-Type of -body")
	flag.DurationVar(&cfg.pace, "pace", 10*time.Millisecond, "each client starts at most one request per pace")
	flag.DurationVar(&cfg.timeout, "timeout", 15*time.Second, "per-request timeout")
	flag.Parse()
	if cfg.url == "" || *out == "" || *keepalive+*closing == 0 {
		fmt.Fprintln(os.Stderr, "loadgen: need -url, -out and at least one of -keepalive N, -close N")
		os.Exit(2)
	}
	cfg.expect = []byte(*expect)
	if *report {
		cfg.bodies = &bodyReporter{}
	}

	ctx, stop := context.WithCancel(context.Background())
	go stopOnSignalOrEOF(stop)

	results := make(chan []record, *keepalive+*closing)
	var wg sync.WaitGroup
	for i := 0; i < *keepalive+*closing; i++ {
		kind := "keepalive"
		if i >= *keepalive {
			kind = "close"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- runClient(ctx, cfg, kind)
		}()
	}
	fmt.Fprintln(os.Stderr, "loadgen: running")
	wg.Wait()
	close(results)

	if err := writeRecords(*out, results); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(1)
	}
}

// stopOnSignalOrEOF cancels the run when stdin closes or a signal arrives.
func stopOnSignalOrEOF(stop context.CancelFunc) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	eof := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(eof)
	}()
	select {
	case <-sigs:
	case <-eof:
	}
	stop()
}

// runClient sends paced requests until ctx ends and returns their records.
func runClient(ctx context.Context, cfg config, kind string) []record {
	tr := &http.Transport{
		DisableCompression:  true,
		MaxIdleConnsPerHost: 1,
		DisableKeepAlives:   kind == "close",
		DialContext:         (&net.Dialer{Timeout: cfg.timeout}).DialContext,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: cfg.timeout}
	var recs []record
	for ctx.Err() == nil {
		start := time.Now()
		recs = append(recs, doRequest(client, cfg, kind, start))
		if wait := cfg.pace - time.Since(start); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
	}
	return recs
}

func doRequest(client *http.Client, cfg config, kind string, start time.Time) record {
	r := record{start: start, kind: kind}
	var body io.Reader
	if cfg.body != "" {
		body = bytes.NewReader([]byte(cfg.body))
	}
	req, err := http.NewRequest(cfg.method, cfg.url, body)
	if err != nil {
		r.errClass = "other"
		return r
	}
	if cfg.body != "" {
		req.Header.Set("Content-Type", cfg.contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		r.duration = time.Since(start)
		r.errClass = classify(err)
		return r
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	r.duration = time.Since(start)
	r.status = resp.StatusCode
	r.body = string(data[:min(len(data), 64)])
	switch {
	case err != nil:
		r.errClass = classify(err)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		r.errClass = "status"
	case !bytes.Contains(data, cfg.expect):
		r.errClass = "body"
	}
	if r.errClass == "" && cfg.bodies != nil {
		cfg.bodies.see(start.Add(r.duration), r.body)
	}
	return r
}

// classify names a transport error the way the runner's tables do.
func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "other"
}

func writeRecords(path string, results <-chan []record) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing records: %w", err)
	}
	w := csv.NewWriter(f)
	w.Write([]string{"start_unix_ns", "duration_ns", "client_kind", "status", "error", "body"})
	for recs := range results {
		for _, r := range recs {
			w.Write([]string{
				strconv.FormatInt(r.start.UnixNano(), 10),
				strconv.FormatInt(int64(r.duration), 10),
				r.kind, strconv.Itoa(r.status), r.errClass, r.body,
			})
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("writing records to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing records to %s: %w", path, err)
	}
	return nil
}
