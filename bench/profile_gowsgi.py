"""Where gowsgi's time goes (bench/run.py --profile): gowsgi 2x1 under wrk
-t2 -c32 keep-alive, on hello.py and on mysite's plain view.

For each app it reports:
  - the CPU split between the Go master, the Python workers and wrk, from
    /proc/PID/stat over 5 s, also as CPU microseconds per request, with the
    context switches per request (a request crosses two processes);
  - `perf record -g` of the master: self time by shared object and by symbol,
    and the inclusive time of gowsgi's own and net/http's functions;
  - `py-spy record --gil` of the busiest worker: the Python functions that
    hold the GIL, by self and inclusive samples.

Written to bench/results/profile.txt (or next to --out).
"""

import os
import subprocess
import time

import measure
import procs
import servers
from servers import APPS

PROFILE_S = 5


def ctx_switches(pid):
    out = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if "ctxt_switches" in line:
                    out += int(line.split()[1])
    except OSError:
        pass
    return out


def thread_ctx_switches(pid):
    """Context switches of every thread of pid (Go runs many)."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            total += ctx_switches(f"{pid}/task/{tid}")
    except OSError:
        pass
    return total


def role(pid, master, wrk_pid):
    if pid == master:
        return "go master"
    if pid == wrk_pid:
        return "wrk (client)"
    # The zygote is the master's child whose children are the workers.
    st = procs.proc_stat(pid)
    return "python zygote" if st and st[1] == master and len(procs.descendants(pid)) > 1 else "python worker"


def profile_app(app, path, expect, workdir, lines):
    s = next(x for x in servers.throughput_servers() if x.name == "gowsgi")
    script = measure.write_lua(os.path.join(workdir, f"prof-{app.name}.lua"), expect=expect)
    url_path = path
    started, port, _ = _start(s, app, workdir, path, expect)
    try:
        master = started[-1].pid
        tree = procs.descendants(master)
        url = f"http://127.0.0.1:{port}{url_path}"
        measure.run_wrk(url, script, 2)  # warm-up

        wrk = measure.start_wrk(url, script, PROFILE_S + 2)
        time.sleep(1)
        pids = tree + [wrk.pid]
        c0, x0 = measure.tree_cpu(pids), {p: thread_ctx_switches(p) for p in pids}
        t0 = time.monotonic()
        time.sleep(PROFILE_S)
        c1, x1 = measure.tree_cpu(pids), {p: thread_ctx_switches(p) for p in pids}
        el = time.monotonic() - t0
        r = measure.finish_wrk(wrk, PROFILE_S + 2)
        rps = r.get("rps", 0)
        n = rps * el
        lines.append(f"\n## {app.name} GET {path}: wrk -t2 -c32 keep-alive, gowsgi --processes 2 --threads 1\n")
        lines.append(f"{rps:,.0f} rps. CPU over {el:.1f} s (2 cores = 200%):")
        lines.append(f"  {'process':14} {'pid':>7} {'CPU %':>7} {'CPU us/request':>15} {'ctx switches/request':>21}")
        total_cpu = 0.0
        for pid in sorted(pids, key=lambda p: (p != master, p == wrk.pid, p)):
            cpu = c1.get(pid, 0) - c0.get(pid, 0)
            total_cpu += cpu
            cs = x1.get(pid, 0) - x0.get(pid, 0)
            lines.append(f"  {role(pid, master, wrk.pid):14} {pid:7} {100 * cpu / el:6.1f}% {1e6 * cpu / n if n else 0:15.1f} {cs / n if n else 0:21.2f}")
        lines.append(f"  {'total':14} {'':7} {100 * total_cpu / el:6.1f}% {1e6 * total_cpu / n if n else 0:15.1f}")

        # Second run: perf on the master, py-spy on the busiest worker.
        workers = [p for p in tree if role(p, master, -1) == "python worker"]
        busy = max(workers, key=lambda p: c1.get(p, 0) - c0.get(p, 0)) if workers else None
        wrk = measure.start_wrk(url, script, PROFILE_S + 2)
        time.sleep(1)
        perf_data = os.path.join(workdir, f"perf-{app.name}.data")
        spy_out = os.path.join(workdir, f"pyspy-{app.name}.txt")
        spy = None
        if busy:
            spy = subprocess.Popen(
                [os.path.join(servers.VENV_BIN, "py-spy"), "record", "-p", str(busy), "-d", str(PROFILE_S), "-r", "500",
                 "--gil", "-f", "raw", "-o", spy_out, "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["perf", "record", "-F", "999", "-g", "-p", str(master), "-o", perf_data, "--", "sleep", str(PROFILE_S)],
                       capture_output=True)
        if spy:
            spy.wait()
        measure.finish_wrk(wrk, PROFILE_S + 2)
        lines += perf_summary(perf_data)
        lines.append(f"\npy-spy record --gil of the busiest worker (pid {busy}): Python holding the GIL")
        lines += pyspy_summary(spy_out)
    finally:
        for q in reversed(started):
            q.stop()


def _start(s, app, workdir, path, expect):
    import run

    return run.start(s, app, workdir, ready_path=path, ready_expect=expect)


def perf_report(perf_data, *extra):
    return subprocess.run(["perf", "report", "-i", perf_data, "--stdio", *extra], capture_output=True, text=True).stdout


def perf_summary(perf_data):
    out = ["\nperf record -g of the Go master, self time by shared object:"]
    rep = perf_report(perf_data, "--no-children", "--sort", "dso", "-g", "none")
    out += ["  " + l.strip() for l in rep.splitlines() if l.strip() and not l.startswith("#")][:6]
    out.append("\nself time by symbol (>= 1%):")
    rep = perf_report(perf_data, "--no-children", "--sort", "symbol", "-g", "none", "--percent-limit", "1")
    out += ["  " + " ".join(l.split()[:3]) for l in rep.splitlines() if l.strip() and not l.startswith("#")][:25]
    out.append("  (finish_task_switch and _raw_spin_unlock_irqrestore are where the kernel lets a thread run again\n"
               "  after a switch or a wake-up: their self time is the cost of sleeping and waking)")
    out.append("\ninclusive time (children) of gowsgi's, net/http's and the syscall functions (top 30):")
    rep = perf_report(perf_data, "--children", "--sort", "symbol", "-g", "none")
    keep = ("gowsgi", "net/http", "syscall.", "internal/poll", "runtime.netpoll", "runtime.schedule", "runtime.gcBgMarkWorker", "runtime.mallocgc")
    rows = []
    for l in rep.splitlines():
        parts = l.split()
        # "  64.69%  0.27%  [.] net/http.(*conn).serve  -  -"
        if len(parts) >= 4 and parts[0].endswith("%") and parts[2] in ("[.]", "[k]") and any(k in parts[3] for k in keep):
            rows.append(f"  {parts[0]:>8} incl {parts[1]:>7} self  {parts[3]}")
    out += rows[:30]
    return out


def pyspy_summary(path):
    selfc, incl, total = {}, {}, 0
    try:
        with open(path) as f:
            for line in f:
                stack, _, n = line.rstrip().rpartition(" ")
                n = int(n)
                total += n
                frames = stack.split(";")
                selfc[frames[-1]] = selfc.get(frames[-1], 0) + n
                for fr in set(frames):
                    incl[fr] = incl.get(fr, 0) + n
    except (OSError, ValueError):
        return ["  (no py-spy data)"]
    if not total:
        return ["  (no samples)"]
    out = [f"  {total} samples with the GIL held; self:"]
    for fr, n in sorted(selfc.items(), key=lambda x: -x[1])[:15]:
        out.append(f"  {100 * n / total:5.1f}%  {fr}")
    out.append("  inclusive:")
    for fr, n in sorted(incl.items(), key=lambda x: -x[1])[:20]:
        out.append(f"  {100 * n / total:5.1f}%  {fr}")
    return out


def run(args, workdir):
    lines = ["# gowsgi profile (bench/run.py --profile)"]
    profile_app(APPS["hello"], "/", "Hello, World!", workdir, lines)
    profile_app(APPS["mysite"], "/", "Hello from mysite", workdir, lines)
    text = "\n".join(lines) + "\n"
    path = os.path.join(args.out_dir, "profile.txt")
    with open(path, "w") as f:
        f.write(text)
    print(text)
    print(f"bench: wrote {path}")
