package gateway

import (
	"bytes"
	"regexp"
	"testing"
	"time"
)

func TestAppendStrftime(t *testing.T) {
	at := time.Date(2026, time.March, 4, 5, 6, 7, 0, time.UTC)
	for format, want := range map[string]string{
		"%a %b %e %H:%M:%S %Y": "Wed Mar  4 05:06:07 2026",
		"%Y-%m-%d %T":          "2026-03-04 05:06:07",
		"%F %%s %q":            "2026-03-04 %s %q",
		"trailing %":           "trailing %",
	} {
		if got := string(AppendStrftime(nil, format, at)); got != want {
			t.Errorf("AppendStrftime(%q) = %q, want %q", format, got, want)
		}
	}
}

func TestDatedWriter(t *testing.T) {
	var out bytes.Buffer
	if w := DatedWriter(&out, ""); w != &out {
		t.Fatalf("DatedWriter without a format = %T, want the writer itself", w)
	}
	w := DatedWriter(&out, "%Y-%m-%d")
	for _, msg := range []string{"gowsgi: one\n", "gowsgi: two\ngowsgi: three\n", "no newline"} {
		n, err := w.Write([]byte(msg))
		if n != len(msg) || err != nil {
			t.Fatalf("Write(%q) = %d, %v, want %d, nil", msg, n, err, len(msg))
		}
	}
	d := `\d{4}-\d\d-\d\d - `
	want := regexp.MustCompile(`^` + d + `gowsgi: one\n` + d + `gowsgi: two\n` + d + `gowsgi: three\n` + d + `no newline$`)
	if !want.Match(out.Bytes()) {
		t.Errorf("dated output:\n%s\nwant each line dated (%s)", out.Bytes(), want)
	}
}
