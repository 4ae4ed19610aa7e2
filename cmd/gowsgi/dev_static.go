package main

// This file is what `gowsgi dev` serves without the app: STATIC_URL from
// the staticfiles finders and MEDIA_URL from MEDIA_ROOT, as runserver
// does; master's dev mode answers them in front of the app.

import (
	"strings"

	"github.com/gowsgi/gowsgi/gateway"
)

// devMounts are the static and media mounts of the project. Their files
// are revalidated on every request (Cache-Control: no-cache with an ETag)
// so a live reload shows a saved stylesheet (issue 15, item 2).
func (d *devProject) devMounts(static, insecure bool) []*gateway.Static {
	info := d.info
	if info == nil || !static {
		return nil
	}
	var mounts []*gateway.Static
	if info.StaticFiles && (info.Debug || insecure) && strings.HasPrefix(info.StaticURL, "/") {
		st := &gateway.Static{URL: info.StaticURL, Revalidate: true}
		for _, sd := range info.StaticDirs {
			st.Dirs = append(st.Dirs, gateway.StaticDir{Prefix: sd[0], Root: sd[1]})
		}
		mounts = append(mounts, st)
	}
	if strings.HasPrefix(info.MediaURL, "/") && info.MediaURL != "/" && info.MediaRoot != "" {
		mounts = append(mounts, &gateway.Static{URL: info.MediaURL, Dirs: []gateway.StaticDir{{Root: info.MediaRoot}}, Revalidate: true})
	}
	return mounts
}
