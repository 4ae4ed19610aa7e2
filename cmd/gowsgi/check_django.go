package main

// This file is `gowsgi check`'s Django part: the project is found as dev
// finds it, and Django's system checks (package django) become check lines.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gowsgi/gowsgi/config"
	"github.com/gowsgi/gowsgi/project"
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
	if settings, err = project.FindSettings(abs, settings); err != nil {
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
	info, err := project.Inspect(python, abs, settings, cfg.Env)
	if err != nil {
		return cfg, "", err
	}
	if info.WSGIApplication == "" {
		return cfg, "", &usageError{Msg: fmt.Sprintf("%s has no WSGI_APPLICATION", settings), Hint: "set WSGI_APPLICATION = \"mysite.wsgi.application\" in the settings, or pass --module."}
	}
	cfg.Chdir = abs
	cfg.Module, cfg.Callable = project.SplitWSGIApplication(info.WSGIApplication)
	return cfg, settings, nil
}

// addDjango turns Django's messages into check lines: errors fail,
// warnings (and infos) are listed and pass.
func (r *checkRun) addDjango(rep project.Report, deploy bool, ms float64) {
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
