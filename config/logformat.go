package config

import (
	"fmt"
	"strings"
)

// LogFormats are the access log formats log-format names.
var LogFormats = []string{"uwsgi", "combined", "json"}

// checkLogFormat accepts a format name, or a uWSGI %(var) template, which
// gowsgi does not interpret (it logs its default format and says so at
// start) so that an existing ini file keeps working.
func checkLogFormat(v string) error {
	if v == "" || strings.Contains(v, "%(") {
		return nil
	}
	for _, f := range LogFormats {
		if v == f {
			return nil
		}
	}
	return fmt.Errorf("unknown log format %q: use %s", v, strings.Join(LogFormats, ", "))
}
