package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
)

// The engine's request path with a Go app, beside BenchmarkUwsgiRequest
// and BenchmarkHTTPRequest (the master's): its allocations per request
// and, with -cpuprofile, where its CPU goes without Python in the way.

// BenchmarkEngineUwsgiRequest: one request per connection, as nginx sends them.
func BenchmarkEngineUwsgiRequest(b *testing.B) {
	te := startEngine(b, "uwsgi", EngineSettings{}, &helloApp{}, 1)
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
		c, err := net.Dial("tcp", te.addr)
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

// BenchmarkEngineHTTPRequest: keep-alive requests on one connection.
func BenchmarkEngineHTTPRequest(b *testing.B) {
	te := startEngine(b, "http", EngineSettings{}, &helloApp{}, 1)
	c, err := net.Dial("tcp", te.addr)
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
