"""What the benchmark measures and how: wrk runs with a Lua script that checks
every answer, readiness polling (cold start), and the per-request records of
bench/loadgen for the reload and HUP windows."""

import csv
import http.client
import json
import os
import statistics
import subprocess
import threading
import time

WRK = "wrk"

# One Lua script per workload. response() counts answers that are not a 2xx
# carrying the expected text, so a server that answers errors fast does not
# look fast; done() prints one JSON line the runner parses.
LUA = r"""
wrk.method = {method}
wrk.body = {body}
{headers}
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0; bad = 0 end
local expect = {expect}
function response(status, headers, body)
  if status >= 200 and status < 300 and string.find(body, expect, 1, true) then
    ok = ok + 1
  else
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local o, b = 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); b = b + t:get("bad") end
  local e = summary.errors
  io.write(string.format('WRKJSON {{"ok":%d,"bad":%d,"requests":%d,"duration_us":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d}}\n',
    o, b, summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.timeout))
end
"""


def lua_str(s):
    return "nil" if s is None else json.dumps(s)  # a JSON string is a valid Lua string here


def write_lua(path, method="GET", body=None, content_type=None, close=False, expect=""):
    headers = []
    if content_type:
        headers.append(f'wrk.headers["Content-Type"] = {lua_str(content_type)}')
    if close:
        headers.append('wrk.headers["Connection"] = "close"')
    with open(path, "w") as f:
        f.write(LUA.format(method=lua_str(method), body=lua_str(body), headers="\n".join(headers), expect=lua_str(expect)))
    return path


def start_wrk(url, script, duration, threads=2, connections=32, timeout_s=5):
    """Start wrk in the background; finish_wrk collects its numbers."""
    argv = [WRK, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", f"{timeout_s}s", "-s", script, url]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_wrk(proc, duration):
    """Wait for wrk and return its numbers: rps counts only good answers."""
    try:
        stdout, stderr = proc.communicate(timeout=duration + 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"failed": "wrk did not finish"}
    for line in stdout.splitlines():
        if line.startswith("WRKJSON "):
            r = json.loads(line[len("WRKJSON "):])
            secs = r["duration_us"] / 1e6
            # wrk counts a read error each time a server closes a connection
            # it did not announce as closing (uWSGI --http-socket does that
            # after every answer); a cut answer is not counted as ok anyway,
            # so read errors are kept apart from the failed requests.
            socket_errors = r["connect"] + r["write"] + r["timeout"]
            if r["ok"] + r["bad"] == 0:
                return {"failed": "no answer during the whole run"}
            return {
                "rps": r["ok"] / secs if secs else 0.0,
                "requests": r["requests"],
                "ok": r["ok"],
                "bad": r["bad"],
                "socket_errors": socket_errors,
                "read_errors": r["read"],
                "errors": r["bad"] + socket_errors,
                "p50_ms": r["p50_us"] / 1000,
                "p99_ms": r["p99_us"] / 1000,
                "max_ms": r["max_us"] / 1000,
            }
    return {"failed": f"wrk exited {proc.returncode}: {(stderr or stdout).strip()[-300:]}"}


def run_wrk(url, script, duration, **kw):
    return finish_wrk(start_wrk(url, script, duration, **kw), duration)


def get(host, port, path, timeout=2.0):
    """(status, body) of one GET on a new connection, or (0, error text)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as e:
        return 0, str(e)
    finally:
        conn.close()


def wait_ready(proc, port, path, expect, timeout=90.0, interval=0.005, t0=None):
    """Poll until a GET answers 200 with expect in the body; return the
    seconds since t0 (default: the process's exec). Raise if the process
    exits or the timeout passes."""
    t0 = proc.t_exec if t0 is None else t0
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        status, body = get("127.0.0.1", port, path, timeout=2.0)
        if status == 200 and expect in body:
            return time.monotonic() - t0
        last = f"{status} {body[:120]!r}"
        if proc.exited() is not None:
            raise RuntimeError(f"{proc.name} exited with status {proc.exited()} before answering:\n{proc.log_tail()}")
        time.sleep(interval)
    raise RuntimeError(f"{proc.name} not ready after {timeout:.0f}s (last answer: {last}):\n{proc.log_tail()}")


def wait_port(port, timeout=10.0):
    """Wait until something accepts connections on 127.0.0.1:port."""
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


class Loadgen:
    """bench/loadgen running in the background. Lines it prints about body
    changes are queued so the runner can wait for a new version to show."""

    def __init__(self, binary, url, out, keepalive=0, close=0, pace="10ms", method="GET", body=None, expect="", report=False):
        self.out = out
        argv = [binary, "-url", url, "-out", out, "-pace", pace, "-method", method,
                "-keepalive", str(keepalive), "-close", str(close)]
        if report:
            argv.append("-report-bodies")
        if body:
            argv += ["-body", body]
        if expect:
            argv += ["-expect", expect]
        self.popen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.cond = threading.Condition()
        self.bodies = []  # (unix_ns, body) of each change the client reported
        self._reader = threading.Thread(target=self._read, name="loadgen-reader", daemon=True)
        self._reader.start()
        line = self.popen.stderr.readline()
        if "running" not in line:
            raise RuntimeError(f"loadgen did not start: {line}{self.popen.stderr.read()}")

    def _read(self):
        for line in self.popen.stdout:
            parts = line.rstrip("\n").split(" ", 2)
            if len(parts) == 3 and parts[0] == "body":
                with self.cond:
                    self.bodies.append((int(parts[1]), parts[2]))
                    self.cond.notify_all()

    def wait_body(self, body, after_ns, timeout):
        """Wait until a response with exactly body ended after after_ns."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                if any(t >= after_ns and b == body for t, b in self.bodies):
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)

    def stop(self):
        """Stop sending, wait for the records and return them."""
        try:
            self.popen.stdin.close()
        except OSError:
            pass
        try:
            self.popen.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        return read_records(self.out)


def read_records(path):
    recs = []
    if not os.path.exists(path):
        return recs
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            start = int(row["start_unix_ns"])
            dur = int(row["duration_ns"])
            recs.append({
                "start": start,
                "end": start + dur,
                "ms": dur / 1e6,
                "kind": row["client_kind"],
                "status": int(row["status"]),
                "error": row["error"],
                "body": row["body"],
            })
    return recs


def window_stats(recs, t_from, t_to, before=False):
    """Requests in flight at any time in [t_from, t_to): ended at or after
    t_from and started before t_to, so a request that was waiting when a
    reload or a HUP began belongs to that event's window. With before=True:
    the requests that ended before t_to (a baseline with no event in it)."""
    if before:
        inside = [r for r in recs if r["end"] < t_to]
    else:
        inside = [r for r in recs if r["end"] >= t_from and r["start"] < t_to]
    failures = {}
    for r in inside:
        if r["error"]:
            failures[r["error"]] = failures.get(r["error"], 0) + 1
    return {
        "requests": len(inside),
        "failed": sum(failures.values()),
        "failures": failures,
        "max_ms": max((r["ms"] for r in inside), default=0.0),
        "p50_ms": statistics.median([r["ms"] for r in inside]) if inside else 0.0,
    }


def tree_cpu(pids):
    """{pid: cpu seconds} of pids (utime + stime)."""
    from procs import proc_stat

    out = {}
    for pid in pids:
        st = proc_stat(pid)
        if st:
            out[pid] = st[4]
    return out
