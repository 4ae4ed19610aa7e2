package main

// This file runs Django's system checks for `gowsgi check`: the project is
// found as dev finds it, and `manage.py check [--deploy]` runs in the
// workers' interpreter, directory, sys.path and environment.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gowsgi/gowsgi/config"
	"github.com/gowsgi/gowsgi/pyworker"
	"github.com/gowsgi/gowsgi/smoke"
)

// checkDjangoProject finds the Django project in cfg.Chdir as dev does,
// and points cfg at its WSGI_APPLICATION.
func checkDjangoProject(c *cli.Context, cfg config.Config) (config.Config, string, error) {
	dir := cfg.Chdir
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return cfg, "", err
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return cfg, "", &usageError{Msg: fmt.Sprintf("%s: no such directory", dir), Hint: "gowsgi check [PROJECT_DIR], where PROJECT_DIR holds manage.py; or --ini uwsgi.ini."}
	}
	settings := c.String("settings")
	for _, kv := range cfg.Env { // --env DJANGO_SETTINGS_MODULE=... (the last one wins)
		if v, ok := strings.CutPrefix(kv, "DJANGO_SETTINGS_MODULE="); ok && c.String("settings") == "" {
			settings = v
		}
	}
	if settings, err = findSettings(abs, settings); err != nil {
		return cfg, "", err
	}
	home := cfg.Home
	if home != "" && !filepath.IsAbs(home) {
		home, _ = filepath.Abs(home)
	}
	python, err := pyworker.FindPython(cfg.Python, home)
	if err != nil {
		return cfg, "", err
	}
	cfg.Env = append(cfg.Env, "DJANGO_SETTINGS_MODULE="+settings)
	info, err := inspectDjango(python, abs, settings, cfg.Env)
	if err != nil {
		return cfg, "", err
	}
	if info.WSGIApplication == "" {
		return cfg, "", &usageError{Msg: fmt.Sprintf("%s has no WSGI_APPLICATION", settings), Hint: "set WSGI_APPLICATION = \"mysite.wsgi.application\" in the settings, or pass --module."}
	}
	cfg.Chdir = abs
	cfg.Module, cfg.Callable = splitWSGIApplication(info.WSGIApplication)
	return cfg, settings, nil
}

// djangoCheckScript runs Django's system checks as `manage.py check` does,
// in the workers' interpreter, directory, sys.path and environment, and
// writes what it found as JSON to fd 3 (stdout and stderr belong to the
// project). Without DJANGO_SETTINGS_MODULE it imports the app first, as a
// worker does (a Django wsgi.py sets the variable); an app that does not
// use Django gets {"django": ""}.
const djangoCheckScript = `
import json, os, sys, traceback
a = json.loads(sys.argv[1])
out = os.fdopen(3, "w")
if sys.path and sys.path[0] in ("", "."):
    del sys.path[0]
for i, p in enumerate([a["dir"]] + a["pythonpath"]):
    sys.path.insert(i, p)
def messages(found):
    from django.db.models.base import ModelBase
    for m in found:
        if m.is_silenced():
            continue
        obj = "" if m.obj is None else (m.obj._meta.label if isinstance(m.obj, ModelBase) else str(m.obj))
        yield {"level": m.level, "id": m.id or "", "msg": str(m.msg), "hint": str(m.hint or ""), "obj": obj}
try:
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        if a["wsgi_file"]:
            import runpy
            runpy.run_path(a["wsgi_file"], run_name="_gowsgi_check_app")
        elif a["module"]:
            __import__(a["module"])
    result = {"django": ""}
    if "django" in sys.modules or os.environ.get("DJANGO_SETTINGS_MODULE"):
        try:
            import django
        except ImportError:
            django = None  # the variable was set, but this app does not use Django
        if django is not None:
            from django.conf import settings
            if settings.configured or os.environ.get("DJANGO_SETTINGS_MODULE"):
                django.setup()
                from django.core import checks
                found = checks.run_checks(include_deployment_checks=a["deploy"])
                result = {"django": django.get_version(), "messages": list(messages(found))}
except BaseException as e:
    result = {"error": "%s: %s" % (type(e).__name__, e), "traceback": traceback.format_exc()}
json.dump(result, out)
out.close()
`

// djangoReport is what djangoCheckScript wrote.
type djangoReport struct {
	Django    string          `json:"django"` // "" when the app does not use Django
	Messages  []djangoMessage `json:"messages"`
	Error     string          `json:"error"`
	Traceback string          `json:"traceback"`
}

// djangoMessage is one of Django's CheckMessages.
type djangoMessage struct {
	Level int    `json:"level"` // 40 ERROR and 50 CRITICAL fail, as in `manage.py check`
	ID    string `json:"id"`
	Msg   string `json:"msg"`
	Hint  string `json:"hint"`
	Obj   string `json:"obj"`
}

// runDjangoChecks runs djangoCheckScript and returns its report. It is
// killed, with anything it started, when ctx ends.
func runDjangoChecks(ctx context.Context, w pyworker.Options, settings string, deploy bool, log io.Writer) djangoReport {
	args, _ := json.Marshal(map[string]any{
		"dir": w.Dir, "pythonpath": append([]string{}, w.PythonPath...), "module": w.Module,
		"wsgi_file": w.WSGIFile, "deploy": deploy,
	})
	pr, pw, err := os.Pipe()
	if err != nil {
		return djangoReport{Error: fmt.Sprintf("running Django's checks: %v", err)}
	}
	cmd := exec.CommandContext(ctx, w.Python, "-c", djangoCheckScript, string(args))
	cmd.Dir = w.Dir
	cmd.Env = append(os.Environ(), w.Env...)
	if settings != "" {
		cmd.Env = append(cmd.Env, "DJANGO_SETTINGS_MODULE="+settings)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.ExtraFiles = []*os.File{pw}
	cmd.SysProcAttr = pyworker.ChildProcAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		pw.Close()
		pr.Close()
		return djangoReport{Error: fmt.Sprintf("running Django's checks with %s: %v", w.Python, err)}
	}
	pw.Close()
	raw, _ := io.ReadAll(pr)
	pr.Close()
	runErr := cmd.Wait()
	var rep djangoReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		rep = djangoReport{Error: fmt.Sprintf("running Django's checks with %s: %v (its output is in the log)", w.Python, runErr)}
	}
	return rep
}

// addDjango turns Django's messages into check lines: errors fail,
// warnings (and infos) are listed and pass.
func (r *checkRun) addDjango(rep djangoReport, deploy bool, ms float64) {
	what := "django check"
	if deploy {
		what = "django check --deploy"
	}
	switch {
	case rep.Error != "":
		r.Add(smoke.Result{Name: what, Line: what + " could not run: " + rep.Error, Detail: rep.Traceback, DurationMS: ms})
		return
	case rep.Django == "":
		return // not a Django app
	case len(rep.Messages) == 0:
		r.Add(smoke.Result{Name: what, OK: true, Line: fmt.Sprintf("%s: no issues (Django %s)", what, rep.Django), DurationMS: ms})
		return
	}
	for _, m := range rep.Messages {
		line := what + ": "
		if m.Obj != "" {
			line += m.Obj + ": "
		}
		line += fmt.Sprintf("(%s) %s", m.ID, m.Msg)
		res := smoke.Result{Name: strings.TrimSpace(what + " " + m.ID), OK: m.Level < 40, Warning: m.Level < 40, Line: line}
		if m.Hint != "" {
			res.Detail = "HINT: " + m.Hint
		}
		r.Add(res)
	}
}
