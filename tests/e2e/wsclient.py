"""wsclient.py - a logged-in WebSocket client for the end-to-end tests that
must control reading (a small receive window, never reading, reading late):
connects to /ws through lighttpd, sends one prompt, reads frames on demand.
Uses tools/wsframe.py (PYTHONPATH holds tools/ and tests/e2e/)."""
import json
import socket
import time

import wsframe


class Client:
    def __init__(self, host, port, token, msgid, prompt, rcvbuf=4096):
        s = socket.socket()
        # A small window: the client's kernel takes little of what is sent.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(30)
        s.connect((host, port))
        req, _ = wsframe.handshake_request(
            "/ws", f"{host}:{port}", [f"Cookie: lightchat_session={token}"])
        s.sendall(req)
        head = b""
        while b"\r\n\r\n" not in head:
            b = s.recv(1)
            if not b:
                raise ConnectionError("closed during the handshake")
            head += b
        status, _ = wsframe.parse_response_head(head[:-4])
        if status != 101:
            raise ConnectionError(f"upgrade refused: {status}")
        self.s, self.dec, self.frames, self.closed = s, wsframe.Decoder(), [], False
        msg = {"action": "sendprompt", "payload": {"msgid": msgid,
               "prompt": prompt, "stream": True}}
        s.sendall(wsframe.encode(wsframe.OP_TEXT, json.dumps(msg).encode()))

    def read_until(self, pred, timeout):
        """Reads frames until pred(frame) or the end; returns the frame or None."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.s.settimeout(max(0.1, end - time.monotonic()))
            try:
                data = self.s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                data = b""
            if not data:
                self.closed = True
                return None
            for op, payload in self.dec.feed(data):
                if op == wsframe.OP_CLOSE:
                    self.closed = True
                    return None
                if op != wsframe.OP_TEXT:
                    continue
                f = json.loads(payload)
                self.frames.append(f)
                if pred(f):
                    return f
        return None


def final(f):
    """A frame that ends a reply: the reply itself or an error."""
    return f.get("type") in ("reply", "error")


def text(n):
    """The fake upstream's answer to #words:n (tests/fake_upstream.py)."""
    return " ".join(f"w{i}" for i in range(1, n + 1))
