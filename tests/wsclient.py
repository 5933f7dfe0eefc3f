#!/usr/bin/env python3
"""Small RFC 6455 WebSocket client for lightchat's tests and for shell users.

    python3 tests/wsclient.py [options] ws://HOST:PORT/PATH?QUERY [MESSAGE ...]

Sends each MESSAGE as a text frame after the handshake and prints every text frame
received as one line on stdout. It stops after --until-final N final frames (a JSON
object whose "type" is "reply" or "error", or one with "text" and no "type"); N defaults
to the number of sendprompt messages sent. When N is 0 and there is no --close-after,
it just listens until --timeout or until the server closes, and exits 0 either way.

Exit status: 0 done, 2 bad usage, 3 handshake refused ("HTTP <status>" on stdout; 0 if
it matches --expect-status), 4 timeout ("TIMEOUT" on stderr), 5 server closed first
("CLOSED" on stderr), 6 connection or protocol error (bad accept key, invalid UTF-8).
"""
import argparse
import base64
import hashlib
import json
import os
import select
import socket
import struct
import sys
import time
from urllib.parse import urlsplit

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


class Closed(Exception):
    pass


class ProtocolError(Exception):
    pass


def fail(code, msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()
    sys.exit(code)


def out(line):
    # one frame, one line: a raw newline would break line-oriented tests, so escape it
    line = line.replace("\r", "\\r").replace("\n", "\\n")
    sys.stdout.buffer.write(line.encode("utf-8", "replace") + b"\n")
    sys.stdout.flush()


def read_cookie_jar(path):
    """Cookies of a curl/Netscape jar as 'name=value' strings (expired ones skipped)."""
    cookies = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if line.startswith("#HttpOnly_"):  # curl's mark for HttpOnly cookies
                line = line[len("#HttpOnly_"):]
            elif line.startswith("#") or not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) < 7:
                continue
            expires = int(fields[4]) if fields[4].isdigit() else 0
            if expires and expires < time.time():
                continue
            cookies.append(f"{fields[5]}={fields[6]}")
    return cookies


def mask(data, key):
    n = len(data)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def frame(opcode, payload, fin=True):
    """A client frame, always masked (RFC 6455 5.3); fin=False starts or
    continues a fragmented message. Also used by tests/bad-input/run.py and
    bench/bench.py."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    key = os.urandom(4)
    return head + key + mask(payload, key)


class Parser:
    """Turns received bytes into (opcode, payload) messages; joins fragments."""

    def __init__(self):
        self.buf = b""
        self.frag_op = None
        self.frags = []

    def feed(self, data):
        self.buf += data
        msgs = []
        while True:
            b = self.buf
            if len(b) < 2:
                return msgs
            fin, op, masked, n = b[0] & 0x80, b[0] & 0x0F, b[1] & 0x80, b[1] & 0x7F
            pos = 2
            if n == 126:
                if len(b) < 4:
                    return msgs
                n, pos = struct.unpack("!H", b[2:4])[0], 4
            elif n == 127:
                if len(b) < 10:
                    return msgs
                n, pos = struct.unpack("!Q", b[2:10])[0], 10
            key = b""
            if masked:  # servers must not mask, but be lenient
                key, pos = b[pos:pos + 4], pos + 4
            if len(b) < pos + n:
                return msgs
            payload = b[pos:pos + n]
            if masked:
                payload = mask(payload, key)
            self.buf = b[pos + n:]
            if op >= 8:  # control frames may sit between fragments
                msgs.append((op, payload))
            elif op == OP_CONT:
                if self.frag_op is None:
                    raise ProtocolError("continuation frame without a first fragment")
                self.frags.append(payload)
                if fin:
                    msgs.append((self.frag_op, b"".join(self.frags)))
                    self.frag_op, self.frags = None, []
            elif fin:
                msgs.append((op, payload))
            else:
                self.frag_op, self.frags = op, [payload]


def is_final(text):
    try:
        obj = json.loads(text)
    except ValueError:
        return False
    if not isinstance(obj, dict):
        return False
    return obj.get("type") in ("reply", "error") or ("text" in obj and "type" not in obj)


def is_prompt(text):
    try:
        obj = json.loads(text)
    except ValueError:
        return False
    return isinstance(obj, dict) and obj.get("action") == "sendprompt"


def handshake(args, url, deadline):
    host, port = url.hostname, url.port or 80
    try:
        sock = socket.create_connection((host, port), timeout=max(deadline - time.time(), 0.1))
    except OSError as e:
        fail(6, f"cannot connect to {host}:{port}: {e}")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = base64.b64encode(os.urandom(16)).decode()
    path = (url.path or "/") + ("?" + url.query if url.query else "")
    hostport = f"[{host}]" if ":" in host else host
    lines = [f"GET {path} HTTP/1.1", f"Host: {hostport}" + (f":{url.port}" if url.port else ""),
             "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
             "Sec-WebSocket-Version: 13"]
    if args.origin:
        lines.append(f"Origin: {args.origin}")
    cookies = list(args.cookie)
    for jar in args.cookie_jar:
        cookies += read_cookie_jar(jar)
    if cookies:
        lines.append("Cookie: " + "; ".join(cookies))
    lines += args.header
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    buf = b""
    while b"\r\n\r\n" not in buf:
        left = deadline - time.time()
        if left <= 0:
            fail(4, "TIMEOUT")
        if len(buf) > 65536:
            fail(6, "handshake response headers too long")
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            fail(4, "TIMEOUT")
        except OSError as e:
            fail(6, f"handshake failed: {e}")
        if not data:
            fail(6, "connection closed during the handshake")
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")  # rest: the first frames may ride along
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split()
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    headers = {}
    for h in header_lines:
        k, _, v = h.partition(":")
        headers[k.strip().lower()] = v.strip()
    expect = args.expect_status
    if status != 101 or (expect is not None and expect != 101):
        out(f"HTTP {status}")
        if rest:
            sys.stderr.write(rest[:2000].decode("utf-8", "replace") + "\n")
        sock.close()
        sys.exit(0 if status == expect else 3)
    want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    if headers.get("sec-websocket-accept") != want:
        fail(6, "bad Sec-WebSocket-Accept in the handshake response")
    if headers.get("upgrade", "").lower() != "websocket":
        fail(6, "the handshake response has no 'Upgrade: websocket'")
    sock.setblocking(False)
    return sock, rest


class Session:
    def __init__(self, args, sock):
        self.args, self.sock = args, sock
        self.frames = self.finals = self.prompts = 0
        self.bad_utf8 = False
        self.pending = sorted(((int(k), m) for k, m in args.send_after_frames),
                              key=lambda p: p[0])

    def send(self, opcode, payload):
        data = memoryview(frame(opcode, payload))
        while data:  # the socket is non-blocking: wait until it takes everything
            try:
                n = self.sock.send(data)
                data = data[n:]
            except BlockingIOError:
                select.select([], [self.sock], [], 1)
            except OSError:
                raise Closed()

    def send_text(self, text):
        if is_prompt(text):
            self.prompts += 1
        self.send(OP_TEXT, text.encode("utf-8"))

    def on_message(self, op, payload):
        """Handle one message; returns True if the server closed."""
        if op == OP_PING:
            self.send(OP_PONG, payload)
            return False
        if op == OP_PONG:
            return False
        if op == OP_CLOSE:
            try:
                self.send(OP_CLOSE, payload[:2])  # echo the status code, as RFC 6455 asks
            except Closed:
                pass
            return True
        self.frames += 1
        if op == OP_TEXT:
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                self.bad_utf8 = True
                sys.stderr.write("wsclient: invalid UTF-8 in a text frame\n")
                text = payload.decode("utf-8", "replace")
            out(text)
            if is_final(text):
                self.finals += 1
        else:
            out(f"BINARY {len(payload)} bytes")
        while self.pending and self.pending[0][0] <= self.frames:
            self.send_text(self.pending.pop(0)[1])
        return False


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("url", help="ws://HOST:PORT/PATH?QUERY")
    ap.add_argument("messages", nargs="*", help="text frames to send after the handshake")
    ap.add_argument("--stdin", action="store_true", help="also send each stdin line")
    ap.add_argument("--cookie", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--cookie-jar", action="append", default=[], metavar="FILE",
                    help="send the cookies of a curl (Netscape) cookie jar")
    ap.add_argument("--origin", metavar="URL")
    ap.add_argument("--header", action="append", default=[], metavar="'K: V'")
    ap.add_argument("--until-final", type=int, metavar="N",
                    help="exit 0 after N final frames (default: sendprompt messages sent)")
    ap.add_argument("--close-after", type=int, metavar="K",
                    help="after K frames, drop the TCP connection without a close frame")
    ap.add_argument("--send-after-frames", nargs=2, action="append", default=[],
                    metavar=("K", "MSG"), help="send MSG once K frames have arrived")
    ap.add_argument("--timeout", type=float, default=30.0, help="overall deadline (30 s)")
    ap.add_argument("--expect-status", type=int, metavar="CODE",
                    help="exit 0 if the handshake answers CODE")
    ap.add_argument("--ping-interval", type=float, metavar="S",
                    help='send {"action":"ping"} every S seconds')
    args = ap.parse_args()
    url = urlsplit(args.url)
    if url.scheme == "wss":
        fail(2, "wsclient: wss:// is not supported (no TLS); use ws://")
    if url.scheme != "ws" or not url.hostname:
        fail(2, f"wsclient: not a ws:// URL: {args.url}")
    for k, _ in args.send_after_frames:
        if not k.isdigit():
            fail(2, f"wsclient: --send-after-frames wants a number, not {k!r}")

    deadline = time.time() + args.timeout
    sock, leftover = handshake(args, url, deadline)
    s = Session(args, sock)
    later_prompts = sum(is_prompt(m) for _, m in s.pending)
    parser = Parser()
    stdin_open, stdin_buf = args.stdin, b""
    next_ping = time.time() + args.ping_interval if args.ping_interval else None

    def finish(code, msg=None, polite=True):
        if msg:
            sys.stderr.write(msg + "\n")
        if polite:
            try:
                s.send(OP_CLOSE, struct.pack("!H", 1000))
            except Closed:
                pass
        sock.close()
        sys.exit(6 if code == 0 and s.bad_utf8 else code)

    def target():
        if args.until_final is not None:
            return args.until_final
        return s.prompts + later_prompts

    def done():
        """Exit if a stop condition is met (checked after every message)."""
        if args.close_after is not None and s.frames >= args.close_after:
            sock.close()  # vanish like a closed browser tab: no close frame
            sys.exit(0)
        n = target()
        if n > 0 and s.finals >= n and not stdin_open:
            finish(0)

    def handle(data):
        for op, payload in parser.feed(data):
            if s.on_message(op, payload):
                raise Closed()
            done()

    def drain():
        """Frames that arrived before the server went away (we may have failed on a
        send while they sat unread) still count."""
        nonlocal stdin_open
        stdin_open = False  # nothing more can be sent
        end = time.time() + 0.5
        try:
            while select.select([sock], [], [], max(end - time.time(), 0))[0]:
                data = sock.recv(65536)
                if not data:
                    return
                handle(data)
        except (OSError, Closed, ProtocolError):
            pass

    try:
        for m in args.messages:
            s.send_text(m)
        handle(leftover)
        while True:
            done()
            now = time.time()
            if now >= deadline:
                listening = target() == 0 and args.close_after is None
                finish(0 if listening else 4, "TIMEOUT")
            if next_ping and now >= next_ping:
                s.send_text('{"action":"ping"}')
                next_ping = now + args.ping_interval
            wait = deadline - now
            if next_ping:
                wait = min(wait, max(next_ping - now, 0))
            rlist = [sock] + ([sys.stdin] if stdin_open else [])
            readable, _, _ = select.select(rlist, [], [], wait)
            if sys.stdin in readable:
                chunk = os.read(sys.stdin.fileno(), 65536)
                if not chunk:
                    stdin_open = False
                    chunk = b"\n"
                stdin_buf += chunk
                *lines, stdin_buf = stdin_buf.split(b"\n")
                for line in lines:
                    line = line.rstrip(b"\r").decode("utf-8", "replace")
                    if line.strip():
                        s.send_text(line)
            if sock in readable:
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    raise Closed()
                if not data:
                    raise Closed()
                handle(data)
    except ProtocolError as e:
        finish(6, f"wsclient: protocol error: {e}")
    except Closed:
        drain()
        listening = target() == 0 and args.close_after is None
        finish(0 if listening else 5, "CLOSED", polite=False)


if __name__ == "__main__":
    main()
