"""test_wsframe.py - tools/wsframe.py alone: frames of every length class in
and out, masked or not, fed whole or byte by byte; fragments with control
frames between them; every bound and protocol rule that must raise; the
handshake bytes and the accept-key check.
    PYTHONPATH=tools:tests/unit python3 tests/unit/test_wsframe.py"""
import struct

import wsframe
from tap import eq, raises, run, test
from wsframe import OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, ProtocolError

EDGES = (0, 1, 125, 126, 127, 65535, 65536, 70000)


def payload(n):
    return bytes((i * 7 + 3) & 0xFF for i in range(n))


def header_len(n, mask):
    return (2 if n < 126 else 4 if n < 65536 else 10) + (4 if mask else 0)


def raw_frame(first, n, data=b"", mask_key=None):
    """A frame built by hand: first byte, length n as the header says it."""
    if n < 126:
        head = bytes([first, (0x80 if mask_key else 0) | n])
    elif n < 65536:
        head = bytes([first, (0x80 if mask_key else 0) | 126]) + struct.pack("!H", n)
    else:
        head = bytes([first, (0x80 if mask_key else 0) | 127]) + struct.pack("!Q", n)
    if mask_key:
        return head + mask_key + wsframe.mask_bytes(data, mask_key)
    return head + data


@test
def round_trips():
    """frames of 0..70000 bytes (the 125/126/65535/65536 edges), masked or not, round-trip"""
    for mask in (True, False):
        for n in EDGES:
            data = payload(n)
            f = wsframe.encode(OP_BINARY, data, mask=mask)
            eq(len(f), header_len(n, mask) + n, f"frame length for {n} bytes, mask={mask}")
            eq(f[0], 0x80 | OP_BINARY, "FIN and opcode")
            eq(bool(f[1] & 0x80), mask, "mask bit")
            eq(wsframe.Decoder().feed(f), [(OP_BINARY, data)], f"{n} bytes, mask={mask}")


@test
def masked_payload_is_masked():
    """a masked frame's payload on the wire differs from the data and unmasks back"""
    data = b"hello, world, hello, world"
    f = wsframe.encode(OP_TEXT, data)
    key, wire = f[2:6], f[6:]
    eq(wire != data, True, "payload masked on the wire")
    eq(wsframe.mask_bytes(wire, key), data, "unmasked")
    eq(wsframe.mask_bytes(b"", key), b"", "empty")


@test
def byte_by_byte():
    """a decoder fed one byte at a time yields the same messages, each once"""
    stream = b"".join(wsframe.encode(OP_TEXT, payload(n)) for n in (3, 126, 65536))
    dec, got = wsframe.Decoder(), []
    for i in range(len(stream)):
        got += dec.feed(stream[i:i + 1])
    eq(got, [(OP_TEXT, payload(n)) for n in (3, 126, 65536)], "messages")
    eq(dec.feed(b""), [], "nothing left")


@test
def several_in_one_feed():
    """several frames in one feed come out in order; a partial tail waits"""
    a, b = wsframe.encode(OP_TEXT, b"one"), wsframe.encode(OP_TEXT, b"two")
    dec = wsframe.Decoder()
    eq(dec.feed(a + b + b[:3]), [(OP_TEXT, b"one"), (OP_TEXT, b"two")], "first two")
    eq(dec.feed(b[3:]), [(OP_TEXT, b"two")], "the tail completes")


@test
def fragments_with_ping_between():
    """fragments are joined; a ping between them comes out first, as it arrives"""
    parts = [payload(100), payload(200), payload(65536)]
    stream = (wsframe.encode(OP_TEXT, parts[0], fin=False) +
              wsframe.encode(OP_PING, b"are you there") +
              wsframe.encode(OP_CONT, parts[1], fin=False) +
              wsframe.encode(OP_PONG, b"") +
              wsframe.encode(OP_CONT, parts[2], fin=True) +
              wsframe.encode(OP_TEXT, b"next"))
    eq(wsframe.Decoder().feed(stream),
       [(OP_PING, b"are you there"), (OP_PONG, b""), (OP_TEXT, b"".join(parts)),
        (OP_TEXT, b"next")], "messages")


@test
def server_frames_unmasked_and_masked():
    """a server's unmasked frame decodes; a masked one is unmasked all the same"""
    eq(wsframe.Decoder().feed(raw_frame(0x81, 5, b"hello")), [(OP_TEXT, b"hello")], "unmasked")
    eq(wsframe.Decoder().feed(raw_frame(0x81, 5, b"hello", b"\x01\x02\x03\x04")),
       [(OP_TEXT, b"hello")], "masked")


@test
def close_payload():
    """close_payload: the status code big-endian, then the reason"""
    eq(wsframe.close_payload(1000), b"\x03\xe8", "1000")
    eq(wsframe.close_payload(1001, b"bye"), b"\x03\xe9bye", "1001 bye")
    eq(wsframe.Decoder().feed(wsframe.encode(OP_CLOSE, wsframe.close_payload(1000))),
       [(OP_CLOSE, b"\x03\xe8")], "a close frame")


@test
def bounds():
    """a frame or a fragmented message over max_message raises ProtocolError"""
    dec = wsframe.Decoder(max_message=100)
    eq(dec.feed(wsframe.encode(OP_TEXT, payload(100))), [(OP_TEXT, payload(100))], "at the bound")
    raises(ProtocolError, wsframe.Decoder(max_message=100).feed,
           wsframe.encode(OP_TEXT, payload(101)))
    # the length alone is enough: no need to wait for 2^62 bytes
    raises(ProtocolError, wsframe.Decoder().feed, raw_frame(0x82, 1 << 62)[:10])
    frags = (wsframe.encode(OP_TEXT, payload(60), fin=False) +
             wsframe.encode(OP_CONT, payload(60), fin=True))
    raises(ProtocolError, wsframe.Decoder(max_message=100).feed, frags)


@test
def protocol_errors():
    """long or fragmented control frames, stray fragments, RSV bits, unknown opcodes raise"""
    bad = {
        "ping of 126 bytes": raw_frame(0x80 | OP_PING, 126, payload(126)),
        "fragmented ping": raw_frame(OP_PING, 1, b"x"),
        "continuation first": raw_frame(0x80 | OP_CONT, 1, b"x"),
        "new message inside a fragmented one": raw_frame(OP_TEXT, 1, b"a") + raw_frame(0x81, 1, b"b"),
        "RSV1": raw_frame(0xC1, 1, b"x"),
        "RSV3": raw_frame(0x91, 1, b"x"),
        "opcode 3": raw_frame(0x83, 1, b"x"),
        "opcode 11": raw_frame(0x8B, 1, b"x"),
    }
    for what, data in bad.items():
        try:
            wsframe.Decoder().feed(data)
        except ProtocolError:
            continue
        raise AssertionError(f"{what}: no ProtocolError")
    eq(wsframe.Decoder().feed(raw_frame(0x80 | OP_PING, 125, payload(125))),
       [(OP_PING, payload(125))], "a ping of 125 bytes is fine")


@test
def handshake_request_bytes():
    """handshake_request: request line, Host, upgrade headers, key, extra headers"""
    req, key = wsframe.handshake_request("/ws?token=Bearer%20x", "127.0.0.1:8080",
                                         ["Origin: http://a.example", b"Cookie: s=\xff"])
    eq(req.endswith(b"\r\n\r\n"), True, "ends with a blank line")
    lines = req[:-4].split(b"\r\n")
    eq(lines[0], b"GET /ws?token=Bearer%20x HTTP/1.1", "request line")
    eq(lines[1], b"Host: 127.0.0.1:8080", "Host")
    for h in (b"Upgrade: websocket", b"Connection: Upgrade", b"Sec-WebSocket-Version: 13",
              b"Sec-WebSocket-Key: " + key.encode(), b"Origin: http://a.example",
              b"Cookie: s=\xff"):
        eq(h in lines, True, f"{h!r} among the lines")
    eq(len(__import__("base64").b64decode(key)), 16, "a 16-byte key")
    req2, _ = wsframe.handshake_request(b"/ws", "x", ["host: other"])
    eq(req2.count(b"Host:") + req2.count(b"host:"), 1, "a Host header replaces the default")
    req3, _ = wsframe.handshake_request("/ws?x=\u00e9", "h")
    eq(req3.split(b"\r\n")[0], b"GET /ws?x=\xc3\xa9 HTTP/1.1", "str as UTF-8")


@test
def accept_key():
    """the accept key of RFC 6455's example; check_accept takes it and refuses others"""
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    eq(wsframe.accept_for(key), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "RFC 6455 1.3")
    head = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    status, headers = wsframe.parse_response_head(head)
    eq(status, 101, "status")
    eq(headers["upgrade"], "websocket", "lower-case header names")
    wsframe.check_accept(key, headers)
    raises(ProtocolError, wsframe.check_accept, "AAAAAAAAAAAAAAAAAAAAAA==", headers)
    raises(ProtocolError, wsframe.check_accept, key,
           dict(headers, **{"sec-websocket-accept": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo"}))
    raises(ProtocolError, wsframe.check_accept, key, {k: v for k, v in headers.items()
                                                      if k != "upgrade"})


@test
def response_heads():
    """parse_response_head: a refusal's status, a non-HTTP answer is 0, a huge head raises"""
    eq(wsframe.parse_response_head(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 12")[0], 401,
       "401")
    eq(wsframe.parse_response_head(b"SSH-2.0-OpenSSH")[0], 0, "not HTTP")
    eq(wsframe.parse_response_head(b"")[0], 0, "nothing")
    raises(ProtocolError, wsframe.parse_response_head, b"HTTP/1.1 200 OK\r\nX: " +
           b"x" * wsframe.HEAD_MAX)


if __name__ == "__main__":
    run()
