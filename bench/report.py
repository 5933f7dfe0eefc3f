"""report.py - the benchmark's results as text: the figures table with its
targets and verdicts, the growth, relay, burst, throughput, login,
per-message, memory and idle-process sections and the notes, as the
Markdown bench/RESULTS.md holds. Formats what phases.py measured; measures nothing itself.
"""
import os

from sampling import MB, fmt_err, machine, pct


def f1(x, unit="", nd=1):
    """x with nd decimals and unit; "n/a" for None."""
    return "n/a" if x is None else f"{x:.{nd}f}{unit}"


def verdict(ok):
    """A target's result column: pass, **miss**, or n/a (no target, None)."""
    return "n/a" if ok is None else ("pass" if ok else "**miss**")


def report(b, smoke):
    """(the Markdown text, the figures table's rows as (figure, value, target,
    result)) of a Bench whose phases have run."""
    res, g = b.res, {r["n"]: r for r in b.growth}
    rows = []  # (figure, value, target, result)
    idle = res.get("idle_pss")
    rows.append(("1. Idle PSS (lighttpd + FastCGI + websocketd + worker)", f1(idle, " MB"),
                 "≤ 20 MB", verdict(None if idle is None else idle <= 20)))
    levels = sorted(g)
    big = [n for n in levels if n >= 100] or levels[-1:]
    for n in big:
        r = g[n]
        v = r["per_conn_kb"] / MB
        rows.append((f"2. PSS per idle connection at {n}", f"{v:.3f} MB "
                     f"(lightchat-ws {r['session_avg_kb']/MB:.3f}, websocketd "
                     f"+{r['per_group_kb'].get('websocketd', 0)/MB:.3f}, lighttpd "
                     f"+{r['per_group_kb'].get('lighttpd', 0)/MB:.3f})",
                     "≤ 0.6 MB", verdict(v <= 0.6)))
    target_n = 100 if 100 in g else (levels[-1] if levels else None)
    def relay_rows(n, res_, what, names=("ttft", "gap"), extra=lambda name: ""):
        """Summary rows of added latency for n streams run as `what`; the
        target applies at target_n."""
        for name in names:
            label = {"ttft": "time to first token", "gap": "inter-token gap"}[name]
            p50, p99 = res_[f"{name}_p50_added"], res_[f"{name}_p99_added"]
            tgt, ok = "—", None
            if n == target_n and p50 is not None:
                tgt, ok = "p50 ≤ 1 ms, p99 ≤ 10 ms", p50 <= 1 and p99 <= 10
            rows.append((f"3. Added {label}, {n} stream{'s' if n > 1 else ''}{what}",
                         f"p50 {f1(p50, ' ms', 2)}, p99 {f1(p99, ' ms', 2)}{extra(name)}",
                         tgt, verdict(ok)))

    for n in levels:
        relay_rows(n, g[n], ", all started in the same millisecond" if n > 1 else "")
    for n in levels:
        pr = g[n].get("pinned")
        if pr:
            relay_rows(n, pr, ", all started in the same millisecond, the fake upstream "
                       "on a core of its own", names=("ttft",),
                       extra=lambda name: f" (stack p50 {f1(pr['ttft_p50_stack'], ' ms', 1)}, "
                       f"direct {f1(pr['ttft_p50_direct'], ' ms', 1)}; errors "
                       f"{fmt_err(pr['err'])})")
    for n in levels:
        sr = g[n].get("spread_run")
        if sr:
            relay_rows(n, sr, f", starts spread over {sr['spread']:.0f} s")
    top = levels[-1] if levels else None
    if top is not None:
        r = g[top]
        errs = dict(r["open_err"])
        for k, v in list(r["stream_err"].items()) + list(
                (r.get("spread_run") or {}).get("stream_err", {}).items()):
            errs[k] = errs.get(k, 0) + v
        rows.append((f"3. Errors at {top} streams", fmt_err(errs), "none",
                     verdict(not errs)))
    t = res.get("throughput")
    if t:
        rows.append(("4. Throughput (delta frames/s through the stack)",
                     f"{t['fps']:.0f}/s ({t['streams']} streams; fake alone: "
                     f"{t['direct_fps']:.0f}/s)", "—", "n/a"))
        rows.append(("4. Worker CPU per 1000 relayed tokens",
                     f1(t["worker_per_1k"], " s", 3), "—", "n/a"))
    lg, az = res.get("login"), res.get("authz")
    if lg:
        rows.append(("5. Logins/s (yescrypt default cost, wrk -c4)",
                     f"{lg['rps']:.1f}/s (p50 {f1(lg['p50'], ' ms')}, non-2xx {lg['non2xx']})",
                     "—", "n/a"))
    if az:
        rf = res.get("authz_refused")
        rows.append(("5. /ws authorizations/s (valid token, wrk -c8)",
                     f"{az['rps']:.0f}/s (p50 {f1(az['p50'], ' ms', 2)})"
                     + (f"; refusals {rf['rps']:.0f}/s" if rf else ""), "—", "n/a"))

    lt = res.get("login_timing")
    if lt:
        rows.append(("6. Failed login time p50/p90: unknown user / wrong yescrypt / "
                     "wrong bcrypt",
                     " / ".join(f"{f1(v['p50'], '', 1)}/{f1(v['p90'], '', 1)}"
                                for v in lt.values()) + " ms",
                     "same within noise", "n/a"))

    mc = res.get("msg_cost")
    if mc:
        rows.append((f"7. Worker CPU per client message (ping, {mc['conns']} connections "
                     f"× {mc['each']})",
                     f"{f1(mc['worker_us'], ' µs')} ({mc['mps']:.0f} messages/s; "
                     f"whole stack {f1(mc['stack_us'], ' µs')})", "—", "n/a"))
    sr = res.get("slow_readers")
    if sr:
        rows.append((f"8. Worker memory with {sr['opened']} non-reading clients "
                     f"(`#words:{sr['words']}` each, held {sr['hold']:.0f} s)",
                     f"peak {sr['peak_mb']:.1f} MB, {sr['after_mb']:.1f} MB after they "
                     f"go (before {sr['before_mb']:.1f} MB)", "≤ 64 MB, given back",
                     verdict(sr["peak_mb"] <= 64)))
    sm = res.get("slow_readers_many")
    if sm:
        rows.append((f"8b. Worker memory with {sm['opened']} non-reading clients owed "
                     f"the largest frames (`{sm['words']}` each: 1000 KiB of '\"', ×2 in "
                     f"JSON; held {sm['hold']:.0f} s)",
                     f"peak {sm['peak_mb']:.1f} MB, {sm['after_mb']:.1f} MB after they "
                     f"go (before {sm['before_mb']:.1f} MB); {sm['cuts']} cut for "
                     f"worker_send_budget; at their peak the {sm['opened']} sessions "
                     f"{sm['sessions_mb']:.1f} MB RSS, websocketd {sm['websocketd_mb']:.1f} MB, "
                     f"lighttpd {sm['lighttpd_mb']:.1f} MB", "≤ 64 MB, given back",
                     verdict(sm["peak_mb"] <= 64)))

    m = machine()
    out = []
    out.append("# lightchat benchmark results" + (" (smoke run)" if smoke else ""))
    out.append("")
    out.append(f"- date: {m['date']}")
    out.append(f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory']} RAM, "
               f"Linux {m['kernel']}")
    out.append("- everything on this one machine over loopback: the stack, the fake "
               "upstream (Python, tests/fake_upstream.py --delay-ms 0) and the load "
               "generator (bench/bench.py, Python asyncio; wrk for HTTP) share its cores")
    out.append("- produced by `make bench` (bench/run.sh); figures are measured, not asserted")
    out.append("")
    out.append("| figure | value | target | result |")
    out.append("|---|---|---|---|")
    for row in rows:
        out.append("| " + " | ".join(row) + " |")
    out.append("")
    out.append("## 6. Growth with connections")
    out.append("")
    out.append("Idle authenticated connections held open, then one streamed reply each "
               "(prompt `" + b.prompt + "`). CPU is the stack's (lighttpd, FastCGI, "
               "websocketd with its lightchat-ws children, worker), in CPU seconds.")
    out.append("")
    out.append("| connections | opened | PSS total MB | PSS core MB | lightchat-ws avg MB "
               "| added MB/conn | CPU to open | CPU idle | CPU streaming (worker) "
               "| stream wall s | errors |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in levels:
        r = g[n]
        errs = fmt_err({**r["open_err"], **r["stream_err"]})
        out.append(f"| {n} | {r['opened']} | {r['pss_total']:.1f} | {r['pss_core']:.1f} | "
                   f"{r['session_avg_kb']/MB:.3f} | {r['per_conn_kb']/MB:.3f} | "
                   f"{r['open_cpu']:.2f} s | {r['idle_cpu']:.2f} s / {r['hold']:.0f} s | "
                   f"{r['stream_cpu']:.2f} s ({r['stream_worker_cpu']:.2f}) | "
                   f"{r['stream_wall']:.2f} | {errs} |")
    out.append("")
    out.append("## Relay detail (ms; stack = through lighttpd, websocketd, lightchat-ws, "
               "worker; direct = the fake upstream's SSE read by the same client, timed from its connect)")
    out.append("")
    out.append("| streams | TTFT p50 stack / direct | TTFT p99 stack / direct "
               "| gap p50 stack / direct | gap p99 stack / direct | direct errors "
               "| fake CPU (stack run / direct run) | load generator CPU (stack / direct) |")
    out.append("|---|---|---|---|---|---|---|---|")
    for n in levels:
        r = g[n]

        def sd(k):
            return f"{f1(r[k + '_stack'], '', 2)} / {f1(r[k + '_direct'], '', 2)}"
        out.append(f"| {n} | {sd('ttft_p50')} | {sd('ttft_p99')} | {sd('gap_p50')} | "
                   f"{sd('gap_p99')} | {fmt_err(r['direct_err'])} | "
                   f"{r['stream_upstream_cpu']:.2f} s in {r['stream_wall']:.1f} s / "
                   f"{r['direct_upstream_cpu']:.2f} s in {r['direct_wall']:.1f} s | "
                   f"{r['stream_loadgen_cpu']:.2f} s / {r['direct_loadgen_cpu']:.2f} s |")
        sr = r.get("spread_run")
        if sr:
            def sd2(k):
                return f"{f1(sr[k + '_stack'], '', 2)} / {f1(sr[k + '_direct'], '', 2)}"
            out.append(f"| {n}, spread over {sr['spread']:.0f} s | {sd2('ttft_p50')} | "
                       f"{sd2('ttft_p99')} | {sd2('gap_p50')} | {sd2('gap_p99')} | "
                       f"{fmt_err(sr['direct_err'])} (stack: {fmt_err(sr['stream_err'])}) "
                       "| | |")
    out.append("")
    out.append("The first rows of each count start every stream in the same millisecond "
               f"(a burst; up to 100 streams, {b.burst_rounds} burst{'s' if b.burst_rounds != 1 else ''} with their samples "
               "pooled, as one burst's figures vary from the next on a shared machine); 'spread' rows start them evenly over the given time, each "
               "stream lasting longer, so the same number run at once. Worker CPU per "
               "prompt (burst round: the worker's CPU divided by the streams, relaying "
               "their tokens included): " + ", ".join(
                   f"{g[n]['stream_worker_per_prompt'] * 1000:.1f} ms at {n}" for n in levels)
               + "; the worker is one thread, so a burst of N prompts queues behind "
               "about N times that.")
    out.append("")
    bursts = [(n, g[n]["burst"]) for n in levels if 5 <= n <= 100 and g[n].get("burst")]
    if bursts:
        cores = os.cpu_count() or 1
        out.append("Where a burst's time to first token goes: from the instant every "
                   "stream sends its prompt until the last first token arrives, how busy "
                   f"the machine's {cores} cores were (/proc/stat) and whose CPU it was. "
                   "Until its first token a prompt is start-up work only (the next "
                   "token comes a pacing gap later), so the stack's CPU per prompt here "
                   "is what starting one costs: lighttpd and websocketd relaying the "
                   "frame, the session, the worker's checks, its SQLite transaction, its "
                   "connect to the upstream, and the first token's way back. The fake "
                   "upstream needs the same CPU in the direct run; the stack's share is "
                   "what the burst adds, on the same cores.")
        out.append("")
        out.append("| burst | last first token after | cores busy | stack CPU "
                   "(worker) | stack CPU per prompt | of it lighttpd, websocketd and "
                   "session | fake upstream CPU | load generator CPU |")
        out.append("|---|---|---|---|---|---|---|---|")
        for n, bu in bursts:
            out.append(f"| {n} | {bu['window_ms']:.1f} ms | "
                       f"{f1(bu['busy'] * 100 if bu['busy'] is not None else None, '%', 0)} | "
                       f"{bu['stack_ms']:.0f} ms ({bu['worker_ms']:.0f} ms) | "
                       f"{bu['stack_ms'] / n:.2f} ms | "
                       f"{(bu['stack_ms'] - bu['worker_ms']) / n:.2f} ms | "
                       f"{bu['upstream_ms']:.0f} ms | {bu['loadgen_ms']:.0f} ms |")
        out.append("")
        out.append("In a burst the median prompt waits for about half the burst's "
                   "start-up work in the relay's processes (the worker is one thread; "
                   "lighttpd, websocketd and the sessions come before it), on cores the "
                   "fake upstream and the load generator keep busy as well. The rows 'the "
                   "fake upstream on a core of its own' repeat the bursts with the fake "
                   "on core 0 and the stack on the other cores (the load generator free), "
                   "as where the API runs on other machines: what is left is what the "
                   "relay adds itself.")
        out.append("")
        out.append("CPU figures are clock ticks (10 ms) summed over processes: "
                   "approximate over windows this short. Not shown for 1000: its last "
                   "first token comes after other streams' next tokens.")
        out.append("")
    if t:
        out.append("## Throughput detail")
        out.append("")
        out.append(f"{t['streams']} streams of `#words:{t['words']}` at once, no pacing: "
                   f"{t['tokens']} tokens in {t.get('frames', t['tokens'])} delta frames "
                   f"in {t['wall']:.2f} s = {t['fps']:.0f} frames/s "
                   f"(errors: {fmt_err(t['errors'])}). CPU seconds in that window: worker "
                   f"{t['worker_cpu']:.2f}, websocketd + lightchat-ws "
                   f"{t['websocketd_cpu']:.2f}, lighttpd {t['lighttpd_cpu']:.2f}, whole stack "
                   f"{t['stack_cpu']:.2f}, fake upstream {t['upstream_cpu']:.2f}, load "
                   f"generator {t['loadgen_cpu']:.2f} (of {t['wall'] * (os.cpu_count() or 1):.2f} "
                   f"available on {os.cpu_count()} cores). The fake upstream alone, read "
                   f"directly at the same load: {t['direct_tokens']} events in "
                   f"{t['direct_wall']:.2f} s = {t['direct_fps']:.0f}/s, using "
                   f"{t['direct_upstream_cpu']:.2f} s CPU (load generator "
                   f"{t['direct_loadgen_cpu']:.2f} s).")
        busy = t["upstream_cpu"] / t["wall"] if t["wall"] else 0
        if busy > 0.8:
            out.append("")
            out.append(f"The fake upstream used {busy:.0%} of a core during the stack run "
                       "(Python, one GIL): it, not the stack, bounds this figure.")
        out.append("")
    if lg or az:
        out.append("## Login and authorization detail")
        out.append("")
        for name, r in (("POST /login", lg), ("GET /ws, valid token", az),
                        ("GET /ws, invalid token (401)", res.get("authz_refused"))):
            if r:
                out.append(f"- {name}: {r['rps']:.1f}/s over {r['seconds']} s with "
                           f"{r['conns']} connections; latency p50 {f1(r['p50'], ' ms', 2)}, "
                           f"p99 {f1(r['p99'], ' ms', 2)}; non-2xx {r['non2xx']} "
                           f"{r['socket_errors']}; wrk CPU {r['wrk_cpu']:.2f} s"
                           + (f"; FastCGI CPU {r['fcgi_cpu']:.2f} s" if 'fcgi_cpu' in r else ""))
        out.append("")
        out.append("The valid-token /ws request has no `Upgrade` header: the FastCGI "
                   "authorizer checks the token, lighttpd proxies the request to websocketd, "
                   "which answers 404 without starting a session, so the rate is that of "
                   "authorization plus one proxy hop.")
        out.append("")
    if lt:
        out.append("## Failed login time by kind (no timing oracle)")
        out.append("")
        for name, v in lt.items():
            out.append(f"- {name}: {v['n']} logins, p50 {f1(v['p50'], ' ms', 1)}, "
                       f"p90 {f1(v['p90'], ' ms', 1)}")
        out.append("")
        out.append("One at a time on one connection, the kinds interleaved. Every check "
                   "waits for a floor (the slower of a yescrypt check at password_cost and "
                   "the unknown-user check, measured once per process, plus a margin), so "
                   "bcrypt's ~2 ms and yescrypt's ~20 ms do not show.")
        out.append("")
    if mc:
        out.append("## Per-message cost")
        out.append("")
        out.append(f"{mc['conns']} logged-in connections sent {mc['each']} "
                   "`{\"action\":\"ping\"}` messages each, all at once (at most "
                   f"{mc['window']} unanswered per connection): {mc['messages']} pongs "
                   f"in {mc['wall']:.2f} s = {mc['mps']:.0f}/s through lighttpd, "
                   "websocketd and lightchat-ws. The worker answers a ping itself (its "
                   "credentials checked, no upstream call, no database write); its CPU "
                   f"(utime+stime, /proc/PID/stat) in that window: "
                   f"{f1(mc['worker_cpu'], ' s', 2)} = {f1(mc['worker_us'], ' µs')} per "
                   f"message; the whole stack's: {f1(mc['stack_us'], ' µs')} per message. "
                   f"Other frames: {fmt_err(mc['others'])}; connection errors: "
                   f"{fmt_err(mc['errors'])}.")
        out.append("")
    d = getattr(b, "detail", None)
    if d:
        r = d["roll"]
        out.append(f"## Where a connection's memory goes (one lightchat-ws of {d['n']})")
        out.append("")
        out.append(f"Rss {r.get('Rss', 0)} kB, Pss {r.get('Pss', 0)} kB, Private_Clean "
                   f"{r.get('Private_Clean', 0)} kB, Private_Dirty {r.get('Private_Dirty', 0)} kB "
                   f"(Anonymous {r.get('Anonymous', 0)} kB), Shared_Clean "
                   f"{r.get('Shared_Clean', 0)} kB; {d['threads']} threads. "
                   "Mappings with the most PSS (kB PSS / kB private):")
        out.append("")
        for name, (pss, priv) in d["top"]:
            out.append(f"- {name}: {pss} / {priv}")
        out.append("")
    out.append("## Idle processes")
    out.append("")
    for grp, (n, s) in sorted(res.get("idle_breakdown", {}).items()):
        extra = " (not counted in figure 1: run.sh's bash, its log filters)" \
            if grp == "supervisor" else ""
        out.append(f"- {grp}: {n} process{'es' if n > 1 else ''}, {s / MB:.2f} MB PSS{extra}")
    out.append("")
    idet = res.get("idle_detail")
    if idet:
        out.append("Where the idle worker's and websocketd's memory goes:")
        out.append("")
        for grp in ("worker", "websocketd"):
            out += detail_lines(grp, idet.get(grp))
        out.append("")
    if b.notes:
        out.append("## Notes")
        out.append("")
        for note in b.notes:
            out.append("- " + note)
        out.append("")
    return "\n".join(out), rows


# ---------------------------------------------------------------- relay_cost -------
CLASS_NAMES = (("worker", "worker"), ("session", "lightchat-ws"),
               ("websocketd", "websocketd"), ("lighttpd", "lighttpd"), ("fcgi", "FastCGI"))


def detail_lines(name, d):
    """A process's smaps_rollup summary and its top mappings, as Markdown lines."""
    if not d:
        return [f"- {name}: not found"]
    r = d["roll"]
    return ([f"- {name} (pid {d['pid']}, {d['threads']} threads): Pss {r.get('Pss', 0)} kB, "
             f"Rss {r.get('Rss', 0)} kB, Private_Dirty {r.get('Private_Dirty', 0)} kB "
             f"(Anonymous {r.get('Anonymous', 0)} kB), Shared_Clean "
             f"{r.get('Shared_Clean', 0)} kB. Mappings by PSS (kB PSS / kB private): "
             + ", ".join(f"{m} {p} / {q}" for m, (p, q) in d["top"])])


def pooled_latency(runs, keys, find):
    """Table rows of the latency bar on pooled samples: per build (label),
    window and (streams, pace) with at least two runs each way, coalescing
    off and on; [] when no build has that (or the dumps hold no samples)."""
    rows = []
    labels = list(dict.fromkeys(r.get("label") for r in runs))
    for k in keys:
        for label in labels:
            mine = [r for r in runs if r.get("label") == label and find(r, k)
                    and "ttft_ms" in find(r, k)]
            offs = [find(r, k) for r in mine if r["coalesce_ms"] == 0]
            for ms in sorted({r["coalesce_ms"] for r in mine} - {0}):
                ons = [find(r, k) for r in mine if r["coalesce_ms"] == ms]
                if len(offs) < 2 or len(ons) < 2:
                    continue
                t0 = [x for row in offs for x in row["ttft_ms"]]
                t1 = [x for row in ons for x in row["ttft_ms"]]
                g0 = [x for row in offs for x in row["gap_ms"]]
                g1 = [x for row in ons for x in row["gap_ms"]]
                a50, a99 = pct(t1, 50) - pct(t0, 50), pct(t1, 99) - pct(t0, 99)
                ag = pct(g1, 99) - pct(g0, 99)
                bar = verdict(a50 <= 1 and a99 <= 10 and ag <= ms + 10) \
                    if k[0] == 100 else "—"
                rows.append(f"| {k[0]} | {k[1]} | {label} | {len(offs)} / {len(ons)} | "
                            f"{pct(t0, 50):.2f} / {pct(t0, 99):.2f} | "
                            f"{pct(t1, 50):.2f} / {pct(t1, 99):.2f} | "
                            f"{a50:.2f} / {a99:.2f} | {pct(g0, 99):.2f} / "
                            f"{pct(g1, 99):.2f} | {ag:.2f} | {bar} |")
    return rows


def relay_report(runs, smoke):
    """The Markdown of issue 18's relay_cost runs (each one stack: a build and
    a stream_coalesce_ms): CPU per 1000 tokens per process class, frames per
    1000 tokens, ratios, latency, memory per streaming connection, and where
    the idle worker's and websocketd's memory goes."""
    out = ["## Relay cost: CPU per token and memory per stream (relay_cost)"
           + (" (smoke run)" if smoke else ""), ""]
    for r in runs:
        m = r.get("machine") or {}
        out.append(f"- {r.get('label', '?')} ({r.get('commit', '?')}), coalescing "
                   f"{r['coalesce_ms']} ms: {m.get('date', '?')}, load average "
                   f"{r['load_start']} at its start, {r.get('load_end', '?')} at its end; "
                   f"idle stack CPU {sum(r['idle_cpu_per_s'].values()) * 1000:.1f} ms/s; "
                   f"{r.get('other_stacks', '?')} other lightchat stacks running on the "
                   "machine at its start (they share library pages: PSS divides them)")
    if runs and runs[0].get("machine"):
        m = runs[0]["machine"]
        out.append(f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory']} RAM, Linux "
                   f"{m['kernel']}; the stack, the fake upstream and the load generator "
                   "share its cores over loopback")
    out.append("")
    out.append("CPU: utime+stime (/proc/PID/stat; reaped children in their class: "
               "websocketd's are the sessions) over exactly the streaming window (first "
               "prompt sent to the last final frame), summed over the rounds, per 1000 "
               "tokens received (words of the deltas' text, which must equal the final "
               "frame's text: 'check'). Clock ticks are 10 ms, so a class's figure below "
               "~10 ticks in all is rough. Streams of `#words:500`, paced by the fake "
               "upstream (`#slow`); from 10 streams on their starts are spread over 1 s.")
    out.append("")
    out.append("| streams | ms/token | build | coalescing | " +
               " | ".join(n for _, n in CLASS_NAMES) +
               " | stack | of it idle | frames /1000 tokens | stack on/off | stack vs first | "
               "tokens (rounds) | wall s | check | load |")
    out.append("|" + "---|" * (11 + len(CLASS_NAMES)))
    keys = []
    for r in runs:
        for row in r["rows"]:
            k = (row["streams"], row["pace_ms"])
            if k not in keys:
                keys.append(k)

    def per_k(row, x):
        return x / row["tokens"] * 1e6 if row["tokens"] else None   # ms per 1000 tokens

    def find(r, k):
        return next((row for row in r["rows"]
                     if (row["streams"], row["pace_ms"]) == k), None)

    def off_row(r, k):
        """k's row of the same build's run with coalescing off nearest before
        r (runs alternate off and on), else the first after it; None."""
        i = next(j for j, o in enumerate(runs) if o is r)
        same = [o for o in runs[:i][::-1] + runs[i + 1:]
                if o.get("label") == r.get("label") and o["coalesce_ms"] == 0
                and find(o, k)]
        return find(same[0], k) if same else None
    for k in keys:
        first = None
        for r in runs:
            row = find(r, k)
            if not row:
                continue
            stack = per_k(row, sum(row["cpu"].values()))
            first = first if first is not None else stack
            off = off_row(r, k)
            ratio = "—"
            if r["coalesce_ms"] and off and stack is not None:
                s_off = per_k(off, sum(off["cpu"].values()))
                ratio = f"{stack / s_off:.2f}" if s_off else "n/a"
            vs = f"{stack / first:.2f}" if stack is not None and first else "n/a"
            check = ("ok" if not row["mismatch"] and not row["short"] else
                     f"**{row['mismatch']} mismatched, {row['short']} short**")
            out.append(f"| {k[0]} | {k[1]} | {r.get('label', '?')} | "
                       f"{r['coalesce_ms'] or 'off'}{' ms' if r['coalesce_ms'] else ''} | "
                       + " | ".join(f1(per_k(row, row["cpu"][c]), "", 0)
                                    for c, _ in CLASS_NAMES)
                       + f" | **{f1(stack, '', 0)}** | "
                       f"{f1(per_k(row, sum(r['idle_cpu_per_s'].values()) * row['wall']), '', 0)} | "
                       f"{f1(row['frames'] / row['tokens'] * 1000 if row['tokens'] else None, '', 0)}"
                       f" | {ratio} | {vs} | {row['tokens']} ({row['rounds']}) | "
                       f"{row['wall']:.1f} | {check}"
                       + (f"; errors {fmt_err(row['errors'])}" if row["errors"] else "")
                       + f" | {row['load'].split()[0]} |")
    out.append("")
    out.append("(CPU in ms per 1000 tokens; 'of it idle': what the stack spends with "
               "nothing open (its idle rate above, heartbeat and sweeps) over the same "
               "wall time, included in 'stack'; 'stack on/off': this row's stack CPU over "
               "the same build's with coalescing off; 'stack vs first': over the first "
               "run listed for the same streams and pace.)")
    out.append("")
    out.append("### Latency with coalescing (ms)")
    out.append("")
    out.append("TTFT: the prompt sent to its first delta frame; gap: between frames "
               "received, within a stream. 'added' is this run's figure minus the same "
               "build's with coalescing off. The bar (issue 18) at 100 streams spread "
               "over 1 s: added TTFT p50 ≤ 1 ms, p99 ≤ 10 ms; gap p99 ≤ window + 10 ms "
               "added. Wall-clock figures: the load (1 min) is in the last column.")
    out.append("")
    out.append("| streams | ms/token | build | coalescing | TTFT p50 / p99 | added TTFT "
               "p50 / p99 | gap p50 / p99 | added gap p99 | bar | load |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for k in keys:
        for r in runs:
            row = find(r, k)
            if not row:
                continue
            off = off_row(r, k)
            add_t50 = add_t99 = add_g99 = None
            bar = "—"
            if r["coalesce_ms"] and off and row["ttft_p50"] is not None \
                    and off["ttft_p50"] is not None:
                add_t50 = row["ttft_p50"] - off["ttft_p50"]
                add_t99 = row["ttft_p99"] - off["ttft_p99"]
                add_g99 = row["gap_p99"] - off["gap_p99"]
                if k[0] == 100:
                    bar = verdict(add_t50 <= 1 and add_t99 <= 10
                                  and add_g99 <= r["coalesce_ms"] + 10)
            out.append(f"| {k[0]} | {k[1]} | {r.get('label', '?')} | "
                       f"{r['coalesce_ms'] or 'off'}{' ms' if r['coalesce_ms'] else ''} | "
                       f"{f1(row['ttft_p50'], '', 2)} / {f1(row['ttft_p99'], '', 2)} | "
                       f"{f1(add_t50, '', 2)} / {f1(add_t99, '', 2)} | "
                       f"{f1(row['gap_p50'], '', 2)} / {f1(row['gap_p99'], '', 2)} | "
                       f"{f1(add_g99, '', 2)} | {bar} | {row['load'].split()[0]} |")
    pooled = pooled_latency(runs, keys, find)
    if pooled:
        out.append("")
        out.append("Pooled: every sample of the runs above of one build and setting "
                   "(runs alternating off and on), their percentiles and the bar on them.")
        out.append("")
        out.append("| streams | ms/token | build | runs off / on | TTFT p50 / p99 off | "
                   "TTFT p50 / p99 on | added p50 / p99 | gap p99 off / on | added gap "
                   "p99 | bar |")
        out.append("|---|---|---|---|---|---|---|---|---|---|")
        out += pooled
    out.append("")
    out.append("### Memory per streaming connection (PSS, MB)")
    out.append("")
    for r in runs:
        mm = r["mem"]
        n = max(mm["n"], 1)
        co = f"{r['coalesce_ms']} ms" if r["coalesce_ms"] else "off"
        out.append(f"{r.get('label', '?')}, coalescing {co}: "
                   f"{mm['n']} connections of {mm['asked']} opened, each then streaming "
                   f"`{mm['prompt']}` (starts spread over {r['spread']:g} s); PSS "
                   f"(smaps_rollup) with no connection, with the {mm['n']} idle "
                   f"authenticated connections open, and the peak while they stream "
                   f"({mm['samples']} samples, every 0.25 s); per stream = (peak − none) / "
                   f"{mm['n']}, split into the idle connection's part (idle − none) and "
                   f"the streaming part (peak − idle). {mm['tokens']} tokens received, "
                   f"{mm['mismatch']} streams whose deltas did not add up, errors "
                   f"{fmt_err(mm['errors'])}.")
        out.append("")
        out.append("| process | no connection | idle connections | peak streaming | "
                   "per stream | of it idle connection | of it streaming |")
        out.append("|---|---|---|---|---|---|---|")

        def kb(part, c):
            v = mm[part].get(c)
            return (v[1] if isinstance(v, list) else v) or 0 if v is not None else 0
        tot = {"none": 0, "idle": 0}
        for c, name in CLASS_NAMES:
            none_, idle_, peak_ = kb("none", c), kb("idle", c), kb("peak", c)
            tot["none"] += none_
            tot["idle"] += idle_
            label = name
            if c == "session":
                cnt = (mm["idle"].get("session") or [0, 0])[0]
                label = (f"lightchat-ws (sum of {cnt}; average idle "
                         f"{idle_ / max(cnt, 1) / MB:.3f}, streaming "
                         f"{peak_ / max(cnt, 1) / MB:.3f})")
            out.append(f"| {label} | {none_ / MB:.2f} | {idle_ / MB:.2f} | {peak_ / MB:.2f} | "
                       f"{(peak_ - none_) / n / MB:.3f} | {(idle_ - none_) / n / MB:.3f} | "
                       f"{(peak_ - idle_) / n / MB:.3f} |")
        pt = mm["peak_total"]
        out.append(f"| **total** (peak: the highest sum at one sample) | {tot['none'] / MB:.2f} | "
                   f"{tot['idle'] / MB:.2f} | {pt / MB:.2f} | "
                   f"**{(pt - tot['none']) / n / MB:.3f}** | "
                   f"{(tot['idle'] - tot['none']) / n / MB:.3f} | "
                   f"{(pt - tot['idle']) / n / MB:.3f} |")
        u = mm.get("uss")
        if u:
            out.append("")
            out.append(f"Private memory (USS: Private_Clean + Private_Dirty, which other "
                       f"processes mapping the same files do not change) of the whole "
                       f"stack: no connection {u['none'] / MB:.2f} MB, idle connections "
                       f"{u['idle'] / MB:.2f} MB, peak streaming {u['peak'] / MB:.2f} MB: "
                       f"{(u['peak'] - u['none']) / n / MB:.3f} MB per stream.")
        out.append("")
    out.append("Target (issue 18): ≤ 0.17 MB added per streaming connection in total.")
    out.append("")
    out.append("### Where the idle worker's and websocketd's memory goes")
    out.append("")
    seen = set()
    for r in runs:
        if r.get("label") in seen:
            continue
        seen.add(r.get("label"))
        out.append(f"{r.get('label', '?')} (coalescing "
                   f"{str(r['coalesce_ms']) + ' ms' if r['coalesce_ms'] else 'off'}), "
                   "no connection:")
        out.append("")
        for g in ("worker", "websocketd"):
            out += detail_lines(g, (r.get("idle_detail") or {}).get(g))
        out.append("")
    return "\n".join(out)
