"""wsframe.py - a sans-IO RFC 6455 WebSocket codec: client handshake bytes,
frame encoding and an incremental frame decoder. It never touches a socket,
so the shell client (tools/lightchat-client), the bad-input runner and the
benchmark share it whatever their I/O (blocking, select or asyncio).

    req, key = handshake_request("/ws", "127.0.0.1:8080", ["Cookie: a=b"])
    status, headers = parse_response_head(head_bytes)
    check_accept(key, headers)           # raises ProtocolError
    sock.sendall(encode(OP_TEXT, b"..."))
    dec = Decoder()
    for opcode, payload in dec.feed(received_bytes): ...

Control frames (close, ping, pong) come out of feed() as they arrive, also
between the fragments of a message; data frames come out as whole messages
(fragments joined). Answering pings is the caller's business.
"""
import base64
import hashlib
import os
import struct

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10
HEAD_MAX = 65536  # bytes of a handshake response head


class ProtocolError(Exception):
    """The peer broke RFC 6455 (or a bound of this decoder)."""


def mask_bytes(data, key):
    """data XOR the 4-byte key repeated (RFC 6455 5.3)."""
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def encode(opcode, payload, fin=True, mask=True):
    """One frame. A client's frames are masked (mask=True, a fresh random
    key); fin=False starts or continues a fragmented message."""
    head = bytes([(0x80 if fin else 0) | opcode])
    bit = 0x80 if mask else 0
    n = len(payload)
    if n < 126:
        head += bytes([bit | n])
    elif n < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + bytes(payload)
    key = os.urandom(4)
    return head + key + mask_bytes(bytes(payload), key)


def close_payload(code=1000, reason=b""):
    """The body of a close frame: a status code and an optional reason."""
    return struct.pack("!H", code) + reason


def new_key():
    """A random Sec-WebSocket-Key."""
    return base64.b64encode(os.urandom(16)).decode()


def accept_for(key):
    """The Sec-WebSocket-Accept a server must answer to key."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def _bytes(v):
    """bytes as they are; str as UTF-8."""
    return bytes(v) if isinstance(v, (bytes, bytearray)) else v.encode("utf-8")


def handshake_request(path, host, headers=(), key=None):
    """The client's upgrade request as bytes, and its key. path and the
    headers (extra "Name: value" lines: Origin, Cookie, ...) may be str
    (sent as UTF-8) or bytes (sent unchanged). A "Host:" among the headers
    replaces the default one."""
    key = key or new_key()
    extra = [_bytes(h) for h in headers]
    lines = [b"GET " + _bytes(path) + b" HTTP/1.1"]
    if not any(h.split(b":", 1)[0].strip().lower() == b"host" for h in extra):
        lines.append(b"Host: " + _bytes(host))
    lines += [b"Upgrade: websocket", b"Connection: Upgrade",
              b"Sec-WebSocket-Key: " + key.encode(), b"Sec-WebSocket-Version: 13"] + extra
    return b"\r\n".join(lines) + b"\r\n\r\n", key


def parse_response_head(head):
    """(status, {lower-case name: value}) of a response head (bytes, without
    the blank line). status is 0 when the status line is not HTTP."""
    if len(head) > HEAD_MAX:
        raise ProtocolError("handshake response headers too long")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split()
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    headers = {}
    for h in lines:
        k, _, v = h.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers


def check_accept(key, headers):
    """Raises ProtocolError unless headers accept the upgrade asked with key."""
    if headers.get("sec-websocket-accept") != accept_for(key):
        raise ProtocolError("bad Sec-WebSocket-Accept in the handshake response")
    if headers.get("upgrade", "").lower() != "websocket":
        raise ProtocolError("the handshake response has no 'Upgrade: websocket'")


class Decoder:
    """Turns received bytes into (opcode, payload) messages. max_message
    bounds a message (and a frame); past it feed() raises ProtocolError."""

    def __init__(self, max_message=64 << 20):
        self.max = max_message
        self.buf = bytearray()
        self.frag_op = None
        self.frags = []
        self.frag_len = 0

    def feed(self, data):
        """Adds data; returns the messages now complete, oldest first."""
        self.buf += data
        msgs = []
        while True:
            m = self._one()
            if m is None:
                return msgs
            msgs.append(m)

    def _one(self):
        while True:
            b = self.buf
            if len(b) < 2:
                return None
            fin, op, masked, n = b[0] & 0x80, b[0] & 0x0F, b[1] & 0x80, b[1] & 0x7F
            if b[0] & 0x70:
                raise ProtocolError("reserved bits set in a frame")
            if op not in (OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG):
                raise ProtocolError(f"unknown opcode {op}")
            pos = 2
            if n == 126:
                if len(b) < 4:
                    return None
                n, pos = struct.unpack("!H", b[2:4])[0], 4
            elif n == 127:
                if len(b) < 10:
                    return None
                n, pos = struct.unpack("!Q", b[2:10])[0], 10
            if n > self.max:
                raise ProtocolError(f"a frame of {n} bytes is over the bound")
            if op >= 8 and (n > 125 or not fin):
                raise ProtocolError("a control frame must be whole and at most 125 bytes")
            key = b""
            if masked:  # a server must not mask; accept it all the same
                if len(b) < pos + 4:
                    return None
                key, pos = bytes(b[pos:pos + 4]), pos + 4
            if len(b) < pos + n:
                return None
            payload = bytes(b[pos:pos + n])
            del b[:pos + n]
            if masked:
                payload = mask_bytes(payload, key)
            if op >= 8:
                return (op, payload)
            if op == OP_CONT:
                if self.frag_op is None:
                    raise ProtocolError("continuation frame without a first fragment")
                self.frags.append(payload)
                self.frag_len += n
                if self.frag_len > self.max:
                    raise ProtocolError("a fragmented message is over the bound")
                if fin:
                    msg = (self.frag_op, b"".join(self.frags))
                    self.frag_op, self.frags, self.frag_len = None, [], 0
                    return msg
                continue
            if self.frag_op is not None:
                raise ProtocolError("a new message inside a fragmented one")
            if fin:
                return (op, payload)
            self.frag_op, self.frags, self.frag_len = op, [payload], n
