"""Processes of the benchmark: start a server in its own session, stop every
process of that session by its id, and read what /proc says about a tree
(PSS memory, CPU time).

Every server is started with start_new_session=True, so its session id is its
pid and everything it ever forks (workers, a zygote, a master re-executed by a
HUP) stays in that session even when a child moves to its own process group
or is re-parented to init. stop() therefore ends exactly the processes this
runner started, and nothing else on the (shared) machine.
"""

import os
import signal
import subprocess
import time

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Every Proc still running; run.py stops them all on exit, Ctrl-C included.
LIVE = []


def proc_stat(pid):
    """(state, ppid, pgid, sid, utime+stime in seconds) of pid, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("latin-1")
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces or ")".
    fields = data[data.rindex(")") + 2 :].split()
    state, ppid, pgid, sid = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return state, ppid, pgid, sid, cpu


def all_pids():
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def session_members(sid):
    """Pids of the live (not zombie) processes of session sid."""
    out = []
    for pid in all_pids():
        st = proc_stat(pid)
        if st and st[3] == sid and st[0] != "Z":
            out.append(pid)
    return out


def descendants(root):
    """root and every live process below it (by parent pid)."""
    children = {}
    for pid in all_pids():
        st = proc_stat(pid)
        if st and st[0] != "Z":
            children.setdefault(st[1], []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if proc_stat(pid) is None:
            continue
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def pss_kib(pids):
    """Sum of Pss over pids (smaps_rollup), in KiB; vanished pids count 0."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def tree_cpu(root):
    """{pid: utime+stime seconds} of root and every live process below it."""
    out = {}
    for pid in descendants(root):
        st = proc_stat(pid)
        if st:
            out[pid] = st[4]
    return out


def cpu_between(before, after):
    """CPU seconds a tree used between two tree_cpu samples. A process that
    appeared in between counts from 0; one that vanished counts what it had
    used by the first sample (nothing: its last seconds are lost, which only
    matters if a worker dies during a measure, and none should)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def maps_file(pid, pattern):
    """Whether a file whose path matches pattern (a compiled regex) is
    mapped into pid."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            return any(pattern.search(line) for line in f)
    except OSError:
        return False


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


class Proc:
    """One started process (a server, nginx) and its whole session."""

    def __init__(self, name, argv, cwd, env, log_path):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.log.write(("$ " + " ".join(argv) + "\n").encode())
        self.log.flush()
        self.t_exec = time.monotonic()
        self.popen = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.popen.pid
        LIVE.append(self)

    def alive(self):
        return bool(session_members(self.pid))

    def exited(self):
        """The leader's exit status, or None while it runs."""
        return self.popen.poll()

    def tree_pss_kib(self):
        return pss_kib(descendants(self.pid))

    def tree_pss_breakdown(self):
        """[(command name, Pss KiB)] of every process of the tree, master first."""
        out = []
        for pid in descendants(self.pid):
            try:
                with open(f"/proc/{pid}/comm") as f:
                    comm = f.read().strip()
            except OSError:
                continue
            out.append((comm, pss_kib([pid])))
        return out

    def log_tail(self, n=15):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def stop(self, grace=10.0):
        """SIGTERM the leader (or, after it is gone, every process left in
        its session), wait up to grace seconds, then SIGKILL what is left."""
        if self in LIVE:
            LIVE.remove(self)
        if self.popen.poll() is None:
            _kill(self.pid, signal.SIGTERM)
        else:
            for pid in session_members(self.pid):
                _kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            self.popen.poll()
            if not session_members(self.pid):
                break
            time.sleep(0.05)
        for pid in session_members(self.pid):
            _kill(pid, signal.SIGKILL)
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        # Give the kernel a moment to reap SIGKILLed members.
        deadline = time.monotonic() + 5
        while session_members(self.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.log.close()


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def stop_all():
    """Stop every Proc still running, newest first (a backend before its nginx)."""
    for p in reversed(list(LIVE)):
        try:
            p.stop(grace=5.0)
        except Exception as e:  # keep stopping the others
            print(f"bench: stopping {p.name} (pid {p.pid}): {e}")
