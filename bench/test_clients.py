#!/usr/bin/env python3
"""test_clients.py - checks clients.py's WebSocket client against a scripted
local server (no stack): the handshake, the timing contract (every message
one read completes carries that read's time), pings answered, final frames
(reply, error, close, end of stream), messages read after a final frame kept
for the next stream, pings counted by their pongs, and the close frame. Prints TAP lines; exit status 1 if
one fails. Run by bench/run.sh --smoke, with tools/ on PYTHONPATH.
"""
import asyncio
import json
import sys
import time

import wsframe
from clients import close_all, open_many, tokens_of, ws_open, ws_pings, ws_stream

GAP = 0.05  # seconds between the server's two writes of one reply


def text(obj):
    return wsframe.encode(wsframe.OP_TEXT, json.dumps(obj, separators=(",", ":")).encode(),
                          mask=False)


def delta(msgid, d):
    return text({"msgid": msgid, "type": "delta", "delta": d})


class Server:
    """Answers the upgrade (or 401 when refuse is set), then for each prompt
    it receives sends what script(msgid) yields: bytes to write, or a
    float to sleep. Records the frames the client sent."""

    def __init__(self, script, refuse=False):
        self.script, self.refuse = script, refuse
        self.got = []  # (opcode, payload) from the client
        self.pings = 0

    async def handle(self, r, w):
        try:
            head = await r.readuntil(b"\r\n\r\n")
            if self.refuse:
                w.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
                await w.drain()
                return
            key = next(ln.split(b":", 1)[1].strip().decode() for ln in head.split(b"\r\n")
                       if ln.lower().startswith(b"sec-websocket-key:"))
            w.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                     f"{wsframe.accept_for(key)}\r\n\r\n").encode())
            dec = wsframe.Decoder()
            while True:
                data = await r.read(65536)
                if not data:
                    return
                for op, payload in dec.feed(data):
                    self.got.append((op, payload))
                    if op != wsframe.OP_TEXT:
                        continue
                    m = json.loads(payload)
                    if m.get("action") == "ping":  # a pong; every 10th an idle frame too
                        self.pings += 1
                        w.write(text({"type": "pong"}) + (text({"type": "idle"})
                                                          if self.pings % 10 == 0 else b""))
                        continue
                    msgid = m["payload"]["msgid"]
                    for step in self.script(msgid):
                        if isinstance(step, float):
                            await asyncio.sleep(step)
                        elif step is None:
                            w.close()
                            return
                        else:
                            w.write(step)
                            await w.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            w.close()


async def serve(server):
    srv = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    return srv, f"ws://127.0.0.1:{port}/ws"


def script(msgid):
    if msgid == "m1":  # a ping and two deltas in one write, a gap, the rest in one write
        yield (wsframe.encode(wsframe.OP_PING, b"p1", mask=False)
               + delta(msgid, "a ") + delta(msgid, "b"))
        yield GAP
        yield (delta(msgid, "c") + text({"msgid": msgid, "type": "reply", "text": {
                   "role": "assistant", "content": "a bc"}})
               + text({"type": "idle", "conversation_id": "x"}))
    elif msgid == "m2":
        yield delta(msgid, "d") + text({"msgid": msgid, "type": "reply"})
    elif msgid == "m3":
        yield text({"msgid": msgid, "type": "error", "error": {"code": "too_busy"}})
    elif msgid == "m4":
        yield wsframe.encode(wsframe.OP_CLOSE, wsframe.close_payload(1001), mask=False)
    else:
        yield delta(msgid, "e")
        yield None  # the end of the stream


async def run(tap):
    srv_obj = Server(script)
    srv, url = await serve(srv_obj)
    c = await ws_open(url, "tok", 5)
    tap(c.error is None, "clients: ws_open completes the handshake")
    firsts = []
    await ws_stream(c, "m1", "hi", time.perf_counter() + 5, on_first=lambda: firsts.append(1))
    d = c.deltas
    tap(c.final == "reply" and c.error is None and len(d) == 3,
        "clients: a stream reads its deltas to the reply")
    tap(len(d) == 3 and d[0] == d[1] and d[2] - d[1] >= GAP * 0.8,
        "clients: messages of one read share its time; a later read, a later time")
    tap(len(d) == 3 and d[0] >= c.t_send and firsts == [1],
        "clients: t_send precedes the first delta; on_first called once")
    tap(c.text == ["a ", "b", "c"] and c.final_text == "a bc" and tokens_of(c) == 2,
        "clients: the deltas' text, the final frame's text, the words (tokens) counted")
    tap((wsframe.OP_PONG, b"p1") in srv_obj.got, "clients: a ping is answered with its payload")
    tap(len(c.pending) == 1, "clients: a message after the final frame is kept")
    await ws_stream(c, "m2", "hi", time.perf_counter() + 5)
    tap(c.final == "reply" and len(c.deltas) == 1 and not c.pending and c.text == ["d"]
        and c.final_text is None,
        "clients: the next stream reads the kept message, then its own (a final frame "
        "without text: none)")
    await ws_stream(c, "m3", "hi", time.perf_counter() + 5)
    tap(c.final == "error:too_busy" and c.error == "error:too_busy",
        "clients: an error frame ends a stream with its code")
    c.error = None
    await ws_stream(c, "m4", "hi", time.perf_counter() + 5)
    tap(c.error == "closed", "clients: a close frame ends a stream")
    c2 = await ws_open(url, "tok", 5)
    await ws_stream(c2, "m5", "hi", time.perf_counter() + 5)
    tap(c2.error == "IncompleteReadError" and len(c2.deltas) == 1,
        "clients: the end of the stream is IncompleteReadError, as before")
    c4 = await ws_open(url, "tok", 5)
    n = await ws_pings(c4, 25, 4, time.perf_counter() + 5)
    tap(n == 25 and srv_obj.pings == 25 and c4.others == {"idle": 2} and c4.error is None,
        "clients: ws_pings counts the pongs, other frames apart")
    await close_all([c4])
    c3 = await ws_open(url, "tok", 5)
    await close_all([c3])
    await asyncio.sleep(0.1)
    tap((wsframe.OP_CLOSE, wsframe.close_payload(1000)) in srv_obj.got,
        "clients: close_all sends a close frame with 1000")
    srv.close()
    refuse = Server(script, refuse=True)
    srv, url = await serve(refuse)
    cs = await open_many(url, "tok", 3, 5)
    tap([x.error for x in cs] == ["HTTP 401"] * 3, "clients: a refused upgrade is 'HTTP 401'")
    srv.close()


def main():
    failed = []

    def tap(ok, name):
        print(("ok - " if ok else "not ok - ") + "bench: " + name)
        if not ok:
            failed.append(name)
    asyncio.run(asyncio.wait_for(run(tap), 30))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
