package config

import (
	"strings"
	"testing"
	"time"
)

// valid returns a Config that passes Validate, for tests to break.
func valid() Config {
	c := Default()
	c.HTTP = []Addr{{Network: "tcp", Host: "127.0.0.1", Port: 8000}}
	c.Module = "mysite.wsgi"
	return c
}

func TestDefault(t *testing.T) {
	c := Default()
	if c.Processes != 1 || c.Threads != 1 || c.Callable != "application" || c.BufferSize != 4096 || c.Listen != 0 {
		t.Errorf("Default() = %+v", c)
	}
	if c.Harakiri != 0 || c.ChmodSocket != 0 || !c.Stats.IsZero() || c.Strict {
		t.Errorf("Default() sets what should be off: %+v", c)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		opts   ValidateOptions
		want   []string // the joined errors, in order; none for ok
	}{
		{name: "valid", change: func(c *Config) {}},
		{name: "no listener", change: func(c *Config) { c.HTTP = nil },
			want: []string{"no listener: set http = 127.0.0.1:8000 (HTTP) or socket = 127.0.0.1:3031 (uwsgi protocol for nginx)"}},
		{name: "no listener allowed", change: func(c *Config) { c.HTTP = nil }, opts: ValidateOptions{NoListener: true}},
		{name: "no app", change: func(c *Config) { c.Module = "" },
			want: []string{"no app: set wsgi-file = mysite/wsgi.py or module = mysite.wsgi:application"}},
		{name: "no app allowed", change: func(c *Config) { c.Module = "" }, opts: ValidateOptions{NoApp: true}},
		{name: "two apps", change: func(c *Config) { c.WSGIFile = "app.py" },
			want: []string{"wsgi-file = app.py and module = mysite.wsgi are both set: keep one (gowsgi serves one app)"}},
		{name: "two apps even when the app is optional", change: func(c *Config) { c.WSGIFile = "app.py" }, opts: ValidateOptions{NoApp: true},
			want: []string{"wsgi-file = app.py and module = mysite.wsgi are both set: keep one (gowsgi serves one app)"}},
		{name: "bad module", change: func(c *Config) { c.Module = "mysite/wsgi.py" },
			want: []string{"module = mysite/wsgi.py: a module is a dotted name, and this looks like a file: use wsgi-file = mysite/wsgi.py"}},
		{name: "empty callable", change: func(c *Config) { c.Callable = "" },
			want: []string{"callable is empty: remove it for the default, application"}},
		{name: "zero processes and threads", change: func(c *Config) { c.Processes, c.Threads = 0, -1 },
			want: []string{"processes = 0: must be at least 1", "threads = -1: must be at least 1"}},
		{name: "buffer too big", change: func(c *Config) { c.BufferSize = 2 << 20 },
			want: []string{"buffer-size = 2097152: must be at most 1048576"}},
		{name: "negative harakiri", change: func(c *Config) { c.Harakiri = -time.Second },
			want: []string{"harakiri = -1s: must not be negative"}},
		{name: "empty unix path", change: func(c *Config) { c.Socket = []Addr{{Network: "unix"}} },
			want: []string{"socket = : empty unix socket path: name a file, e.g. /run/mysite.sock"}},
		{name: "bad network", change: func(c *Config) { c.HTTPSocket = []Addr{{Network: "udp", Port: 1}} },
			want: []string{`http-socket = : network "udp" is not tcp or unix`}},
		{name: "port out of range", change: func(c *Config) { c.HTTP[0].Port = 70000 },
			want: []string{"http = 127.0.0.1:70000: port 70000 is not from 0 to 65535"}},
		{name: "same address twice", change: func(c *Config) { c.Socket = c.HTTP },
			want: []string{"socket = 127.0.0.1:8000 and http = 127.0.0.1:8000 are the same address: give each listener its own port or path"}},
		{name: "stats on a listener's address", change: func(c *Config) { c.Stats = c.HTTP[0] },
			want: []string{"http = 127.0.0.1:8000 and stats = 127.0.0.1:8000 are the same address: give each listener its own port or path"}},
		{name: "stats alone is no listener", change: func(c *Config) { c.Stats, c.HTTP = c.HTTP[0], nil },
			want: []string{"no listener: set http = 127.0.0.1:8000 (HTTP) or socket = 127.0.0.1:3031 (uwsgi protocol for nginx)"}},
		{name: "port 0 twice is fine", change: func(c *Config) {
			c.HTTP = []Addr{{Network: "tcp", Host: "127.0.0.1"}}
			c.Socket = []Addr{{Network: "tcp", Host: "127.0.0.1", Port: 1}}
		}},
		{name: "https without key", change: func(c *Config) {
			c.HTTPS = []HTTPSAddr{{Addr: Addr{Network: "tcp", Port: 8443}, Cert: "c.pem"}}
		}, want: []string{"https = :8443,c.pem,: needs a certificate and a key: https = :8443,cert.pem,key.pem"}},
		{name: "bad env", change: func(c *Config) { c.Env = []string{"A=1", "=x"} },
			want: []string{"env = =x: not KEY=VALUE (for example env = DJANGO_SETTINGS_MODULE=mysite.settings)"}},
		{name: "bad static map", change: func(c *Config) { c.StaticMap = []StaticMap{{Prefix: "static", Dir: "/srv"}} },
			want: []string{"static-map = static=/srv: not /PREFIX=DIR (for example static-map = /static=/srv/mysite/static)"}},
		{name: "daemonize and logto", change: func(c *Config) { c.Daemonize, c.Logto = "/a.log", "/b.log" }},
		{name: "chmod out of range", change: func(c *Config) { c.ChmodSocket = 0o1777 },
			want: []string{"chmod-socket = 1777: not a permission (000 to 777)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.change(&c)
			err := c.ValidateWith(tc.opts)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("ValidateWith: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateWith passed; want %q", tc.want)
			}
			if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("ValidateWith:\n%s\nwant:\n%s", err, strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestValues(t *testing.T) {
	tests := []struct {
		name string
		key  string
		in   string
		want string // the key's value in Describe's syntax
		err  string
	}{
		{name: "seconds", key: "harakiri", in: "30", want: "30s"},
		{name: "go duration", key: "harakiri", in: "1m30s", want: "1m30s"},
		{name: "zero seconds", key: "harakiri", in: "0", want: "0s"},
		{name: "negative seconds", key: "harakiri", in: "-5", err: "must not be negative"},
		{name: "fraction without unit", key: "harakiri", in: "1.5", err: "not a whole number of seconds (or a duration such as 1m30s)"},
		{name: "seconds overflow", key: "harakiri", in: "99999999999", err: "too large"},
		{name: "plus sign", key: "processes", in: "+4", err: "not a whole number"},
		{name: "number overflow", key: "max-requests", in: "99999999999999999999", err: "too large"},
		{name: "size", key: "limit-post", in: "10485760", want: "10485760"},
		{name: "size words", key: "limit-post", in: "10M", err: "not a whole number of bytes"},
		{name: "buffer-size uWSGI max", key: "buffer-size", in: "65535", want: "65535"},
		{name: "buffer-size gowsgi max", key: "buffer-size", in: "1048577", err: "must be at most 1048576"},
		{name: "listen zero is the kernel default", key: "listen", in: "0", want: "0"},
		{name: "bool bare", key: "master", in: "", want: "true"},
		{name: "bool mixed case", key: "master", in: "Off", want: "false"},
		{name: "bool bad", key: "master", in: "y", err: "not a boolean: use true or false"},
		{name: "mode bare", key: "chmod-socket", in: "", want: "0666"},
		{name: "mode leading zero", key: "chmod-socket", in: "0660", want: "0660"},
		{name: "mode 8", key: "chmod-socket", in: "680", err: "not an octal permission such as 660"},
		{name: "mode too big", key: "chmod-socket", in: "1777", err: "not a permission: the largest is 777"},
		{name: "mode zero", key: "chmod-socket", in: "000", err: "000 would let nobody connect: use 660 (owner and group) or 666 (everyone)"},
		{name: "env value with equals", key: "env", in: "Q=a=b", want: "[Q=a=b]"},
		{name: "env empty value", key: "env", in: "EMPTY=", want: "[EMPTY=]"},
		{name: "env no key", key: "env", in: "=x", err: "not KEY=VALUE (for example env = DJANGO_SETTINGS_MODULE=mysite.settings)"},
		{name: "static map", key: "static-map", in: "/s=/srv/s", want: "[/s=/srv/s]"},
		{name: "static map without slash", key: "static-map", in: "s=/srv/s", err: "not /PREFIX=DIR (for example static-map = /static=/srv/mysite/static)"},
		{name: "https full", key: "https", in: ":443,c,k,HIGH,ca.pem", want: "[:443,c,k,HIGH,ca.pem]"},
		{name: "https ca without ciphers", key: "https", in: ":443,c,k,,ca.pem", want: "[:443,c,k,,ca.pem]"},
		{name: "https short", key: "https", in: ":443,c", err: "not ADDR,CERT,KEY (for example https = :8443,cert.pem,key.pem)"},
		{name: "https bad addr", key: "https", in: ":x,c,k", err: `address ":x": port "x" is not a number from 0 to 65535`},
		{name: "module", key: "module", in: "a.b_c.d", want: "a.b_c.d"},
		{name: "module with callable", key: "module", in: "a.b:app", want: "a.b:app"},
		{name: "module path", key: "module", in: "app.py", err: "a module is a dotted name, and this looks like a file: use wsgi-file = app.py"},
		{name: "module factory call", key: "module", in: "app:create_app()", want: "app:create_app()"},
		{name: "module empty part", key: "module", in: "a..b", err: "not pkg.mod or pkg.mod:callable (for example module = mysite.wsgi:application)"},
		{name: "callable", key: "callable", in: "make_app", want: "make_app"},
		{name: "callable digit first", key: "callable", in: "1app", err: "not a Python name, or a factory to call such as create_app() (for example callable = application)"},
		{name: "callable factory", key: "callable", in: "create_app()", want: "create_app()"},
		{name: "empty pythonpath adds nothing", key: "pythonpath", in: "", want: "[]"},
		{name: "line comment hint", key: "threads", in: "2 ; two", err: "not a whole number (uWSGI ini files have no end-of-line comments: put the comment on a line of its own)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := keyIndex[tc.key]
			c := Default()
			err := k.set(&c, tc.in)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("set(%q) = %v, want error %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("set(%q): %v", tc.in, err)
			}
			if got := k.format(&c); got != tc.want {
				t.Errorf("set(%q) gives %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct{ in, want string }{
		{"process", "processes"},
		{"worker", "workers"},
		{"thread", "threads"},
		{"Threads", "threads"},
		{"wsgi_file", "wsgi-file"},
		{"evn", "env"},
		{"chmod-sock", "chmod-socket"},
		{"virtual-env", "virtualenv"},
		{"harakiri-timeout", ""},
		{"frobnicate", ""},
		{"x", ""},
		{strings.Repeat("p", 100), ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := suggest(tc.in); got != tc.want {
				t.Errorf("suggest(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestKeyTable checks the table against itself: every key's field, kind
// and default agree, and no key is both in the table and on the list of
// uWSGI options gowsgi does not apply.
func TestKeyTable(t *testing.T) {
	for _, k := range keys {
		t.Run(k.name, func(t *testing.T) {
			if k.help == "" || k.group == "" {
				t.Error("no help or group")
			}
			if k.kind == kindBool && k.def != "" {
				t.Error("a boolean with a default cannot be turned off by a bare flag")
			}
			c := Default()
			_ = k.value(&c) // panics on a field of the wrong type
			if err := k.checkRange(&c); err != nil {
				t.Errorf("the default is out of range: %v", err)
			}
			for _, n := range append([]string{k.name}, k.aliases...) {
				if _, ok := notApplied[n]; ok {
					t.Errorf("%s is in the key table and on the list of options gowsgi does not apply", n)
				}
			}
		})
	}
}
