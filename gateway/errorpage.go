package gateway

import (
	"html/template"
	"net/http"
	"sync"

	"github.com/gowsgi/gowsgi/pyworker"
)

// The page's template is parsed the first time the page is answered, not
// at init: a package-level template would be parsed in every process that
// links the package, the engine library in each worker too, and would link
// the template parser there (TestEngineLibraryLinks).
var (
	bootErrorOnce sync.Once
	bootErrorT    *template.Template
)

func bootErrorTmpl() *template.Template {
	bootErrorOnce.Do(func() { bootErrorT = template.Must(template.New("boot").Parse(bootErrorPage)) })
	return bootErrorT
}

const bootErrorPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Type}} at import | gowsgi</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#fff;color:#222}
header{background:#ffc;padding:1em 2em;border-bottom:1px solid #ddd}
h1{font-size:1.4em;margin:0 0 .3em}
.msg{font-family:monospace;font-size:1.1em;white-space:pre-wrap}
section{padding:1em 2em}
table.src{border-collapse:collapse;font-family:monospace;width:100%}
table.src td{padding:0 .6em;white-space:pre}
table.src td.n{color:#888;text-align:right;width:4em}
table.src tr.cur{background:#fdd}
pre.tb{background:#f6f6f6;padding:1em;overflow:auto}
footer{color:#666;padding:1em 2em}
</style></head><body>
<header><h1>{{.Type}}: the app failed to import</h1>
<div class="msg" id="exception">{{.Message}}</div>
{{if .Filename}}<p>in <code id="location">{{.Filename}}, line {{.Lineno}}</code></p>{{end}}</header>
{{if .Source}}<section><table class="src">{{range .Source}}<tr{{if .Current}} class="cur"{{end}}><td class="n">{{.Lineno}}</td><td>{{.Line}}</td></tr>{{end}}</table></section>{{end}}
<section><h2>Traceback</h2><pre class="tb">{{.Traceback}}</pre></section>
<footer>Every request gets this page until the code imports again. Fix the error and save: this page reloads by itself with the new code.</footer>
</body></html>
`

// WriteBootError answers with a 500 HTML page describing an import failure:
// the exception, the file and line, the source around it and the traceback.
func WriteBootError(w http.ResponseWriter, be *pyworker.BootError) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusInternalServerError)
	bootErrorTmpl().Execute(w, be)
}
