package smoke

// This file is what `gowsgi check` reports: a line per check (✓, ✗, or !
// for a Django warning), GitHub Actions annotations, the JSON on stdout
// and the JUnit XML file.

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Result is one line of the report.
type Result struct {
	Name    string `json:"name"`              // "boot", "django check", "GET /items/"
	OK      bool   `json:"ok"`                // passed (a warning passes)
	Warning bool   `json:"warning,omitempty"` // a Django warning: reported, not failed
	Line    string `json:"line"`              // what the human line says after its mark
	Detail  string `json:"detail,omitempty"`  // traceback, hint or the start of a body

	Status     int     `json:"status,omitempty"`
	Want       string  `json:"want,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	TimedOut   bool    `json:"timed_out,omitempty"`

	// File and Lineno place a GitHub annotation of an import error.
	File   string `json:"-"`
	Lineno int    `json:"-"`
}

// Report is a check run's results, printed as they come.
type Report struct {
	Out     io.Writer // the check lines
	Color   bool      // colour the marks
	Plain   bool      // ok/FAIL/warn instead of the marks
	GitHub  bool      // also write GitHub Actions annotations
	Started time.Time
	Log     fmt.Stringer // gowsgi's log, for the JSON and JUnit reports

	mu      sync.Mutex
	results []Result
}

// Add records a result and prints its line.
func (r *Report) Add(res Result) {
	r.mu.Lock()
	r.results = append(r.results, res)
	r.mu.Unlock()
	mark, color := "✓", "\x1b[32m"
	switch {
	case !res.OK:
		mark, color = "✗", "\x1b[31m"
	case res.Warning:
		mark, color = "!", "\x1b[33m"
	}
	if r.Plain {
		mark = map[string]string{"✓": "ok", "✗": "FAIL", "!": "warn"}[mark]
	}
	if r.Color {
		mark = color + mark + "\x1b[0m"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", mark, res.Line)
	// Django's hints and a failed check's traceback read best under the
	// line; bodies and the boot report are elsewhere (JUnit, stderr).
	if res.Detail != "" && strings.HasPrefix(res.Name, "django check") {
		for _, l := range strings.Split(strings.TrimRight(res.Detail, "\n"), "\n") {
			fmt.Fprintf(&b, "    %s\n", l)
		}
	}
	if r.GitHub && (!res.OK || res.Warning) {
		b.WriteString(githubAnnotation(res))
	}
	io.WriteString(r.Out, b.String())
}

// Counts are the results that passed and failed.
func (r *Report) Counts() (passed, failed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, res := range r.results {
		if res.OK {
			passed++
		} else {
			failed++
		}
	}
	return passed, failed
}

// githubAnnotation is a GitHub Actions workflow command that shows the
// failure (or Django warning) on the run's summary page, at the file and
// line of an import error when they are in the workspace.
func githubAnnotation(res Result) string {
	kind := "error"
	if res.Warning {
		kind = "warning"
	}
	props := "title=" + githubEscape("gowsgi check", true)
	if res.File != "" {
		if ws := os.Getenv("GITHUB_WORKSPACE"); ws != "" {
			if rel, err := filepath.Rel(ws, res.File); err == nil && !strings.HasPrefix(rel, "..") {
				props += fmt.Sprintf(",file=%s,line=%d", githubEscape(rel, true), res.Lineno)
			}
		}
	}
	return fmt.Sprintf("::%s %s::%s\n", kind, props, githubEscape(res.Line, false))
}

// githubEscape escapes a workflow command's data (or, with prop, a
// property value) as the Actions runner expects.
func githubEscape(s string, prop bool) string {
	s = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
	if prop {
		s = strings.NewReplacer(":", "%3A", ",", "%2C").Replace(s)
	}
	return s
}

// WriteJSON prints the machine-readable report.
func (r *Report) WriteJSON(w io.Writer, code int) {
	passed, failed := r.Counts()
	r.mu.Lock()
	results := append([]Result{}, r.results...)
	r.mu.Unlock()
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(struct {
		Passed     int      `json:"passed"`
		Failed     int      `json:"failed"`
		ExitCode   int      `json:"exit_code"`
		DurationMS float64  `json:"duration_ms"`
		Checks     []Result `json:"checks"`
		Log        string   `json:"log"`
	}{passed, failed, code, MsSince(r.Started), results, r.Log.String()})
}

// JUnit XML, the shape Jenkins, GitLab and the GitHub test-report actions
// read: one testsuite, a testcase per check.
type (
	junitSuite struct {
		XMLName   xml.Name    `xml:"testsuite"`
		Name      string      `xml:"name,attr"`
		Tests     int         `xml:"tests,attr"`
		Failures  int         `xml:"failures,attr"`
		Errors    int         `xml:"errors,attr"`
		Skipped   int         `xml:"skipped,attr"`
		Time      string      `xml:"time,attr"`
		Timestamp string      `xml:"timestamp,attr"`
		Cases     []junitCase `xml:"testcase"`
		SystemOut string      `xml:"system-out"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitFailure `xml:"failure"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
)

// WriteJUnit writes the JUnit XML report into f and closes it.
func (r *Report) WriteJUnit(f *os.File) error {
	passed, failed := r.Counts()
	s := junitSuite{
		Name: "gowsgi check", Tests: passed + failed, Failures: failed,
		Time: fmt.Sprintf("%.3f", time.Since(r.Started).Seconds()), Timestamp: r.Started.Format("2006-01-02T15:04:05"),
		SystemOut: r.Log.String(),
	}
	r.mu.Lock()
	for _, res := range r.results {
		c := junitCase{Name: res.Name, Classname: "gowsgi.check", Time: fmt.Sprintf("%.3f", res.DurationMS/1000)}
		if res.OK {
			c.SystemOut = strings.TrimSpace(res.Line + "\n" + res.Detail)
		} else {
			c.Failure = &junitFailure{Message: res.Line, Type: "check", Text: res.Detail}
		}
		s.Cases = append(s.Cases, c)
	}
	r.mu.Unlock()
	out, err := xml.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteString(xml.Header + string(out) + "\n"); err != nil {
		return err
	}
	return f.Close()
}

// BodyExcerpt is the start of an answer, for the reports.
func BodyExcerpt(b []byte) string {
	const max = 2048
	if len(b) > max {
		return string(b[:max]) + "\n[...]"
	}
	return string(b)
}

// FmtMS writes a request's time as people read it: "12 ms", "0.6 ms".
func FmtMS(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}

// MsSince is the time since t in milliseconds.
func MsSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }
