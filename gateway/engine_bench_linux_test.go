package gateway

import "testing"

// The engine's request path with a Go app, beside BenchmarkUwsgiRequest
// and BenchmarkHTTPRequest (the master's), with the same clients: its
// allocations per request and, with -cpuprofile, where its CPU goes
// without Python in the way.

// BenchmarkEngineUwsgiRequest: one request per connection, as nginx sends them.
func BenchmarkEngineUwsgiRequest(b *testing.B) {
	te := startEngine(b, "uwsgi", EngineSettings{}, &helloApp{}, 1)
	benchUwsgiConnections(b, te.addr)
}

// BenchmarkEngineHTTPRequest: keep-alive requests on one connection.
func BenchmarkEngineHTTPRequest(b *testing.B) {
	te := startEngine(b, "http", EngineSettings{}, &helloApp{}, 1)
	benchHTTPKeepAlive(b, te.addr)
}
