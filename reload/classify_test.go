package reload

import "testing"

func TestClassify(t *testing.T) {
	imported := map[string]bool{
		"polls/data/choices.txt":                    true,
		"/usr/lib/python3/site-packages/django.pth": true,
	}
	tests := []struct {
		name string
		rel  string
		want Kind
	}{
		{"python module", "polls/views.py", KindCode},
		{"manage.py", "manage.py", KindCode},
		{"python under static is still code", "polls/static/gen.py", KindCode},
		{"path file", "site.pth", KindCode},
		{"extension module", "fast/_speedups.cpython-312-x86_64-linux-gnu.so", KindCode},
		{"translation catalogue", "locale/fr/LC_MESSAGES/django.mo", KindCode},
		{"dotenv", ".env", KindCode},
		{"dotenv variant", ".env.local", KindCode},
		{"named env file", "deploy/prod.env", KindCode},
		{"pyproject", "pyproject.toml", KindCode},
		{"yaml config", "config/app.yaml", KindCode},
		{"ini", "uwsgi.ini", KindCode},
		{"setup.cfg", "setup.cfg", KindCode},
		{"json config", "mysite/config.json", KindCode},
		{"settings file without .py", "mysite/settings.local", KindCode},
		{"imported data file", "polls/data/choices.txt", KindCode},
		{"imported file outside the root", "/usr/lib/python3/site-packages/django.pth", KindCode},
		{"removed package directory", "polls/", KindCode},

		{"template", "polls/templates/polls/index.html", KindTemplate},
		{"html outside templates", "docs/page.html", KindTemplate},
		{"text template", "polls/templates/polls/email.txt", KindTemplate},
		{"xml template", "templates/sitemap.xml", KindTemplate},
		{"jinja2 directory", "polls/jinja2/polls/index.j2", KindTemplate},
		{"jinja extension", "mail/welcome.jinja2", KindTemplate},
		{"json under templates", "templates/api/list.json", KindTemplate},
		{"removed templates directory", "polls/templates/polls/", KindTemplate},

		{"css under static", "polls/static/polls/style.css", KindStatic},
		{"anything under static", "static/robots.txt", KindStatic},
		{"json under static", "static/manifest.json", KindStatic},
		{"js outside static", "frontend/app.js", KindStatic},
		{"image", "assets/logo.PNG", KindStatic},
		{"font", "assets/fonts/inter.woff2", KindStatic},
		{"removed static directory", "polls/static/img/", KindStatic},

		{"readme", "README.md", KindOther},
		{"requirements", "requirements.txt", KindOther},
		{"txt outside templates", "notes.txt", KindOther},
		{"xml outside templates", "pom.xml", KindOther},
		{"no extension", "Makefile", KindOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.rel, imported); got != tc.want {
				t.Errorf("Classify(%q) = %v, want %v", tc.rel, got, tc.want)
			}
		})
	}
}

func TestClassifyNilImported(t *testing.T) {
	if got := Classify("polls/data/choices.txt", nil); got != KindOther {
		t.Errorf("Classify with no imported set = %v, want other", got)
	}
}

func TestKindOrder(t *testing.T) {
	// Batch.Kind is the max of its paths' kinds.
	if !(KindOther < KindStatic && KindStatic < KindTemplate && KindTemplate < KindCode) {
		t.Fatal("kinds are not ordered other < static < template < code")
	}
	if got := Kind(9).String(); got != "Kind(9)" {
		t.Errorf("Kind(9).String() = %q", got)
	}
}
