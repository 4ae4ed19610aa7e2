//go:build ignore

// gen_uwsgi_options writes uwsgi_options.tsv, the list of every option uWSGI
// 2.0 knows, from two sources:
//
//   - the output of `uwsgi --help` of the standard build (uWSGI 2.0.31 from
//     PyPI, which embeds the python and gevent plugins and the monolithic
//     profile's others: 943 options);
//   - optionally, the option arrays of uWSGI 2.0's own C source (-src DIR, a
//     checkout of the uwsgi-2.0 branch): the options a build with PCRE,
//     OpenSSL or FreeBSD jails adds (route, log-route, static-expires...),
//     which the PyPI build compiled without libpcre does not list.
//
// Run from the repository root (make uwsgi-options does it):
//
//	python3 -m venv .uwsgi-venv && .uwsgi-venv/bin/pip install uwsgi==2.0.31
//	go run config/gen_uwsgi_options.go -uwsgi .uwsgi-venv/bin/uwsgi [-src /tmp/uwsgi-2.0] > config/uwsgi_options.tsv
//
// Only names and one-line descriptions are taken; what gowsgi does with each
// option is decided by hand in uwsgikeys.go.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// helpLine is one option line of `uwsgi --help`: "    -s|--socket    bind to...".
var helpLine = regexp.MustCompile(`^\s+(?:-(\S)\|)?--(\S+)\s+(.*)$`)

// sourceOption is one entry of a struct uwsgi_option array in C.
var sourceOption = regexp.MustCompile(`\{\s*"([a-z0-9][a-z0-9_.-]*)"\s*,\s*(?:required_argument|no_argument|optional_argument)\s*,\s*[^,]+,\s*"((?:[^"\\]|\\.)*)"`)

type option struct {
	name, short, help string
	sourceOnly        bool
}

func main() {
	uwsgi := flag.String("uwsgi", ".uwsgi-venv/bin/uwsgi", "the uwsgi binary whose --help to read")
	src := flag.String("src", "", "a checkout of uWSGI 2.0's source, for the options of builds with PCRE/SSL (optional)")
	flag.Parse()

	out, err := exec.Command(*uwsgi, "--help").Output()
	if err != nil && len(out) == 0 {
		log.Fatalf("running %s --help: %v", *uwsgi, err)
	}
	version, _ := exec.Command(*uwsgi, "--version").Output()

	opts := map[string]*option{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := helpLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		opts[m[2]] = &option{name: m[2], short: m[1], help: strings.TrimSpace(m[3])}
	}
	if len(opts) < 900 {
		log.Fatalf("%s --help listed %d options; expected about 940", *uwsgi, len(opts))
	}
	fromHelp := len(opts)

	if *src != "" {
		files, _ := filepath.Glob(filepath.Join(*src, "core", "*.c"))
		py, _ := filepath.Glob(filepath.Join(*src, "plugins", "python", "*.c"))
		for _, f := range append(files, py...) {
			b, err := os.ReadFile(f)
			if err != nil {
				log.Fatal(err)
			}
			for _, m := range sourceOption.FindAllStringSubmatch(string(b), -1) {
				if opts[m[1]] == nil {
					opts[m[1]] = &option{name: m[1], help: strings.ReplaceAll(m[2], `\"`, `"`), sourceOnly: true}
				}
			}
		}
	}

	names := make([]string, 0, len(opts))
	for n := range opts {
		names = append(names, n)
	}
	sort.Strings(names)

	// One option a line: name, short letter, "source" when only uWSGI's
	// C source has it, help; tab-separated (no field holds a tab).
	var b bytes.Buffer
	for _, n := range names {
		o := opts[n]
		src := ""
		if o.sourceOnly {
			src = "source"
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", n, o.short, src, strings.ReplaceAll(o.help, "\t", " "))
	}
	fmt.Fprintf(os.Stderr, "%d options: %d from uwsgi --help of %s, %d from the source\n", len(opts), fromHelp, strings.TrimSpace(string(version)), len(opts)-fromHelp)
	os.Stdout.Write(b.Bytes())
}
