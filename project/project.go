package project

// This file finds a Django project the way a developer would: manage.py,
// the settings module it names, and WSGI_APPLICATION from the settings,
// read in the project's own interpreter.

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

// Info is what pyworker/python/_gowsgi/djangoinfo.py reports.
type Info struct {
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
	Checks *Checks `json:"checks"`
	Error  string  `json:"error"`
	// Missing names the top-level module an ImportError could not find
	// ("django": the interpreter is not the project's virtualenv).
	Missing   string `json:"missing"`
	Traceback string `json:"traceback"`
}

// Checks is the output of runserver's system checks and migrations
// warning, in its words; Errors means runserver would not start.
type Checks struct {
	Output string `json:"output"`
	Errors bool   `json:"errors"`
}

// InspectArgs are djangoinfo.py's options.
type InspectArgs struct {
	Checks     bool     `json:"checks"`
	SkipChecks bool     `json:"skip_checks"`
	Color      bool     `json:"color"`
	PythonPath []string `json:"pythonpath"`
}

var settingsRE = regexp.MustCompile(`DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([A-Za-z_][\w.]*)['"]`)

// FindSettings returns the settings module: the flag, else
// $DJANGO_SETTINGS_MODULE, else the one manage.py sets.
func FindSettings(dir, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if env := os.Getenv("DJANGO_SETTINGS_MODULE"); env != "" {
		return env, nil
	}
	manage := filepath.Join(dir, "manage.py")
	src, err := os.ReadFile(manage)
	if err != nil {
		return "", &ProjectError{
			Msg:  fmt.Sprintf("%s is not a Django project: no manage.py in it (looked for %s)", dir, manage),
			Hint: "pass the directory that holds manage.py (gowsgi dev path/to/project), or serve a plain WSGI app with --wsgi-file app.py or --module pkg.mod:application.",
		}
	}
	m := settingsRE.FindSubmatch(src)
	if m == nil {
		return "", &ProjectError{
			Msg:  fmt.Sprintf("%s does not set DJANGO_SETTINGS_MODULE", manage),
			Hint: "name the settings module with --settings mysite.settings or DJANGO_SETTINGS_MODULE=mysite.settings.",
		}
	}
	return string(m[1]), nil
}

// Inspect imports the settings in the project's interpreter and
// reports what dev mode needs (WSGI_APPLICATION, static and template dirs).
func Inspect(python, dir, settings string, env []string) (*Info, error) {
	return InspectWith(python, dir, settings, env, InspectArgs{})
}

// InspectWith is Inspect with djangoinfo.py's options: dev runs
// runserver's checks in the same interpreter, which has set Django up
// already.
func InspectWith(python, dir, settings string, env []string, args InspectArgs) (*Info, error) {
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
	var info Info
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil {
		return nil, fmt.Errorf("inspecting the Django settings %s with %s: %v\n%s", settings, python, runErr, strings.TrimSpace(stderr.String()))
	}
	if info.Error != "" {
		be := &pyworker.BootError{Type: "SettingsError", Message: info.Error, Traceback: info.Traceback}
		if info.Missing != "" {
			return &info, &MissingModuleError{BootError: be, Module: info.Missing, Python: python}
		}
		return &info, be
	}
	return &info, nil
}

// SplitWSGIApplication turns "mysite.wsgi.application" into module and callable.
func SplitWSGIApplication(s string) (module, callable string) {
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return s, "application"
	}
	return s[:i], s[i+1:]
}

// ProjectError is a directory that is not a Django project gowsgi can
// read; Hint names the next action.
type ProjectError struct{ Msg, Hint string }

func (e *ProjectError) Error() string { return e.Msg }

// MissingModuleError is a project that imports a module the interpreter
// does not have (most often: "django", when the interpreter is not the
// project's virtualenv).
type MissingModuleError struct {
	*pyworker.BootError
	Module string // the top-level module not found
	Python string // the interpreter that did not find it
}

func (e *MissingModuleError) Unwrap() error { return e.BootError }
