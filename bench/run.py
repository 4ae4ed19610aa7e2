"""gowsgi's side-by-side benchmark: gowsgi (on its in-worker engine and on
the proxy path), uWSGI, gunicorn, granian and runserver serve the same apps
on the same machine in one run.

    .bench-venv/bin/python bench/run.py            # the full run (make bench)
    .bench-venv/bin/python bench/run.py --quick    # smoke run: 1 rep, 3 s
    .bench-venv/bin/python bench/run.py --only gowsgi,uwsgi-http11 --phases throughput
    .bench-venv/bin/python bench/run.py --profile  # where gowsgi's time goes (hello, keep-alive)

bench/setup.sh prepares everything it uses. The machine is shared and noisy,
so only ratios measured in the same run mean anything. All the servers of an
app run at once and wrk goes workload by workload, server after server (the
order rotated each repetition), so the runs a ratio compares are seconds
apart; the tables show medians over the repetitions with their spread.

Phases:
  throughput  first each server alone, once per repetition: time to the
              first 200 and PSS (idle, then after --load-s of load); then
              wrk against hello.py and mysite (/, /items/, POST /form/),
              keep-alive and new-connection (Connection: close) clients,
              side by side, with each server's CPU per request. A gowsgi
              row that does not run on the request path it names (engine
              or proxy) fails instead of measuring the other one
  reload      dev reload under load: rewrite version.py, time to new code, on
              testdata/mysite and on the `wagtail start` site of bench/setup.sh
              (gowsgi dev and runserver; --only wagtail runs just those)
  hup         SIGHUP to the master under load: failed requests, longest stall
              (gowsgi on both request paths)

Writes bench/results/latest.{json,md,png} (--quick: bench/results/tmp/quick.*)
and keeps every server's log under bench/results/tmp/run-*/; prints the
report, then the targets table (issue 14) once more at the end.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import measure  # noqa: E402
import procs  # noqa: E402
import report  # noqa: E402
import servers  # noqa: E402
from servers import APPS, ROOT  # noqa: E402

RESULTS = os.path.join(ROOT, "bench", "results")
LOADGEN = os.path.join(ROOT, "bin", "bench-loadgen")


class Workload:
    def __init__(self, app, method, path, expect, body=None):
        self.app, self.method, self.path, self.expect, self.body = app, method, path, expect, body

    def key(self, client):
        return f"{self.app} {self.method} {self.path} {client}"


FORM_BODY = "name=gowsgi&n=1"
FORM_EXPECT = '"name": "gowsgi"'
WORKLOADS = [
    Workload("hello", "GET", "/", "Hello, World!"),
    Workload("mysite", "GET", "/", "Hello from mysite"),
    Workload("mysite", "GET", "/items/", "<p>3 items</p>"),
    Workload("mysite", "POST", "/form/", FORM_EXPECT, body=FORM_BODY),
]
CLIENTS = ["keep-alive", "new-conn"]


def clients_for(server, w):
    """The clients a server meets on a workload. Connection setup costs the
    same whatever the view does, so /items/ (template and query: the view's
    cost dominates) gets the keep-alive client only, and the 2x2 variants
    get keep-alive on GET paths only: the full matrix twice would not fit in
    the half hour on 2 cores."""
    if server.threads > 1:
        return [] if w.method != "GET" else CLIENTS[:1]
    return CLIENTS[:1] if w.path == "/items/" else CLIENTS


WARM_LUA = r"""
local body = {body}
function init(args)
  reqs = {{}}
  for _, p in ipairs({{{paths}}}) do table.insert(reqs, wrk.format("GET", p)) end
  if body then
    table.insert(reqs, wrk.format("POST", "/form/", {{["Content-Type"] = "application/x-www-form-urlencoded"}}, body))
  end
  i = 0
end
function request() i = i + 1; return reqs[(i % #reqs) + 1] end
"""


def warm_script(workdir, app_name):
    """A wrk script that cycles through every workload of an app, so one
    second warms them all (lazy imports, template and URL caches)."""
    loads = [w for w in WORKLOADS if w.app == app_name]
    paths = ", ".join(measure.lua_str(w.path) for w in loads if w.method == "GET")
    body = next((w.body for w in loads if w.method == "POST"), None)
    path = os.path.join(workdir, f"warm-{app_name}.lua")
    with open(path, "w") as f:
        f.write(WARM_LUA.format(paths=paths, body=measure.lua_str(body)))
    return path


def wrk_with_probe(url, script, duration, w, workdir, started):
    """wrk, plus two probe clients of bench/loadgen (one keep-alive, one
    new-connection, a request each per 100 ms) that record how long a 33rd
    client waits. wrk only reports the requests that completed, so a server
    that serves a few connections and leaves the others queued (uWSGI's
    --http11-socket holds a worker per keep-alive connection) looks fast and
    fair to wrk; the probe's longest wait shows it.

    Also the server's CPU per request: utime + stime of its whole process
    tree (master, zygote, workers; nginx apart) from /proc, sampled before
    wrk starts and after it ends, divided by the good answers of wrk and the
    probe. The other servers of the run are idle meanwhile."""
    trees = {"server": started[-1].pid}
    if len(started) == 2:
        trees["nginx"] = started[0].pid
    cpu0 = {k: procs.tree_cpu(pid) for k, pid in trees.items()}
    t0 = time.monotonic()
    wrk = measure.start_wrk(url, script, duration)
    lg = None
    try:
        # The probe arrives after wrk's 32 connections, like a new visitor.
        time.sleep(0.5)
        lg = measure.Loadgen(LOADGEN, url, os.path.join(workdir, "probe.csv"), keepalive=1, close=1, pace="100ms",
                             method=w.method, body=w.body, expect=w.expect)
        time.sleep(max(0.5, duration - 1.0))
    finally:
        recs = lg.stop() if lg else []
        r = measure.finish_wrk(wrk, duration)
    cpu = {k: procs.cpu_between(cpu0[k], procs.tree_cpu(pid)) for k, pid in trees.items()}
    window = time.monotonic() - t0
    r["probe_requests"] = len(recs)
    r["probe_failed"] = sum(1 for x in recs if x["error"])
    r["probe_max_ms"] = max((x["ms"] for x in recs), default=None)
    good = r.get("ok", 0) + r["probe_requests"] - r["probe_failed"]
    r["cpu_window_s"] = window
    r["cpu_s"] = cpu["server"]
    r["cpu_us_per_req"] = 1e6 * cpu["server"] / good if good else None
    r["cpu_pct"] = 100 * cpu["server"] / window
    if "nginx" in cpu:
        r["nginx_cpu_s"] = cpu["nginx"]
        r["nginx_cpu_us_per_req"] = 1e6 * cpu["nginx"] / good if good else None
    return r


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------- starting


# What gowsgi prints at start about who serves the connections
# (master/master.go), and the engine library as each worker maps it (the
# master extracts the embedded one as engine-HASH.so into its cache
# directory; GOWSGI_ENGINE_LIB can name libgowsgi-engine.so itself).
ENGINE_LINE = "gowsgi: the workers serve the connections (in-worker engine)"
PROXY_LINE = "gowsgi: the master serves the connections (proxy path)"
ENGINE_LIB = re.compile(r"/(engine-[0-9a-f]+|libgowsgi-engine)\.so\b")


def check_path(claim, p, workers=2):
    """Raise unless the gowsgi of p serves on the request path claim names
    ("engine" or "proxy"); return what was seen. Two witnesses: the line
    gowsgi logs at start (with --engine off it logs none: only the engine
    line's absence says anything) and how many of its processes map the
    engine library: every worker on the engine path, none on the proxy
    path. The first answer can come from the first worker that loaded the
    library while the second still loads it, so the engine claim waits up
    to 10 s for all the workers."""
    def seen():
        try:
            with open(p.log_path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            text = ""
        said = "engine" if ENGINE_LINE in text else "proxy" if PROXY_LINE in text else "nothing"
        why = next((ln.split(": ", 2)[-1] for ln in text.splitlines() if ln.startswith(PROXY_LINE)), "")
        mapped = sum(1 for pid in procs.descendants(p.pid) if procs.maps_file(pid, ENGINE_LIB))
        return {"claim": claim, "log_says": said, "why": why, "processes_mapping_the_engine": mapped}

    s = seen()
    if claim == "engine":
        # The workers accept as soon as they load the engine; the master
        # logs its line once their start is over, which can be after the
        # first answer: wait for both witnesses.
        deadline = time.monotonic() + 10
        while (s["log_says"] == "nothing" or s["log_says"] == "engine" and s["processes_mapping_the_engine"] < workers) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
            s = seen()
        ok = s["log_says"] == "engine" and s["processes_mapping_the_engine"] >= workers
    else:
        ok = s["log_says"] != "engine" and s["processes_mapping_the_engine"] == 0
    if not ok:
        raise RuntimeError(f"{p.name} should serve through the {'in-worker engine' if claim == 'engine' else 'proxy path'}, "
                           f"but its log says {s['log_says']!r}{' (' + s['why'] + ')' if s['why'] else ''} and "
                           f"{s['processes_mapping_the_engine']} of its processes map the engine library:\n{p.log_tail()}")
    return s


def start(server, app, workdir, extra_env=None, ready_path="/", ready_expect=""):
    """Start server (and its nginx) for app; return (procs, client port,
    cold start seconds)."""
    env = servers.base_env({**app.env, **(extra_env or {})})
    tag = f"{server.name}-{app.name}"
    started = []
    try:
        if server.front == "nginx":
            front, back = servers.free_port(), servers.free_port()
            ngdir = os.path.join(workdir, f"nginx-{tag}")
            ng = procs.Proc(f"nginx for {server.name}", servers.nginx_argv(ngdir, f"127.0.0.1:{front}", f"127.0.0.1:{back}"),
                            ngdir, env, os.path.join(workdir, f"{tag}.nginx.log"))
            started.append(ng)
            measure.wait_port(front)
            listen = f"127.0.0.1:{back}"
        else:
            front = servers.free_port()
            listen = f"127.0.0.1:{front}"
        p = procs.Proc(server.name, server.argv(app, listen), app.dir, env, os.path.join(workdir, f"{tag}.log"))
        started.append(p)
        cold = measure.wait_ready(p, front, ready_path, ready_expect)
        if server.path:
            p.path_seen = check_path(server.path, p)
        return started, front, cold
    except BaseException:
        for q in reversed(started):
            q.stop()
        raise


def stop(started):
    for q in reversed(started):
        q.stop()


# ---------------------------------------------------------------- throughput


def throughput(args, workdir, res):
    all_servers = [s for s in servers.throughput_servers() if selected(args, s.name)]
    for s in all_servers:
        res["servers"][s.name] = {
            "family": s.family, "threads": s.threads, "front": s.front, "variant": s.variant, "path": s.path,
            "unavailable": s.available(),
            "argv_hello": " ".join(os.path.relpath(a, ROOT) if a.startswith(ROOT) else a for a in s.argv(APPS["mysite"] if s.django_only else APPS["hello"], "127.0.0.1:PORT")),
        }
    runnable = [s for s in all_servers if not s.available()]
    for s in all_servers:
        if s.available():
            log(f"{s.name}: {s.available()}")

    scripts = {}
    for w in WORKLOADS:
        for c in CLIENTS:
            scripts[w.key(c)] = measure.write_lua(
                os.path.join(workdir, f"wrk-{len(scripts)}.lua"), w.method, w.body,
                "application/x-www-form-urlencoded" if w.body else None, c == "new-conn", w.expect)
    warm = {a: warm_script(workdir, a) for a in APPS}

    n_runs = sum(len(clients_for(s, w)) for s in runnable for w in WORKLOADS if not s.django_only or w.app == "mysite")
    n_starts = sum(1 for s in runnable for a in APPS.values() if a.django or not s.django_only)
    est = args.reps * (n_runs * (args.duration + 0.5) + n_starts * (2.5 + args.load_s)) + n_starts * 2
    log(f"throughput: {len(runnable)} servers, {n_runs} wrk runs of {args.duration}s per rep, {args.reps} reps: about {est / 60:.0f} min")

    for rep in range(args.reps):
        for app_name in ("hello", "mysite"):
            memory_and_cold_start(args, workdir, res, rotated(runnable, rep, args.reps), APPS[app_name], warm[app_name], rep)
    for app_name in ("hello", "mysite"):
        side_by_side(args, workdir, res, runnable, APPS[app_name], scripts, warm[app_name])


def rotated(xs, rep, reps):
    """xs rotated so that each repetition starts with a different third."""
    k = (rep * len(xs)) // max(reps, 1) % max(len(xs), 1)
    return xs[k:] + xs[:k]


def serves(s, app):
    return app.django or not s.django_only


def memory_and_cold_start(args, workdir, res, order, app, warm, rep):
    """Each server alone: time to the first 200, PSS idle, PSS after
    --load-s seconds of wrk over all the app's paths. Alone, because PSS
    splits a page shared with another server's processes (the same python
    binary, the same uwsgi binary) between them."""
    loads = [w for w in WORKLOADS if w.app == app.name]
    for s in order:
        if not serves(s, app):
            continue
        mem = res["memory"].setdefault(app.name, {}).setdefault(
            s.name, {"cold_start_s": [], "idle_kib": [], "after_kib": [], "nginx_idle_kib": [], "failures": []})
        try:
            started, port, cold = start(s, app, workdir, ready_path=loads[0].path, ready_expect=loads[0].expect)
        except Exception as e:
            log(f"rep {rep + 1} {s.name} {app.name}: did not start: {e}")
            mem["failures"].append(str(e)[:2000])
            continue
        try:
            backend = started[-1]
            if getattr(backend, "path_seen", None):
                res["servers"][s.name].setdefault("path_seen", backend.path_seen)
            time.sleep(0.5)
            mem["cold_start_s"].append(cold)
            mem["idle_kib"].append(backend.tree_pss_kib())
            mem.setdefault("idle_breakdown", backend.tree_pss_breakdown())
            if len(started) == 2:
                mem["nginx_idle_kib"].append(started[0].tree_pss_kib())
            measure.run_wrk(f"http://127.0.0.1:{port}/", warm, args.load_s)
            mem["after_kib"].append(backend.tree_pss_kib())
            log(f"rep {rep + 1} {s.name:24} {app.name:7} first 200 after {1000 * cold:5.0f} ms, "
                f"PSS idle {mem['idle_kib'][-1] / 1024:5.1f} MiB, after load {mem['after_kib'][-1] / 1024:5.1f} MiB")
        finally:
            stop(started)
    save(args, res)


def side_by_side(args, workdir, res, runnable, app, scripts, warm):
    """Every server of the app runs at once (idle ones cost nothing) and
    the wrk runs go workload by workload, server after server, so the
    runs a ratio compares are seconds apart, not minutes: the machine's
    noise drifts slower than that."""
    loads = [w for w in WORKLOADS if w.app == app.name]
    up = {}
    try:
        for s in runnable:
            if not serves(s, app):
                continue
            try:
                started, port, _ = start(s, app, workdir, ready_path=loads[0].path, ready_expect=loads[0].expect)
            except Exception as e:
                log(f"{s.name} {app.name}: did not start: {e}")
                for w in loads:
                    for c in clients_for(s, w):
                        res["throughput"].setdefault(w.key(c), {}).setdefault(s.name, []).append({"failed": f"did not start: {str(e).splitlines()[0][:200]}"})
                continue
            up[s.name] = (s, started, port)
            measure.run_wrk(f"http://127.0.0.1:{port}/", warm, args.warmup)
        for rep in range(args.reps):
            order = rotated(list(up.values()), rep, args.reps)
            for w in loads:
                for c in CLIENTS:
                    for s, started, port in order:
                        if c not in clients_for(s, w):
                            continue
                        backend = started[-1]
                        if backend.exited() is not None:
                            r = {"failed": f"server exited with status {backend.exited()}"}
                        else:
                            r = wrk_with_probe(f"http://127.0.0.1:{port}{w.path}", scripts[w.key(c)], args.duration, w, workdir, started)
                        res["throughput"].setdefault(w.key(c), {}).setdefault(s.name, []).append(r)
                        log(f"rep {rep + 1} {s.name:24} {w.key(c):32} " + (
                            f"{r['rps']:8.0f} rps  p99 {r['p99_ms']:6.1f} ms  errors {r['errors']}  probe max {r['probe_max_ms'] or 0:6.0f} ms"
                            f"  CPU {r['cpu_us_per_req'] or 0:5.0f} us/req" if "rps" in r else r["failed"]))
                save(args, res)
    finally:
        for s, started, port in up.values():
            stop(started)


# ---------------------------------------------------------------- dev reload


def reload_servers():
    """(name, argv for (copy dir, addr), site) of the dev servers with reload:
    every server on testdata/mysite, and gowsgi dev and runserver on the
    `wagtail start` site that bench/setup.sh makes (issue 15: import-heavy
    projects)."""
    def gowsgi_dev(d, addr):
        return [servers.GOWSGI, "dev", "--python", servers.PYTHON, d, addr]

    def runserver(d, addr):
        return [servers.PYTHON, os.path.join(d, "manage.py"), "runserver", addr]

    def gunicorn_reload(d, addr):
        return [os.path.join(servers.VENV_BIN, "gunicorn"), "--reload", "--bind", addr, "--workers", "1",
                "--worker-class", "gthread", "--threads", "4", "--chdir", d, "mysite.wsgi:application"]

    def gowsgi_dev_proxy(d, addr):
        return gowsgi_dev(d, addr) + ["--engine", "off"]

    out = [("gowsgi dev", gowsgi_dev, "mysite"), ("gowsgi dev --engine off", gowsgi_dev_proxy, "mysite"),
           ("runserver", runserver, "mysite"),
           ("gunicorn --reload", gunicorn_reload, "mysite")]
    if os.path.isfile(os.path.join(WAGTAIL_SITE, "manage.py")):
        out += [("gowsgi dev (wagtail)", gowsgi_dev, "wagtail"), ("runserver (wagtail)", runserver, "wagtail")]
    return out


# The `wagtail start` site bench/setup.sh generates (git-ignored), with a
# /version/ view that serves wagsite/version.py like mysite's.
WAGTAIL_SITE = os.path.join(ROOT, ".bench-wagtail")

# Each site: its directory and the file the reload phase rewrites.
RELOAD_SITES = {
    "mysite": (lambda: APPS["mysite"].dir, os.path.join("mysite", "version.py")),
    "wagtail": (lambda: WAGTAIL_SITE, os.path.join("wagsite", "version.py")),
}

VERSION_PY = '''# Served verbatim by /version/. The hot-reload benchmark rewrites this file and
# polls /version/ until the new value shows up, so keep it a single
# assignment of a plain string literal.
VERSION = "{}"
'''


def dev_reload(args, workdir, res):
    for name, argv, site in reload_servers():
        if not selected(args, name):
            continue
        log(f"reload: {name}")
        site_dir, version_rel = RELOAD_SITES[site]
        slug = name.replace(" ", "-").replace("(", "").replace(")", "").replace("--", "-")
        copy = os.path.join(workdir, "reload-" + slug)
        shutil.copytree(site_dir(), copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "staticfiles"))
        vfile = os.path.join(copy, version_rel)
        with open(vfile, "w") as f:
            f.write(VERSION_PY.format("1"))
        port = servers.free_port()
        env = servers.base_env({"DJANGO_DEBUG": "1"})
        out = {"argv": " ".join(argv("COPY", "127.0.0.1:PORT")).replace(ROOT + "/", ""), "site": site, "rewrites": []}
        res["reload"][name] = out
        p = procs.Proc(name, argv(copy, f"127.0.0.1:{port}"), copy, env, os.path.join(workdir, f"reload-{slug}.log"))
        lg = None
        try:
            out["cold_start_s"] = measure.wait_ready(p, port, "/version/", "1")
            lg = measure.Loadgen(LOADGEN, f"http://127.0.0.1:{port}/version/", os.path.join(workdir, f"reload-{slug}.csv"),
                                 close=8, pace="25ms", report=True)
            time.sleep(args.reload_settle)
            writes = []
            for i in range(args.rewrites):
                new = str(i + 2)
                t_w = time.time_ns()
                with open(vfile, "w") as f:
                    f.write(VERSION_PY.format(new))
                writes.append((t_w, new))
                seen = lg.wait_body(new, t_w, timeout=20)
                time.sleep(1.5 if seen else 0)
                if p.exited() is not None:
                    break
            t_end = time.time_ns()
            recs = lg.stop()
            lg = None
            out["baseline"] = measure.window_stats(recs, 0, writes[0][0], before=True) if writes else {}
            for i, (t_w, new) in enumerate(writes):
                t_next = writes[i + 1][0] if i + 1 < len(writes) else t_end
                firsts = [r["end"] for r in recs if r["end"] >= t_w and not r["error"] and r["body"].strip() == new]
                w = measure.window_stats(recs, t_w, t_next)
                w["reload_ms"] = (min(firsts) - t_w) / 1e6 if firsts else None
                out["rewrites"].append(w)
                log(f"reload {name}: rewrite {i + 1}: new code after " + (f"{w['reload_ms']:.0f} ms" if w["reload_ms"] is not None else "never (20 s)")
                    + f", {w['failed']} failed {w['failures'] or ''}, longest request {w['max_ms']:.0f} ms")
        except Exception as e:
            log(f"reload {name}: {e}")
            out["error"] = str(e)[:2000]
        finally:
            if lg:
                lg.stop()
            p.stop()
        save(args, res)


# ---------------------------------------------------------------- HUP


def hup_servers():
    """(name, argv for (addr, pidfile), gowsgi's request path or "")."""
    app = APPS["mysite"]

    def gowsgi_on(*extra):
        def argv(addr, pidfile):
            a = servers._gowsgi("--http", 1, *extra)(app, addr)
            if servers.gowsgi_serve_has("--pidfile"):
                a += ["--pidfile", pidfile]
            return a
        return argv

    # --http-socket, not --http11-socket: with 8 keep-alive clients the
    # latter gives each worker to one client for good and the others wait
    # seconds with no HUP at all, which would hide what the HUP does.
    def uwsgi(addr, pidfile):
        return servers._uwsgi("--http-socket", 1)(app, addr) + ["--pidfile", pidfile]

    def gunicorn(addr, pidfile):
        a = servers._gunicorn("sync", 1)(app, addr)
        return a[:-1] + ["--pid", pidfile, a[-1]]

    return [("gowsgi serve", gowsgi_on(), "engine"), ("gowsgi serve --engine off", gowsgi_on(*servers.PROXY), "proxy"),
            ("uwsgi --http-socket", uwsgi, ""), ("gunicorn sync", gunicorn, "")]


def master_pid(p, pidfile):
    """The pid to send SIGHUP to: the pidfile's when it names a live
    process of p's session, else the process p started."""
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
        if pid in procs.session_members(p.pid):
            return pid
    except (OSError, ValueError):
        pass
    return p.pid


def hup(args, workdir, res):
    app = APPS["mysite"]
    for name, argv, path in hup_servers():
        if not selected(args, name):
            continue
        log(f"hup: {name}")
        slug = name.replace(" ", "_").replace("-", "")
        port = servers.free_port()
        pidfile = os.path.join(workdir, f"hup-{slug}.pid")
        out = {"argv": " ".join(argv("127.0.0.1:PORT", "PIDFILE")).replace(ROOT + "/", ""), "hups": []}
        res["hup"][name] = out
        p = procs.Proc(name, argv(f"127.0.0.1:{port}", pidfile), app.dir, servers.base_env(app.env), os.path.join(workdir, f"hup-{slug}.log"))
        lg = None
        try:
            measure.wait_ready(p, port, "/", "Hello from mysite")
            if path:
                out["path_seen"] = check_path(path, p)
            lg = measure.Loadgen(LOADGEN, f"http://127.0.0.1:{port}/form/", os.path.join(workdir, f"hup-{slug}.csv"),
                                 keepalive=8, close=8, pace="10ms", method="POST", body=FORM_BODY, expect=FORM_EXPECT)
            time.sleep(2.0)
            hups = []
            for i in range(args.hups):
                pid = master_pid(p, pidfile)
                t = time.time_ns()
                os.kill(pid, signal.SIGHUP)
                hups.append((t, pid))
                time.sleep(args.hup_window)
                if not p.alive():
                    out["died"] = f"every process of the server exited after SIGHUP {i + 1} (master exit status {p.exited()})"
                    break
            t_end = time.time_ns()
            recs = lg.stop()
            lg = None
            out["baseline"] = measure.window_stats(recs, 0, hups[0][0], before=True)
            for i, (t, pid) in enumerate(hups):
                t_next = hups[i + 1][0] if i + 1 < len(hups) else t_end
                w = measure.window_stats(recs, t, t_next)
                w["pid"] = pid
                out["hups"].append(w)
                log(f"hup {name}: HUP {i + 1} to pid {pid}: {w['requests']} requests, {w['failed']} failed {w['failures'] or ''}, longest {w['max_ms']:.0f} ms")
            status, body = measure.get("127.0.0.1", port, "/")
            out["serving_after"] = status == 200 and "Hello from mysite" in body
            if out.get("died"):
                out["log_tail"] = p.log_tail(8)
                log(f"hup {name}: {out['died']}")
        except Exception as e:
            log(f"hup {name}: {e}")
            out["error"] = str(e)[:2000]
        finally:
            if lg:
                lg.stop()
            p.stop()
        save(args, res)


# ---------------------------------------------------------------- plumbing


def selected(args, name):
    return not args.only or any(o in name for o in args.only)


def versions():
    from importlib import metadata

    def cmd(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, subprocess.TimeoutExpired, IndexError):
            return "?"

    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    v = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "loadavg_start": os.getloadavg()[1],
        "python": platform.python_version(),
        "go": cmd(["go", "version"]),
        "gowsgi_commit": cmd(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]),
        "nginx": cmd(["nginx", "-v"]),
        "wrk": cmd(["wrk", "-v"]),
    }
    for pkg in ("Django", "gunicorn", "uWSGI", "granian"):
        try:
            v[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            v[pkg] = "?"
    return v


def save(args, res):
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(res, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 rep, 3 s runs, 2 rewrites, 1 HUP")
    ap.add_argument("--reps", type=int, default=3, help="repetitions of every throughput run (default 3)")
    ap.add_argument("--duration", type=int, default=4, help="seconds per wrk run (default 4)")
    ap.add_argument("--warmup", type=int, default=1, help="seconds of wrk warm-up per server start (default 1)")
    ap.add_argument("--load-s", type=int, default=2, help="seconds of load before the 'after load' PSS (default 2)")
    ap.add_argument("--rewrites", type=int, default=5, help="version.py rewrites per dev server (default 5)")
    ap.add_argument("--reload-settle", type=float, default=3.0,
                    help="seconds of load before the first rewrite (default 3: gowsgi dev's Django stage gets ready in 2-4 s)")
    ap.add_argument("--hups", type=int, default=3, help="SIGHUPs per server (default 3)")
    ap.add_argument("--hup-window", type=float, default=5.0, help="seconds observed after each SIGHUP (default 5)")
    ap.add_argument("--phases", default="throughput,reload,hup", help="comma-separated phases to run")
    ap.add_argument("--only", default="", help="comma-separated substrings: run only servers whose name has one")
    ap.add_argument("--profile", action="store_true", help="profile gowsgi on hello.py keep-alive instead of benchmarking")
    ap.add_argument("--out", default="", help="output path without extension (default bench/results/latest)")
    args = ap.parse_args()
    if args.quick:
        args.reps, args.duration, args.rewrites, args.hups, args.hup_window, args.load_s = 1, 3, 2, 1, 3.0, 1
    args.only = [o for o in args.only.split(",") if o]
    if not args.out:
        args.out = os.path.join(RESULTS, "tmp", "quick") if args.quick else os.path.join(RESULTS, "latest")
    args.out_dir = os.path.dirname(args.out)
    phases = [p for p in args.phases.split(",") if p]

    for need in (servers.GOWSGI, LOADGEN, servers.PYTHON):
        if not os.path.exists(need):
            sys.exit(f"bench: {need} is missing; run bench/setup.sh first (make bench does)")
    if not shutil.which("wrk"):
        sys.exit("bench: wrk not found; run bench/setup.sh first (it runs scripts/setup-system.sh)")

    tmp = os.path.join(RESULTS, "tmp")
    for old in sorted(d for d in os.listdir(tmp) if d.startswith("run-"))[:-2] if os.path.isdir(tmp) else []:
        shutil.rmtree(os.path.join(tmp, old), ignore_errors=True)
    workdir = os.path.join(tmp, "run-" + time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(workdir)

    # SIGTERM ends the run like ^C does: every server is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    t0 = time.monotonic()
    try:
        if args.profile:
            import profile_gowsgi

            profile_gowsgi.run(args, workdir)
            return
        res = {"meta": versions(), "config": {k: v for k, v in vars(args).items() if k not in ("only",)},
               "servers": {}, "throughput": {}, "memory": {}, "reload": {}, "hup": {}}
        res["config"]["only"] = args.only
        log(f"logs and scratch files: {os.path.relpath(workdir, ROOT)}")
        if "throughput" in phases:
            throughput(args, workdir, res)
        if "reload" in phases:
            dev_reload(args, workdir, res)
        if "hup" in phases:
            hup(args, workdir, res)
        res["meta"]["wall_s"] = round(time.monotonic() - t0)
        res["meta"]["loadavg_end"] = os.getloadavg()[1]
        save(args, res)
        md = report.write(res, args.out)
        print(md)
        # The targets once more, last, where `make bench` leaves them on screen.
        print("\n".join(report.targets_table(res)) + "\n")
        log(f"wrote {os.path.relpath(args.out, ROOT)}.json, .md, .png in {res['meta']['wall_s'] / 60:.1f} min")
    except KeyboardInterrupt:
        log("interrupted: stopping every server")
        sys.exit(130)
    finally:
        procs.stop_all()


if __name__ == "__main__":
    main()
