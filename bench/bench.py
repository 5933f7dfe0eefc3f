#!/usr/bin/env python3
"""lightchat benchmark: the entry point (Python stdlib only): parses the
arguments, runs the phases (phases.py) at the full or the smoke sizes,
prints the report (report.py) and writes it to --out; a smoke run also
prints TAP lines.

Started by bench/run.sh once a stack is up (tests/e2e/lib.sh-style, on loopback),
with tools/ on PYTHONPATH (for tools/wsframe.py):

    bench.py --base http://127.0.0.1:P --up http://127.0.0.1:U --api-key K
             --state DIR --up-pid PID --token JWT --user U --password PW
             [--smoke] [--out FILE] [--phases idle,level,...]
             [--coalesce-ms MS --dump FILE]    relay_cost on this stack only
             [--load FILE,FILE...]             relay_cost runs measured before
    bench.py --report-only --load FILE,... [--out FILE]   their table alone

Measures, and prints as a table (Markdown, also written to --out):
  1. idle PSS of the stack (smaps_rollup, processes found by LIGHTCHAT_STATE in
     their environment);
  2. PSS added per idle authenticated WebSocket connection;
  3. relay overhead: time to first token and inter-token gaps through the stack
     minus the same read directly from the fake upstream's SSE stream;
  4. throughput (delta frames/s) and worker CPU s per 1000 relayed tokens;
  5. logins/s (wrk, default hash cost) and /ws authorizations/s;
  6. growth: memory and CPU against N connections;
  7. the worker's CPU per client message it answers itself (ping), and
     messages/s;
  8. the worker's memory with N clients that never read (peak, after);
  9. relay_cost (issue 18): CPU per 1000 relayed tokens per process class,
     frames per 1000 tokens, TTFT and frame gaps, and PSS per streaming
     connection per class, on a stack started with a given
     stream_coalesce_ms (run.sh starts one per setting, each bench.py run
     dumps its figures as JSON, the last one loads them into the report).
Every loop is bounded in count and time; all traffic goes to 127.0.0.1.

Modules (siblings; each imports only those below it): bench.py -> phases.py
(the measuring phases) and report.py (the text); phases.py -> clients.py (the
connections) and sampling.py (/proc, snapshots, statistics); report.py ->
sampling.py; clients.py -> tools/wsframe.py (the WebSocket codec).
test_clients.py checks clients.py against a scripted server (run.sh --smoke).
"""
import argparse
import asyncio
import json
import os
import shutil

from phases import Bench
from report import relay_report, report
from sampling import machine


# relay_cost's sizes: the smoke's, each BENCH_RELAY_* variable's (run.sh), the
# full run's (None)
RELAY_MODES = {
    # a few tokens: the text check, off and on
    "smoke": dict(counts=[1], paces=[5], words=20, rounds={1: 1}, mem_n=2, mem_pace=5),
    # one long stream: the 1 × 5 ms row in finer clock ticks
    "BENCH_RELAY_ONE": dict(counts=[1], paces=[5], words=4000, rounds={1: 1}, mem_n=0,
                            mem_pace=20),
    # the latency bar's rows alone
    "BENCH_RELAY_LATENCY_ONLY": dict(counts=[100], paces=[5, 20], words=500,
                                     rounds={100: 2}, mem_n=0, mem_pace=20),
    # the memory part alone
    "BENCH_RELAY_MEM_ONLY": dict(counts=[], paces=[], words=500, rounds={}, mem_n=100,
                                 mem_pace=20),
    # 5 ms a token as a fast hosted model, 20 ms where a 15 ms window merges
    # little; at least 3 rounds up to 10 streams (10 ms ticks)
    None: dict(counts=[1, 10, 100], paces=[5, 20], words=500,
               rounds={1: 3, 10: 3, 100: 2}, mem_n=100, mem_pace=20),
}


async def main_async(a):
    b = Bench(a)
    if a.smoke:
        levels, prompt, hold, tput = [1, 5], "#words:5 #slow:0.25", 1.0, (2, 200)
        login_s, timing_n = 1, 5
        slow = (2, 20000, 3.0)
        slow_many = (4, "#quotes:64", 3.0)
    else:
        levels, prompt, hold, tput = [1, 10, 100, 1000], "#words:20 #slow:2", 5.0, (50, 1000)
        login_s, timing_n = 8, 30
        slow = (4, 120000, 45.0)
        # The largest frames: replies of 1000 KiB of '"', ×2 in JSON (the
        # most a reply's frame can grow: control characters are replaced),
        # so each non-reading client is owed a 2 MB final frame; 24 of them
        # (the bench lets one user stream 1000 replies).
        slow_many = (24, "#quotes:1000", 60.0)
    msgs = (2, 200) if a.smoke else (4, 20000)
    spread = 1.0
    b.prompt = prompt
    want = set(a.phases.split(",")) if a.phases else None

    def on(name):
        return want is None or name in want
    if on("idle"):
        await b.idle()
    # Before the levels: their 1000 replies leave the worker larger, and this
    # phase measures what non-reading clients add to an idle worker.
    if on("slow_readers"):
        await b.slow_readers(*slow)
    if on("slow_readers_many"):
        await b.slow_readers(*slow_many, key="slow_readers_many")
    for n in levels if on("level") else ():
        await b.level(n, prompt, hold, stream_timeout=120,
                      spread=spread if n >= 5 else 0.0)
    if on("throughput"):
        await b.throughput(*tput)
    if on("logins"):
        await b.logins(login_s)
    if on("login_timing"):
        b.login_timing(timing_n)
    if on("msg_cost"):
        await b.msg_cost(*msgs)
    if on("relay_cost") and a.coalesce_ms is not None:
        mode = "smoke" if a.smoke else next(
            (k for k in RELAY_MODES if k not in (None, "smoke") and os.environ.get(k)), None)
        await b.relay_cost(a.coalesce_ms, **RELAY_MODES[mode])
        b.res["relay_cost"].update(label=a.label, commit=a.commit, machine=machine())
    text, rows = report(b, a.smoke)
    return b, text, rows


def load_runs(a):
    """The relay_cost runs dumped by earlier bench.py runs (--load), in order."""
    runs = []
    for path in (a.load or "").split(","):
        if path:
            with open(path) as f:
                runs.append(json.load(f))
    return runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--report-only", action="store_true",
                    help="no stack: only the relay_cost table of the --load files")
    for k in ("base", "up", "api-key", "state", "token", "user", "password"):
        ap.add_argument("--" + k)
    ap.add_argument("--up-pid", type=int)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--phases", help="comma-separated: run only these phases (idle, "
                    "level, throughput, slow_readers, slow_readers_many, logins, login_timing, "
                    "msg_cost, relay_cost); none: no phase")
    ap.add_argument("--coalesce-ms", type=int,
                    help="the stack's stream_coalesce_ms: run relay_cost (alone) on it")
    ap.add_argument("--dump", help="write relay_cost's figures here (JSON)")
    ap.add_argument("--load", help="comma-separated relay_cost dumps to report")
    ap.add_argument("--label", default="this checkout", help="the build, in the tables")
    ap.add_argument("--commit", default="?")
    a = ap.parse_args()
    if a.report_only:
        text = relay_report(load_runs(a), a.smoke)
        print(text)
        if a.out:
            with open(a.out, "w") as f:
                f.write(text + "\n")
        return
    missing = [k for k in ("base", "up", "api_key", "state", "token", "user", "password",
                           "up_pid") if getattr(a, k) is None]
    if missing:
        ap.error("needed without --report-only: " + ", ".join(missing))
    if a.coalesce_ms is not None:   # relay_cost's own stack: that phase alone
        a.phases = "relay_cost"
    b, text, rows = asyncio.run(main_async(a))
    if a.coalesce_ms is not None:
        if a.dump and "relay_cost" in b.res:
            with open(a.dump, "w") as f:
                json.dump(b.res["relay_cost"], f)
        return
    runs = load_runs(a)
    if runs:
        text += "\n" + relay_report(runs, a.smoke)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    if a.smoke and runs:
        ok = (len({r["coalesce_ms"] for r in runs}) >= 2
              and all(row["rounds"] and row["tokens"] == row["streams"] * row["rounds"] * 20
                      and not row["mismatch"] and not row["errors"]
                      for r in runs for row in r["rows"])
              and all(not r["mem"]["mismatch"] for r in runs))
        print(("ok - " if ok else "not ok - ") + "bench: relay_cost: the deltas add up to "
              "the final text, every token received, coalescing off and on ("
              + ", ".join(f"{r['coalesce_ms']} ms: "
                          + ", ".join(f"{row['tokens']} tokens in {row['frames']} frames, "
                                      f"{row['mismatch']} mismatched, errors "
                                      f"{row['errors'] or 'none'}" for row in r["rows"])
                          for r in runs) + ")")
    if a.smoke:  # TAP: the benchmark ran and produced each figure
        g = {r["n"]: r for r in b.growth}

        def tap(ok, name):
            print(("ok - " if ok else "not ok - ") + name)
        tap(b.res.get("idle_pss"), "bench: idle footprint measured")
        top = max(g) if g else None
        # the sessions' own share, not the total: at the smoke's 5 connections
        # the total moves by websocketd's heap (Go's scavenger: -110 to +14 kB
        # a connection, seen in 4 runs), more than the sessions add (~54 kB)
        tap(top and g[top]["opened"] == top
            and g[top]["per_group_kb"].get("session", 0) > 0,
            "bench: per-connection PSS measured (the sessions' share)")
        tap(top and g[top]["ttft_p50_added"] is not None and g[top]["gap_p50_added"]
            is not None, "bench: relay overhead measured")
        tap(top and not g[top]["stream_err"] and not g[top]["open_err"],
            "bench: streams completed without error")
        t = b.res.get("throughput")
        tap(t and t["tokens"] > 0 and t["worker_per_1k"] is not None,
            "bench: throughput and worker CPU measured")
        if shutil.which("wrk"):
            tap(b.res.get("login") and b.res["login"]["rps"] > 0, "bench: logins/s measured")
            tap(b.res.get("authz") and b.res["authz"]["rps"] > 0,
                "bench: authorizations/s measured")
        else:
            print("ok - bench: logins/s measured # SKIP wrk not installed")
            print("ok - bench: authorizations/s measured # SKIP wrk not installed")
        lt = b.res.get("login_timing")
        if shutil.which("htpasswd"):
            tap(lt and all(v["n"] > 0 and v["p50"] for v in lt.values())
                and set(b.res.get("login_timing_status", {})) == {401},
                "bench: failed-login time by kind measured (all 401)")
        else:
            print("ok - bench: failed-login time by kind measured # SKIP no htpasswd")
        tap(len(g) >= 2, "bench: growth table produced")
        mc = b.res.get("msg_cost")
        tap(mc and mc["messages"] == mc["conns"] * mc["each"] and mc["conns"] > 0
            and mc["worker_us"] is not None, "bench: worker CPU per message measured")
        tap(b.res.get("slow_readers") is not None,
            "bench: worker memory with non-reading clients measured")


if __name__ == "__main__":
    main()
