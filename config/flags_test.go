package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

// runCLI runs a cli.App with Flags() and an --ini flag, as gowsgi serve
// will, and returns what FromCLI made of args.
func runCLI(t *testing.T, disableSep bool, args ...string) (Config, error) {
	t.Helper()
	var cfg Config
	var runErr error
	app := &cli.App{
		Name:                      "gowsgi",
		Flags:                     append(Flags(), &cli.StringFlag{Name: "ini"}),
		DisableSliceFlagSeparator: disableSep,
		HideHelp:                  true,
		Action: func(c *cli.Context) error {
			base := Default()
			if p := c.String("ini"); p != "" {
				var err error
				if base, _, err = Load(p); err != nil {
					return err
				}
			}
			cfg, runErr = FromCLI(c, base)
			return nil
		},
	}
	if err := app.Run(append([]string{"gowsgi"}, args...)); err != nil {
		t.Fatalf("running the app with %q: %v", args, err)
	}
	return cfg, runErr
}

func TestFromCLI(t *testing.T) {
	nginx := filepath.Join(iniDir, "nginx-unix.ini")
	repeated := filepath.Join(iniDir, "repeated.ini")
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, c Config)
		err   string
	}{
		{name: "no flags keeps the file", args: []string{"--ini", nginx}, check: func(t *testing.T, c Config) {
			want, _, _ := Load(nginx)
			if !reflect.DeepEqual(c, want) {
				t.Errorf("got %+v, want the file's %+v", c, want)
			}
		}},
		{name: "a flag overrides the file", args: []string{"--ini", nginx, "--processes", "8"}, check: func(t *testing.T, c Config) {
			if c.Processes != 8 || c.Harakiri != 30*time.Second || c.Module != "mysite.wsgi" {
				t.Errorf("processes %d harakiri %v module %q; want 8, the file's 30s and mysite.wsgi", c.Processes, c.Harakiri, c.Module)
			}
		}},
		{name: "short alias", args: []string{"-p", "3"}, check: func(t *testing.T, c Config) {
			if c.Processes != 3 {
				t.Errorf("processes = %d, want 3", c.Processes)
			}
		}},
		{name: "long alias", args: []string{"--workers", "5", "--venv", "/v"}, check: func(t *testing.T, c Config) {
			if c.Processes != 5 || c.Home != "/v" {
				t.Errorf("processes %d home %q, want 5 and /v", c.Processes, c.Home)
			}
		}},
		{name: "bool false overrides the file", args: []string{"--ini", nginx, "--master=false", "--lazy-apps"}, check: func(t *testing.T, c Config) {
			if c.Master || !c.LazyApps || !c.Vacuum {
				t.Errorf("master %v lazy-apps %v vacuum %v; want false, true and the file's true", c.Master, c.LazyApps, c.Vacuum)
			}
		}},
		{name: "listener flags replace the file's", args: []string{"--ini", repeated, "--http", "127.0.0.1:9000"}, check: func(t *testing.T, c Config) {
			if got := stringsOf(c.HTTP); !reflect.DeepEqual(got, []string{"127.0.0.1:9000"}) {
				t.Errorf("http = %q, want only the flag's", got)
			}
			if len(c.Socket) != 2 {
				t.Errorf("socket = %v, want the file's two", c.Socket)
			}
		}},
		{name: "env adds to the file's, commas kept", args: []string{"--ini", repeated, "--env", "DEBUG=1", "--env", "HOSTS=a,b"}, check: func(t *testing.T, c Config) {
			want := []string{"DJANGO_SETTINGS_MODULE=mysite.settings", "DEBUG=0", "DEBUG=0", "DATABASE_URL=postgres://db/mysite?sslmode=require", "DEBUG=1", "HOSTS=a,b"}
			if !reflect.DeepEqual(c.Env, want) {
				t.Errorf("env = %q, want %q", c.Env, want)
			}
		}},
		{name: "https keeps its commas", args: []string{"--https", ":8443,cert.pem,key.pem"}, check: func(t *testing.T, c Config) {
			want := []HTTPSAddr{{Addr: Addr{Network: "tcp", Port: 8443}, Cert: "cert.pem", Key: "key.pem"}}
			if !reflect.DeepEqual(c.HTTPS, want) {
				t.Errorf("https = %+v, want %+v", c.HTTPS, want)
			}
		}},
		{name: "seconds as in the ini file", args: []string{"--harakiri", "30", "--py-autoreload", "1m30s"}, check: func(t *testing.T, c Config) {
			if c.Harakiri != 30*time.Second || c.PyAutoreload != 90*time.Second {
				t.Errorf("harakiri %v py-autoreload %v, want 30s and 1m30s", c.Harakiri, c.PyAutoreload)
			}
		}},
		{name: "module with callable", args: []string{"--ini", nginx, "--module", "other.app:make_app"}, check: func(t *testing.T, c Config) {
			if c.Module != "other.app" || c.Callable != "make_app" {
				t.Errorf("module %q callable %q, want other.app and make_app", c.Module, c.Callable)
			}
		}},
		{name: "chmod-socket", args: []string{"--chmod-socket", "600"}, check: func(t *testing.T, c Config) {
			if c.ChmodSocket != 0o600 {
				t.Errorf("chmod-socket = %o, want 600", c.ChmodSocket)
			}
		}},
		{name: "bad number", args: []string{"--processes", "two"}, err: `--processes "two": not a whole number`},
		{name: "bad values are all reported", args: []string{"--threads", "0", "--socket", ":99999"},
			err: "--socket \":99999\": port 99999 is not from 0 to 65535\n--threads \"0\": must be at least 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := runCLI(t, true, tc.args...)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				var ve *ValueError
				if !errors.As(err, &ve) {
					t.Errorf("err %T is not a *ValueError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

// TestFromCLINeedsNoSeparator pins why FromCLI checks the app: urfave/cli
// would cut "--https :8443,cert.pem,key.pem" into three values.
func TestFromCLINeedsNoSeparator(t *testing.T) {
	_, err := runCLI(t, false, "--processes", "2")
	if !errors.Is(err, errSliceSeparator) {
		t.Fatalf("err = %v, want errSliceSeparator", err)
	}
}

// TestFromCLIKeepsBase checks that FromCLI copies the slices it appends to
// rather than writing into the caller's Config.
func TestFromCLIKeepsBase(t *testing.T) {
	base := Default()
	base.Env = make([]string, 1, 8) // room to append in place
	base.Env[0] = "A=1"
	app := &cli.App{Flags: Flags(), DisableSliceFlagSeparator: true, HideHelp: true,
		Action: func(c *cli.Context) error {
			got, err := FromCLI(c, base)
			if err != nil {
				return err
			}
			if len(got.Env) != 2 {
				t.Errorf("env = %q", got.Env)
			}
			return nil
		}}
	if err := app.Run([]string{"x", "--env", "B=2"}); err != nil {
		t.Fatal(err)
	}
	if got := base.Env[:2]; got[1] != "" {
		t.Errorf("FromCLI wrote into base's array: %q", got)
	}
}

// flagSamples is a value for each key, used to check that a key means the
// same in an ini file and as a flag. Every key must have one.
var flagSamples = map[string]string{
	"engine": "off", "socket": "/run/s.sock", "http": ":8000", "http-socket": "127.0.0.1:8001", "https": ":8443,c.pem,k.pem",
	"chdir": "/srv", "wsgi-file": "app.py", "module": "mysite.wsgi:app", "callable": "app", "home": "/venv",
	"python": "/usr/bin/python3", "pythonpath": "/lib", "env": "A=1,2",
	"processes": "4", "threads": "8", "master": "", "lazy-apps": "", "queue-gets": "", "enable-threads": "", "need-app": "",
	"pidfile": "/tmp/p", "daemonize": "/tmp/log", "logto": "/tmp/log2", "vacuum": "", "die-on-term": "",
	"disable-logging": "", "no-defer-accept": "", "touch-reload": "/tmp/t", "py-autoreload": "3", "uid": "www-data", "gid": "33",
	"chmod-socket": "660", "harakiri": "60", "max-requests": "1000", "buffer-size": "65535", "listen": "128",
	"limit-post": "1048576", "reload-on-rss": "256", "static-map": "/static=/srv/static", "stats": ":9191", "trusted-proxies": "10.0.0.0/8",
	"strict": "", "evil-reload-on-rss": "512", "log-format": "json", "log-maxsize": "1048576", "socket-timeout": "5",
	"uwsgi-socket": ":3031", "protocol": "http", "chown-socket": "www-data:www-data", "logdate": "true",
	"log-4xx": "", "log-5xx": "", "add-header": "X-Frame-Options: DENY", "harakiri-verbose": "", "max-worker-lifetime": "3600",
	"static-map2": "/static=/srv", "static-expires": "/static/.* 86400", "post-buffering": "4096", "offload-threads": "2",
	"thunder-lock": "", "single-interpreter": "",
}

// TestEveryKeyIsAFlag checks, key by key, that "--key value" gives the
// same Config as "key = value" in an ini file.
func TestEveryKeyIsAFlag(t *testing.T) {
	dir := t.TempDir()
	for _, k := range keys {
		t.Run(k.name, func(t *testing.T) {
			sample, ok := flagSamples[k.name]
			if !ok {
				t.Fatalf("no sample value for %s in flagSamples", k.name)
			}
			path := filepath.Join(dir, k.name+".ini")
			text := "[uwsgi]\n" + k.name + " = " + sample + "\n"
			if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			fromINI, warnings, err := Load(path)
			if err != nil || len(warnings) > 0 {
				t.Fatalf("loading %q: %v %v", text, err, warnings)
			}
			args := []string{"--" + k.name}
			if k.kind != kindBool {
				args = append(args, sample)
			}
			fromCLI, err := runCLI(t, true, args...)
			if err != nil {
				t.Fatal(err)
			}
			if fromCLI.Describe() != fromINI.Describe() {
				t.Errorf("%q and %q differ:\n%s\n%s", strings.TrimSpace(text), args, fromINI.Describe(), fromCLI.Describe())
			}
			if fromCLI.Describe() == Default().Describe() {
				t.Errorf("the sample %q leaves the default config: pick one that changes it", sample)
			}
		})
	}
}

func TestFlagsNames(t *testing.T) {
	seen := map[string]bool{}
	flags := Flags()
	if len(flags) != len(keys) {
		t.Fatalf("%d flags for %d keys", len(flags), len(keys))
	}
	for i, f := range flags {
		names := f.Names()
		if names[0] != keys[i].name {
			t.Errorf("flag %d is %q, want %q", i, names[0], keys[i].name)
		}
		for _, n := range names {
			if seen[n] {
				t.Errorf("flag name %q used twice", n)
			}
			seen[n] = true
		}
	}
}
