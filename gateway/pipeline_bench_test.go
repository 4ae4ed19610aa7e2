package gateway

import (
	"bufio"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"testing"

	"github.com/gowsgi/gowsgi/pyworker"
)

// Measured here (go test -run XXX -bench 'Request$' -benchtime 3000x
// ./gateway/, a 2-core machine shared with other work, so the times are
// noisy): before the shared pipeline, HTTP 56 allocs and 4.7 KB per
// request, uwsgi 102 and 7.5 KB; with it, 59 and 5.1 KB, 104 and 8.2 KB,
// the difference being mostly Slot.Do's context.AfterFunc (the price of
// abandoning a stuck request on Close). Times within noise of each other:
// HTTP 40-60 µs, uwsgi 90-150 µs (a new TCP connection per request).

// echoBackend hands out slots whose fake Python thread answers every
// request at once with "200 OK" and a 5-byte body: what is measured is the
// gateway's own cost per request (the listener, the pipeline, the frames),
// without Python.
type echoBackend struct{ slots chan *pyworker.Slot }

func newEchoBackend(n int) *echoBackend {
	b := &echoBackend{slots: make(chan *pyworker.Slot, n)}
	for i := 0; i < n; i++ {
		gw, py := net.Pipe()
		go echoThread(py)
		b.slots <- pyworker.NewTestSlot(gw, 1000+i)
	}
	return b
}

func echoThread(c net.Conn) {
	r := bufio.NewReader(c)
	var out []byte
	for {
		f, err := pyworker.ReadFrame(r, nil)
		if err != nil {
			return
		}
		if f.Type != pyworker.TypeRequest {
			continue
		}
		out = pyworker.AppendFrame(out[:0], pyworker.TypeStart, 0, f.RequestID, []byte("200 OK\x00Content-Type\x00text/plain\x00Content-Length\x005"))
		out = pyworker.AppendFrame(out, pyworker.TypeRespBody, 0, f.RequestID, []byte("hello"))
		out = pyworker.AppendFrame(out, pyworker.TypeEnd, 0, f.RequestID, nil)
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

func (b *echoBackend) Acquire(ctx context.Context, _ *pyworker.Request) (Slot, error) {
	select {
	case s := <-b.slots:
		return s, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *echoBackend) Release(s Slot) { b.slots <- s.(*pyworker.Slot) }

// BenchmarkUwsgiRequest: one request per connection, as nginx sends them.
func BenchmarkUwsgiRequest(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &UwsgiServer{Backend: newEchoBackend(4), Log: NewAccessLog(io.Discard)}
	srv.Serve(ln)
	defer srv.Close()
	benchUwsgiConnections(b, ln.Addr().String())
}

// BenchmarkHTTPRequest: keep-alive requests on one connection.
func BenchmarkHTTPRequest(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := NewServer(&Handler{Backend: newEchoBackend(4), Log: NewAccessLog(io.Discard)}, log.New(io.Discard, "", 0), 0, 0)
	srv.Serve(ln)
	defer srv.Close()
	benchHTTPKeepAlive(b, ln.Addr().String())
}

// benchUwsgiConnections sends b.N uwsgi requests to addr, each on a
// connection of its own, reading each answer to its end.
func benchUwsgiConnections(b *testing.B, addr string) {
	vars := []uwsgiVar{{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/hello/"}, {"PATH_INFO", "/hello/"},
		{"QUERY_STRING", ""}, {"SERVER_PROTOCOL", "HTTP/1.1"}, {"REMOTE_ADDR", "10.0.0.7"}, {"REMOTE_PORT", "4242"},
		{"SERVER_NAME", "x"}, {"SERVER_PORT", "80"}, {"HTTP_HOST", "x"}, {"HTTP_USER_AGENT", "bench"}, {"HTTP_ACCEPT", "*/*"}}
	pkt, err := appendUwsgiPacket(nil, &uwsgiPacket{vars: vars})
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		c.Write(pkt)
		n := 0
		for {
			m, err := c.Read(buf[n:])
			n += m
			if err != nil {
				break
			}
		}
		c.Close()
		if n == 0 {
			b.Fatal("no answer")
		}
	}
}

// benchHTTPKeepAlive sends b.N requests to addr on one keep-alive
// connection.
func benchHTTPKeepAlive(b *testing.B, addr string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	req := []byte("GET /hello/ HTTP/1.1\r\nHost: x\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Write(req)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
