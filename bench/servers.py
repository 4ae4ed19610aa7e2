"""The servers under test: how each one is started for an app, the nginx in
front of the uwsgi-protocol ones, and the apps themselves.

Every server runs with 2 worker processes (a "2x2" variant adds 2 threads
each), binds 127.0.0.1, and logs no requests (runserver cannot be told not
to: its request log goes to the scenario's log file, which is cheap).

gowsgi has two request paths (issue 14): the in-worker engine, its default,
where each worker's Python threads accept, parse and answer through a Go
library loaded after the fork, and the proxy path (`--engine off`), where the
master serves the connections and hands each request to a worker over a unix
socket. The "gowsgi" rows run the default; the "gowsgi-proxy" rows force the
fallback, and the runner checks that each row ran on the path it names
(run.py's check_path).
"""

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".bench-venv")
VENV_BIN = os.path.join(VENV, "bin")
PYTHON = os.path.join(VENV_BIN, "python")
GOWSGI = os.path.join(ROOT, "bin", "gowsgi")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
UWSGI_PARAMS = "/etc/nginx/uwsgi_params"


@dataclass
class App:
    name: str
    dir: str
    module: str
    env: dict = field(default_factory=dict)
    django: bool = False


APPS = {
    "hello": App("hello", os.path.join(ROOT, "testdata", "apps"), "hello:application"),
    "mysite": App(
        "mysite",
        os.path.join(ROOT, "testdata", "mysite"),
        "mysite.wsgi:application",
        env={"DJANGO_DEBUG": "0"},
        django=True,
    ),
}


def free_port():
    """A port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(extra=None):
    """The environment every server runs with: the bench venv first on PATH,
    no inherited VIRTUAL_ENV or PYTHONPATH, plus extra."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    env.update(extra or {})
    return env


_help_cache = {}


def gowsgi_serve_has(flag):
    """Whether `gowsgi serve --help` lists flag (features land while the
    benchmark is written: --socket, --pidfile)."""
    if "serve" not in _help_cache:
        try:
            out = subprocess.run([GOWSGI, "serve", "--help"], capture_output=True, text=True, timeout=10)
            _help_cache["serve"] = out.stdout + out.stderr
        except (OSError, subprocess.TimeoutExpired):
            _help_cache["serve"] = ""
    return f"{flag} " in _help_cache["serve"] or f"{flag}," in _help_cache["serve"]


@dataclass
class Server:
    """One server configuration. argv(app, addr) is its command line for app
    listening on addr (HTTP, or the uwsgi protocol when front == "nginx")."""

    name: str
    family: str  # gowsgi, uwsgi, gunicorn, granian, runserver
    threads: int
    front: str  # "http": clients talk to it; "nginx": nginx -> uwsgi protocol
    argv: object
    django_only: bool = False
    requires: str = ""  # a gowsgi serve flag this configuration needs
    path: str = ""  # gowsgi only: "engine" or "proxy", the request path it must run on

    @property
    def variant(self):
        return f"2x{self.threads}" if self.family != "runserver" else "1 proc, threaded"

    def available(self):
        """'' when it can run, else why not."""
        if self.requires and not gowsgi_serve_has(self.requires):
            return f"not available: `gowsgi serve --help` does not list {self.requires}"
        return ""


def _gowsgi(listen_flag, threads, *extra):
    """gowsgi serve on its default request path (the in-worker engine), or,
    with extra = ("--engine", "off"), on the proxy path."""
    def argv(app, addr):
        return [
            GOWSGI, "serve", listen_flag, addr, "--chdir", app.dir, "--module", app.module,
            "--processes", "2", "--threads", str(threads), "--python", PYTHON, "--disable-logging", *extra,
        ]
    return argv


PROXY = ("--engine", "off")


def _uwsgi(listen_flag, threads):
    def argv(app, addr):
        a = [
            os.path.join(VENV_BIN, "uwsgi"), listen_flag, addr, "--master", "--processes", "2",
            "--chdir", app.dir, "--pythonpath", app.dir, "--module", app.module,
            "--virtualenv", VENV, "--disable-logging", "--die-on-term", "--need-app",
            # uWSGI's default listen queue is 100; the others use 1024 or more.
            "--listen", "1024",
        ]
        if listen_flag == "--http-socket":
            # --http-socket closes every connection after the answer without
            # saying so; keep-alive clients then send their next request on
            # a closing connection and lose it (wrk counts a read error per
            # answer). Announcing the close is what an operator would do.
            a += ["--add-header", "Connection: close"]
        if threads > 1:
            a += ["--threads", str(threads)]
        return a
    return argv


def _gunicorn(worker_class, threads):
    def argv(app, addr):
        return [
            os.path.join(VENV_BIN, "gunicorn"), "--bind", addr, "--workers", "2",
            "--worker-class", worker_class, "--threads", str(threads), "--chdir", app.dir,
            "--log-level", "warning", app.module,
        ]
    return argv


def _granian(threads):
    def argv(app, addr):
        host, port = addr.rsplit(":", 1)
        return [
            os.path.join(VENV_BIN, "granian"), "--interface", "wsgi", "--host", host, "--port", port,
            "--workers", "2", "--blocking-threads", str(threads), "--working-dir", app.dir,
            "--no-access-log", "--log-level", "warning", app.module,
        ]
    return argv


def _runserver(app, addr):
    return [PYTHON, os.path.join(app.dir, "manage.py"), "runserver", "--noreload", addr]


def throughput_servers():
    """Every configuration of the throughput scenarios, gowsgi first."""
    out = []
    for t in (1, 2):
        sfx = "" if t == 1 else "-2x2"
        out += [
            Server("gowsgi" + sfx, "gowsgi", t, "http", _gowsgi("--http", t), path="engine"),
            Server("gowsgi-nginx" + sfx, "gowsgi", t, "nginx", _gowsgi("--socket", t), requires="--socket", path="engine"),
        ]
        if t == 1:
            # The fallback, 2x1 only: its figures beside the engine's. GET
            # queueing (queue-gets, opt-in) lives in the master's slot pool,
            # so it only does anything on the proxy path.
            out += [
                Server("gowsgi-proxy", "gowsgi", t, "http", _gowsgi("--http", t, *PROXY), requires="--engine", path="proxy"),
                Server("gowsgi-proxy-nginx", "gowsgi", t, "nginx", _gowsgi("--socket", t, *PROXY), requires="--engine", path="proxy"),
                Server("gowsgi-proxy-queue-gets", "gowsgi", t, "http", _gowsgi("--http", t, *PROXY, "--queue-gets"),
                       requires="--queue-gets", path="proxy"),
            ]
        if t == 1:  # one uWSGI HTTP flavour in 2x2 is enough: --http11-socket, the targets' peer
            out.append(Server("uwsgi-http-socket", "uwsgi", t, "http", _uwsgi("--http-socket", t)))
        out += [
            Server("uwsgi-http11-socket" + sfx, "uwsgi", t, "http", _uwsgi("--http11-socket", t)),
            Server("uwsgi-nginx" + sfx, "uwsgi", t, "nginx", _uwsgi("--socket", t)),
            Server(
                ("gunicorn-sync" if t == 1 else "gunicorn-gthread-2x2"), "gunicorn", t, "http",
                _gunicorn("sync" if t == 1 else "gthread", t),
            ),
            Server("granian" + sfx, "granian", t, "http", _granian(t)),
        ]
    out.append(Server("runserver", "runserver", 1, "http", _runserver, django_only=True))
    return out


def reference_for(server, names):
    """The gowsgi configuration a row is compared with: the same threads and
    the same front (nginx rows against gowsgi behind nginx when it ran)."""
    sfx = "-2x2" if server.threads == 2 else ""
    if server.front == "nginx" and "gowsgi-nginx" + sfx in names:
        return "gowsgi-nginx" + sfx
    return "gowsgi" + sfx


NGINX_CONF = """daemon off;
master_process on;
worker_processes 2;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream app {{ server {backend}; }}
    server {{
        listen {front};
        location / {{
            include {params};
            uwsgi_pass app;
        }}
    }}
}}
"""


def nginx_argv(workdir, front, backend):
    """Write an nginx config (nginx on front passing the uwsgi protocol to
    backend) into workdir and return nginx's command line."""
    os.makedirs(workdir, exist_ok=True)
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=workdir, front=front, backend=backend, params=UWSGI_PARAMS))
    return [NGINX, "-p", workdir, "-c", conf, "-e", os.path.join(workdir, "nginx-error.log")]
