package project

// This file runs Django's system checks for `gowsgi check`: `manage.py
// check [--deploy]` in the workers' interpreter, directory, sys.path and
// environment.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/gowsgi/gowsgi/pyworker"
)

// checkScript runs Django's system checks as `manage.py check` does,
// in the workers' interpreter, directory, sys.path and environment, and
// writes what it found as JSON to fd 3 (stdout and stderr belong to the
// project). Without DJANGO_SETTINGS_MODULE it imports the app first, as a
// worker does (a Django wsgi.py sets the variable); an app that does not
// use Django gets {"django": ""}.
const checkScript = `
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

// Report is what checkScript wrote.
type Report struct {
	Django    string    `json:"django"` // "" when the app does not use Django
	Messages  []Message `json:"messages"`
	Error     string    `json:"error"`
	Traceback string    `json:"traceback"`
}

// Message is one of Django's CheckMessages.
type Message struct {
	Level int    `json:"level"` // 40 ERROR and 50 CRITICAL fail, as in `manage.py check`
	ID    string `json:"id"`
	Msg   string `json:"msg"`
	Hint  string `json:"hint"`
	Obj   string `json:"obj"`
}

// RunChecks runs checkScript and returns its report. It is
// killed, with anything it started, when ctx ends.
func RunChecks(ctx context.Context, w pyworker.Options, settings string, deploy bool, log io.Writer) Report {
	args, _ := json.Marshal(map[string]any{
		"dir": w.Dir, "pythonpath": append([]string{}, w.PythonPath...), "module": w.Module,
		"wsgi_file": w.WSGIFile, "deploy": deploy,
	})
	pr, pw, err := os.Pipe()
	if err != nil {
		return Report{Error: fmt.Sprintf("running Django's checks: %v", err)}
	}
	cmd := exec.CommandContext(ctx, w.Python, "-c", checkScript, string(args))
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
		return Report{Error: fmt.Sprintf("running Django's checks with %s: %v", w.Python, err)}
	}
	pw.Close()
	raw, _ := io.ReadAll(pr)
	pr.Close()
	runErr := cmd.Wait()
	var rep Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		rep = Report{Error: fmt.Sprintf("running Django's checks with %s: %v (its output is in the log)", w.Python, runErr)}
	}
	return rep
}
