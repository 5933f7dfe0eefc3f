"""sampling.py - what the benchmark reads from the machine and how samples
become figures: the stack's processes (found by LIGHTCHAT_STATE in their
environment) and their groups, PSS (smaps_rollup), CPU clock ticks, CPU
affinity, the machine's facts and load (/proc/stat), the Stack's memory and
CPU snapshots and their deltas, and the statistics (percentiles, added
latency, error counts) over the clients' samples. Reads /proc only; no
traffic, no output.
"""
import os
import platform
import re
import resource
import time

TICK = os.sysconf("SC_CLK_TCK")
MB = 1024.0  # kB per MB (MiB, as smaps reports kB)


# ---------------------------------------------------------------- /proc ------------
GROUPS = {"lighttpd": "lighttpd", "lightchat.fcgi": "fcgi", "websocketd": "websocketd",
          "lightchat-worke": "worker", "lightchat-ws": "session"}
CORE = ("lighttpd", "fcgi", "websocketd", "worker")


def stack_pids(state):
    want = ("LIGHTCHAT_STATE=" + state).encode()
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if want in env:
            pids.append(int(d))
    return pids


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def group_of(pid):
    c = comm(pid)
    if c is None:
        return None
    return GROUPS.get(c, "supervisor")  # run.sh's bash, its sed and cat


def rss_kb(pid):
    """VmRSS of pid in kB (the worker's own memory), or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def uss_kb(pid):
    """Private_Clean + Private_Dirty of pid in kB (smaps_rollup), or None."""
    t, seen = 0, False
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    t += int(line.split()[1])
                    seen = True
    except OSError:
        return None
    return t if seen else None


def other_stacks(state):
    """How many lightchat workers run on the machine outside this stack."""
    mine = set(stack_pids(state))
    return sum(1 for d in os.listdir("/proc") if d.isdigit() and int(d) not in mine
               and comm(int(d)) == "lightchat-worke")


def set_affinity(pid, cpus):
    """Puts every thread of pid on cpus (a set); a vanished process is skipped."""
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                os.sched_setaffinity(int(tid), cpus)
            except OSError:
                pass
    except OSError:
        pass


def machine_ticks():
    """(busy, total) clock ticks of the whole machine, all cores (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]  # idle + iowait
    return sum(v[:8]) - idle, sum(v[:8])


def cpu_ticks(pid, children=True):
    """utime+stime (+ reaped children's) of a process, in clock ticks."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    t = int(fields[11]) + int(fields[12])
    if children:
        t += int(fields[13]) + int(fields[14])
    return t


def proc_detail(pid, top_n=8):
    """smaps_rollup of pid, and its mappings (by file's base name; [anon],
    [heap], [stack]) with the most PSS: {"pid", "roll": {field: kB}, "top":
    [(name, [pss kB, private kB])], "threads"}; None when it cannot be read."""
    roll = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[2] == "kB":
                    roll[parts[0].rstrip(":")] = int(parts[1])
        maps, cur = {}, None
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                parts = line.split()
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                    cur = os.path.basename(parts[5]) if len(parts) > 5 else "[anon]"
                    maps.setdefault(cur, [0, 0])
                elif parts and parts[0] == "Pss:" and cur:
                    maps[cur][0] += int(parts[1])
                elif parts and parts[0] in ("Private_Dirty:", "Private_Clean:") and cur:
                    maps[cur][1] += int(parts[1])
    except OSError:
        return None
    top = sorted(maps.items(), key=lambda kv: -kv[1][0])[:top_n]
    try:
        with open(f"/proc/{pid}/status") as f:
            threads = next((ln.split()[1] for ln in f if ln.startswith("Threads:")), "?")
    except OSError:
        threads = "?"
    return {"pid": pid, "roll": roll, "top": top, "threads": threads}


def session_detail(state):
    """proc_detail() of one lightchat-ws (the middle one found), with "n": how many."""
    pids = [p for p in stack_pids(state) if group_of(p) == "session"]
    if not pids:
        return None
    d = proc_detail(pids[len(pids) // 2])
    if d:
        d["n"] = len(pids)
    return d


def group_detail(state, group):
    """proc_detail() of the stack's first process of group (worker, websocketd), or None."""
    pid = next((p for p in stack_pids(state) if group_of(p) == group), None)
    return proc_detail(pid) if pid is not None else None


# The classes a process's CPU is counted in (relay_cost), and where its
# reaped children's CPU goes: websocketd's children are the sessions
# (lightchat-ws), lighttpd's the FastCGI processes it spawns.
CLASSES = ("worker", "session", "websocketd", "lighttpd", "fcgi")
CHILD_CLASS = {"websocketd": "session", "lighttpd": "fcgi"}


def cpu_split(pid):
    """(own utime+stime, reaped children's cutime+cstime) of pid in clock ticks, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def class_ticks(state):
    """{class: clock ticks} of the stack's processes now: each process's own
    ticks in its class, its reaped children's in CHILD_CLASS's (so a session
    that ends inside a window still counts there: its whole time lands in
    websocketd's children, and its own before the window was counted in the
    first snapshot). run.sh's supervisor shell is left out."""
    out = dict.fromkeys(CLASSES, 0)
    for pid in stack_pids(state):
        g, t = group_of(pid), cpu_split(pid)
        if g not in out or t is None:
            continue
        out[g] += t[0]
        out[CHILD_CLASS.get(g, g)] += t[1]
    return out


def class_delta(a, b):
    """seconds per class between two class_ticks() snapshots."""
    return {k: (b.get(k, 0) - a.get(k, 0)) / TICK for k in CLASSES}


def loadavg():
    """/proc/loadavg's three averages as text ("0.52 0.61 0.70")."""
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


class Stack:
    def __init__(self, state, up_pid):
        self.state, self.up_pid = state, up_pid

    def memory(self):
        """{group: (n_processes, pss_kb)}"""
        out = {}
        for pid in stack_pids(self.state):
            g, p = group_of(pid), pss_kb(pid)
            if g is None or p is None:
                continue
            n, s = out.get(g, (0, 0))
            out[g] = (n + 1, s + p)
        return out

    def cpu(self):
        """{group: ticks} including reaped children (a finished lightchat-ws lands in
        websocketd's), plus 'upstream' (the fake) and 'loadgen' (this process)."""
        out = {}
        for pid in stack_pids(self.state):
            g, t = group_of(pid), cpu_ticks(pid)
            if g is None or t is None:
                continue
            out[g] = out.get(g, 0) + t
        t = cpu_ticks(self.up_pid)
        out["upstream"] = t or 0
        ru = resource.getrusage(resource.RUSAGE_SELF)
        rc = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk
        out["loadgen"] = (ru.ru_utime + ru.ru_stime + rc.ru_utime + rc.ru_stime) * TICK
        return out

    def uss(self, groups=CLASSES):
        """the private memory (USS) of the stack's processes of groups, kB."""
        return sum(uss_kb(p) or 0 for p in stack_pids(self.state) if group_of(p) in groups)

    def count(self, group):
        return sum(1 for p in stack_pids(self.state) if group_of(p) == group)


def cpu_delta(a, b):
    """seconds per group between two cpu() snapshots ('session' folds into websocketd
    once its process is reaped, so report stack totals and the worker/upstream/loadgen
    apart)."""
    keys = set(a) | set(b)
    return {k: (b.get(k, 0) - a.get(k, 0)) / TICK for k in keys}


def stack_cpu_s(d):
    return sum(v for k, v in d.items() if k not in ("upstream", "loadgen"))


def mem_total(m, groups=None):
    return sum(s for g, (n, s) in m.items() if groups is None or g in groups)


# ---------------------------------------------------------------- machine ----------
def machine():
    """Facts about this machine for the report's header: CPU model, cores,
    memory, kernel, date (UTC), Python version."""
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {"cpu": model, "cores": os.cpu_count(), "memory": mem,
            "kernel": platform.release(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "python": platform.python_version()}



# ---------------------------------------------------------------- statistics -------
def pct(xs, p):
    """The p-th percentile of xs (linear between samples); None for none."""
    if not xs:
        return None
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def put_added(into, name, stack_xs, direct_xs):
    """Stores p50/p99 of both runs and their difference (stack minus direct) as
    into[f"{name}_p{p}_stack" / "_direct" / "_added"]."""
    for p in (50, 99):
        s, d = pct(stack_xs, p), pct(direct_xs, p)
        into[f"{name}_p{p}_stack"], into[f"{name}_p{p}_direct"] = s, d
        into[f"{name}_p{p}_added"] = (s - d) if s is not None and d is not None else None


def latencies(conns):
    """(time to first token, inter-token gaps) in ms over clients' samples:
    each one's t_send and the read times of its deltas."""
    ttft, gaps = [], []
    for c in conns:
        if c.deltas and c.t_send is not None:
            ttft.append((c.deltas[0] - c.t_send) * 1000)
            gaps += [(b - a) * 1000 for a, b in zip(c.deltas, c.deltas[1:])]
    return ttft, gaps


def errors_of(conns):
    """{error label: how many clients ended with it}"""
    errs = {}
    for c in conns:
        if c.error:
            errs[c.error] = errs.get(c.error, 0) + 1
    return errs


def fmt_err(errs):
    """errors_of()'s counts as text ("none" when there are none)."""
    return ", ".join(f"{k}×{v}" for k, v in sorted(errs.items())) or "none"
