package gateway

// This file reads a request body ahead, whole, before a worker is taken,
// for every wire format: a slow client never holds a Python thread.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/gowsgi/gowsgi/pyworker"
)

// firstBodyChunk is how much of a request body is kept in memory; the
// rest of a larger body waits in a temporary file (see readBody).
const firstBodyChunk = 64 << 10

// errSpool marks a failure to keep a request body in a temporary file: a
// problem of this machine (a full disk), not of the request.
var errSpool = errors.New("keeping the request body in a temporary file")

// readBody reads the whole request body before a worker is taken, so that
// a slow client never holds a Python thread: the first firstBodyChunk
// bytes into req.First, the rest of a larger body into an unlinked
// temporary file (req.Body). cl is the declared length, -1 for a chunked
// body; knowing the size lets CONTENT_LENGTH be set even then (Django and
// most WSGI apps read nothing without it). It returns the body's size. A
// body that ends before cl, or a chunked body cut before its last chunk,
// is io.ErrUnexpectedEOF: the app never sees a body the client did not
// finish sending. The caller closes the file with closeSpool, also on
// error.
func readBody(req *pyworker.Request, body io.Reader, cl int64) (int64, error) {
	req.HasBody = true
	n := firstBodyChunk
	if cl >= 0 && cl < int64(n) {
		n = int(cl)
	}
	first := make([]byte, n)
	got, err := fill(body, first)
	req.First = first[:got]
	switch {
	case err == io.EOF && cl >= 0 && int64(got) < cl:
		return 0, fmt.Errorf("reading the request body: %w", io.ErrUnexpectedEOF)
	case err == io.EOF, err == nil && int64(got) == cl:
		req.FirstEOF = true
		return int64(got), nil
	case err != nil:
		return 0, fmt.Errorf("reading the request body: %w", err)
	}
	size, err := spoolBody(req, body)
	if err == nil && cl >= 0 && size < cl {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return 0, fmt.Errorf("reading the request body: %w", err)
	}
	return size, nil
}

// fill reads from r until b is full (nil) or r ends (io.EOF, which a
// truncated chunked body is not: net/http reports it as
// io.ErrUnexpectedEOF, and io.ReadFull would blur the two).
func fill(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// idleReader bounds each read: a client that sends nothing for timeout is
// cut off, however long its whole body takes to arrive.
type idleReader struct {
	r           io.Reader
	timeout     time.Duration
	setDeadline func(time.Time) error
}

func (ir *idleReader) Read(p []byte) (int, error) {
	ir.setDeadline(time.Now().Add(ir.timeout))
	return ir.r.Read(p)
}

func bodyErrorStatus(err error) int {
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errSpool):
		return http.StatusServiceUnavailable
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return http.StatusRequestTimeout
	}
	// Malformed chunked encoding, a body cut short, or a client that went
	// away (then the 400 reaches nobody, which is fine).
	return http.StatusBadRequest
}

// spoolBody copies the rest of a body to an unlinked temporary file and
// makes it the request's Body; it returns the body's full size.
func spoolBody(req *pyworker.Request, body io.Reader) (int64, error) {
	f, err := os.CreateTemp("", "gowsgi-body-")
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errSpool, err)
	}
	os.Remove(f.Name())
	req.Body = f
	rest, err := io.Copy(spoolWriter{f}, body)
	if err == nil {
		if _, err = f.Seek(0, io.SeekStart); err != nil {
			err = fmt.Errorf("%w: %w", errSpool, err)
		}
	}
	return int64(len(req.First)) + rest, err
}

// spoolWriter tells the file's errors from the client's in io.Copy.
type spoolWriter struct{ f *os.File }

func (w spoolWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = fmt.Errorf("%w: %w", errSpool, err)
	}
	return n, err
}

// takeSpool makes f, which holds the whole body (size bytes from its
// start), the request's body, as the engine hands over a body it kept in
// a temporary file while it arrived (engine_conn_linux.go): read from
// there, not copied to a second file. f stays its owner's to close.
func takeSpool(req *pyworker.Request, f *os.File, size int64) int64 {
	req.HasBody = true
	req.Body = io.NewSectionReader(f, 0, size)
	return size
}

func closeSpool(req *pyworker.Request) {
	if f, ok := req.Body.(*os.File); ok {
		f.Close()
	}
}

// limitedBody fails a body that runs past limit-post, for a body whose
// length only its end tells (a declared one is refused before it is read).
type limitedBody struct {
	r           io.Reader
	left, limit int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1] // one byte more tells a body of exactly limit bytes from a longer one
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		n, l.left = int(l.left), 0
		return n, &http.MaxBytesError{Limit: l.limit}
	}
	l.left -= int64(n)
	return n, err
}
