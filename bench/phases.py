"""phases.py - the benchmark's measuring phases, run in order by the Bench
class: idle footprint, then per number of connections the per-connection
cost, growth and relay overhead (bursts, spread starts, the fake upstream
pinned to a core of its own), then throughput, then logins and /ws
authorizations (wrk), then the time of failed logins by kind (unknown user,
wrong yescrypt, wrong bcrypt password: no timing oracle), and the
worker's CPU per client message it answers itself (ping). Each phase stores its figures in Bench.res,
Bench.growth and Bench.notes for report.py; every loop is bounded in count
and time.
"""
import asyncio
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time

import wsframe
from clients import (close_all, direct_stream, open_many, tokens_of, ws_open, ws_pings,
                     ws_stream)
from sampling import (CLASSES, CORE, MB, TICK, Stack, class_delta, class_ticks, cpu_delta,
                      errors_of, fmt_err, latencies, cpu_ticks, group_detail, group_of,
                      loadavg, other_stacks, machine_ticks, mem_total, pct, put_added, rss_kb,
                      session_detail, set_affinity, stack_cpu_s, stack_pids)


def log(msg):
    sys.stderr.write("bench: " + msg + "\n")
    sys.stderr.flush()


class Bench:
    def __init__(self, a):
        self.a = a
        self.stack = Stack(a.state, a.up_pid)
        self.ws_url = a.base.replace("http://", "ws://") + "/ws"
        self.res = {}       # figure -> value, filled as phases run
        self.notes = []
        self.growth = []
        self.relay = []
        self.n_msg = 0
        self.burst_rounds = 1 if a.smoke else 3

    def log_count(self, needle):
        """How many times needle is in the stack's log (beside the state
        directory: tests/e2e/lib.sh's stack.log); 0 when it cannot be read."""
        path = os.path.join(os.path.dirname(os.path.abspath(self.a.state)), "stack.log")
        try:
            with open(path, errors="replace") as f:
                return f.read().count(needle)
        except OSError:
            return 0

    def msgid(self):
        self.n_msg += 1
        return f"b{self.n_msg}"

    async def settle(self, seconds):
        await asyncio.sleep(seconds)

    async def wait_sessions(self, want, limit):
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if self.stack.count("session") == want:
                return True
            await asyncio.sleep(0.2)
        return False

    async def idle(self):
        await self.settle(1.0)
        m = self.stack.memory()
        self.idle_mem = m
        self.res["idle_pss"] = mem_total(m, CORE) / MB
        self.res["idle_breakdown"] = {g: m[g] for g in m}
        # where the idle worker's and websocketd's memory goes (issue 18's idle cuts)
        self.res["idle_detail"] = {g: group_detail(self.a.state, g)
                                   for g in ("worker", "websocketd")}
        log("idle: " + ", ".join(f"{g} {n}p {s/MB:.1f}MB" for g, (n, s) in sorted(m.items())))

    async def level(self, n, prompt, hold, stream_timeout, spread=0.0):
        """Growth, per-connection cost and relay overhead at n connections/streams."""
        a = self.a
        # direct baseline: n streams straight to the fake upstream, same prompt
        c0 = self.stack.cpu()
        t0 = time.perf_counter()
        deadline = t0 + stream_timeout
        direct = await asyncio.gather(*(direct_stream(a.up, a.api_key, prompt, deadline)
                                        for _ in range(n)))
        d_wall = time.perf_counter() - t0
        d_cpu = cpu_delta(c0, self.stack.cpu())
        # the stack: open n connections, hold them idle, then one stream each
        base_mem = self.stack.memory()
        c0 = self.stack.cpu()
        t0 = time.perf_counter()
        conns = await open_many(self.ws_url, a.token, n, timeout=30)
        open_wall = time.perf_counter() - t0
        c1 = self.stack.cpu()
        open_err = errors_of(conns)
        ok = [c for c in conns if not c.error]
        await self.wait_sessions(len(ok), 15)
        await self.settle(1.5)
        mem = self.stack.memory()
        if n >= 100 or not getattr(self, "detail", None):
            self.detail = session_detail(a.state)
        c2 = self.stack.cpu()
        await asyncio.sleep(hold)
        c3 = self.stack.cpu()
        # when the burst's last first token arrives: how busy the machine was
        # until then, and whose CPU it was (the first tokens of a burst are
        # the prompts' start-up work; the next tokens come a pacing gap later)
        first = {"k": 0}

        def on_first():
            first["k"] += 1
            if first["k"] == len(ok):
                first["t"] = time.perf_counter()
                first["machine"] = machine_ticks()
                first["cpu"] = self.stack.cpu()
        m0 = machine_ticks()
        t0 = time.perf_counter()
        deadline = t0 + stream_timeout
        await asyncio.gather(*(ws_stream(c, self.msgid(), prompt, deadline,
                                         on_first=on_first) for c in ok))
        burst = None
        if "t" in first:
            busy = first["machine"][0] - m0[0]
            total = first["machine"][1] - m0[1]
            d = cpu_delta(c3, first["cpu"])
            burst = {"window_ms": (first["t"] - t0) * 1000,
                     "busy": busy / total if total else None,
                     "stack_ms": stack_cpu_s(d) * 1000,
                     "worker_ms": d.get("worker", 0) * 1000,
                     "upstream_ms": d.get("upstream", 0) * 1000,
                     "loadgen_ms": d.get("loadgen", 0) * 1000}
        s_wall = time.perf_counter() - t0
        c4 = self.stack.cpu()
        stream_err = errors_of(ok)
        dt, dg = latencies(direct)
        st, sg = latencies(ok)
        # a burst's figures vary from one burst to the next on a shared
        # machine: up to 100 streams, pool the samples of a few bursts
        # (direct and stack alternating)
        more_derr = {}
        for _ in range(self.burst_rounds - 1 if 1 < n <= 100 else 0):
            deadline = time.perf_counter() + stream_timeout
            more = await asyncio.gather(*(direct_stream(a.up, a.api_key, prompt, deadline)
                                          for _ in range(n)))
            await asyncio.gather(*(ws_stream(c, self.msgid(), prompt, deadline) for c in ok))
            for dst, src in ((dt, latencies(more)[0]), (dg, latencies(more)[1]),
                             (st, latencies(ok)[0]), (sg, latencies(ok)[1])):
                dst += src
            for k, v in errors_of(ok).items():
                stream_err[k] = stream_err.get(k, 0) + v
            for k, v in errors_of(more).items():
                more_derr[k] = more_derr.get(k, 0) + v
        spread_r = None
        if spread and n > 1:
            # the same number of streams, their starts spread evenly over `spread` s
            # (each lasts longer than that, so all n still overlap): steady
            # concurrency instead of n prompts landing in the same millisecond
            t0 = time.perf_counter()
            deadline = t0 + spread + stream_timeout
            direct2 = await asyncio.gather(*(
                direct_stream(a.up, a.api_key, prompt, deadline, spread * i / n)
                for i in range(n)))
            t0 = time.perf_counter()
            deadline = t0 + spread + stream_timeout
            await asyncio.gather(*(ws_stream(c, self.msgid(), prompt, deadline,
                                             spread * i / len(ok))
                                   for i, c in enumerate(ok)))
            if errors_of(direct2):
                self.notes.append(f"at {n} streams spread over {spread:.0f} s, the fake "
                                  f"upstream read directly failed "
                                  f"{sum(errors_of(direct2).values())} of {n} streams")
            spread_r = {"spread": spread, "stream_err": errors_of(ok),
                        "direct_err": errors_of(direct2)}
            st2, sg2 = latencies(ok)
            dt2, dg2 = latencies(direct2)
            put_added(spread_r, "ttft", st2, dt2)
            put_added(spread_r, "gap", sg2, dg2)
        pinned = None
        ncpu = os.cpu_count() or 1
        if n in (10, 100) and ncpu >= 2 and not a.smoke:
            # the same bursts with the fake upstream on a core of its own and the
            # stack on the others, as where the API runs elsewhere: what the relay
            # adds itself, apart from competing with the fake for the same cores
            everything, rest = set(range(ncpu)), set(range(1, ncpu))
            for pid in stack_pids(a.state):
                set_affinity(pid, rest)
            set_affinity(a.up_pid, {0})
            pdt, pst = [], []
            perr = {}
            try:
                for _ in range(self.burst_rounds):
                    deadline = time.perf_counter() + stream_timeout
                    more = await asyncio.gather(*(direct_stream(a.up, a.api_key, prompt,
                                                                deadline) for _ in range(n)))
                    await asyncio.gather(*(ws_stream(c, self.msgid(), prompt, deadline)
                                           for c in ok))
                    pdt += latencies(more)[0]
                    pst += latencies(ok)[0]
                    for k, v in list(errors_of(ok).items()) + list(errors_of(more).items()):
                        perr[k] = perr.get(k, 0) + v
            finally:
                for pid in stack_pids(a.state):
                    set_affinity(pid, everything)
                set_affinity(a.up_pid, everything)
            pinned = {"err": perr}
            put_added(pinned, "ttft", pst, pdt)
        await close_all(conns)
        gone = await self.wait_sessions(0, 30)
        if not gone:
            self.notes.append(f"at {n} connections, {self.stack.count('session')} "
                              "sessions were still running 30 s after the close")
        # run.sh's own shell and log filters ("supervisor") do not grow per connection;
        # leaving them out keeps a transient fork of theirs out of the figure
        grow = [g_ for g_ in set(mem) | set(base_mem) if g_ != "supervisor"]
        added = mem_total(mem, grow) - mem_total(base_mem, grow)
        derr = errors_of(direct)
        for k, v in more_derr.items():
            derr[k] = derr.get(k, 0) + v
        if derr:
            self.notes.append(f"at {n} streams the fake upstream, read directly, failed "
                              f"{sum(derr.values())} of {n} streams ({fmt_err(derr)}; an "
                              "empty chunk-size line is the connection closing mid-stream): "
                              "at that load the Python fake, not the stack, is the limit, "
                              "and its baseline covers only the streams that finished")
        per = {g: (mem.get(g, (0, 0))[1] - base_mem.get(g, (0, 0))[1]) / max(len(ok), 1)
               for g in set(mem) | set(base_mem)}
        open_cpu, idle_cpu, st_cpu = cpu_delta(c0, c1), cpu_delta(c2, c3), cpu_delta(c3, c4)
        r = {"n": n, "opened": len(ok), "open_err": open_err, "open_wall": open_wall,
             "pss_total": mem_total(mem) / MB, "pss_core": mem_total(mem, CORE) / MB,
             "per_conn_kb": added / max(len(ok), 1), "per_group_kb": per,
             "session_avg_kb": (mem.get("session", (0, 0))[1] / mem["session"][0]
                                if mem.get("session", (0, 0))[0] else 0),
             "open_cpu": stack_cpu_s(open_cpu), "idle_cpu": stack_cpu_s(idle_cpu),
             "hold": hold, "stream_cpu": stack_cpu_s(st_cpu),
             "stream_worker_cpu": st_cpu.get("worker", 0),
             "stream_upstream_cpu": st_cpu.get("upstream", 0),
             "stream_loadgen_cpu": st_cpu.get("loadgen", 0), "stream_wall": s_wall,
             "direct_wall": d_wall, "direct_upstream_cpu": d_cpu.get("upstream", 0),
             "direct_loadgen_cpu": d_cpu.get("loadgen", 0),
             "stream_err": stream_err, "direct_err": derr,
             "spread_run": spread_r, "stream_worker_per_prompt":
                 st_cpu.get("worker", 0) / max(len(ok), 1),
             "tokens": sum(len(c.deltas) for c in ok), "burst": burst,
             "pinned": pinned,
             "direct_tokens": sum(len(c.deltas) for c in direct)}
        put_added(r, "ttft", st, dt)
        put_added(r, "gap", sg, dg)
        self.growth.append(r)
        log(f"level {n}: opened {len(ok)} ({fmt_err(open_err)}), PSS {r['pss_total']:.1f} MB, "
            f"+{r['per_conn_kb']:.0f} kB/conn; stream errors {fmt_err(stream_err)}; "
            f"ttft p50 {r['ttft_p50_stack']} vs {r['ttft_p50_direct']}; per group kB/conn "
            + ", ".join(f"{g} {v:+.0f}" for g, v in sorted(per.items())))
        return r

    async def throughput(self, streams, words):
        a = self.a
        prompt = f"#words:{words}"
        # direct: what the fake upstream delivers alone at the same load
        c0 = self.stack.cpu()
        t0 = time.perf_counter()
        direct = await asyncio.gather(*(direct_stream(a.up, a.api_key, prompt, t0 + 120)
                                        for _ in range(streams)))
        d_wall = time.perf_counter() - t0
        dc = cpu_delta(c0, self.stack.cpu())
        conns = await open_many(self.ws_url, a.token, streams, timeout=30)
        ok = [c for c in conns if not c.error]
        await self.wait_sessions(len(ok), 15)
        c0 = self.stack.cpu()
        t0 = time.perf_counter()
        await asyncio.gather(*(ws_stream(c, self.msgid(), prompt, t0 + 120) for c in ok))
        wall = time.perf_counter() - t0
        sc = cpu_delta(c0, self.stack.cpu())
        await close_all(conns)
        await self.wait_sessions(0, 30)
        # tokens from the text (a coalesced frame carries several), frames as read
        tokens = sum(tokens_of(c) for c in ok)
        frames = sum(len(c.deltas) for c in ok)
        dtok = sum(len(c.deltas) for c in direct)
        r = {"streams": streams, "words": words, "tokens": tokens, "frames": frames,
             "wall": wall, "fps": frames / wall if wall else 0, "errors": errors_of(conns),
             "direct_tokens": dtok, "direct_wall": d_wall,
             "direct_fps": dtok / d_wall if d_wall else 0, "direct_errors": errors_of(direct),
             "worker_cpu": sc.get("worker", 0), "stack_cpu": stack_cpu_s(sc),
             "websocketd_cpu": sc.get("websocketd", 0) + sc.get("session", 0),
             "lighttpd_cpu": sc.get("lighttpd", 0),
             "upstream_cpu": sc.get("upstream", 0), "loadgen_cpu": sc.get("loadgen", 0),
             "direct_upstream_cpu": dc.get("upstream", 0),
             "direct_loadgen_cpu": dc.get("loadgen", 0)}
        r["worker_per_1k"] = r["worker_cpu"] / tokens * 1000 if tokens else None
        self.res["throughput"] = r
        log(f"throughput: {tokens} tokens in {frames} frames in {wall:.2f} s = {r['fps']:.0f}/s "
            f"(direct {r['direct_fps']:.0f}/s); worker {r['worker_cpu']:.2f} s CPU")
        return r

    async def slow_readers(self, n, words, hold, key="slow_readers"):
        """The worker's memory (VmRSS, sampled every 0.25 s) while n clients
        send a prompt for a long streamed reply each and never read their
        WebSocket, for hold seconds; then after they close. Also how many
        the worker cut for its send budget (its log). words: a number for
        #words:N, or the prompt's directive itself. Stored as res[key]."""
        pid = next((p for p in stack_pids(self.a.state) if group_of(p) == "worker"),
                   None)
        if pid is None:
            self.notes.append("slow readers: no worker process found")
            return None
        before = rss_kb(pid) or 0
        cuts0 = self.log_count("(close reason memory)")
        conns = await asyncio.gather(*(ws_open(self.ws_url, self.a.token, 30,
                                               rcvbuf=4096) for _ in range(n)))
        ok = [c for c in conns if not c.error]
        for i, c in enumerate(ok):
            msg = json.dumps({"action": "sendprompt", "payload": {
                "msgid": f"slow{i}", "prompt": (words if isinstance(words, str) else
                                                f"#words:{words}") + f" slow reader {i}",
                "stream": True}})
            c.w.write(wsframe.encode(wsframe.OP_TEXT, msg.encode()))
        # asyncio stops reading a socket whose buffer holds 8 KiB that
        # nobody takes: from there on the client does not read (and its
        # small receive window keeps the kernel and lighttpd from taking
        # much on its behalf).
        peak, end = before, time.monotonic() + hold
        front = {"session": 0, "websocketd": 0, "lighttpd": 0}   # peak kB
        while time.monotonic() < end:
            peak = max(peak, rss_kb(pid) or 0)
            now = dict.fromkeys(front, 0)
            for p in stack_pids(self.a.state):
                g = group_of(p)
                if g in now:
                    now[g] += rss_kb(p) or 0
            front = {g: max(front[g], now[g]) for g in front}
            await asyncio.sleep(0.25)
        for c in conns:
            if c.w:
                c.w.close()
        await self.wait_sessions(0, 30)
        await asyncio.sleep(2.0)
        after = rss_kb(pid) or 0
        r = {"n": n, "opened": len(ok), "words": words, "hold": hold,
             "before_mb": before / 1024, "peak_mb": peak / 1024, "after_mb": after / 1024,
             "cuts": self.log_count("(close reason memory)") - cuts0,
             "sessions_mb": front["session"] / 1024, "websocketd_mb": front["websocketd"] / 1024,
             "lighttpd_mb": front["lighttpd"] / 1024}
        self.res[key] = r
        log(f"slow readers: {len(ok)} clients, worker RSS {r['before_mb']:.1f} MB -> "
            f"peak {r['peak_mb']:.1f} MB, {r['after_mb']:.1f} MB after they went, "
            f"{r['cuts']} cut for the send budget; peak RSS of the sessions "
            f"{r['sessions_mb']:.1f} MB, websocketd {r['websocketd_mb']:.1f} MB, "
            f"lighttpd {r['lighttpd_mb']:.1f} MB")
        return r

    def wrk(self, url, seconds, conns, script=None, headers=()):
        """Runs wrk; returns (requests/s, p50 ms, p99 ms, non-2xx, loadgen cpu s)."""
        cmd = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
        if script:
            cmd += ["-s", script]
        for h in headers:
            cmd += ["-H", h]
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.run(cmd + [url], capture_output=True, text=True,
                           timeout=seconds + 30)
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = p.stdout
        rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
        p50 = re.search(r"\s50%\s+([\d.]+)(us|ms|s)", out)
        p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", out)
        non2 = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
        sockerr = re.search(r"Socket errors:.*", out)

        def ms(m):
            if not m:
                return None
            return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
        cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
        if not rps:
            log("wrk failed: " + (p.stderr or out)[-300:])
            return None
        return {"rps": float(rps.group(1)), "p50": ms(p50), "p99": ms(p99),
                "non2xx": int(non2.group(1)) if non2 else 0,
                "socket_errors": sockerr.group(0) if sockerr else "", "wrk_cpu": cpu,
                "seconds": seconds, "conns": conns}

    async def logins(self, seconds):
        a = self.a
        if not shutil.which("wrk"):
            self.notes.append("wrk is not installed: login and authorization rates "
                              "not measured (apt-get install wrk)")
            return
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "login.lua")
        os.environ["BENCH_USER"], os.environ["BENCH_PASSWORD"] = a.user, a.password
        c0 = self.stack.cpu()
        r = self.wrk(a.base + "/login", seconds, 4, script)
        c1 = self.stack.cpu()
        if r:
            r["fcgi_cpu"] = cpu_delta(c0, c1).get("fcgi", 0)
            self.res["login"] = r
        # /ws with a valid cookie but no Upgrade: the authorizer verifies the token,
        # lighttpd proxies to websocketd, which answers 404 (no process is started).
        c0 = self.stack.cpu()
        r = self.wrk(a.base + "/ws", seconds, 8,
                     headers=[f"Cookie: lightchat_session={a.token}"])
        c1 = self.stack.cpu()
        if r:
            r["fcgi_cpu"] = cpu_delta(c0, c1).get("fcgi", 0)
            self.res["authz"] = r
        r = self.wrk(a.base + "/ws", seconds, 8,
                     headers=["Cookie: lightchat_session=not-a-valid-token"])
        if r:
            self.res["authz_refused"] = r

    def login_timing(self, each):
        """Failed logins by kind, interleaved, one at a time through the stack:
        an unknown user, a wrong password for a yescrypt user and for a bcrypt
        (htpasswd -B, cost 5) user. The login limits are lifted by run.sh."""
        import http.client
        import json
        from urllib.parse import urlsplit
        a = self.a
        if not shutil.which("htpasswd"):
            self.notes.append("htpasswd is not installed: login timing by kind "
                              "not measured (apt-get install apache2-utils)")
            return
        users = os.path.join(a.state, "users")
        p = subprocess.run(["htpasswd", "-bB", users, "benchbcrypt", "bench-Bcrypt-1"],
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            self.notes.append("htpasswd -bB failed: login timing not measured")
            return
        u = urlsplit(a.base)
        kinds = (("unknown user", "nosuchuser", "wrong-1"),
                 ("wrong yescrypt", a.user, "wrong-2"),
                 ("wrong bcrypt", "benchbcrypt", "wrong-3"))
        times = {k[0]: [] for k in kinds}
        statuses = {}
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        try:
            for _ in range(1 + each):   # the first round warms up, uncounted
                for name, user, pw in kinds:
                    body = json.dumps({"username": user, "password": pw})
                    t0 = time.perf_counter()
                    conn.request("POST", "/login", body,
                                 {"Content-Type": "application/json"})
                    r = conn.getresponse()
                    r.read()
                    dt = (time.perf_counter() - t0) * 1000
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                    if _ > 0:
                        times[name].append(dt)
        finally:
            conn.close()
        self.res["login_timing"] = {
            name: {"n": len(xs), "p50": pct(xs, 50), "p90": pct(xs, 90)}
            for name, xs in times.items()}
        self.res["login_timing_status"] = statuses
        log("login timing: " + ", ".join(
            f"{n} p50 {v['p50']:.1f} ms p90 {v['p90']:.1f} ms"
            for n, v in self.res["login_timing"].items()))

    async def msg_cost(self, conns, each, window=32):
        """The worker's CPU per client message it answers without an upstream
        call: conns logged-in connections send `each` pings each (at most
        window unanswered per connection), all at once; the worker's
        utime+stime (/proc/PID/stat) before and after, divided by the
        messages answered, and the messages/s through the stack. The
        message budget is lifted by run.sh (LIGHTCHAT_MAX_MESSAGES_PER_MINUTE)."""
        a = self.a
        workers = [p for p in stack_pids(a.state) if group_of(p) == "worker"]
        if len(workers) != 1:
            self.notes.append(f"per-message cost not measured: {len(workers)} worker "
                              "processes found")
            return
        wpid = workers[0]
        cs = await open_many(self.ws_url, a.token, conns, timeout=30)
        ok = [c for c in cs if not c.error]
        await self.wait_sessions(len(ok), 15)
        await self.settle(0.5)
        # one round trip each first: every session is known to the worker
        await asyncio.gather(*(ws_pings(c, 1, 1, time.perf_counter() + 10) for c in ok))
        c0, w0 = self.stack.cpu(), cpu_ticks(wpid, children=False)
        t0 = time.perf_counter()
        got = await asyncio.gather(*(ws_pings(c, each, window, t0 + 120) for c in ok))
        wall = time.perf_counter() - t0
        c1, w1 = self.stack.cpu(), cpu_ticks(wpid, children=False)
        others = {}
        for c in ok:
            for k, v in c.others.items():
                others[k] = others.get(k, 0) + v
        errs = errors_of(cs)
        await close_all(cs)
        await self.wait_sessions(0, 30)
        n = sum(got)
        d = cpu_delta(c0, c1)
        w = (w1 - w0) / TICK if w0 is not None and w1 is not None else None
        r = {"conns": len(ok), "each": each, "window": window, "messages": n,
             "wall": wall, "mps": n / wall if wall else 0, "worker_cpu": w,
             "worker_us": w / n * 1e6 if n and w is not None else None,
             "stack_us": stack_cpu_s(d) / n * 1e6 if n else None,
             "others": others, "errors": errs}
        self.res["msg_cost"] = r
        log(f"per-message cost: {n} pings in {wall:.2f} s = {r['mps']:.0f}/s; worker "
            f"{f'{w:.2f}' if w is not None else 'n/a'} s CPU"
            + (f" = {r['worker_us']:.1f} us/message" if r["worker_us"] else ""))

    # ------------------------------------------------------------ relay_cost ----
    async def sample_pss(self, stop, every=0.25, limit=120.0):
        """Samples the stack's PSS per group every `every` s until stop (an
        asyncio.Event) is set or limit s pass; returns ({group: peak kB},
        peak of the total kB at one sample, samples taken)."""
        peak, total, n = {}, 0, 0
        self.peak_uss = 0
        end = time.monotonic() + limit
        while not stop.is_set() and time.monotonic() < end:
            m = self.stack.memory()
            self.peak_uss = max(self.peak_uss, self.stack.uss())
            n += 1
            for g, (_, kb) in m.items():
                peak[g] = max(peak.get(g, 0), kb)
            total = max(total, mem_total(m, CLASSES))
            try:
                await asyncio.wait_for(stop.wait(), every)
            except asyncio.TimeoutError:
                pass
        return peak, total, n

    async def relay_cost(self, coalesce_ms, counts, paces, words, rounds, mem_n,
                         mem_pace, spread=1.0, stream_timeout=120):
        """Issue 18's rows, on a stack started with stream_coalesce_ms =
        coalesce_ms (run.sh starts one per setting: the worker reads it at
        start). First the memory per streaming connection: the PSS of each
        process class with no connection, with mem_n idle authenticated
        connections, and its peak (sampled every 0.25 s) while they stream
        `#words:words` over words × mem_pace ms. Then, per pace (ms per token)
        and per count of concurrent streams, `rounds[count]` rounds of one
        stream each (starts spread over `spread` s from 10 streams on): the
        CPU (utime+stime, reaped children included) of each process class over
        exactly the streaming window (the first prompt sent to the last final
        frame), the tokens (words of the deltas' text, checked against the
        final frame's text) and frames received, TTFT and the gaps between
        frames. Stored as res["relay_cost"]."""
        a = self.a
        out = {"coalesce_ms": coalesce_ms, "load_start": loadavg(), "words": words,
               "spread": spread, "rows": [], "machine_start": time.time()}
        await self.settle(1.0)
        none, none_uss = self.stack.memory(), self.stack.uss()
        out["other_stacks"] = other_stacks(a.state)
        out["idle_detail"] = {g: group_detail(a.state, g) for g in ("worker", "websocketd")}
        # idle CPU of the stack with nothing open, for scale (heartbeat, sweeps)
        idle_s = 0.5 if a.smoke else 5.0
        i0 = class_ticks(a.state)
        await asyncio.sleep(idle_s)
        out["idle_cpu_per_s"] = {k: v / idle_s for k, v in
                                 class_delta(i0, class_ticks(a.state)).items()}

        # memory per streaming connection, on the fresh stack (before the CPU
        # rounds: what their streams leave in the heaps would hide it)
        conns = await open_many(self.ws_url, a.token, mem_n, timeout=30)
        ok = [c for c in conns if not c.error]
        await self.wait_sessions(len(ok), 15)
        await self.settle(1.5)
        idle, idle_uss = self.stack.memory(), self.stack.uss()
        prompt = f"#words:{words} #slow:{words * mem_pace / 1000:g}"
        stop = asyncio.Event()
        sampler = asyncio.ensure_future(self.sample_pss(stop))
        deadline = time.perf_counter() + spread + stream_timeout
        await asyncio.gather(*(ws_stream(c, self.msgid(), prompt, deadline,
                                         spread * i / max(len(ok), 1))
                               for i, c in enumerate(ok)))
        stop.set()
        peak, peak_total, samples = await sampler
        out["mem"] = {"n": len(ok), "asked": mem_n, "prompt": prompt,
                      "none": {g: list(v) for g, v in none.items()},
                      "idle": {g: list(v) for g, v in idle.items()},
                      "peak": peak, "peak_total": peak_total, "samples": samples,
                      "uss": {"none": none_uss, "idle": idle_uss, "peak": self.peak_uss},
                      "errors": errors_of(conns),
                      "tokens": sum(tokens_of(c) for c in ok),
                      "mismatch": sum(1 for c in ok if "".join(c.text) != c.final_text)}
        await close_all(conns)
        if not await self.wait_sessions(0, 30):
            self.notes.append(f"relay_cost: sessions still running 30 s after the close")
        log(f"relay_cost {coalesce_ms} ms: memory at {len(ok)} streams: peak total "
            f"{peak_total / MB:.1f} MB, idle {mem_total(idle, CLASSES) / MB:.1f}, none "
            f"{mem_total(none, CLASSES) / MB:.1f} MB ({samples} samples)")

        for pace in paces:
            prompt = f"#words:{words} #slow:{words * pace / 1000:g}"
            for n in counts:
                conns = await open_many(self.ws_url, a.token, n, timeout=30)
                ok = [c for c in conns if not c.error]
                await self.wait_sessions(len(ok), 15)
                await self.settle(0.5)
                sp = spread if n >= 10 else 0.0
                cpu = dict.fromkeys(CLASSES, 0.0)
                row = {"streams": n, "pace_ms": pace, "prompt": prompt, "spread": sp,
                       "rounds": 0, "tokens": 0, "frames": 0, "streams_done": 0,
                       "mismatch": 0, "short": 0, "wall": 0.0, "errors": errors_of(conns),
                       "load": loadavg()}
                ttft, gaps = [], []
                for _ in range(rounds.get(n, 1)):
                    c0 = class_ticks(a.state)
                    t0 = time.perf_counter()
                    deadline = t0 + sp + stream_timeout
                    await asyncio.gather(*(ws_stream(c, self.msgid(), prompt, deadline,
                                                     sp * i / len(ok))
                                           for i, c in enumerate(ok)))
                    row["wall"] += time.perf_counter() - t0
                    for k, v in class_delta(c0, class_ticks(a.state)).items():
                        cpu[k] += v
                    row["rounds"] += 1
                    for c in ok:
                        row["tokens"] += tokens_of(c)
                        row["frames"] += len(c.deltas)
                        if c.final == "reply":
                            row["streams_done"] += 1
                        if "".join(c.text) != c.final_text:
                            row["mismatch"] += 1
                        if tokens_of(c) != words:
                            row["short"] += 1
                    for k, v in errors_of(ok).items():
                        row["errors"][k] = row["errors"].get(k, 0) + v
                    t, g = latencies(ok)
                    ttft += t
                    gaps += g
                    if any(c.error for c in ok):
                        break   # a broken connection does not stream again
                await close_all(conns)
                await self.wait_sessions(0, 30)
                row["cpu"] = cpu
                for p in (50, 99):
                    row[f"ttft_p{p}"], row[f"gap_p{p}"] = pct(ttft, p), pct(gaps, p)
                row["n_gaps"] = len(gaps)
                # the samples, for pooling several runs (report.py): one run's
                # p99 of 200 first tokens moves by tens of ms from run to run
                row["ttft_ms"] = [round(x, 3) for x in ttft]
                row["gap_ms"] = [round(x, 3) for x in gaps]
                out["rows"].append(row)
                tok = row["tokens"]
                log(f"relay_cost {coalesce_ms} ms: {n} streams at {pace} ms/token, "
                    f"{row['rounds']} rounds: {tok} tokens in {row['frames']} frames, "
                    f"stack {sum(cpu.values()):.2f} s CPU"
                    + (f" = {sum(cpu.values()) / tok * 1000:.3f} s per 1000 tokens"
                       if tok else "")
                    + f"; mismatches {row['mismatch']}, errors {fmt_err(row['errors'])}")
        out["load_end"] = loadavg()
        self.res["relay_cost"] = out
        return out
