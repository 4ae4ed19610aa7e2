package gateway

import (
	"bytes"
	"io"
	"time"
)

// DatedWriter is w with each line of each write prefixed by the time in
// strftime's format and " - ": logdate for the server's own messages, as
// uWSGI dates its own (uwsgi_log). strftime "" gives w itself. A write is
// taken to start a line (a message is whole lines) and is passed on as one
// write, so concurrent messages do not interleave. The access log is not
// written through it: its lines are dated when they are formatted
// (AccessSpec.Build), and written in batches.
func DatedWriter(w io.Writer, strftime string) io.Writer {
	if strftime == "" {
		return w
	}
	return &datedWriter{w: w, format: strftime}
}

type datedWriter struct {
	w      io.Writer
	format string
}

func (d *datedWriter) Write(p []byte) (int, error) {
	var date []byte
	date = AppendStrftime(date, d.format, time.Now())
	date = append(date, " - "...)
	b := make([]byte, 0, len(p)+len(date)*(1+bytes.Count(p, []byte{'\n'})))
	for rest := p; len(rest) > 0; {
		line, after, _ := bytes.Cut(rest, []byte{'\n'})
		b = append(b, date...)
		b = append(b, line...)
		if len(after) > 0 || rest[len(rest)-1] == '\n' {
			b = append(b, '\n')
		}
		rest = after
	}
	if _, err := d.w.Write(b); err != nil {
		return 0, err
	}
	return len(p), nil
}
