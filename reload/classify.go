package reload

// This file decides what a changed path means for the running app: a new
// Python worker generation, a template cache flush, or only a browser
// refresh.

import (
	"fmt"
	"path"
	"strings"
)

// Kind says what a change needs. Kinds are ordered: a batch takes the
// greatest Kind of its paths, so one .py file among fifty .css files makes
// the whole batch KindCode.
type Kind uint8

// Kinds, from the least to the most work for the server.
const (
	// KindOther is a file that is neither code, template nor static
	// (README.md, docs): nothing in the running app depends on it.
	KindOther Kind = iota
	// KindStatic is served as a file (css, js, images, fonts, anything
	// under a static directory): the browser needs a refresh, the workers
	// do not.
	KindStatic
	// KindTemplate is a template (*.html, anything under a templates or
	// jinja2 directory): cached templates are stale, imported code is not.
	KindTemplate
	// KindCode is Python code, a compiled extension, a translation, an
	// env file or a config file the app reads at import time, or any file
	// the app imported: only a new worker generation sees the change.
	KindCode
)

var kindNames = [...]string{"other", "static", "template", "code"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Extensions by kind; all lower case, with the dot.
var (
	// codeExts are loaded once per interpreter: .pth files and compiled
	// extensions at start-up, .mo catalogues on the first gettext call.
	codeExts = map[string]bool{".py": true, ".pyw": true, ".pth": true, ".so": true, ".pyd": true, ".mo": true, ".env": true}

	// configExts are read by settings modules at import time, so a change
	// needs a new generation; under static/ or templates/ they are assets.
	configExts = map[string]bool{".json": true, ".toml": true, ".yaml": true, ".yml": true, ".ini": true, ".cfg": true}

	templateExts = map[string]bool{".html": true, ".htm": true, ".djhtml": true, ".jinja": true, ".jinja2": true, ".j2": true}

	staticExts = map[string]bool{
		".css": true, ".scss": true, ".sass": true, ".less": true, ".js": true, ".mjs": true, ".map": true,
		".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".svg": true, ".webp": true, ".avif": true, ".ico": true, ".bmp": true,
		".woff": true, ".woff2": true, ".ttf": true, ".otf": true, ".eot": true,
		".mp4": true, ".webm": true, ".mp3": true, ".ogg": true, ".wav": true,
	}

	// staticDirs and templateDirs are Django's conventional directory
	// names (the Jinja2 backend looks in "jinja2").
	staticDirs   = map[string]bool{"static": true}
	templateDirs = map[string]bool{"templates": true, "jinja2": true}
)

// Classify says what a change to rel needs. rel is slash-separated and
// relative to the project root (or absolute for a file outside it); a
// trailing slash marks a directory that was removed or moved away, which is
// KindCode unless it lies under a static or templates directory (a package
// may have gone). imported holds the files the app has imported, keyed the
// same way; any of them is KindCode whatever its name. Classify looks only
// at the name, never at the file system.
func Classify(rel string, imported map[string]bool) Kind {
	if imported[rel] {
		return KindCode
	}
	isDir := strings.HasSuffix(rel, "/")
	segs := splitPath(rel)
	if len(segs) == 0 {
		return KindCode // the root itself
	}
	base := segs[len(segs)-1]
	dirs := segs[:len(segs)-1]
	if isDir {
		dirs = segs
	}
	ext := strings.ToLower(path.Ext(base))

	if !isDir && (codeExts[ext] || base == ".env" || strings.HasPrefix(base, ".env.")) {
		return KindCode
	}
	if anyIn(dirs, staticDirs) {
		return KindStatic
	}
	if anyIn(dirs, templateDirs) {
		return KindTemplate
	}
	switch {
	case isDir:
		return KindCode
	case templateExts[ext] || strings.HasPrefix(ext, ".jinja"):
		return KindTemplate
	case configExts[ext]:
		return KindCode
	case strings.Contains(strings.ToLower(strings.TrimSuffix(base, ext)), "settings"):
		// local_settings.example, settings.local: read by settings.py.
		return KindCode
	case staticExts[ext]:
		return KindStatic
	}
	return KindOther
}

// anyIn reports whether any of segs is in names.
func anyIn(segs []string, names map[string]bool) bool {
	for _, s := range segs {
		if names[s] {
			return true
		}
	}
	return false
}
