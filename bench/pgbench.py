#!/usr/bin/env python3
"""pgbench.py - the measuring half of `make bench-pg` (bench/pg.sh starts and
stops the servers and the stacks; this reads them). Each subcommand prints
one JSON object on stdout, which pg.sh appends to its results file; `report`
reads that file, prints the table and writes bench/RESULTS.md's section.

    pgbench.py pgsnap URL PG_PID       the database's counters now
                                       (pg_stat_database, pg_stat_wal,
                                       pg_stat_bgwriter, the WAL position)
                                       and the server's CPU seconds
    pgbench.py rows ENGINE DB          rows of the store's main tables
    pgbench.py stream WS TOKEN --conns N --rounds R --prompt P
                      [--sqlite DB]    N connections, each R prompts in turn
                                       in its own conversation; with --sqlite
                                       the WAL is held open by a reader (no
                                       checkpoint can reset it) and its frames
                                       and commits counted
    pgbench.py burst WS TOKEN --n N --bursts B --prompt P
                                       N prompts sent at once, B times
    pgbench.py watch WS_A WS_B TOKEN --prompt P
                                       a reply written on host A watched from
                                       host B: deltas/s and delay
    pgbench.py report RESULTS --out FILE --machine TEXT
Figures are printed, never asserted.
"""
import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import struct
import subprocess
import sys
import time

import wsframe
from clients import close_all, ws_open

READ_MAX = 65536
TICK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------ database side --
PG_SNAP_SQL = """
SELECT json_build_object(
 'xact_commit', d.xact_commit, 'xact_rollback', d.xact_rollback,
 'tup_inserted', d.tup_inserted, 'tup_updated', d.tup_updated,
 'tup_deleted', d.tup_deleted, 'tup_returned', d.tup_returned,
 'tup_fetched', d.tup_fetched, 'blks_read', d.blks_read, 'blks_hit', d.blks_hit,
 'wal_lsn', pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0'),
 'wal_records', w.wal_records, 'wal_fpi', w.wal_fpi, 'wal_bytes', w.wal_bytes,
 'wal_write', w.wal_write, 'wal_sync', w.wal_sync,
 'buffers_written', b.buffers_checkpoint + b.buffers_clean + b.buffers_backend,
 'numbackends', d.numbackends)
FROM pg_stat_database d, pg_stat_wal w, pg_stat_bgwriter b
WHERE d.datname = current_database()"""


def psql(url, sql):
    return subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def proc_cpu(pid, children=True):
    """utime+stime (and the reaped children's) of pid, in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            v = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    t = int(v[11]) + int(v[12])
    if children:
        t += int(v[13]) + int(v[14])
    return t / TICK


def pg_cpu(pg_pid):
    """The server's CPU: the postmaster (with its reaped backends) and its
    live children."""
    total = proc_cpu(pg_pid)
    try:
        kids = subprocess.run(["pgrep", "-P", str(pg_pid)], capture_output=True,
                              text=True).stdout.split()
    except OSError:
        kids = []
    for k in kids:
        total += proc_cpu(k, children=False)
    return total


def cmd_pgsnap(a):
    out = json.loads(psql(a.url, PG_SNAP_SQL))
    out["pg_cpu"] = pg_cpu(a.pg_pid)
    out["t"] = time.time()
    return out


ROWS_SQL = ("SELECT (SELECT count(*) FROM conversations), (SELECT count(*) FROM messages),"
            " (SELECT count(*) FROM usage), (SELECT count(*) FROM sessions)")


def rows(engine, db):
    if engine == "pg":
        v = psql(db, ROWS_SQL).split("|")
    else:
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        v = c.execute(ROWS_SQL).fetchone()
        c.close()
    return dict(zip(("conversations", "messages", "usage", "sessions"), map(int, v)))


def cmd_rows(a):
    return rows(a.engine, a.db)


STMTS_SQL = """
SELECT json_build_object('calls', coalesce(sum(calls), 0),
 'ms', coalesce(sum(total_exec_time), 0),
 'top', (SELECT json_agg(x) FROM (SELECT calls, round(mean_exec_time::numeric, 3) AS mean_ms,
   left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS query
   FROM pg_stat_statements s2 WHERE s2.dbid = d.oid AND query NOT ILIKE '%pg_stat%'
   AND query NOT ILIKE '%count(*)%' AND query NOT ILIKE 'CHECKPOINT%'
   ORDER BY calls DESC LIMIT 8) x))
FROM pg_stat_statements s, pg_database d
WHERE d.datname = current_database() AND s.dbid = d.oid
 AND query NOT ILIKE '%pg_stat%' AND query NOT ILIKE '%count(*)%'
 AND query NOT ILIKE 'CHECKPOINT%'
GROUP BY d.oid"""


def cmd_stmts(a):
    """The statements run in the database since pg_stat_statements_reset."""
    out = psql(a.url, STMTS_SQL)
    return json.loads(out) if out else {"calls": 0, "ms": 0, "top": []}


NOTIFIES_SQL = """
SELECT json_build_object('queries', coalesce(sum(calls), 0),
 'notifies', coalesce(sum(calls * (length(query) - length(replace(query, 'pg_notify(', '')))
   / length('pg_notify(')), 0),
 'ms', coalesce(sum(total_exec_time), 0))
FROM pg_stat_statements s, pg_database d
WHERE d.datname = current_database() AND s.dbid = d.oid AND query LIKE '%pg_notify(%'"""


def cmd_notifies(a):
    """The pg_notify queries run since pg_stat_statements_reset: how many,
    with how many notifications in all."""
    return json.loads(psql(a.url, NOTIFIES_SQL))


def cmd_lat(a):
    """Runs bench/store_lat.c's program on DB: {call: [p50, p99, mean]}."""
    r = subprocess.run([a.bin, a.db, str(a.runs)], capture_output=True, text=True,
                       timeout=300)
    out = {"runs": a.runs}
    for line in r.stdout.splitlines():
        v = line.split()
        if len(v) == 6 and v[0] == "store_lat":
            out[v[2]] = [float(x) for x in v[3:]]
    if r.returncode != 0:
        out["error"] = (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1]
    return out


def wal_frames(path):
    """The valid frames of a SQLite WAL file: (salts, frames, commits). A frame
    is valid when its salts are the header's (frames of an earlier cycle left
    behind are not); a commit frame has a database size."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return (None, 0, 0)
    if len(data) < 32:
        return (None, 0, 0)
    page = struct.unpack(">I", data[8:12])[0]
    salts = data[16:24]
    frames = commits = 0
    off = 32
    while off + 24 + page <= len(data):
        if data[off + 8:off + 16] != salts:
            break
        frames += 1
        if struct.unpack(">I", data[off + 4:off + 8])[0]:
            commits += 1
        off += 24 + page
    return (salts, frames, commits, page)


# ------------------------------------------------------------- client side --
# Conn, ws_open and close_all are the benchmark's own (bench/clients.py);
# messages() below adds each Conn's t_read, the time of its last read.


async def messages(c, deadline):
    """Yields (time read, payload) of each data message, answering pings;
    what one read brought and was not yet taken stays in c.pending for the
    next call."""
    while True:
        while c.pending:
            op, payload = c.pending.pop(0)
            if op == wsframe.OP_PING:
                c.w.write(wsframe.encode(wsframe.OP_PONG, payload))
            elif op == wsframe.OP_CLOSE:
                raise ConnectionError("close frame")
            elif op == wsframe.OP_TEXT:
                yield c.t_read, payload
        left = deadline - time.perf_counter()
        if left <= 0:
            raise asyncio.TimeoutError
        data = await asyncio.wait_for(c.r.read(READ_MAX), left)
        c.t_read = time.perf_counter()
        if not data:
            raise ConnectionError("closed")
        c.pending = list(c.dec.feed(data))


def send_prompt(c, msgid, text, conv=None):
    p = {"msgid": msgid, "prompt": text, "stream": True}
    if conv:
        p["conversation_id"] = conv
    c.w.write(wsframe.encode(wsframe.OP_TEXT,
                             json.dumps({"action": "sendprompt", "payload": p}).encode()))


async def one_reply(c, deadline):
    """Reads to a reply's final frame: (deltas, conversation id, final time)."""
    deltas, conv = 0, None
    async for now, payload in messages(c, deadline):
        if b'"type":"delta"' in payload:
            deltas += 1
        elif b'"type":"start"' in payload:
            conv = json.loads(payload).get("conversation_id")
        elif b'"type":"reply"' in payload:
            return deltas, conv, now
        elif b'"type":"error"' in payload:
            try:
                code = json.loads(payload)["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "?"
            raise RuntimeError("error:" + str(code))
    raise ConnectionError("no reply")


def count_errors(errs):
    out = {}
    for e in errs:
        if e:
            out[e] = out.get(e, 0) + 1
    return out


async def stream(a):
    conns = [await ws_open(a.ws, a.token, 10) for _ in range(a.conns)]
    open_err = count_errors(c.error for c in conns)
    live = [c for c in conns if not c.error]
    reader = wal0 = None
    if a.sqlite:
        # a read transaction from before the load: no checkpoint can reset
        # the WAL while it lasts, so every frame the load writes stays in it
        reader = sqlite3.connect(a.sqlite, timeout=10, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM messages").fetchone()
        wal0 = wal_frames(a.sqlite + "-wal")
    deadline = time.perf_counter() + a.timeout
    errs, deltas, replies = [], [0], [0]
    lat = []

    async def user(i, c):
        conv = None
        await asyncio.sleep(i * a.spread / max(1, len(live)))
        for r in range(a.rounds):
            t0 = time.perf_counter()
            try:
                send_prompt(c, f"s{i}-{r}", a.prompt, conv)
                n, cid, t1 = await one_reply(c, deadline)
            except (OSError, ConnectionError, RuntimeError, asyncio.TimeoutError,
                    wsframe.ProtocolError) as e:
                errs.append(str(e) or type(e).__name__)
                return
            conv = conv or cid
            deltas[0] += n
            replies[0] += 1
            lat.append(t1 - t0)
    t0 = time.perf_counter()
    await asyncio.gather(*(user(i, c) for i, c in enumerate(live)))
    wall = time.perf_counter() - t0
    out = {"replies": replies[0], "deltas": deltas[0], "wall_s": wall,
           "errors": count_errors(errs), "open_errors": open_err,
           "reply_s_p50": statistics.median(lat) if lat else None}
    if reader is not None:
        wal1 = wal_frames(a.sqlite + "-wal")
        same = wal0[0] is not None and wal0[0] == wal1[0]
        f0, c0 = (wal0[1], wal0[2]) if same else (0, 0)
        out["sqlite_wal"] = {"frames": wal1[1] - f0, "commits": wal1[2] - c0,
                             "page": wal1[3] if len(wal1) > 3 else 4096,
                             "restarted": not same}
        reader.execute("COMMIT")
        reader.close()
    await close_all(live)
    return out


async def burst(a):
    conns = [await ws_open(a.ws, a.token, 10) for _ in range(a.n)]
    live = [c for c in conns if not c.error]
    rates, p50s, p99s, errs = [], [], [], []
    for b in range(a.bursts):
        deadline = time.perf_counter() + a.timeout
        t0 = time.perf_counter()
        for i, c in enumerate(live):
            send_prompt(c, f"b{b}-{i}", a.prompt)
        res = await asyncio.gather(*(one_reply(c, deadline) for c in live),
                                   return_exceptions=True)
        ends = [r[2] for r in res if isinstance(r, tuple)]
        errs += [str(r) or type(r).__name__ for r in res if not isinstance(r, tuple)]
        if ends:
            last = max(ends) - t0
            rates.append(len(ends) / last)
            lat = sorted(e - t0 for e in ends)
            p50s.append(lat[len(lat) // 2] * 1000)
            p99s.append(lat[min(len(lat) - 1, (len(lat) * 99) // 100)] * 1000)
        await asyncio.sleep(0.5)
    await close_all(live)
    return {"n": len(live), "bursts": a.bursts, "rates": rates,
            "rate_median": statistics.median(rates) if rates else None,
            "done_ms_p50": statistics.median(p50s) if p50s else None,
            "done_ms_p99": statistics.median(p99s) if p99s else None,
            "errors": count_errors(errs),
            "open_errors": count_errors(c.error for c in conns)}


async def watch(a):
    """A writer on host A streams a long reply; a watcher on host B, once the
    conversation exists, watches it. Per delta: when the writer got it and
    when the watcher did (one clock: both on this machine)."""
    w = await ws_open(a.ws_a, a.token, 10)
    v = await ws_open(a.ws_b, a.token, 10)
    if w.error or v.error:
        return {"error": f"open: {w.error or v.error}"}
    deadline = time.perf_counter() + a.timeout
    # a first short reply makes the conversation, which the watcher then
    # follows before the long one starts
    send_prompt(w, "w0", "#words:3")
    _, conv, _ = await one_reply(w, deadline)
    v.w.write(wsframe.encode(wsframe.OP_TEXT, json.dumps(
        {"action": "watch", "payload": {"conversation_id": conv}}).encode()))
    async for _, payload in messages(v, deadline):
        if b'"type":"idle"' in payload or b'"type":"snapshot"' in payload:
            break
    await asyncio.sleep(0.5)
    wt, vt = [], []
    vtext = [""]

    async def writer():
        async for now, payload in messages(w, deadline):
            if b'"type":"delta"' in payload:
                wt.append((now, len(json.loads(payload)["delta"])))
            elif b'"type":"reply"' in payload or b'"type":"error"' in payload:
                return

    async def watcher():
        async for now, payload in messages(v, deadline):
            m = json.loads(payload)
            if m.get("type") == "delta":
                vt.append((now, len(m["delta"])))
                vtext[0] += m["delta"]
            elif m.get("type") in ("reply", "error"):
                return
    send_prompt(w, "w1", a.prompt, conv)
    t0 = time.perf_counter()
    try:
        await asyncio.wait_for(asyncio.gather(writer(), watcher()), a.timeout)
    except asyncio.TimeoutError:
        pass
    await close_all([w, v])
    if not wt or not vt:
        return {"error": "no deltas", "writer": len(wt), "watcher": len(vt)}
    # the delay: when the watcher had as many bytes as the writer had at
    # each of the writer's deltas
    delays, j, got = [], 0, 0
    cum_w, s = [], 0
    for t, n in wt:
        s += n
        cum_w.append((t, s))
    for t, need in cum_w:
        while j < len(vt) and got < need:
            got += vt[j][1]
            j += 1
        if got >= need:
            delays.append((vt[j - 1][0] - t) * 1000)
    delays.sort()
    span_v = vt[-1][0] - t0
    return {"writer_deltas": len(wt), "watcher_deltas": len(vt),
            "writer_bytes": cum_w[-1][1], "watcher_bytes": sum(n for _, n in vt),
            "watcher_s": span_v, "watcher_deltas_per_s": len(vt) / span_v if span_v else None,
            "writer_s": wt[-1][0] - t0,
            "delay_ms_p50": delays[len(delays) // 2] if delays else None,
            "delay_ms_p99": delays[min(len(delays) - 1, len(delays) * 99 // 100)]
            if delays else None}


# ------------------------------------------------------------------ report --
def fmt(v, d=1):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.{d}f}"
    return f"{v:,}"


def diff(b, a, keys):
    return {k: b[k] - a[k] for k in keys}


PG_KEYS = ("xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_deleted",
           "tup_returned", "tup_fetched", "wal_lsn", "wal_records", "wal_fpi", "wal_bytes",
           "wal_write", "wal_sync", "buffers_written", "pg_cpu", "t")


def report(a):
    R = {}
    with open(a.results) as f:
        for line in f:
            line = line.strip()
            if line:
                k, v = line.split(" ", 1)
                R[k] = json.loads(v)
    if "idle_a" in R and "idle_b" in R:
        d = diff(R["idle_b"], R["idle_a"], PG_KEYS)
        R["idle_rate"] = {k: d[k] / d["t"] for k in PG_KEYS if k != "t"}
        R["idle_rate"]["t_window"] = d["t"]
    if "watch_a" in R and "watch_b" in R:
        R["watch_pg_cpu"] = diff(R["watch_b"], R["watch_a"], PG_KEYS)
    L = []  # the markdown section
    P = L.append
    P(f"## PostgreSQL against SQLite (issue 17, `make bench-pg`)")
    P("")
    P(f"- date: {a.date}")
    P(f"- machine: {a.machine}")
    P(f"- load average when it started: {a.load_before}; when it ended: {a.load_after}")
    loads = [(k[5:], v["load"]) for k, v in R.items() if k.startswith("load_")]
    if loads:
        P("- load average (1 min) as each part started: " +
          ", ".join(f"{k} {v}" for k, v in loads) + " (other work on the machine shows here)")
    P("- PostgreSQL 15 (Debian's postgresql-15 binaries, a private server of bench/pg.sh on a "
      "unix socket, durable settings: fsync on, synchronous_commit on, full_page_writes on, "
      "shared_buffers 128 MB); SQLite in WAL mode with synchronous NORMAL (the store's own "
      "pragmas: no fsync per commit)")
    P("- the stack, the fake upstream (tests/fake_upstream.py), the load generator "
      "(bench/pgbench.py) and PostgreSQL share the machine's cores over loopback")
    P("- figures are measured, never asserted; estimates are marked *estimated*")
    P("")
    # ---- store latency
    lat = {k[len("store_lat_"):]: v for k, v in R.items() if k.startswith("store_lat_")}
    if lat:
        P("### The store's calls, µs per call (bench/store_lat.c, "
          f"{next(iter(lat.values())).get('runs', '?')} calls each; p50 / p99)")
        P("")
        cols = [("sqlite", "SQLite"), ("postgresql", "PostgreSQL"),
                ("postgresql_async", "PostgreSQL, synchronous_commit off")]
        cols = [c for c in cols if c[0] in lat]
        P("| call | " + " | ".join(n for _, n in cols) + " |")
        P("|---|" + "---|" * len(cols))
        names = {"conv_get": "store_conv_get (20 messages)",
                 "reply_write": "reply write: begin, store_msg_add, store_msg_update, commit",
                 "session_check": "store_session_check",
                 "usage_sum": "store_usage_sum (a month, 3000 rows)",
                 "lease_renew": "store_lease_renew (one statement, autocommit)"}
        for call, name in names.items():
            cells = []
            for k, _ in cols:
                v = lat[k].get(call)
                cells.append(f"{v[0]:.0f} / {v[1]:.0f}" if v else "—")
            P(f"| {name} | " + " | ".join(cells) + " |")
        P("")
    # ---- write load
    for eng, label in (("pg", "PostgreSQL"), ("sqlite", "SQLite")):
        s = R.get(f"stream_{eng}")
        if s:
            P(f"- stream run on {label}: {s['replies']} replies ({s['conns']} connections × "
              f"{s['rounds']} prompts in turn, each connection continuing a conversation of its own, prompt "
              f"`{s['prompt']}`), {s['deltas']} deltas, {s['wall_s']:.1f} s, reply p50 "
              f"{fmt(s['reply_s_p50'], 2)} s, errors {s['errors'] or 'none'}")
    P("")
    sp, ss = R.get("stream_pg"), R.get("stream_sqlite")
    if sp and "pg_before" in R and "pg_after" in R:
        d = diff(R["pg_after"], R["pg_before"], PG_KEYS)
        idle = dict(R.get("idle_rate", {}))
        idle.pop("t_window", None)
        dt = d["t"]
        # the idle stack's own load over the same time is taken off
        corr = {k: d[k] - idle.get(k, 0) * dt for k in PG_KEYS if k != "t"}
        k1 = 1000.0 / max(1, sp["replies"])
        rw_pg = diff(R["rows_pg_after"], R["rows_pg_before"],
                     ("conversations", "messages", "usage"))
        rw_sq = diff(R["rows_sqlite_after"], R["rows_sqlite_before"],
                     ("conversations", "messages", "usage")) if ss else None
        k1s = 1000.0 / max(1, ss["replies"]) if ss else None
        w = ss.get("sqlite_wal") if ss else None
        P("### The database's write load per 1000 streaming replies")
        P("")
        P("| per 1000 replies | PostgreSQL | SQLite |")
        P("|---|---|---|")
        P(f"| transactions committed | {corr['xact_commit'] * k1:,.0f} (xact_commit) | "
          + (f"{w['commits'] * k1s:,.0f} (commit frames in the -wal)" if w else "—") + " |")
        P(f"| of them write transactions | {corr['wal_sync'] * k1:,.0f} (WAL flushes, pg_stat_wal."
          "wal_sync: one per commit that wrote; xact_commit counts every statement run outside "
          "a transaction, reads too) | " + (f"{w['commits'] * k1s:,.0f}" if w else "—") + " |")
        st = R.get("stmts_pg")
        if st:
            P(f"| statements (round trips from the stack) | {st['calls'] * k1:,.0f} "
              f"(pg_stat_statements, BEGIN and COMMIT included; {st['ms'] * k1 / 1000:,.2f} s "
              "of execution) | — (in-process calls) |")
        P(f"| rows inserted | {corr['tup_inserted'] * k1:,.0f} (tup_inserted; indexes not "
          "counted) | " + (f"{sum(rw_sq.values()) * k1s:,.0f} (rows counted: conversations, "
                           "messages, usage)" if rw_sq else "—") + " |")
        P(f"| of them conversations / messages / usage rows | "
          f"{rw_pg['conversations'] * k1:,.0f} / {rw_pg['messages'] * k1:,.0f} / "
          f"{rw_pg['usage'] * k1:,.0f} | " +
          (f"{rw_sq['conversations'] * k1s:,.0f} / {rw_sq['messages'] * k1s:,.0f} / "
           f"{rw_sq['usage'] * k1s:,.0f}" if rw_sq else "—") + " |")
        P(f"| rows updated | {corr['tup_updated'] * k1:,.0f} (tup_updated) | — |")
        P(f"| rows deleted | {corr['tup_deleted'] * k1:,.0f} (tup_deleted) | — |")
        P(f"| WAL written | {corr['wal_lsn'] * k1 / 1e6:,.2f} MB (pg_wal_lsn_diff; "
          f"{corr['wal_records'] * k1:,.0f} records, {corr['wal_fpi'] * k1:,.0f} full-page "
          f"images) | " + (f"{w['frames'] * (w['page'] + 24) * k1s / 1e6:,.2f} MB "
                           f"({w['frames'] * k1s:,.0f} frames of {w['page']} B pages)"
                           if w else "—") + " |")
        P("| fsync at commit | one per write transaction (synchronous_commit on) | none "
          "(synchronous NORMAL: only at checkpoints) |")
        P(f"| data-file blocks written after a CHECKPOINT | {corr['buffers_written'] * k1:,.0f} "
          f"× 8 KiB (pg_stat_bgwriter) | — (the -wal is copied back at checkpoints) |")
        P(f"| PostgreSQL CPU | {corr['pg_cpu'] * k1:,.2f} s | — |")
        P("")
        P(f"Measured over {dt:.1f} s: the counters before the load and after the stack "
          "stopped (its connections then report their last statistics), less the idle "
          "stack's own rate over the same time (below), a CHECKPOINT before each reading. "
          "The rates during the run: "
          f"{d['xact_commit'] / sp['wall_s']:,.0f} commits/s, "
          f"{d['wal_lsn'] / sp['wall_s'] / 1e6:,.2f} MB/s of WAL for "
          f"{sp['replies'] / sp['wall_s']:,.1f} replies/s ({sp['conns']} streaming at once). "
          "The worker saves every reply in progress once a second, all of them in one "
          "transaction, so the commits per reply do not grow with the streams at once; "
          "a reply's start and its end are a transaction each.")
        P("")
    st = R.get("stmts_pg")
    if st and st.get("top") and sp:
        k1 = 1000.0 / max(1, sp["replies"])
        P("The statements run most often in that run (pg_stat_statements; calls per 1000 "
          "replies, mean execution time in the server):")
        P("")
        P("| calls | mean ms | statement |")
        P("|---|---|---|")
        for t in st["top"]:
            q = t["query"].replace("|", "\\|")
            P(f"| {t['calls'] * k1:,.0f} | {t['mean_ms']} | `{q}` |")
        P("")
    # ---- idle
    ir = R.get("idle_rate")
    if ir:
        P("### The idle stack's own load (the leases' check)")
        P("")
        P(f"An idle stack on PostgreSQL for {ir['t_window']:.0f} s (no client): "
          f"{ir['xact_commit']:.2f} commits/s, {ir['tup_inserted']:.2f} rows inserted/s, "
          f"{ir['tup_updated']:.2f} updated/s, {ir['tup_deleted']:.2f} deleted/s, "
          f"{ir['wal_lsn']:.0f} B/s of WAL, PostgreSQL CPU {ir['pg_cpu'] * 1000:.1f} ms/s; "
          f"the host held {R['idle_b']['numbackends'] - 1} connections to the database "
          "(pg_stat_database.numbackends, the reading's own left out: the worker and "
          "the FastCGI processes the burst had started).")
        P("")
        cl = R.get("cluster", {})
        if cl.get("on_main"):
            P("From the code (worker/cluster.c): each worker renews its lease every "
              "worker_lease/3 (2 s at the default 6 s: one INSERT … ON CONFLICT DO UPDATE, "
              "autocommit) and sweeps for orphaned replies every 2 s (one transaction: the "
              "SELECT of streaming replies whose worker's lease ran out, through the partial "
              "index messages_streaming, and the DELETE of old leases), so about 1 commit/s, "
              "2.5 statements/s and 0.5 row updates/s per host; its LISTEN connection is idle "
              "without watchers. The idle reading above is one host's and agrees.")
        else:
            P("The workers' leases are not in this checkout's worker yet (worker/cluster.c, "
              "not merged): the idle stack above does nothing but the bench's own readings "
              "(each a connection and a transaction). From the code of the cluster branch: "
              "each worker renews its lease every worker_lease/3 (2 s at the default 6 s: "
              "one INSERT … ON CONFLICT DO UPDATE, autocommit) and sweeps for orphaned "
              "replies every 2 s (one transaction: a SELECT through the partial index "
              "messages_streaming and a DELETE of old leases), so *estimated* 1 commit/s, "
              "2.5 statements/s and 0.5 row updates/s per host; store_lease_renew's own "
              "cost is measured in the store's table above.")
        P("")
    # ---- bursts
    bp, bs = R.get("burst_pg"), R.get("burst_sqlite")
    if bp or bs:
        P("### Prompts per second one host sustains (bursts)")
        P("")
        P("| engine | burst | prompts/s, best / median of bursts | each burst | all replies done, p50 / p99 (medians) | errors |")
        P("|---|---|---|---|---|---|")
        for b, label in ((bs, "SQLite"), (bp, "PostgreSQL")):
            if b:
                P(f"| {label} | {b['n']} prompts `{b['prompt']}` at once, {b['bursts']} times | "
                  f"{fmt(max(b['rates']) if b['rates'] else None)} / {fmt(b['rate_median'])} | "
                  f"{', '.join(f'{r:.0f}' for r in b['rates'])} | "
                  f"{fmt(b['done_ms_p50'], 0)} / {fmt(b['done_ms_p99'], 0)} ms | "
                  f"{b['errors'] or 'none'} |")
        P("")
        P("N logged-in connections each send one prompt for a new conversation in the same "
          "millisecond, the fake upstream unpaced (UPSTREAM_DELAY_MS=0): prompts/s is N over "
          "the time until the last reply's final frame. Each prompt is a start transaction "
          "(conversation, prompt, reply rows) and an end transaction (the reply, its usage "
          "row) on the worker's one connection, which works them one after the other. Other "
          "work on the machine only slows a burst down, so the best burst is the nearest to "
          "what the host can do.")
        P("")
    # ---- watch
    wv = R.get("watch")
    if wv:
        P("### A reply watched from another host (LISTEN/NOTIFY)")
        P("")
        if "error" in wv:
            P(f"Not measured: {wv['error']}")
        else:
            pc = R.get("watch_pg_cpu")
            P(f"A reply `{wv.get('prompt', '')}` written through host 1 and watched through "
              f"host 2 (tests/e2e/multihost.sh, two hosts on one PostgreSQL): the writer got "
              f"{wv['writer_deltas']} deltas ({wv['writer_bytes']} bytes) in "
              f"{wv['writer_s']:.2f} s, the watcher {wv['watcher_deltas']} deltas "
              f"({wv['watcher_bytes']} bytes) in {wv['watcher_s']:.2f} s = "
              f"{fmt(wv['watcher_deltas_per_s'], 0)} deltas/s carried; the watcher had each "
              f"byte {fmt(wv['delay_ms_p50'])} ms (p50) / {fmt(wv['delay_ms_p99'])} ms (p99) "
              "after the writer" +
              (f"; PostgreSQL CPU in that time {pc['pg_cpu']:.2f} s "
               f"({pc['pg_cpu'] / max(wv['watcher_s'], 0.001) * 100:.0f}% of a core)"
               if pc else "") +
              (f"; {R['watch_notifies']['notifies']:,} notifications in "
               f"{R['watch_notifies']['queries']:,} pg_notify queries (pg_stat_statements; "
               f"{R['watch_notifies']['ms']:.0f} ms of execution)" if "watch_notifies" in R
               else "") + ". The reply is unpaced (the fake upstream as fast as it goes), so "
              "this is what the link carries for one reply at most, not a reply's usual "
              "20–50 deltas/s.")
        P("")
    text = "\n".join(L).rstrip() + "\n"
    sys.stdout.write(text)
    if a.out:
        try:
            with open(a.out) as f:
                old = f.read()
        except OSError:
            old = ""
        head = "## PostgreSQL against SQLite (issue 17"
        i = old.find(head)
        if i >= 0:
            j = old.find("\n## ", i + len(head))
            rest = old[j + 1:] if j >= 0 else ""
            old = old[:i].rstrip() + "\n\n" + rest
        new = old.rstrip() + "\n\n" + text
        with open(a.out + ".tmp", "w") as f:
            f.write(new)
        os.replace(a.out + ".tmp", a.out)
    return None


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pgsnap")
    p.add_argument("url")
    p.add_argument("pg_pid")
    p = sub.add_parser("rows")
    p.add_argument("engine", choices=("pg", "sqlite"))
    p.add_argument("db")
    p = sub.add_parser("stmts")
    p.add_argument("url")
    p = sub.add_parser("notifies")
    p.add_argument("url")
    p = sub.add_parser("lat")
    p.add_argument("bin")
    p.add_argument("db")
    p.add_argument("--runs", type=int, default=1000)
    p = sub.add_parser("stream")
    p.add_argument("ws")
    p.add_argument("token")
    p.add_argument("--conns", type=int, default=100)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--prompt", default="#words:200 #slow:4")
    p.add_argument("--spread", type=float, default=1.0)
    p.add_argument("--sqlite")
    p.add_argument("--timeout", type=float, default=120)
    p = sub.add_parser("burst")
    p.add_argument("ws")
    p.add_argument("token")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--bursts", type=int, default=3)
    p.add_argument("--prompt", default="#words:20")
    p.add_argument("--timeout", type=float, default=60)
    p = sub.add_parser("watch")
    p.add_argument("ws_a")
    p.add_argument("ws_b")
    p.add_argument("token")
    p.add_argument("--prompt", default="#words:5000")
    p.add_argument("--timeout", type=float, default=60)
    p = sub.add_parser("report")
    p.add_argument("results")
    p.add_argument("--out")
    p.add_argument("--machine", default="")
    p.add_argument("--date", default="")
    p.add_argument("--load-before", default="")
    p.add_argument("--load-after", default="")
    a = ap.parse_args()
    if a.cmd == "report":
        report(a)
        return 0
    fn = {"pgsnap": cmd_pgsnap, "rows": cmd_rows, "lat": cmd_lat,
          "stmts": cmd_stmts, "notifies": cmd_notifies}.get(a.cmd)
    if fn:
        out = fn(a)
    else:
        out = asyncio.run({"stream": stream, "burst": burst, "watch": watch}[a.cmd](a))
        for k in ("conns", "rounds", "prompt", "n"):
            if hasattr(a, k) and k not in out:
                out[k] = getattr(a, k)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
