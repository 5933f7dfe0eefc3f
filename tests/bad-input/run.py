#!/usr/bin/env python3
"""Runs the bad-input table (tests/bad-input/cases.tsv) against a running stack.

    PYTHONPATH=tools python3 tests/bad-input/run.py CASES.tsv   (tools/: wsframe.py)

Started by tests/e2e/test-bad-input.sh, which starts the stack, logs alice and bob
in and passes what this needs in the environment:
    BASE_PORT   lighttpd's port          WS_PORT    websocketd's own port
    STATE       the stack's state dir    ALICE, BOB their session tokens
    PW_ALICE    alice's password         WATCH_PIDS "pid:comm ..." that must stay up
    API_KEY     the upstream key (must never appear in an answer)

Prints one TAP line per case ("ok - BOUNDARY: NAME" or "not ok - ..." followed by
"#   got: ..." and "#   want: ..." lines) and exits 0, and last a "# cases per
boundary" line. The table's format is described at the top of cases.tsv.
CASES_FILTER=text runs only the cases whose "Boundary: name" contains text;
CASES_TIMING=1 adds each case's duration.

WebSocket cases of one user share one connection: each case's message is followed
by a sentinel (a sendprompt with an empty "messages" and msgid "sentinel-N", which
must be answered by exactly one invalid_request error), so the frames received
before the sentinel's answer are exactly the answers to the case's message.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import select
import socket
import sys
import time

import wsframe  # tools/wsframe.py, on the PYTHONPATH test-bad-input.sh sets

PORT = int(os.environ["BASE_PORT"])
WS_PORT = int(os.environ["WS_PORT"])
STATE = os.environ["STATE"]
HOST = f"127.0.0.1:{PORT}"
TOKENS = {"alice": os.environ["ALICE"], "bob": os.environ["BOB"]}
SECRETS = [s for s in (os.environ.get("API_KEY"), os.environ.get("PW_ALICE")) if s]
COOKIE = "lightchat_session"
SENTINEL_WAIT = 2.0      # seconds for the sentinel's answer
FINAL_WAIT = 15.0        # seconds for a reply that went upstream
LATE_WAIT = 0.5          # seconds for a late frame when nothing came at all
# An idle answer may come late by design: with a shared store a worker
# asks the other hosts first and says idle after 0.5 s of silence
# (worker/cluster.c, IDLE_WAIT_MS); a loaded machine adds to that.
IDLE_WAIT = 3.0
VARS = {}                # macro values set up at start: CONV_A, CONV_B, CONV_BUSY ...


# ---------------------------------------------------------------- tokens

def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(claims, alg="HS256", key=None, header=None, sign_alg=None):
    key = key if key is not None else open(os.path.join(STATE, "token.key"), "rb").read()
    head = b64(json.dumps(header if header is not None else {"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384,
              "HS512": hashlib.sha512}.get(sign_alg or alg)
    sig = b64(hmac.new(key, f"{head}.{body}".encode(), digest).digest()) if digest else ""
    return f"{head}.{body}.{sig}"


def session_of(tok):
    """The session claims (sid, pwv) of a real login token: a token needs a
    live session (a row and the user's current fingerprint), so the
    runner's own tokens name alice's."""
    p = tok.split(".")[1]
    c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    return {"sid": c["sid"], "pwv": c["pwv"]}


def claims(**over):
    now = int(time.time())
    c = {"sub": "alice", "purpose": "lightchat-session", "iat": now - 100,
         "nbf": now - 100, "exp": now + 3600, **session_of(TOKENS["alice"])}
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def token(variant):
    """A token of a kind the server must refuse (or, for "good", accept)."""
    now = int(time.time())
    good = jwt(claims())
    h, p, s = good.split(".")
    v = {
        "good": lambda: good,
        "expired": lambda: jwt(claims(exp=now - 10)),
        "hs384": lambda: jwt(claims(), "HS384"),
        "hs512": lambda: jwt(claims(), "HS512"),
        "none": lambda: jwt(claims(), "none"),
        "none-signed": lambda: jwt(claims(), "none", sign_alg="HS256"),
        "wrong-key": lambda: jwt(claims(), key=b"k" * 64),
        "empty-key": lambda: jwt(claims(), key=b""),
        "tampered-payload": lambda: f"{h}.{b64(json.dumps(claims(sub='bob')).encode())}.{s}",
        "tampered-signature": lambda: f"{h}.{p}.{s[:10]}{'A' if s[10] != 'A' else 'B'}{s[11:]}",
        "no-signature": lambda: f"{h}.{p}.",
        "no-sub": lambda: jwt(claims(sub=None)),
        "empty-sub": lambda: jwt(claims(sub="")),
        "bad-sub": lambda: jwt(claims(sub="../alice")),
        "long-sub": lambda: jwt(claims(sub="a" * 100)),
        "numeric-sub": lambda: jwt(claims(sub=12345)),
        "no-purpose": lambda: jwt(claims(purpose=None)),
        "wrong-purpose": lambda: jwt(claims(purpose="password-reset")),
        "no-exp": lambda: jwt(claims(exp=None)),
        "string-exp": lambda: jwt(claims(exp=str(now + 3600))),
        "no-iat": lambda: jwt(claims(iat=None)),
        "future-iat": lambda: jwt(claims(iat=now + 3600)),
        "future-nbf": lambda: jwt(claims(nbf=now + 3600)),
        "oversized": lambda: jwt(claims(pad="x" * 2100)),
        "header-not-json": lambda: f"{b64(b'not json at all')}.{p}.{s}",
        "two-parts": lambda: f"{h}.{p}",
        "four-parts": lambda: f"{good}.{s}",
        "padded": lambda: good + "==",
        "plus-slash": lambda: good.replace("-", "+").replace("_", "/") if ("-" in good or "_" in good)
        else good[:-1] + "+",
        "space-inside": lambda: f"{h}.{p[:20]} {p[20:]}.{s}",
        "percent": lambda: f"{h}.{p}.{s[:-2]}%41",
    }[variant]
    return v()


# ---------------------------------------------------------------- macros

MACRO = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)(?::((?:(?!\}\}).)*))?\}\}")


def expand(text):
    """Column text -> bytes, with the {{...}} macros of cases.tsv replaced."""
    out = bytearray()
    pos = 0
    rest = MACRO.sub("", text)
    stray = re.search(r"\{\{[A-Za-z]", rest)
    if stray:
        raise ValueError(f"malformed macro near {rest[stray.start():stray.start() + 30]!r}")
    for m in MACRO.finditer(text):
        out += text[pos:m.start()].encode("utf-8")
        pos = m.end()
        name, arg = m.group(1), m.group(2)
        if name == "x":
            out += bytes.fromhex(arg)
        elif name == "rep":
            n, _, t = arg.partition(":")
            out += expand(t) * int(n)
        elif name == "repx":
            n, _, h = arg.partition(":")
            out += bytes.fromhex(h) * int(n)
        elif name == "empty":
            pass
        elif name == "TOK":
            out += token(arg).encode()
        elif name in ("ALICE", "BOB"):
            out += TOKENS[name.lower()].encode()
        elif name == "PW_ALICE":
            out += os.environ["PW_ALICE"].encode()
        elif name == "HOST":
            out += HOST.encode()
        elif name == "SELF":
            out += f"http://{HOST}".encode()
        elif name in VARS:
            out += VARS[name].encode()
        else:
            raise ValueError(f"unknown macro {{{{{name}}}}}")
    out += text[pos:].encode("utf-8")
    return bytes(out)


# ---------------------------------------------------------------- checks

class Result:
    def __init__(self):
        self.got = []       # what was observed, for the report
        self.errors = []    # failed expectations

    def fail(self, msg):
        self.errors.append(msg)


def leak_check(res, blob):
    """Answers must not show internals: paths, SQL, library names, secrets."""
    low = blob.lower()
    for bad in [STATE.encode().lower(), b"sqlite", b"cjson", b"traceback", b"segmentation",
                b"select ", b"/work/", b"/tmp/"] + [s.encode().lower() for s in SECRETS]:
        if bad and bad in low:
            shown = b"<secret>" if any(bad == s.encode().lower() for s in SECRETS) else bad
            res.fail(f"the answer leaks internals ({shown.decode(errors='replace')})")


def jget(obj, path):
    for k in path.split("."):
        if not isinstance(obj, dict) or k not in obj:
            return None
        obj = obj[k]
    return obj


def want_value(want, got):
    """A table value (or "A|B" alternatives) against a JSON value."""
    alts = want.split("|")
    if got is None:
        return "null" in alts
    if isinstance(got, bool):
        return ("true" if got else "false") in alts
    if isinstance(got, (int, float)) and not isinstance(got, bool):
        return any(a.lstrip("-").replace(".", "", 1).isdigit() and float(a) == got for a in alts)
    return str(got) in alts


# ---------------------------------------------------------------- HTTP

def recv_until_closed(sock, deadline):
    data = b""
    while True:
        left = deadline - time.time()
        if left <= 0:
            return data, False
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            return data, False
        try:
            chunk = sock.recv(65536)
        except OSError:
            return data, True
        if not chunk:
            return data, True
        data += chunk


def dechunk(body):
    out = b""
    while body:
        line, _, rest = body.partition(b"\r\n")
        try:
            n = int(line.split(b";")[0], 16)
        except ValueError:
            return out + body
        if n == 0:
            break
        out += rest[:n]
        body = rest[n + 2:]
    return out


def http_request(method, target, headers, body, timeout=10.0):
    """One request on its own connection. Returns (status, {header: value}, body)."""
    sock = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    names = {h.split(b":", 1)[0].strip().lower() for h in headers}
    lines = [f"{method} ".encode() + target + b" HTTP/1.1"]
    if b"host" not in names:
        lines.append(b"Host: " + HOST.encode())
    lines.append(b"Connection: close")
    lines += headers
    if body is not None and b"content-length" not in names and b"transfer-encoding" not in names:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + (body or b""))
    data, closed = recv_until_closed(sock, time.time() + timeout)
    sock.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    if not head:
        return None, {}, b"", "no answer" if closed else "timeout"
    status_line, *hl = head.decode("latin-1").split("\r\n")
    parts = status_line.split()
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    hdrs = {}
    for h in hl:
        k, _, v = h.partition(":")
        hdrs.setdefault(k.strip().lower(), []).append(v.strip())
    if "chunked" in ",".join(hdrs.get("transfer-encoding", [])).lower():
        rest = dechunk(rest)
    return status, hdrs, rest, None


def auth_headers(auth):
    if auth in TOKENS:
        return [f"Cookie: {COOKIE}={TOKENS[auth]}".encode()]
    if auth != "-":
        raise ValueError(f"unknown auth {auth!r}")
    return []


def parse_headers(col):
    if col == "-":
        return []
    out = []
    for item in col.split("|"):
        item = item.strip()
        if not item:
            continue
        out.append(b"Content-Type: application/json" if item == "json" else expand(item))
    return out


def check_http(res, exp, status, hdrs, body):
    res.got.append(f"HTTP {status}")
    try:
        js = json.loads(body) if body.strip() else None
    except ValueError:
        js = None
    if isinstance(js, dict):
        code = jget(js, "error.code")
        if code is not None:
            res.got.append(f"code={code}")
        if "isAuthorized" in js:
            res.got.append(f"isAuthorized={json.dumps(js['isAuthorized'])}")
    elif body:
        res.got.append("body=" + body[:80].decode("utf-8", "replace").replace("\n", " "))
    leak_check(res, body + b"\n".join(v.encode() for vs in hdrs.values() for v in vs))
    for t in exp:
        if re.fullmatch(r"\d{3}(\|\d{3})*", t):
            if str(status) not in t.split("|"):
                res.fail(f"status {status}, want {t}")
        elif t.startswith(("code=", "field=", "status=", "msgid=")):
            k, _, v = t.partition("=")
            path = {"code": "error.code", "field": "error.field", "status": "error.status",
                    "msgid": "msgid"}[k]
            if not want_value(v, jget(js, path)):
                res.fail(f"{path} is {json.dumps(jget(js, path))}, want {v}")
        elif t == "login":
            ok = (isinstance(js, dict) and js.get("isAuthorized") is False and
                  jget(js, "body.token") == "" and isinstance(js.get("msg"), str) and
                  isinstance(jget(js, "body.message"), str))
            if not ok:
                res.fail("not the login failure shape {isAuthorized:false,body:{message,token:\"\"},msg}")
        elif t.startswith("login-ok"):
            _, _, user = t.partition("=")
            if not (isinstance(js, dict) and js.get("isAuthorized") is True and
                    (not user or js.get("username") == user)):
                res.fail(f"not a successful login{' as ' + user if user else ''}")
        elif t.startswith("hdr:"):
            name, _, sub = t[4:].partition("~")
            vals = hdrs.get(name.lower(), [])
            if not any(sub.replace("_", " ") in v for v in vals):
                res.fail(f"header {name} is {vals}, want one containing {sub.replace('_', ' ')!r}")
        elif t.startswith("nohdr:"):
            name, _, sub = t[6:].partition("~")
            vals = [v for v in hdrs.get(name.lower(), []) if sub.replace("_", " ") in v]
            if vals:
                res.fail(f"header {name}: {vals[0][:80]!r} must not be there")
        elif t.startswith("count="):
            n = jget(js, "conversations")
            if not isinstance(n, list) or len(n) != int(t[6:]):
                res.fail(f"conversations: {n!r:.80}, want {t[6:]} of them")
        elif t == "json":
            if js is None:
                res.fail("the body is not JSON")
        else:
            raise ValueError(f"unknown expectation {t!r} for http")


def run_http(case):
    method, _, target = case["request"].partition(" ")
    headers = auth_headers(case["auth"]) + parse_headers(case["headers"])
    body = None if case["body"] == "-" else expand(case["body"])
    res = Result()
    status, hdrs, rbody, err = http_request(method, expand(target), headers, body)
    if err:
        res.got.append(err)
        res.fail(err)
        return res
    check_http(res, case["expect"], status, hdrs, rbody)
    return res


# ---------------------------------------------------------------- WebSocket

class WS:
    """A minimal client connection: handshake, send frames, read messages.
    path and headers are bytes (a case may put any byte in them)."""

    def __init__(self, path=b"/ws", headers=(), port=PORT, timeout=5.0):
        self.closed = False
        self.decoder = wsframe.Decoder()
        self.ready = []  # messages decoded but not yet returned by recv()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        request, _ = wsframe.handshake_request(path, f"127.0.0.1:{port}", headers)
        self.sock.sendall(request)
        data = b""
        deadline = time.time() + timeout
        while b"\r\n\r\n" not in data and time.time() < deadline:
            r, _, _ = select.select([self.sock], [], [], max(deadline - time.time(), 0))
            if not r:
                break
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        self.status, hdrs = wsframe.parse_response_head(head)
        self.body = b""
        if self.status == 101:
            self.feed(rest)
        else:
            # a refusal: read its body (Content-Length says how much; the
            # connection may stay open for keep-alive)
            cl = hdrs.get("content-length", "")
            want = int(cl) if cl.isdigit() else None
            deadline = time.time() + 2
            while (want is None or len(rest) < want) and time.time() < deadline:
                r, _, _ = select.select([self.sock], [], [], max(deadline - time.time(), 0))
                chunk = self.sock.recv(65536) if r else b""
                if not chunk:
                    break
                rest += chunk
            self.body = rest
            self.close()

    def send(self, opcode, payload, fin=True):
        try:
            self.sock.sendall(wsframe.encode(opcode, payload, fin))
        except OSError:
            self.closed = True

    def feed(self, data):
        """Decodes received bytes: pings are answered, pongs dropped, a close
        frame marks the connection closed; messages wait in self.ready. A
        server breaking RFC 6455 ends the connection and raises ProtocolError
        (the case fails)."""
        try:
            msgs = self.decoder.feed(data)
        except wsframe.ProtocolError:
            self.close()
            raise
        for op, payload in msgs:
            if self.closed:
                break
            if op == wsframe.OP_PING:
                self.send(wsframe.OP_PONG, payload)
            elif op == wsframe.OP_CLOSE:
                self.closed = True
            elif op != wsframe.OP_PONG:
                self.ready.append((op, payload))

    def recv(self, timeout):
        """The next message as (opcode, payload), or None at timeout/close."""
        deadline = time.time() + timeout
        while True:
            if self.ready:
                return self.ready.pop(0)
            if self.closed:
                return None
            left = deadline - time.time()
            if left <= 0:
                return None
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return None
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True
                continue
            self.feed(chunk)

    def close(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass


def frame_json(op, payload):
    if op != 1:
        return {"_binary": len(payload)}
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return {"_bad_utf8": payload[:80].decode("utf-8", "replace")}
    try:
        v = json.loads(payload)
        return v if isinstance(v, dict) else {"_nonobject": payload[:80].decode("utf-8", "replace")}
    except ValueError:
        return {"_nonjson": payload[:80].decode("utf-8", "replace")}


def is_final(f):
    return f.get("type") in ("reply", "error")


def describe(f):
    if f.get("type") == "error":
        e = f.get("error", {})
        extra = "".join(f" {k}={json.dumps(e[k])}" for k in ("field", "status", "retry_after") if k in e)
        return f"error:{e.get('code')}{extra} msgid={json.dumps(f.get('msgid'))}"
    if f.get("type") == "reply":
        return f"reply msgid={json.dumps(f.get('msgid'))} finish_reason={f.get('finish_reason')}"
    if "type" in f:
        return str(f["type"])
    return json.dumps(f)[:100]


class Conns:
    """One open connection per user; reopened after the server closed one."""

    def __init__(self):
        self.conns = {}
        self.sentinel = 0

    def get(self, who):
        c = self.conns.get(who)
        if c is None or c.closed:
            c = WS(headers=auth_headers(who))
            if c.status != 101:
                raise RuntimeError(f"cannot open a WebSocket as {who}: HTTP {c.status}")
            self.conns[who] = c
        return c

    def close_all(self):
        for c in self.conns.values():
            if not c.closed:
                c.send(wsframe.OP_CLOSE, wsframe.close_payload(1000))
                c.close()
        self.conns = {}


def ws_exchange(conn, frames, sentinel_id, wait_final, late=LATE_WAIT):
    """Sends frames then the sentinel; returns (answers, sentinel_answered)."""
    for op, payload, fin in frames:
        conn.send(op, payload, fin)
    sentinel = json.dumps({"action": "sendprompt",
                           "payload": {"msgid": sentinel_id, "messages": []}})
    conn.send(1, sentinel.encode())
    answers, seen_sentinel = [], False
    deadline = time.time() + SENTINEL_WAIT
    while not seen_sentinel:
        m = conn.recv(max(deadline - time.time(), 0))
        if m is None:
            break
        f = frame_json(*m)
        if f.get("msgid") == sentinel_id:
            seen_sentinel = True
            if jget(f, "error.code") != "invalid_request":
                answers.append({"_sentinel_wrong": describe(f)})
        else:
            answers.append(f)
    # A reply that went upstream ends later; so may one we did not expect.
    started = any(f.get("type") == "start" for f in answers)
    if seen_sentinel and (started or wait_final or not answers) and not any(is_final(f) for f in answers):
        deadline = time.time() + (FINAL_WAIT if (started or wait_final) else late)
        while not conn.closed:
            m = conn.recv(max(deadline - time.time(), 0))
            if m is None:
                break
            f = frame_json(*m)
            answers.append(f)
            if is_final(f):
                break
    return answers, seen_sentinel


def check_ws_answers(res, exp, answers, closed):
    """Checks the frames that answered one message against the expectation."""
    relevant = [f for f in answers if f.get("type") not in ("start", "delta")]
    res.got.append("; ".join(describe(f) for f in relevant) or "no answer")
    if closed:
        res.got.append("connection closed")
    for f in relevant:
        if "_bad_utf8" in f:
            res.fail("a text frame with invalid UTF-8 (a browser drops the connection)")
        elif "_binary" in f or "_nonjson" in f or "_nonobject" in f:
            res.fail("an answer frame that is not a JSON object")
        if f.get("type") == "error":
            t = f.get("text")
            if not (isinstance(t, dict) and isinstance(t.get("content"), str) and
                    t["content"].startswith("Error") and "role" not in t):
                res.fail("error frame without text.content 'Error: …' (or with a role)")
        leak_check(res, json.dumps(f).encode())
    want_frames = 0 if "none" in exp else 2 if "pong-too" in exp else 1
    if "closed" not in exp and len(relevant) != want_frames:
        res.fail(f"{len(relevant)} answer frames, want exactly {want_frames}")
    main = relevant[0] if relevant else {}
    for t in exp:
        if t in ("none", "pong-too", "wait"):
            continue
        if t == "closed":
            if not closed:
                res.fail("the connection stayed open, want it closed")
        elif t.startswith("type="):
            if not want_value(t[5:], main.get("type")):
                res.fail(f"type {main.get('type')!r}, want {t[5:]}")
        elif t == "partial":
            if not (isinstance(jget(main, "error.partial"), str) and jget(main, "error.partial")):
                res.fail("error.partial is missing or empty")
        elif t.startswith(("code=", "field=", "status=", "retry_after=", "msgid=", "finish_reason=")):
            k, _, v = t.partition("=")
            path = {"code": "error.code", "field": "error.field", "status": "error.status",
                    "retry_after": "error.retry_after", "msgid": "msgid",
                    "finish_reason": "finish_reason"}[k]
            if not want_value(v, jget(main, path)):
                res.fail(f"{path} is {json.dumps(jget(main, path))}, want {v}")
        elif t.startswith("content="):
            if jget(main, "text.content") != t[8:].replace("_", " "):
                res.fail(f"text.content is {json.dumps(jget(main, 'text.content'))}, want {t[8:]!r}")
        else:
            raise ValueError(f"unknown expectation {t!r} for ws")
    if "pong-too" in exp and (len(relevant) < 2 or relevant[1].get("type") != "pong"):
        res.fail("no pong after the error")


def run_ws(case, conns):
    res = Result()
    conn = conns.get(case["auth"])
    payload = expand(case["body"])
    mode = case["request"]
    if mode == "text":
        frames = [(1, payload, True)]
    elif mode == "binary":
        frames = [(2, payload, True)]
    elif mode == "fragmented":
        half = len(payload) // 2
        frames = [(1, payload[:half], False), (0, payload[half:], True)]
    else:
        raise ValueError(f"unknown ws request {mode!r}")
    conns.sentinel += 1
    sid = f"sentinel-{conns.sentinel}"
    wait_final = any(t.startswith("code=upstream_") or t in ("type=reply", "wait") or
                     t.startswith("code=reply_") for t in case["expect"])
    late = IDLE_WAIT if "type=idle" in case["expect"] else LATE_WAIT
    answers, seen = ws_exchange(conn, frames, sid, wait_final, late)
    check_ws_answers(res, case["expect"], answers, conn.closed)
    if not seen:
        res.fail("the next message (a sentinel) got no answer: this message was "
                 "swallowed, merged with the next one, or the connection died")
        conn.close()  # start the next case on a fresh connection
    return res


def run_wsh(case):
    """A handshake variant; after an upgrade, a ping must get its pong."""
    res = Result()
    target = case["request"]
    port = PORT
    if target.startswith("direct:"):
        port, target = WS_PORT, target[len("direct:"):]
    headers = auth_headers(case["auth"]) + parse_headers(case["headers"])
    c = WS(path=expand(target), headers=headers, port=port)
    if c.status != 101:
        hdr_exp = [t for t in case["expect"] if not t.startswith(("type=", "closed"))]
        check_http(res, hdr_exp, c.status, {}, c.body)
        for t in case["expect"]:
            if t.startswith("type="):
                res.fail(f"HTTP {c.status} instead of an upgrade")
        return res
    res.got.append("HTTP 101")
    for t in case["expect"]:
        if re.fullmatch(r"\d{3}(\|\d{3})*", t) and "101" not in t.split("|"):
            res.fail(f"status 101, want {t}")
    c.send(1, b'{"action":"ping"}')
    answers = []
    deadline = time.time() + 3
    while not c.closed:
        m = c.recv(max(deadline - time.time(), 0))
        if m is None:
            break
        answers.append(frame_json(*m))
        if answers[-1].get("type") == "pong":
            break
    if not c.closed and any(f.get("type") == "error" for f in answers):
        # a refused session is closed right after its error frame
        m = c.recv(1.5)
        while m is not None:
            m = c.recv(0.5)
    rest = [t for t in case["expect"] if not re.fullmatch(r"\d{3}(\|\d{3})*", t)]
    check_ws_answers(res, rest, answers, c.closed)
    c.close()
    return res


# ---------------------------------------------------------------- setup

def start_conversation(who, text):
    """A new conversation of who's, with one finished turn; returns its id."""
    c = WS(headers=auth_headers(who))
    msg = {"action": "sendprompt", "payload": {"msgid": f"setup-{who}-{time.time()}", "prompt": text}}
    c.send(1, json.dumps(msg).encode())
    conv = None
    seen = []
    deadline = time.time() + 15
    while time.time() < deadline:
        m = c.recv(deadline - time.time())
        if m is None:
            break
        f = frame_json(*m)
        seen.append(f)
        if f.get("type") == "start":
            conv = f.get("conversation_id")
        if is_final(f):
            break
    c.send(wsframe.OP_CLOSE, wsframe.close_payload(1000))
    c.close()
    if not conv:
        raise RuntimeError(f"setup: no conversation for {who}; handshake status "
                           f"{c.status}; frames: {seen!r:.600}")
    return conv


class Busy:
    """A slow reply kept in flight in its own conversation on its own connection,
    for the duplicate_msgid and conversation_busy cases."""

    def __init__(self):
        self.c = WS(headers=auth_headers("alice"))
        self.msgid = "busy-1"
        msg = {"action": "sendprompt", "payload": {"msgid": self.msgid,
                                                  "prompt": "#words:100 #slow:120"}}
        self.c.send(1, json.dumps(msg).encode())
        deadline = time.time() + 10
        self.conv = None
        while self.conv is None and time.time() < deadline:
            m = self.c.recv(deadline - time.time())
            if m is None:
                break
            f = frame_json(*m)
            if f.get("type") == "start":
                self.conv = f.get("conversation_id")
        if not self.conv:
            raise RuntimeError("setup: the busy reply did not start")

    def finish(self):
        """Stops the reply; returns its final frame (a reply, finish_reason stopped),
        or a description of what went wrong."""
        while True:  # nothing may have ended it before this stop
            m = self.c.recv(0.05)
            if m is None:
                break
            f = frame_json(*m)
            if is_final(f) and f.get("msgid") == self.msgid:
                return f"it ended before the stop: {describe(f)}"
        if self.c.closed:
            return "its connection was closed"
        self.c.send(1, json.dumps({"action": "stop", "payload": {"msgid": self.msgid}}).encode())
        deadline = time.time() + 10
        final = None
        while time.time() < deadline:
            m = self.c.recv(deadline - time.time())
            if m is None:
                break
            f = frame_json(*m)
            if is_final(f) and f.get("msgid") == self.msgid:
                final = f
                break
        self.c.send(wsframe.OP_CLOSE, wsframe.close_payload(1000))
        self.c.close()
        return final


# ---------------------------------------------------------------- main

def read_table(path):
    cases, section = [], "?"
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if line.startswith("#=="):
                section = line[3:].strip()
                continue
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 7:
                raise SystemExit(f"{path}:{n}: {len(cols)} columns, want 7")
            kind, name, auth, request, headers, body, expect = cols
            if kind not in ("http", "ws", "wsh"):
                raise SystemExit(f"{path}:{n}: unknown kind {kind!r}")
            cases.append({"line": n, "section": section, "kind": kind, "name": name,
                          "auth": auth, "request": request, "headers": headers,
                          "body": body, "expect": expect.split()})
    names = [f"{c['section']}: {c['name']}" for c in cases]
    dups = {x for x in names if names.count(x) > 1}
    if dups:
        raise SystemExit(f"duplicate case names: {sorted(dups)}")
    return cases


def watched():
    out = []
    for item in os.environ.get("WATCH_PIDS", "").split():
        pid, _, comm = item.partition(":")
        out.append((int(pid), comm))
    return out


def still_up(pids):
    """The processes that died (or were replaced) since the start."""
    gone = []
    for pid, comm in pids:
        try:
            with open(f"/proc/{pid}/comm") as fh:
                if fh.read().strip() != comm:
                    gone.append(f"{comm}[{pid}]")
        except OSError:
            gone.append(f"{comm}[{pid}]")
    return gone


def main():
    cases = read_table(sys.argv[1])
    only = os.environ.get("CASES_FILTER", "")
    pids = watched()
    VARS["CONV_A"] = start_conversation("alice", "alice's first question")
    VARS["CONV_A2"] = start_conversation("alice", "alice's second question")
    VARS["CONV_B"] = start_conversation("bob", "bob's own question")
    busy = Busy()
    VARS["CONV_BUSY"] = busy.conv
    conns = Conns()
    counts, failed = {}, 0
    dead = []
    for case in cases:
        label = f"{case['section']}: {case['name']}"
        if only and only not in label:
            continue
        counts[case["section"]] = counts.get(case["section"], 0) + 1
        t0 = time.time()
        try:
            if case["kind"] == "http":
                res = run_http(case)
            elif case["kind"] == "ws":
                res = run_ws(case, conns)
            else:
                res = run_wsh(case)
        except Exception as e:  # a crash of the runner is one failed case
            res = Result()
            res.got.append(f"{type(e).__name__}: {e}")
            res.fail("the case could not be run")
        if os.environ.get("CASES_TIMING"):
            res.got.append(f"[{time.time() - t0:.3f}s]")
            print(f"# {time.time() - t0:.3f}s {label}")
        gone = [g for g in still_up(pids) if g not in dead]
        if gone:
            res.fail("process died or was replaced: " + ", ".join(gone))
            dead += gone
        if res.errors:
            failed += 1
            print(f"not ok - {label}")
            print(f"#   line {case['line']}: {case['kind']} {case['request']} "
                  f"{case['headers'] if case['headers'] != '-' else ''} "
                  f"{case['body'][:150] if case['body'] != '-' else ''}".rstrip())
            print(f"#   got:  {' '.join(res.got)[:300]}")
            print(f"#   want: {' '.join(case['expect'])}")
            for e in res.errors[:3]:
                print(f"#   ({e[:300]})")
        else:
            print(f"ok - {label}")
        sys.stdout.flush()
    conns.close_all()
    final = busy.finish()
    got = final if isinstance(final, str) else describe(final) if final else "no final frame"
    if isinstance(final, dict) and final.get("type") == "reply" and final.get("finish_reason") == "stopped":
        print("ok - setup: the busy reply stops cleanly after all cases")
    else:
        print("not ok - setup: the busy reply stops cleanly after all cases")
        print(f"#   got:  {got}")
        print("#   want: reply finish_reason=stopped")
    print("# cases per boundary: " + ", ".join(f"{k} {v}" for k, v in counts.items()) +
          f"; total {sum(counts.values())}, failed {failed}")


if __name__ == "__main__":
    main()
