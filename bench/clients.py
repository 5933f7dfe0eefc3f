"""clients.py - the benchmark's client connections: WebSocket clients of the
stack (open many at once, stream one prompt and time its deltas, answer
pings, close) and
the direct client that reads the same prompt as SSE straight from the fake
upstream. Frames go through tools/wsframe.py (on PYTHONPATH, see
bench/run.sh). Times are time.perf_counter() taken when the bytes are read.
"""
import asyncio
import json
import socket
import time
from urllib.parse import urlsplit

import wsframe

READ_MAX = 65536  # bytes taken from a stream at a time


class Conn:
    """One client connection and what its last stream recorded."""

    def __init__(self):
        self.r = self.w = None
        self.error = None
        self.t_send = None
        self.deltas = []     # perf_counter() of each delta frame
        self.text = []       # each delta frame's text (ws_stream), in order
        self.final = None    # "reply" or "error:<code>"
        self.final_text = None  # the final reply frame's text.content
        self.dec = wsframe.Decoder()
        self.pending = []    # messages read after the last stream's final frame


async def ws_open(url, token, timeout, rcvbuf=None):
    """Opens an authenticated WebSocket (the token as the session cookie);
    returns a Conn, its error set (and its writer closed) if that failed.
    rcvbuf: the socket's SO_RCVBUF and the reader's buffer, in bytes (a
    client that does not read then takes little)."""
    u = urlsplit(url)
    c = Conn()
    try:
        if rcvbuf:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            s.setblocking(False)
            try:
                await asyncio.wait_for(asyncio.get_running_loop().sock_connect(
                    s, (u.hostname, u.port)), timeout)
            except BaseException:
                s.close()
                raise
            c.r, c.w = await asyncio.open_connection(sock=s, limit=rcvbuf)
        else:
            c.r, c.w = await asyncio.wait_for(
                asyncio.open_connection(u.hostname, u.port), timeout)
        req, key = wsframe.handshake_request(u.path, f"{u.hostname}:{u.port}",
                                             [f"Cookie: lightchat_session={token}"])
        c.w.write(req)
        head = await asyncio.wait_for(c.r.readuntil(b"\r\n\r\n"), timeout)
        status, headers = wsframe.parse_response_head(head[:-4])
        if status != 101:
            c.error = "HTTP " + str(status)
        else:
            wsframe.check_accept(key, headers)
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
            asyncio.LimitOverrunError, wsframe.ProtocolError) as e:
        c.error = type(e).__name__
    if c.error and c.w:
        c.w.close()
    return c


async def open_many(url, token, n, timeout, parallel=64):
    """n ws_open()s, at most parallel of them at a time; a list of Conns."""
    sem = asyncio.Semaphore(parallel)

    async def one():
        async with sem:
            return await ws_open(url, token, timeout)
    return await asyncio.gather(*(one() for _ in range(n)))


async def ws_stream(c, msgid, text, deadline, delay=0.0, on_first=None):
    """Send one prompt (conversation shape, streamed) and read to its final frame;
    on_first() is called when its first token arrives. Each read takes what
    the stream has; every message it completes is stamped with that read's
    time. Sets c.t_send, c.deltas, c.text (each delta's text: with
    coalescing a frame carries several tokens, so tokens are counted from
    the text, frames from c.deltas), c.final, c.final_text, and c.error on
    failure."""
    msg = json.dumps({"action": "sendprompt",
                      "payload": {"msgid": msgid, "prompt": text, "stream": True}})
    c.t_send, c.deltas, c.text, c.final, c.final_text = None, [], [], None, None
    if delay:
        await asyncio.sleep(delay)
    try:
        c.t_send = time.perf_counter()
        c.w.write(wsframe.encode(wsframe.OP_TEXT, msg.encode()))
        msgs, c.pending = c.pending, []
        now = c.t_send
        while True:
            for i, (op, payload) in enumerate(msgs):
                if op == wsframe.OP_PING:
                    c.w.write(wsframe.encode(wsframe.OP_PONG, payload))
                    continue
                if op == wsframe.OP_CLOSE:
                    c.error = "closed"
                    return
                if b'"type":"delta"' in payload:
                    c.deltas.append(now)
                    if on_first and len(c.deltas) == 1:
                        on_first()
                    try:
                        c.text.append(json.loads(payload)["delta"])
                    except (ValueError, KeyError, TypeError):
                        c.text.append("")
                        c.error = c.error or "bad delta frame"
                elif b'"type":"reply"' in payload:
                    c.final = "reply"
                    try:   # a final frame too long for one payload has no text
                        c.final_text = json.loads(payload)["text"]["content"]
                    except (ValueError, KeyError, TypeError):
                        pass
                    c.pending = msgs[i + 1:]
                    return
                elif b'"type":"error"' in payload:
                    try:
                        code = json.loads(payload)["error"]["code"]
                    except (ValueError, KeyError, TypeError):
                        code = "?"
                    c.final = "error:" + str(code)
                    c.error = c.final
                    c.pending = msgs[i + 1:]
                    return
            left = deadline - time.perf_counter()
            if left <= 0:
                c.error = "timeout"
                return
            data = await asyncio.wait_for(c.r.read(READ_MAX), left)
            now = time.perf_counter()
            if not data:
                # the end of the stream: named as readexactly() names it, so
                # the error counts read as in earlier runs
                c.error = c.error or "IncompleteReadError"
                return
            msgs = c.dec.feed(data)
    except (OSError, asyncio.TimeoutError, wsframe.ProtocolError) as e:
        c.error = c.error or type(e).__name__


def tokens_of(c):
    """The words (the fake's tokens) a stream's deltas carried together."""
    return len("".join(c.text).split())


async def ws_pings(c, n, window, deadline):
    """Sends n {"action":"ping"} messages, at most window of them unanswered,
    and reads their {"type":"pong"} frames. Returns the number of pongs; any
    other frame is counted in c.others (by its type); c.error on failure."""
    msg = wsframe.encode(wsframe.OP_TEXT, b'{"action":"ping"}')
    sent = pongs = 0
    c.others = {}
    try:
        while pongs < n:
            while sent < n and sent - pongs < window:
                c.w.write(msg)
                sent += 1
            left = deadline - time.perf_counter()
            if left <= 0:
                c.error = "timeout"
                break
            data = await asyncio.wait_for(c.r.read(READ_MAX), left)
            if not data:
                c.error = "IncompleteReadError"
                break
            for op, payload in c.dec.feed(data):
                if op == wsframe.OP_PING:
                    c.w.write(wsframe.encode(wsframe.OP_PONG, payload))
                elif op == wsframe.OP_CLOSE:
                    c.error = "closed"
                elif payload == b'{"type":"pong"}':
                    pongs += 1
                else:
                    try:
                        kind = json.loads(payload).get("type", "?")
                        if kind == "error":
                            kind = "error:" + str(json.loads(payload)["error"]["code"])
                    except (ValueError, KeyError, TypeError, AttributeError):
                        kind = "?"
                    if kind == "pong":
                        pongs += 1
                        continue
                    c.others[kind] = c.others.get(kind, 0) + 1
                    pongs += kind.startswith("error:")  # an answer all the same
            if c.error:
                break
    except (OSError, asyncio.TimeoutError, wsframe.ProtocolError) as e:
        c.error = c.error or type(e).__name__
    return pongs


async def close_all(conns):
    """Sends each open connection a close frame (1000) and closes it."""
    for c in conns:
        if c.w and not c.w.is_closing():
            try:
                c.w.write(wsframe.encode(wsframe.OP_CLOSE, wsframe.close_payload(1000)))
            except (OSError, RuntimeError):
                pass
            c.w.close()
    await asyncio.sleep(0.1)


# ---------------------------------------------------------------- direct SSE -------
async def direct_stream(up, api_key, text, deadline, delay=0.0):
    """POST the same prompt straight to the fake upstream; record content-event times."""
    u = urlsplit(up)
    c = Conn()
    if delay:
        await asyncio.sleep(delay)
    body = json.dumps({"model": "gpt-4o-mini", "stream": True,
                       "messages": [{"role": "user", "content": text}]}).encode()
    try:
        left = deadline - time.perf_counter()
        # timed from the connect: a client without the relay must open a
        # connection to the API, as the worker does for every reply (the
        # stack's client has its WebSocket open already)
        c.t_send = time.perf_counter()
        c.r, c.w = await asyncio.wait_for(asyncio.open_connection(u.hostname, u.port), left)
        c.w.write((f"POST /v1/chat/completions HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\n"
                   f"Authorization: Bearer {api_key}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body)
        head = await asyncio.wait_for(c.r.readuntil(b"\r\n\r\n"),
                                      deadline - time.perf_counter())
        if head.split(b" ", 2)[1] != b"200":
            c.error = "HTTP " + head.split(b" ", 2)[1].decode()
            return c
        buf = b""
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                c.error = "timeout"
                break
            size = int((await asyncio.wait_for(c.r.readline(), left)).split(b";")[0], 16)
            if size == 0:
                break
            data = (await asyncio.wait_for(c.r.readexactly(size + 2), left))[:-2]
            now = time.perf_counter()
            buf += data
            if buf.endswith(b"\r"):  # a CR whose LF is in the next chunk
                continue
            *events, buf = buf.replace(b"\r\n", b"\n").split(b"\n\n")
            for ev in events:
                for line in ev.split(b"\n"):
                    if not line.startswith(b"data:"):
                        continue
                    p = line[5:].strip()
                    if p == b"[DONE]":
                        c.final = "reply"
                        continue
                    try:
                        ch = json.loads(p)["choices"]
                    except (ValueError, KeyError, TypeError):
                        continue
                    if ch and ch[0].get("delta", {}).get("content"):
                        c.deltas.append(now)
        if c.final != "reply" and not c.error:
            c.error = "no [DONE]"
    except (OSError, ValueError, asyncio.TimeoutError, asyncio.IncompleteReadError,
            asyncio.LimitOverrunError) as e:
        c.error = c.error or (type(e).__name__ + (": " + str(e)[:48] if str(e) else ""))
    finally:
        if c.w:
            c.w.close()
    return c

