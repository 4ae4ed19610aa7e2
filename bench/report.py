"""Turn a benchmark result (bench/results/latest.json) into markdown tables,
a bar chart of throughput ratios and the targets of issue 14 (the in-worker
engine) with the dev reload and HUP targets before it.

    .bench-venv/bin/python bench/report.py bench/results/latest.json   # rewrite .md and .png

Every ratio is gowsgi's value divided by the other server's, measured in the
same run: rps above 1 and latency or memory below 1 favour gowsgi.
"""

import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import servers  # noqa: E402

MiB = 1024.0


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs):
    """Half the min-max range as a percentage of the median."""
    xs = [x for x in xs if x is not None]
    if len(xs) < 2 or not statistics.median(xs):
        return None
    return 50.0 * (max(xs) - min(xs)) / statistics.median(xs)


def ratio(g, x):
    return g / x if g is not None and x else None


def fr(r):
    return "" if r is None else f" ({r:.2f})"


def fnum(x, digits=0):
    if x is None:
        return "-"
    return f"{x:,.{digits}f}"


def order_of(res):
    """Server names in the order of servers.throughput_servers()."""
    known = [s.name for s in servers.throughput_servers()]
    return [n for n in known if n in res["servers"]]


def server_obj(name):
    return next(s for s in servers.throughput_servers() if s.name == name)


def runs_ok(runs):
    return [r for r in runs if "rps" in r]


def summary(res, key, name):
    """Medians of one server in one scenario, or None."""
    runs = res["throughput"].get(key, {}).get(name, [])
    ok = runs_ok(runs)
    if not ok:
        return None
    return {
        "rps": med([r["rps"] for r in ok]),
        "rps_spread": spread([r["rps"] for r in ok]),
        "p50": med([r["p50_ms"] for r in ok]),
        "p99": med([r["p99_ms"] for r in ok]),
        "errors": sum(r["errors"] for r in ok),
        "failed_runs": len(runs) - len(ok),
        "probe_max": med([r.get("probe_max_ms") for r in ok]),
        "probe_failed": sum(r.get("probe_failed", 0) for r in ok),
        "cpu_us": med([r.get("cpu_us_per_req") for r in ok]),
        "nginx_cpu_us": med([r.get("nginx_cpu_us_per_req") for r in ok]),
        "cpu_pct": med([r.get("cpu_pct") for r in ok]),
        "reps": len(ok),
    }


def cpu_total(s):
    """Server CPU µs per request, nginx's included when it fronts the server."""
    if not s or s["cpu_us"] is None:
        return None
    return s["cpu_us"] + (s["nginx_cpu_us"] or 0)


def fcpu(s):
    """"31" or "18 + nginx 20"."""
    if not s or s["cpu_us"] is None:
        return "-"
    if s["nginx_cpu_us"] is not None:
        return f"{s['cpu_us']:.0f} + nginx {s['nginx_cpu_us']:.0f}"
    return f"{s['cpu_us']:.0f}"


def mem_summary(res, app, name):
    m = res["memory"].get(app, {}).get(name)
    if not m:
        return None
    return {
        "cold_ms": None if not m["cold_start_s"] else 1000 * med(m["cold_start_s"]),
        "idle": None if not m["idle_kib"] else med(m["idle_kib"]) / MiB,
        "after": None if not m["after_kib"] else med(m["after_kib"]) / MiB,
        "nginx": None if not m["nginx_idle_kib"] else med(m["nginx_idle_kib"]) / MiB,
        "failures": m.get("failures", []),
        "breakdown": m.get("idle_breakdown", []),
    }


def fbreakdown(items):
    """"gowsgi 9.0 + python 6.1, 6.3, 6.2": each process's idle PSS in MiB."""
    if not items:
        return "-"
    groups = {}
    for comm, kib in items:
        groups.setdefault(comm, []).append(f"{kib / MiB:.1f}")
    return " + ".join(f"{c} {', '.join(v)}" for c, v in groups.items())


def scenario_keys(res):
    keys = list(res["throughput"].keys())
    apps = {"hello": 0, "mysite": 1}
    return sorted(keys, key=lambda k: (apps.get(k.split()[0], 9), keys.index(k)))


def throughput_tables(res):
    names = order_of(res)
    out = []
    for key in scenario_keys(res):
        app = key.split()[0]
        out.append(f"\n### {key}\n")
        out.append("| server | procs x threads | rps ±spread (gowsgi ÷) | p50 ms (gowsgi ÷) | p99 ms (gowsgi ÷) | errors | 33rd client: longest wait ms | server CPU µs/request (gowsgi ÷) | PSS after load MiB (gowsgi ÷) |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for n in names:
            info = res["servers"][n]
            if info.get("unavailable"):
                if key.endswith("keep-alive") or info["threads"] == 1:
                    out.append(f"| {n} | {info['variant']} | {info['unavailable']} | | | | | | |")
                continue
            s = summary(res, key, n)
            if s is None:
                runs = res["throughput"].get(key, {}).get(n)
                if runs:
                    out.append(f"| {n} | {info['variant']} | failed: {runs[0].get('failed', '?')} | | | | | | |")
                continue
            ref = servers.reference_for(server_obj(n), names)
            g = summary(res, key, ref)
            m, gm = mem_summary(res, app, n), mem_summary(res, app, ref)
            sp = "" if s["rps_spread"] is None else f" ±{s['rps_spread']:.0f}%"
            errs = f"**{s['errors']}**" if s["errors"] else "0"
            if s["failed_runs"]:
                errs += f" ({s['failed_runs']} run(s) failed)"
            probe = fnum(s["probe_max"])
            if s["probe_max"] is not None and s["probe_max"] > 1000:
                probe = f"**{probe}**"
            if s["probe_failed"]:
                probe += f" ({s['probe_failed']} failed)"
            out.append(
                f"| {n} | {info['variant']} | {fnum(s['rps'])}{sp}{fr(ratio(g and g['rps'], s['rps']))} "
                f"| {fnum(s['p50'], 2)}{fr(ratio(g and g['p50'], s['p50']))} "
                f"| {fnum(s['p99'], 2)}{fr(ratio(g and g['p99'], s['p99']))} | {errs} | {probe} "
                f"| {fcpu(s)}{fr(ratio(cpu_total(g), cpu_total(s)))} "
                f"| {fnum(m and m['after'], 1)}{fr(ratio(gm and gm['after'], m and m['after']))} |"
            )
    return out


def memory_tables(res):
    names = order_of(res)
    out = []
    for app in ("hello", "mysite"):
        if app not in res["memory"]:
            continue
        out.append(f"\n### {app}: cold start and memory (total PSS of the server's process tree)\n")
        out.append("| server | procs x threads | cold start ms (gowsgi ÷) | PSS idle MiB (gowsgi ÷) | PSS after load MiB (gowsgi ÷) | nginx PSS MiB | idle PSS by process, MiB (rep 1) |")
        out.append("|---|---|---|---|---|---|---|")
        for n in names:
            m = mem_summary(res, app, n)
            if m is None:
                continue
            info = res["servers"][n]
            ref = servers.reference_for(server_obj(n), names)
            g = mem_summary(res, app, ref) or {}
            if m["cold_ms"] is None and m["failures"]:
                out.append(f"| {n} | {info['variant']} | did not start: {m['failures'][0].splitlines()[0][:120]} | | | | |")
                continue
            out.append(
                f"| {n} | {info['variant']} | {fnum(m['cold_ms'])}{fr(ratio(g.get('cold_ms'), m['cold_ms']))} "
                f"| {fnum(m['idle'], 1)}{fr(ratio(g.get('idle'), m['idle']))} "
                f"| {fnum(m['after'], 1)}{fr(ratio(g.get('after'), m['after']))} | {fnum(m['nginx'], 1)} | {fbreakdown(m['breakdown'])} |"
            )
    return out


def reload_table(res):
    if not res.get("reload"):
        return []
    out = ["\n### dev reload under load (8 new-connection clients, 25 ms pacing, GET /version/)\n",
           "| server | rewrites | new code after ms: median / max | failed requests (by kind) | longest request ms: median / max | longest before any rewrite ms |",
           "|---|---|---|---|---|---|"]
    for name, r in res["reload"].items():
        if r.get("error") and not r["rewrites"]:
            out.append(f"| {name} | failed: {r['error'].splitlines()[0][:150]} | | | | |")
            continue
        rw = r["rewrites"]
        times = [w["reload_ms"] for w in rw]
        never = sum(1 for t in times if t is None)
        t_txt = f"{fnum(med(times))} / {fnum(max([t for t in times if t is not None], default=None))}" + (f" ({never} never)" if never else "")
        failed = sum(w["failed"] for w in rw)
        kinds = {}
        for w in rw:
            for k, v in w["failures"].items():
                kinds[k] = kinds.get(k, 0) + v
        kinds_txt = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        out.append(
            f"| {name} | {len(rw)} | {t_txt} | {failed}{' (' + kinds_txt + ')' if kinds_txt else ''} "
            f"| {fnum(med([w['max_ms'] for w in rw]))} / {fnum(max((w['max_ms'] for w in rw), default=None))} "
            f"| {fnum(r.get('baseline', {}).get('max_ms'))} |"
        )
    return out


def hup_table(res):
    if not res.get("hup"):
        return []
    out = ["\n### SIGHUP to the master under load (8 keep-alive + 8 new-connection clients, 10 ms pacing, POST /form/)\n",
           "| server | HUPs | failed requests (by kind) | longest request ms: median / max | longest before HUP ms | still serving after | notes |",
           "|---|---|---|---|---|---|---|"]
    for name, r in res["hup"].items():
        hs = r["hups"]
        if r.get("error") and not hs:
            out.append(f"| {name} | failed: {r['error'].splitlines()[0][:150]} | | | | | |")
            continue
        kinds = {}
        for w in hs:
            for k, v in w["failures"].items():
                kinds[k] = kinds.get(k, 0) + v
        kinds_txt = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        failed = sum(w["failed"] for w in hs)
        out.append(
            f"| {name} | {len(hs)} | {failed}{' (' + kinds_txt + ')' if kinds_txt else ''} "
            f"| {fnum(med([w['max_ms'] for w in hs]))} / {fnum(max((w['max_ms'] for w in hs), default=None))} "
            f"| {fnum(r.get('baseline', {}).get('max_ms'))} | {'yes' if r.get('serving_after') else '**no**'} | {r.get('died', '')} |"
        )
    return out


def cpu_table(res):
    """Server CPU per good request, every server by scenario."""
    names = order_of(res)
    keys = [k for k in scenario_keys(res) if any(summary(res, k, n) for n in names)]
    if not keys or not any((summary(res, k, n) or {}).get("cpu_us") is not None for k in keys for n in names):
        return []
    out = ["\n### server CPU per request (µs)\n",
           "utime + stime of the server's whole process tree (master, zygote, workers) from /proc over each wrk run, "
           "divided by the good answers; medians over the repetitions. Behind nginx: the server + nginx's own tree. "
           "CPU % = the tree's share of the 2 cores (200% = both) during the run.\n",
           "| server | procs x threads | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
    for n in names:
        info = res["servers"][n]
        cells = []
        for k in keys:
            sm = summary(res, k, n)
            if sm is None or sm["cpu_us"] is None:
                cells.append("-")
            else:
                cells.append(f"{fcpu(sm)} ({sm['cpu_pct']:.0f}%)" if sm["cpu_pct"] is not None else fcpu(sm))
        if any(c != "-" for c in cells):
            out.append(f"| {n} | {info['variant']} | " + " | ".join(cells) + " |")
    return out


def paths_table(res):
    """The in-worker engine beside the proxy path (the fallback)."""
    pairs = [("gowsgi", "gowsgi-proxy"), ("gowsgi-nginx", "gowsgi-proxy-nginx")]
    pairs = [(e, p) for e, p in pairs if e in res["servers"] and p in res["servers"]]
    if not pairs:
        return []
    out = ["\n### the in-worker engine and the proxy path (`--engine off`, the fallback), 2x1\n",
           "| scenario | " + " | ".join(f"{e} rps | {p} rps | engine ÷ proxy | CPU µs/request engine / proxy" for e, p in pairs) + " |",
           "|---|" + "---|---|---|---|" * len(pairs)]
    for k in scenario_keys(res):
        cells = []
        for e, p in pairs:
            se, sp = summary(res, k, e), summary(res, k, p)
            r = ratio(se and se["rps"], sp and sp["rps"])
            cells.append(f"{fnum(se and se['rps'])} | {fnum(sp and sp['rps'])} | {'-' if r is None else f'{r:.2f}x'} | {fcpu(se)} / {fcpu(sp)}")
        out.append(f"| {k} | " + " | ".join(cells) + " |")
    for app in ("hello", "mysite"):
        me, mp = mem_summary(res, app, "gowsgi"), mem_summary(res, app, "gowsgi-proxy")
        if me and mp and me["idle"] and mp["idle"]:
            out.append(f"\nIdle PSS, {app}: engine {me['idle']:.1f} MiB ({fbreakdown(me['breakdown'])}), "
                       f"proxy path {mp['idle']:.1f} MiB ({fbreakdown(mp['breakdown'])}).")
    for n in ("gowsgi", "gowsgi-proxy"):
        seen = res["servers"].get(n, {}).get("path_seen")
        if seen:
            out.append(f"\n{n}: checked to run on the {seen['claim']} path (log says {seen['log_says']!r}, "
                       f"{seen['processes_mapping_the_engine']} process(es) map the engine library).")
    return out


def targets(res):
    """The targets of issue 14, then the dev reload and HUP ones:
    (what, target, measured, met). Every throughput target is 2x1
    (2 processes x 1 thread), measured side by side in the run."""
    rows = []

    def ratio_row(what, key, peer, want, mine="gowsgi"):
        g, p = summary(res, key, mine), summary(res, key, peer)
        label = f">= {want}x {peer}"
        if g is None or p is None:
            miss = mine if g is None else peer
            rows.append((what, label, f"not measured ({miss} has no result)", None))
            return
        r = g["rps"] / p["rps"]
        rows.append((what, label, f"{r:.2f}x ({mine} {g['rps']:,.0f} vs {p['rps']:,.0f} rps)", r >= want))

    # uWSGI in these targets is --http-socket (the peer): its
    # --http11-socket gives a worker to one keep-alive connection until it
    # closes, so its wrk figures come from 2 of the 32 connections (see the
    # 33rd-client column) and are no peer for a server that serves them all.
    hello, dj, items = "hello GET / keep-alive", "mysite GET / keep-alive", "mysite GET /items/ keep-alive"
    ratio_row("hello, keep-alive", hello, "granian", 1.0)
    ratio_row("hello, keep-alive", hello, "uwsgi-http-socket", 1.2)
    ratio_row("hello, keep-alive", hello, "gunicorn-sync", 3.0)
    ratio_row("Django plain view (/), keep-alive", dj, "granian", 1.1)
    ratio_row("Django plain view (/), keep-alive", dj, "uwsgi-http-socket", 1.1)
    ratio_row("Django template + query (/items/), keep-alive", items, "granian", 1.0)
    ratio_row("Django template + query (/items/), keep-alive", items, "uwsgi-http-socket", 1.0)
    ratio_row("behind nginx, uwsgi protocol: hello", hello, "uwsgi-nginx", 1.0, mine="gowsgi-nginx")
    ratio_row("behind nginx, uwsgi protocol: Django /", dj, "uwsgi-nginx", 1.0, mine="gowsgi-nginx")
    ratio_row("new connection per request: hello", "hello GET / new-conn", "granian", 1.0)
    ratio_row("new connection per request: Django /", "mysite GET / new-conn", "granian", 1.0)

    g, u, px = (mem_summary(res, "mysite", n) for n in ("gowsgi", "uwsgi-http-socket", "gowsgi-proxy"))
    what = "idle PSS, 2 workers, Django project"
    if g and g["idle"] and u and u["idle"]:
        rows.append((what, "<= 1.25x uwsgi-http-socket", f"{g['idle'] / u['idle']:.2f}x ({g['idle']:.1f} vs {u['idle']:.1f} MiB)", g["idle"] <= 1.25 * u["idle"]))
    else:
        rows.append((what, "<= 1.25x uwsgi-http-socket", "not measured", None))
    if g and g["idle"] and px and px["idle"]:
        rows.append((what, "<= the proxy path (gowsgi-proxy)", f"{g['idle'] / px['idle']:.2f}x ({g['idle']:.1f} vs {px['idle']:.1f} MiB)", g["idle"] <= px["idle"]))
    else:
        rows.append((what, "<= the proxy path (gowsgi-proxy)", "not measured", None))

    dev = res.get("reload", {}).get("gowsgi dev")
    if dev and dev["rewrites"]:
        rw = dev["rewrites"]
        times = [w["reload_ms"] for w in rw]
        worst = None if any(t is None for t in times) else max(times)
        rows.append(("dev reload: save to new code", "<= 300 ms",
                     f"median {fnum(med(times))} ms, max {fnum(worst) if worst is not None else 'never'}",
                     worst is not None and worst <= 300))
        failed = sum(w["failed"] for w in rw)
        rows.append(("dev reload: failed requests", "0", str(failed), failed == 0))
        mx = max(w["max_ms"] for w in rw)
        rows.append(("dev reload: longest request", "<= 50 ms", f"{mx:.0f} ms", mx <= 50))
    elif dev:
        rows.append(("dev reload", "<= 300 ms, 0 failed, <= 50 ms", "failed: " + dev.get("error", "?").splitlines()[0][:100], False))

    wag = res.get("reload", {}).get("gowsgi dev (wagtail)")
    if wag and wag["rewrites"]:
        rw = wag["rewrites"]
        times = [w["reload_ms"] for w in rw]
        worst = None if any(t is None for t in times) else max(times)
        rows.append(("dev reload, `wagtail start` site: save to new code", "<= 400 ms",
                     f"median {fnum(med(times))} ms, max {fnum(worst) if worst is not None else 'never'}",
                     worst is not None and worst <= 400))
        failed = sum(w["failed"] for w in rw)
        rows.append(("dev reload, `wagtail start` site: failed requests", "0", str(failed), failed == 0))
    elif wag:
        rows.append(("dev reload, `wagtail start` site", "<= 400 ms, 0 failed", "failed: " + wag.get("error", "?").splitlines()[0][:100], False))

    for name, label in (("gowsgi serve", "kill -HUP under load"), ("gowsgi serve --engine off", "kill -HUP under load, proxy path")):
        h = res.get("hup", {}).get(name)
        if h and h["hups"]:
            failed = sum(w["failed"] for w in h["hups"])
            mx = max(w["max_ms"] for w in h["hups"])
            note = f" ({h['died']})" if h.get("died") else ""
            rows.append((f"{label}: failed", "0", f"{failed} in {len(h['hups'])} HUPs{note}", failed == 0 and not h.get("died")))
            rows.append((f"{label}: longest request", "<= 50 ms", f"{mx:.0f} ms", mx <= 50 and not h.get("died")))
        elif h:
            rows.append((label, "0 failed, <= 50 ms", "failed: " + h.get("error", "?").splitlines()[0][:100], False))
    return rows


def targets_table(res):
    out = ["\n### targets (issue 14; dev reload and HUP as before)\n",
           "gowsgi ÷ peer, 2x1, medians of the same run; uWSGI is `--http-socket` unless behind nginx.\n",
           "| what | target | measured | met |", "|---|---|---|---|"]
    for what, want, got, ok in targets(res):
        out.append(f"| {what} | {want} | {got} | {'-' if ok is None else ('met' if ok else '**not met**')} |")
    return out


def commands(res):
    out = ["\n### commands (hello.py shown; mysite: --chdir testdata/mysite, mysite.wsgi:application, env DJANGO_DEBUG=0)\n",
           "Every server runs with .bench-venv/bin first on PATH; ports are free ones picked per start.\n", "```"]
    for n in order_of(res):
        info = res["servers"][n]
        cmd = info["argv_hello"]
        out.append(f"{n:24} {cmd}")
        if info["front"] == "nginx":
            out.append(f"{'':24} + nginx (2 workers, access_log off): uwsgi_pass 127.0.0.1:PORT")
    for kind in ("reload", "hup"):
        for n, r in res.get(kind, {}).items():
            out.append(f"{kind + ': ' + n:24} {r.get('argv', '')}")
    out.append("```")
    return out


def markdown(res):
    m = res["meta"]
    c = res["config"]
    head = [
        f"# gowsgi benchmark ({m['date']})",
        "",
        f"{m['nproc']} x {m['cpu']}, Linux {m['kernel']}; Python {m['python']}, Django {m['Django']}, "
        f"uWSGI {m['uWSGI']}, gunicorn {m['gunicorn']}, granian {m['granian']}, {m['nginx']}, {m['wrk']}; "
        f"gowsgi {m['gowsgi_commit']} ({m['go']}). "
        f"Load average (5 min) at start {m.get('loadavg_start', 0):.1f}, at end {m.get('loadavg_end', 0):.1f}: the machine is shared; "
        f"run took {m.get('wall_s', 0) / 60:.0f} min.",
        "",
        f"wrk -t2 -c32 -d{c['duration']}s, {c['reps']} interleaved repetitions: medians, ±spread = half the min-max range. "
        "rps counts only 2xx answers with the expected body; errors = wrong answers + socket errors over all repetitions. "
        "Ratios in parentheses are gowsgi ÷ that server (same procs x threads; nginx rows against gowsgi behind nginx when it ran): "
        "rps above 1 and latency or PSS below 1 favour gowsgi. "
        f"All servers of an app run at once and the wrk runs go workload by workload, server after server; "
        f"cold start and PSS are measured with each server alone (PSS idle, then after {c.get('load_s', 2)} s of wrk over all paths). "
        "The 33rd client is bench/loadgen arriving during the wrk run (one keep-alive and one new-connection client, "
        "a request each per 100 ms): its longest wait shows servers that leave connections unserved, which wrk does not report. "
        "Server CPU per request is utime + stime of the server's process tree over the wrk run divided by its good answers. "
        "gowsgi rows run the in-worker engine (the default), gowsgi-proxy rows the proxy path (`--engine off`); "
        "each was checked to run on the path it names.",
    ]
    body = (targets_table(res) + paths_table(res) + cpu_table(res) + throughput_tables(res) + memory_tables(res)
            + reload_table(res) + hup_table(res) + commands(res))
    return "\n".join(head + body) + "\n"


def chart(res, path):
    """Bars of gowsgi rps ÷ peer rps per scenario, one panel per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = order_of(res)
    panels = []
    for threads in (1, 2):
        peers = [n for n in names if res["servers"][n]["threads"] == threads and not n.startswith("gowsgi") and not res["servers"][n].get("unavailable")]
        keys = [k for k in scenario_keys(res) if any(summary(res, k, p) for p in peers)]
        if peers and keys:
            panels.append((threads, peers, keys))
    if not panels:
        return
    from matplotlib.ticker import FixedLocator, NullLocator

    fig, axes = plt.subplots(len(panels), 1, figsize=(13, 5.5 * len(panels)), squeeze=False)
    for ax, (threads, peers, keys) in zip(axes[:, 0], panels):
        width = 0.8 / len(peers)
        shown = []
        for i, p in enumerate(peers):
            ref = servers.reference_for(server_obj(p), names)
            vals = []
            for k in keys:
                g, s = summary(res, k, ref), summary(res, k, p)
                vals.append(g["rps"] / s["rps"] if g and s and s["rps"] else 0)
            xs = [j + (i - (len(peers) - 1) / 2) * width for j in range(len(keys))]
            shown += [v for v in vals if v]
            bars = ax.bar(xs, vals, width, label=f"{p} (vs {ref})")
            for b, v in zip(bars, vals):
                if v:
                    ax.annotate(f"{v:.2f}", (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom", fontsize=7)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        lo, hi = min(shown + [1.0]) / 1.5, max(shown + [1.0]) * 1.5
        ax.set_ylim(lo, hi)
        ticks = [t for t in (0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 7, 10, 20) if lo <= t <= hi]
        ax.yaxis.set_major_locator(FixedLocator(ticks))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_yticklabels([f"{t:g}" for t in ticks])
        ax.set_xticks(range(len(keys)))
        ax.set_xticklabels([k.replace(" keep-alive", "\nkeep-alive").replace(" new-conn", "\nnew-conn") for k in keys], fontsize=8)
        ax.set_ylabel("gowsgi rps ÷ server rps (log)")
        ax.set_title(f"2 processes x {threads} thread(s): above 1 = gowsgi faster")
        ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write(res, out):
    """Write out.md and out.png from res; return the markdown."""
    md = markdown(res)
    with open(out + ".md", "w") as f:
        f.write(md)
    chart(res, out + ".png")
    return md


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: report.py RESULT.json")
    with open(sys.argv[1]) as f:
        result = json.load(f)
    print(write(result, sys.argv[1][: -len(".json")] if sys.argv[1].endswith(".json") else sys.argv[1]))
