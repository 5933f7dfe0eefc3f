"""test_demo_upstream.py - tools/demo-upstream as `make run` starts it, over
real HTTP: the streamed and the whole answer, usage, [DONE], paced words, no
test directives, JSON errors (400, 404, 411, 413), and a quiet exit (status 0,
nothing on stderr but the ready line) on SIGINT, SIGTERM and after a client
left in the middle of an answer.
    PYTHONPATH=tests/unit python3 tests/unit/test_demo_upstream.py"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

from tap import eq, run, test

DEMO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
                    "demo-upstream")


class Demo:
    """One demo-upstream process on a free port."""

    def __init__(self):
        self.dir = tempfile.TemporaryDirectory()
        pf = os.path.join(self.dir.name, "port")
        self.proc = subprocess.Popen([sys.executable, DEMO, "--port", "0", "--port-file", pf],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(100):
            if os.path.exists(pf):
                break
            time.sleep(0.05)
        self.port = int(open(pf).read())

    def request(self, method, path, body=None, headers=None):
        """(status, headers, body bytes) of one request."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, r.headers, data

    def stop(self, sig=signal.SIGTERM):
        """Sends sig; returns (exit status, stdout, stderr)."""
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=10)
        self.dir.cleanup()
        return self.proc.returncode, out.decode(), err.decode()


def chat(prompt="hello demo", **extra):
    return dict({"model": "gpt-4o-mini", "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "an earlier question"},
        {"role": "assistant", "content": "an earlier answer"},
        {"role": "user", "content": prompt}]}, **extra)


def sse_events(data):
    """The data of each server-sent event, in order."""
    events = []
    for block in data.decode("utf-8").split("\n\n"):
        lines = [ln[len("data: "):] for ln in block.split("\n") if ln.startswith("data: ")]
        if lines:
            events.append("\n".join(lines))
    eq(data.decode("utf-8").endswith("\n\n"), True, "the stream ends with a whole event")
    return events


def check_quiet(result, what):
    code, out, err = result
    eq(code, 0, f"{what}: exit status")
    eq(out, "", f"{what}: stdout")
    eq(re.fullmatch(r"demo-upstream: ready on http://127\.0\.0\.1:\d+/v1\n", err) is not None,
       True, f"{what}: stderr is the ready line only ({err!r:.300})")


DEMO_SERVER = None


def demo():
    global DEMO_SERVER
    if DEMO_SERVER is None:
        DEMO_SERVER = Demo()
    return DEMO_SERVER


@test
def streamed_answer():
    """a streamed answer: role chunk, paced words, stop, usage chunk, [DONE]"""
    t0 = time.monotonic()
    status, headers, data = demo().request("POST", "/v1/chat/completions", chat(
        stream=True, stream_options={"include_usage": True}))
    took = time.monotonic() - t0
    eq(status, 200, "status")
    eq(headers["Content-Type"], "text/event-stream", "content type")
    events = sse_events(data)
    eq(events[-1], "[DONE]", "last event")
    chunks = [json.loads(e) for e in events[:-1]]
    for c in chunks:
        eq(c["object"], "chat.completion.chunk", "object")
        eq(c["model"], "gpt-4o-mini", "model echoed")
        eq(c["id"], chunks[0]["id"], "one id for all chunks")
    eq(chunks[0]["choices"][0]["delta"], {"role": "assistant", "content": ""}, "first delta")
    words = [c["choices"][0]["delta"]["content"] for c in chunks[1:-2]]
    text = "".join(words)
    eq(re.search(r"demo model.*hello demo", text) is not None, True,
       f"a line with 'demo model' echoes the prompt: {text[:200]!r}")
    for part in ("\n### ", "\n- ", "\n```sh\n", "OPENAI_API_KEY"):
        eq(part in "\n" + text, True, f"the answer has {part!r}")
    eq(text.count("```"), 2, "one whole code block")
    eq(chunks[-2]["choices"], [{"index": 0, "delta": {}, "finish_reason": "stop"}], "finish chunk")
    eq(chunks[-1]["choices"], [], "usage chunk has no choices")
    usage = chunks[-1]["usage"]
    eq(usage["completion_tokens"], len(words), "completion tokens = streamed words")
    eq(usage["prompt_tokens"], 10, "prompt tokens: the words of all messages")
    eq(usage["total_tokens"], usage["prompt_tokens"] + usage["completion_tokens"], "total")
    eq(len(words) >= 30, True, f"{len(words)} words")
    eq(took >= 0.03 * len(words) * 0.9, True, f"paced: {len(words)} words in {took:.2f} s")


@test
def stream_without_usage():
    """without include_usage: no usage chunk; max_tokens cuts with finish_reason length"""
    status, _, data = demo().request("POST", "/v1/chat/completions",
                                     chat(stream=True, max_tokens=5))
    eq(status, 200, "status")
    events = sse_events(data)
    eq(events[-1], "[DONE]", "last event")
    chunks = [json.loads(e) for e in events[:-1]]
    eq(all("usage" not in c for c in chunks), True, "no usage")
    eq(len(chunks), 1 + 5 + 1, "role, 5 words, finish")
    eq(chunks[-1]["choices"][0]["finish_reason"], "length", "finish reason")


@test
def whole_answer():
    """"stream": false gives one chat.completion with the same text and its usage"""
    status, headers, data = demo().request("POST", "/v1/chat/completions", chat("hello demo"))
    eq(status, 200, "status")
    eq(headers["Content-Type"], "application/json", "content type")
    body = json.loads(data)
    eq(body["object"], "chat.completion", "object")
    choice = body["choices"][0]
    eq(choice["message"]["role"], "assistant", "role")
    eq(choice["finish_reason"], "stop", "finish reason")
    eq(re.search(r"demo model.*hello demo", choice["message"]["content"]) is not None, True,
       "echoes the prompt")
    eq(body["usage"]["completion_tokens"], len(choice["message"]["content"].split()), "usage")


@test
def no_test_directives():
    """the test double's directives (#hang, #status:500, #words:3) are just text here"""
    status, _, data = demo().request("POST", "/v1/chat/completions",
                                     chat("#hang #status:500 #words:3 #truncate", timeout=1))
    eq(status, 200, "status")
    content = json.loads(data)["choices"][0]["message"]["content"]
    eq("#hang #status:500 #words:3 #truncate" in content, True, "echoed as text")
    eq(len(content.split()) > 30, True, "the whole demo answer")


@test
def models():
    """GET /v1/models lists the demo model"""
    status, _, data = demo().request("GET", "/v1/models")
    eq(status, 200, "status")
    body = json.loads(data)
    eq(body["object"], "list", "object")
    eq([m["object"] for m in body["data"]], ["model"], "one model")


@test
def errors():
    """bad bodies get 400, unknown paths 404, no length 411, a huge body 413, all JSON"""
    cases = [
        ("POST", "/v1/chat/completions", "{not json", 400, None),
        ("POST", "/v1/chat/completions", [1, 2], 400, None),
        ("POST", "/v1/chat/completions", {"model": "m"}, 400, "messages"),
        ("POST", "/v1/chat/completions", {"model": "m", "messages": []}, 400, "messages"),
        ("POST", "/v1/chat/completions", {"model": "m", "messages": ["hi"]}, 400,
         "messages.[0]"),
        ("POST", "/v1/chat/completions", {"messages": [{"role": "user"}]}, 400, "model"),
        ("POST", "/v1/chat/completions", chat(stream="yes"), 400, "stream"),
        ("POST", "/v1/chat/completions", chat(max_tokens=0), 400, "max_tokens"),
        ("GET", "/v1/nothing", None, 404, None),
        ("GET", "/", None, 404, None),
        ("POST", "/v1/completions", chat(), 404, None),
    ]
    for method, path, body, want, param in cases:
        status, headers, data = demo().request(method, path, body)
        eq(status, want, f"{method} {path} {body!r:.60}")
        eq(headers["Content-Type"], "application/json", f"{path}: content type")
        err = json.loads(data)["error"]
        eq(isinstance(err["message"], str) and err["message"] != "", True, "message")
        eq(err["type"], "invalid_request_error", "type")
        eq(err["param"], param, f"{body!r:.60}: param")
    s = socket.create_connection(("127.0.0.1", demo().port), timeout=10)
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
              b"Content-Length: 999999999\r\n\r\n")
    eq(s.recv(100).split(b"\r\n")[0], b"HTTP/1.1 413 Request Entity Too Large", "over the bound")
    s.close()
    s = socket.create_connection(("127.0.0.1", demo().port), timeout=10)
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    eq(s.recv(100).split(b"\r\n")[0], b"HTTP/1.1 411 Length Required", "no length")
    s.close()


@test
def client_leaves_then_sigterm():
    """a client leaving mid-stream is routine; SIGTERM then exits 0, silently"""
    d = demo()
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    body = json.dumps(chat(stream=True)).encode()
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
              b"application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    eq(s.recv(12), b"HTTP/1.1 200", "the stream starts")
    time.sleep(0.2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()  # a reset, as a killed client would leave it
    time.sleep(0.5)  # the server notices at its next words
    eq(d.request("GET", "/v1/models")[0], 200, "still serving")
    global DEMO_SERVER
    DEMO_SERVER = None
    check_quiet(d.stop(signal.SIGTERM), "SIGTERM")


@test
def sigint_mid_stream():
    """SIGINT in the middle of a streamed answer exits 0, silently"""
    d = Demo()
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    body = json.dumps(chat(stream=True)).encode()
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
              % (len(body), body))
    eq(s.recv(12), b"HTTP/1.1 200", "the stream starts")
    time.sleep(0.2)
    check_quiet(d.stop(signal.SIGINT), "SIGINT")
    s.close()


if __name__ == "__main__":
    run()
