package main

// This file reads `gowsgi serve`'s configuration the way uWSGI's command
// line does: the UWSGI_* environment variables, then every --ini in order,
// then the flags (which, unlike uWSGI's, always win over the files), and
// prints it for --print-config and --print-config-sources.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gowsgi/gowsgi/config"
)

// loadServeConfig is loadConfig's work: it returns the validated Config
// and, for --print-config-sources, what was read.
func loadServeConfig(c *cli.Context) (config.Config, config.Loaded, error) {
	cfg, loaded, err := readConfig(c)
	if err != nil {
		return cfg, loaded, err
	}
	for _, name := range config.KeyNames() {
		if c.IsSet(name) {
			loaded.Sources[name] = []config.Source{{Flag: "--" + name}}
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, loaded, &usageError{Msg: err.Error()}
	}
	return cfg, loaded, nil
}

// readConfig reads the UWSGI_* environment, then every --ini in order,
// then the flags over them, printing the warnings; serve and check each
// validate the result their way.
func readConfig(c *cli.Context) (config.Config, config.Loaded, error) {
	loaded, err := config.LoadFiles(c.StringSlice("ini"), config.LoadOptions{Strict: c.Bool("strict")})
	for _, w := range loaded.Warnings {
		fmt.Fprintf(os.Stderr, "gowsgi: warning: %s\n", w)
	}
	if err != nil {
		return loaded.Config, loaded, &usageError{Msg: err.Error(), Hint: "fix the ini file; gowsgi names the line."}
	}
	cfg, err := config.FromCLI(c, loaded.Config)
	if err != nil {
		return cfg, loaded, &usageError{Msg: err.Error()}
	}
	return cfg, loaded, nil
}

// hasUwsgiEnv reports whether a UWSGI_* variable configures gowsgi, so
// that a bare `gowsgi` in a container image that sets UWSGI_MODULE,
// UWSGI_HTTP... serves, as uwsgi does, instead of printing the help.
func hasUwsgiEnv() bool {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); config.IsEnvOption(name) {
			return true
		}
	}
	return false
}

// printSources writes --print-config-sources: the resolved configuration,
// where each value set came from, and every option read and not applied.
//
//	{"config": {...}, "sources": {"processes": ["uwsgi.ini:4"]}, "not_applied": [{"key": "gevent", ...}]}
func printSources(w io.Writer, cfg config.Config, loaded config.Loaded) error {
	sources := map[string][]string{}
	names := make([]string, 0, len(loaded.Sources))
	for k := range loaded.Sources {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, s := range loaded.Sources[k] {
			sources[k] = append(sources[k], s.String())
		}
	}
	notApplied := loaded.NotApplied
	if notApplied == nil {
		notApplied = []config.NotApplied{}
	}
	out := struct {
		Config     config.Config       `json:"config"`
		Sources    map[string][]string `json:"sources"`
		NotApplied []config.NotApplied `json:"not_applied"`
	}{cfg, sources, notApplied}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
