package gateway

// This file is the engine's spool: the body of a request larger than
// engineMaxBuffered, written to an unlinked temporary file as it arrives,
// on whichever thread takes the connection's event (a local write, which
// does not wait on the client), so that the request reaches a thread only
// once all of it has, as a smaller one does (issue 14: a slow upload holds
// no Python thread). The framing guard still scans what arrives (it knows
// where a chunked body ends), limit-post still holds as the bytes come,
// and socket-timeout between them (expired). Before the spool, the thread
// that took such a request read the rest of its body from the socket.

import (
	"fmt"
	"net/http"
	"os"
)

// spooling reports whether the bytes that arrive go to the spool.
func (c *engineConn) spooling() bool {
	return c.spool != nil && !c.spoolFull && !c.refused && !c.overLimit
}

// startSpool moves what follows the head (in[:head]) to a new spool file;
// left is a uwsgi body's length still to come.
func (c *engineConn) startSpool(head int, left int64) error {
	f, err := os.CreateTemp("", "gowsgi-body-")
	if err != nil {
		return fmt.Errorf("%w: %w", errSpool, err)
	}
	os.Remove(f.Name()) // nothing is left behind, whatever ends the request
	if _, err := f.Write(c.in[head:]); err != nil {
		f.Close()
		return fmt.Errorf("%w: %w", errSpool, err)
	}
	c.spool, c.spoolSize, c.spoolLeft = f, int64(len(c.in)-head), left
	// The megabyte buffer goes: a slow upload keeps its head in memory, not its body.
	c.in = append(make([]byte, 0, head), c.in[:head]...)
	return nil
}

// toSpool takes p, bytes that arrived while spooling: the current
// request's go to the spool, what follows its end to rest (scanned by the
// guard, as in is).
func (c *engineConn) toSpool(p []byte) error {
	n, bad := len(p), -1
	if c.l.kind == "http" {
		n, bad = c.g.scanRequest(p)
		c.spoolFull = c.g.ends > c.served
	} else {
		n = int(min(int64(n), c.spoolLeft))
		c.spoolLeft -= int64(n)
		c.spoolFull = c.spoolLeft == 0 // nothing follows a uwsgi request
	}
	if _, err := c.spool.WriteAt(p[:n], c.spoolSize); err != nil {
		return fmt.Errorf("%w: %w", errSpool, err)
	}
	c.spoolSize += int64(n)
	switch {
	case bad >= 0:
		c.refused = true
	case c.spoolFull && c.l.kind == "http":
		next := p[n:]
		if bad := c.g.scan(next); bad >= 0 {
			c.refused = true
			next = next[:bad]
		}
		c.rest = append(c.rest, next...)
	}
	return nil
}

// dropSpool closes the spool, if any: its file was unlinked at its start.
func (c *engineConn) dropSpool() {
	if c.spool != nil {
		c.spool.Close()
		c.spool = nil
	}
	c.spoolSize, c.spoolPos, c.spoolLeft, c.spoolFull = 0, 0, 0, false
}

// spoolFailed answers a body the spool could not keep (a full disk) 503,
// as the pipeline answers errSpool, and closes.
func (c *engineConn) spoolFailed(e *Engine, err error) {
	if c.l.kind == "http" {
		e.logf("http: %s: %v; answered 503", c.fc.remote, err)
	} else {
		e.logf("uwsgi %s: %v; answered 503", c.fc.remote, err)
	}
	c.answerAndClose(e, http.StatusServiceUnavailable)
}

// passedLimit reports whether the chunked body being received passed
// limit-post (mu held), as the pipeline's limitedBody would find once it
// read it: its 413 need not wait for the rest.
func (c *engineConn) passedLimit(limit int64) bool {
	return limit > 0 && c.l.kind == "http" && c.g.heads > c.served && c.g.ends == c.served && c.g.chunkData > uint64(limit)
}
