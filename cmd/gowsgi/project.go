package main

// This file finds a Django project the way a developer would: manage.py,
// the settings module it names, and WSGI_APPLICATION from the settings.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/gowsgi/gowsgi/pyworker"
)

// djangoInfo is what pyworker/python/_gowsgi/djangoinfo.py reports.
type djangoInfo struct {
	Django          string      `json:"django"`
	Settings        string      `json:"settings"`
	Debug           bool        `json:"debug"`
	WSGIApplication string      `json:"wsgi_application"`
	StaticURL       string      `json:"static_url"`
	StaticFiles     bool        `json:"staticfiles"`
	StaticDirs      [][2]string `json:"static_dirs"`
	MediaURL        string      `json:"media_url"`
	MediaRoot       string      `json:"media_root"`
	TemplateDirs    []string    `json:"template_dirs"`
	SiteDirs        []string    `json:"site_dirs"`
	// SettingsFiles are the project's files that importing the settings
	// imported: the zygote holds them (dev), so a change restarts it.
	SettingsFiles []string `json:"settings_files"`
	// Checks is what runserver prints before it serves, when asked for.
	Checks *djangoChecks `json:"checks"`
	Error  string        `json:"error"`
	// Missing names the top-level module an ImportError could not find
	// ("django": the interpreter is not the project's virtualenv).
	Missing   string `json:"missing"`
	Traceback string `json:"traceback"`
}

// djangoChecks is the output of runserver's system checks and migrations
// warning, in its words; Errors means runserver would not start.
type djangoChecks struct {
	Output string `json:"output"`
	Errors bool   `json:"errors"`
}

// inspectArgs are djangoinfo.py's options.
type inspectArgs struct {
	Checks     bool     `json:"checks"`
	SkipChecks bool     `json:"skip_checks"`
	Color      bool     `json:"color"`
	PythonPath []string `json:"pythonpath"`
}

var settingsRE = regexp.MustCompile(`DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([A-Za-z_][\w.]*)['"]`)

// findSettings returns the settings module: the flag, else
// $DJANGO_SETTINGS_MODULE, else the one manage.py sets.
func findSettings(dir, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if env := os.Getenv("DJANGO_SETTINGS_MODULE"); env != "" {
		return env, nil
	}
	manage := filepath.Join(dir, "manage.py")
	src, err := os.ReadFile(manage)
	if err != nil {
		return "", &usageError{
			Msg:  fmt.Sprintf("%s is not a Django project: no manage.py in it (looked for %s)", dir, manage),
			Hint: "pass the directory that holds manage.py (gowsgi dev path/to/project), or serve a plain WSGI app with --wsgi-file app.py or --module pkg.mod:application.",
		}
	}
	m := settingsRE.FindSubmatch(src)
	if m == nil {
		return "", &usageError{
			Msg:  fmt.Sprintf("%s does not set DJANGO_SETTINGS_MODULE", manage),
			Hint: "name the settings module with --settings mysite.settings or DJANGO_SETTINGS_MODULE=mysite.settings.",
		}
	}
	return string(m[1]), nil
}

// inspectDjango imports the settings in the project's interpreter and
// reports what dev mode needs (WSGI_APPLICATION, static and template dirs).
func inspectDjango(python, dir, settings string, env []string) (*djangoInfo, error) {
	return inspectDjangoWith(python, dir, settings, env, inspectArgs{})
}

// inspectDjangoWith is inspectDjango with djangoinfo.py's options: dev runs
// runserver's checks in the same interpreter, which has set Django up
// already.
func inspectDjangoWith(python, dir, settings string, env []string, args inspectArgs) (*djangoInfo, error) {
	rt, err := pyworker.ExtractRuntime()
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	code := fmt.Sprintf("import sys; sys.path.insert(1, %q); from _gowsgi.djangoinfo import main; main()", rt)
	cmd := exec.Command(python, "-c", code, string(raw))
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), env...), "DJANGO_SETTINGS_MODULE="+settings)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var info djangoInfo
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil {
		return nil, fmt.Errorf("inspecting the Django settings %s with %s: %v\n%s", settings, python, runErr, strings.TrimSpace(stderr.String()))
	}
	if info.Error != "" {
		be := &pyworker.BootError{Type: "SettingsError", Message: info.Error, Traceback: info.Traceback}
		if info.Missing != "" {
			return &info, &missingModuleError{BootError: be, module: info.Missing, python: python}
		}
		return &info, be
	}
	return &info, nil
}

// splitWSGIApplication turns "mysite.wsgi.application" into module and callable.
func splitWSGIApplication(s string) (module, callable string) {
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return s, "application"
	}
	return s[:i], s[i+1:]
}
