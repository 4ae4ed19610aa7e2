package main

// This file keeps the zygote's Django stage (pyworker/python/_gowsgi/
// djangostage.py) in step with the project: the stage has imported the
// settings, which are the project's own code, so a save of a file they
// imported starts a new zygote, and with it a new stage, instead of forking
// workers that would hold the old settings.

import (
	"path/filepath"

	"github.com/gowsgi/gowsgi/reload"
)

// settingsChanged reports whether b touches a file that importing the
// settings imported (djangoinfo.py's settings_files).
func (d *devServer) settingsChanged(b reload.Batch) bool {
	if d.info == nil {
		return false
	}
	for _, p := range b.Paths {
		abs := p
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(d.dir, p)
		}
		for _, f := range d.info.SettingsFiles {
			if abs == f {
				return true
			}
		}
	}
	return false
}
