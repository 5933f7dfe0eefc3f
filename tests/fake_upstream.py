#!/usr/bin/env python3
"""Fake OpenAI-compatible chat-completions API for lightchat's tests (the demo
model of `make run` is tools/demo-upstream, not this).

    python3 tests/fake_upstream.py --port N [--host 127.0.0.1] [--port-file F]
                                   [--api-key KEY] [--delay-ms 5]
                                   [--models-file F] [--models-status CODE]
                                   [--reject-stream-options] [--azure]

Options modelling real servers (../shared/UPSTREAMS.md):
    --models-file F          GET .../models lists the ids in F (one a line, re-read
                             at each GET, as a model pulled into Ollama appears);
                             a missing file answers 500
    --models-status CODE     GET .../models answers CODE with an error body
    --reject-stream-options  Mistral's 422 extra_forbidden when the request has
                             stream_options (Mistral, Fireworks, Azure AI Foundry)
    --azure                  Azure OpenAI: only /openai/deployments/{dep}/chat/
                             completions?api-version=... and /openai/v1/chat/
                             completions (and .../models beside them); the key in
                             an "api-key" header (Authorization is refused); the
                             first stream chunk has "choices": [] and
                             prompt_filter_results

POST .../chat/completions  streams (or returns) a reply chosen from the last user
                           message P; '#' tokens in P pick a scenario:
    (none)          "You said: " + P
    #status:CODE    that HTTP status with an OpenAI error body (429: Retry-After: 7)
    #truncate       role chunk + 3 content events, then the TCP connection is closed
    #hang           headers + role chunk, then silence until the client leaves
    #slow:S         the reply spread evenly over about S seconds
    #words:N        "w1 w2 ... wN"
    #ctrl:N         N words of 1023 control characters (U+0001) and a space: N KiB that
                    JSON would escape ×6 (\u0001); lightchat replaces them (U+FFFD)
    #quotes:N       N words of 1023 '"' and a space: N KiB that JSON escapes ×2, the
                    largest a reply's frame can be
    #markdown       heading, list, table and a ```c block
    #math           TeX in each of $…$, \(…\), $$…$$ and \[…\] (MATH_REPLY), one with a
                    <script> and an <img onerror> inside, and $…$ in a code span and a
                    fenced block (not math)
    #html200        200 text/html error page (a misconfigured proxy)
    #nostream       a whole chat.completion JSON even when asked to stream
    #badjson        one good event, then "data: {not json", then [DONE]
    #midstream-error one good event, then an OpenAI error event, then the end
    #params         compact JSON (sorted keys) of the request's sampling parameters
    #unicode        "héllo wörld — ✓ 日本語 🚀 done"
    #version        "Version N: You said: P", N counting this server's requests whose
                    last user message was P (regenerated replies differ)
    #reason:FORM    reasoning "Step one. Step two. Step three." before the usual answer,
                    word by word (with #slow:S the whole reply, reasoning first, spreads
                    over S s), in one of the forms of real servers:
                      rc    delta.reasoning_content, content null (DeepSeek, llama.cpp,
                            older vLLM)
                      r     delta.reasoning with content "" and reasoning_details, an
                            ": OPENROUTER PROCESSING" comment first (OpenRouter, vLLM
                            >= 0.11, Ollama /v1)
                      tag   <think>…</think> inside content; the opening tag split
                            between two events ("<thi", "nk>…") and the closing tag
                            between two HTTP chunks (after "</th"), always
                      open  as tag without the opening <think> (DeepSeek-R1)
                    #reason:FORM:N adds " r1 r2 ... rN" to the reasoning (a long one)
                    usage (when asked) then reports the reasoning's words as
                    completion_tokens_details.reasoning_tokens, part of completion_tokens
                    (the answer's words + the reasoning's), as OpenAI, DeepSeek and
                    OpenRouter do
    #reasononly     reasoning_content only, every content "" (finish_reason stop); its
                    usage counts the reasoning only, all of it reasoning_tokens
    #nousage        no usage at all, even when stream_options.include_usage asks (no
                    "usage" member in any chunk, none in a whole completion either):
                    llama.cpp's and Ollama's older builds, some local servers
    #err200:KIND    HTTP 200, two content events, then an error inside the stream:
                      openai      data: {"error":{"message","type"}} then [DONE]
                      openrouter  a chunk with a top-level error {"code":502,"message"}
                                  and finish_reason "error", no [DONE]
                      vllm        data: {"error_type","error_message"} then [DONE]
                    the message is "Upstream failed (KIND)."
    #nofinish       every finish_reason null, then [DONE] (llama.cpp, vLLM, gateways)
    #nodone         the finish_reason chunk, then the clean end of the body, no [DONE]
    #azurefilter    a first chunk with choices [] and prompt_filter_results (Azure),
                    content_filter_results in each choice
    #nullcontent    role chunk and one chunk in the middle with content null
    #timings        llama.cpp's last chunk: delta {} with finish_reason and a
                    non-standard timings object
Models named like OpenAI's reasoning families (o1*, o3*, o4*, gpt-5*, also after a
"vendor/" prefix) refuse max_tokens, a temperature or top_p other than 1, the
penalties and an effort they do not take with a 400, as OpenAI does; o1-mini and
o1-preview also a system or developer message.
GET .../models    model list.   GET /_requests  last 100 chat bodies (+ "_auth": an
                  Authorization header came, "_auth_kind": "bearer", "api-key" or
                  "none", "_path", "_query").   GET /_gets  the last 100 GETs of the
                  models list, each {"_path", "_auth", "_auth_kind", "_query"}.
GET /_stats       {"active","total","client_closed"}.   POST /_reset  clears both.

The SSE byte stream is deliberately hostile but valid: HTTP chunks are cut at
pseudo-random places (mid UTF-8 sequence, mid "data:", between CR and LF), separators
alternate between \\n\\n and \\r\\n\\r\\n, comments and "data:" without a space appear.
One word counts as one token.
"""
import argparse
import hashlib
import http.server
import json
import os
import random
import re
import select
import signal
import socket
import sys
import threading
import time

MODELS = ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-3.5-turbo"]
UNICODE_REPLY = "héllo wörld — ✓ 日本語 🚀 done"
MATH_REPLY = r"""Inline: $a^2+b^2=c^2$ and \(\alpha+\beta <img src=x onerror=alert(2)>\) here.

$$
\int_0^1 x^2\,dx = \frac{1}{3}
$$

\[
E = mc^2 <script>alert(1)</script>
\]

Not math: `$x_1$` in code, prices $5 and $6.

```tex
$$\sum_{i=1}^n i$$
```
"""

MARKDOWN_REPLY = """# Markdown sample

Some **bold**, some *italic* and `inline code`.

- first item
- second item
  - nested item
- third item

| Language | Typing | Year |
|----------|--------|------|
| C        | static | 1972 |
| Python   | dynamic | 1991 |

```c
#include <stdio.h>

int main(void) {
    printf("hello, world\\n");
    return 0;
}
```

That's all."""
ERRORS = {  # status -> (message, type, code), after OpenAI's own answers
    400: ("Invalid request.", "invalid_request_error", None),
    401: ("Incorrect API key provided: sk-fake****.", "invalid_request_error",
          "invalid_api_key"),
    403: ("You are not allowed to sample from this model.", "invalid_request_error", None),
    404: ("The model does not exist or you do not have access to it.",
          "invalid_request_error", "model_not_found"),
    429: ("Rate limit reached for requests.", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request.", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error",
          None),
}
HTML_PAGE = ("<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
             "<body><h1>Bad Gateway</h1><p>The proxy could not reach the API.</p>"
             "</body></html>\n")
FAST_CHUNKS = 256  # after this many chunks the --delay-ms sleep is skipped (big replies)


class ClientGone(Exception):
    pass


class State:
    lock = threading.Lock()
    requests = []
    gets = []  # GETs of the models list (discovery), apart from the chat requests
    active = total = client_closed = 0
    versions = {}  # #version: requests seen per prompt

    @classmethod
    def bump(cls, name, n=1):
        with cls.lock:
            setattr(cls, name, getattr(cls, name) + n)


STATE = State
LOG_LOCK = threading.Lock()


def log(msg):
    with LOG_LOCK:
        sys.stderr.write("fake-upstream: " + msg + "\n")
        sys.stderr.flush()


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def encode(text):
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from "\ud800" in the request
        return text.encode("utf-8", "replace")


def word_pieces(text):
    """Split into pieces of a word plus its following whitespace (they join back to text)."""
    parts = re.findall(r"\S+\s*", text)
    lead = text[:len(text) - len(text.lstrip())]
    if parts:
        parts[0] = lead + parts[0]
    elif text:
        parts = [text]
    return parts


def content_text(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # [{"type":"text","text":...}, ...]
        return " ".join(p.get("text", "") for p in content
                        if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


KNOWN = {"status", "truncate", "hang", "slow", "words", "ctrl", "quotes", "markdown", "html200",
         "badjson", "midstream-error", "params", "unicode", "nostream", "reason", "math",
         "reasononly", "err200", "nofinish", "nodone", "azurefilter", "nullcontent",
         "timings", "version", "nousage"}

REASONING = "Step one. Step two. Step three."
REASON_FORMS = ("rc", "r", "tag", "open")
ERR200_KINDS = ("openai", "openrouter", "vllm")


def directives(prompt):
    found = {}  # other '#' words (a C "#include" in a question) are just text
    for tok in prompt.split():
        name, _, arg = tok[1:].partition(":")
        if tok.startswith("#") and name.lower() in KNOWN:
            found.setdefault(name.lower(), arg)
    return found


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# OpenAI's reasoning families refuse what older models take (UPSTREAMS.md,
# "Parameters"): the fake refuses it too, so that a body lightchat did not map
# fails the test as it would fail in production.
REASONING_RE = re.compile(r"^(o1|o3|o4|gpt-5)")
EFFORTS = {"o1": {"low", "medium", "high"}, "o3": {"low", "medium", "high"},
           "o4": {"low", "medium", "high"}, "gpt-5": {"minimal", "low", "medium", "high"},
           "gpt-5.1": {"none", "low", "medium", "high"}}


def validate_reasoning(body):
    model = body["model"].rsplit("/", 1)[-1]
    if not REASONING_RE.match(model) or model.startswith("gpt-5-chat"):
        return None
    if "max_tokens" in body:
        return "max_tokens", ("Unsupported parameter: 'max_tokens' is not supported with this "
                              "model. Use 'max_completion_tokens' instead.")
    for key in ("temperature", "top_p"):
        if key in body and body[key] != 1:
            return key, (f"Unsupported value: '{key}' does not support {body[key]} with this "
                         "model. Only the default (1) value is supported.")
    for key in ("frequency_penalty", "presence_penalty"):
        if key in body:
            return key, f"Unsupported parameter: '{key}' is not supported with this model."
    mini = model.startswith("o1-mini") or model.startswith("o1-preview")
    for i, m in enumerate(body["messages"]):
        if mini and m.get("role") in ("system", "developer"):
            return f"messages[{i}].role", (f"Unsupported value: 'messages[{i}].role' does not "
                                           f"support '{m['role']}' with this model.")
    effort = body.get("reasoning_effort")
    if effort is not None:
        fam = "gpt-5.1" if model.startswith(("gpt-5.1", "gpt-5.2")) else \
            "gpt-5" if model.startswith("gpt-5") else model[:2]
        if mini or effort not in EFFORTS.get(fam, set()):
            return "reasoning_effort", (f"Unsupported value: 'reasoning_effort' does not "
                                        f"support '{effort}' with this model.")
    return None


def validate(body):
    """Return (param, message) for a request OpenAI would refuse, else None."""
    if not isinstance(body, dict):
        return None, "The request body must be a JSON object."
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model", "you must provide a model parameter"
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return "messages", "'messages' must be a non-empty array"
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            return f"messages.[{i}]", "each message must be an object with a 'role'"
    for key in ("max_tokens", "max_completion_tokens"):
        v = body.get(key)
        if v is not None and not (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
            return key, f"'{key}' must be an integer >= 1"
    for key, lo, hi in (("temperature", 0, 2), ("top_p", 0, 1),
                        ("frequency_penalty", -2, 2), ("presence_penalty", -2, 2)):
        v = body.get(key)
        if v is not None and not (is_number(v) and lo <= v <= hi):
            return key, f"'{key}' must be a number between {lo} and {hi}"
    if body.get("stream") is not None and not isinstance(body["stream"], bool):
        return "stream", "'stream' must be a boolean"
    return validate_reasoning(body)


class Sse:
    """Serializes SSE events and writes them as HTTP chunks cut at nasty places."""

    def __init__(self, handler, rng, keepalive):
        self.h, self.rng, self.keepalive = handler, rng, keepalive
        self.buf = b""
        self.n = 0

    def event(self, payload, split_after=None):
        """Queue one event; split_after (bytes): end an HTTP chunk right after it."""
        nl = "\n" if self.n % 2 == 0 else "\r\n"
        self.n += 1
        out = ""
        if self.keepalive and self.rng.random() < 0.15:
            # a comment either as its own block or as a line inside the event
            out += ": keep-alive" + nl + (nl if self.rng.random() < 0.5 else "")
        out += ("data:" if self.rng.random() < 0.25 else "data: ") + payload + nl + nl
        self.buf += encode(out)
        if split_after is not None and split_after in self.buf:
            at = self.buf.index(split_after) + len(split_after)
            self.h.chunk(self.buf[:at])
            self.buf = self.buf[at:]
        cuts = sorted({self.cut() for _ in range(self.rng.choice((0, 1, 1, 2, 3)))})
        prev = 0
        for c in cuts:  # the tail stays in buf, so chunks straddle events too
            if c > prev:
                self.h.chunk(self.buf[prev:c])
                prev = c
        self.buf = self.buf[prev:]

    def cut(self):
        b, rng = self.buf, self.rng
        if len(b) < 2:
            return 0
        if rng.random() < 0.6:
            nasty = [i for i in range(1, len(b)) if 0x80 <= b[i] < 0xC0]  # mid UTF-8
            nasty += [m.start() + rng.choice((1, 2, 4, 5)) for m in re.finditer(b"data", b)]
            nasty += [m.start() + 1 for m in re.finditer(b"\r\n|\n\n", b)]
            nasty = [i for i in nasty if 0 < i < len(b)]
            if nasty:
                return rng.choice(nasty)
        return rng.randint(1, len(b) - 1)

    def flush(self):
        if self.buf:
            self.h.chunk(self.buf)
            self.buf = b""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-upstream/1.0"
    opts = None  # argparse namespace, set in main()

    def setup(self):
        super().setup()
        # without NODELAY, Nagle + delayed ACK would glue our small chunks together
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.n_chunks = 0

    def log_message(self, fmt, *args):  # the default access log is replaced by ours
        pass

    # ---- low-level output -------------------------------------------------------
    def send_json(self, code, obj, extra=()):
        body = encode(dumps(obj))
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def send_error_json(self, code, message=None, param=None, extra=()):
        msg, typ, ecode = ERRORS.get(code, (
            f"Fake upstream error {code}.",
            "server_error" if code >= 500 else "invalid_request_error", None))
        self.send_json(code, {"error": {"message": message or msg, "type": typ,
                                        "param": param, "code": ecode}}, extra)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.n_chunks += 1
        if self.n_chunks <= FAST_CHUNKS:
            self.pause(self.opts.delay_ms / 1000.0)

    def pause(self, seconds, step=None):
        """Sleep, but notice at once (or every `step` s) a client that went away."""
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([self.connection], [], [], min(left, step or left))
            if not r:
                continue
            try:
                peek = self.connection.recv(1, socket.MSG_PEEK)
            except OSError:
                raise ClientGone()
            if not peek:
                raise ClientGone()
            time.sleep(min(left, 0.2))  # pipelined bytes, not EOF: just wait

    # ---- routing ------------------------------------------------------------------
    def do_GET(self):
        path = self.path.split("?", 1)[0]
        log(f"GET {path}")
        if path == "/_requests":
            with STATE.lock:
                reqs = list(STATE.requests)
            self.send_json(200, reqs)
        elif path == "/_gets":
            with STATE.lock:
                gets = list(STATE.gets)
            self.send_json(200, gets)
        elif path == "/_stats":
            with STATE.lock:
                stats = {"active": STATE.active, "total": STATE.total,
                         "client_closed": STATE.client_closed}
            self.send_json(200, stats)
        elif path.rstrip("/").endswith("/models") and self.path_ok(path, "models"):
            self.record({"_path": path}, STATE.gets)
            if not self.authorized():
                return self.send_error_json(401)
            if self.opts.models_status:
                return self.send_error_json(self.opts.models_status)
            models = MODELS
            if self.opts.models_file:
                try:
                    with open(self.opts.models_file, encoding="utf-8") as f:
                        models = [line.strip() for line in f if line.strip()]
                except OSError:
                    return self.send_error_json(500, "The models list is unavailable.")
            now = int(time.time())
            self.send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": now, "owned_by": "fake-upstream"}
                for m in models]})
        else:
            self.send_error_json(404, f"Unknown path {path}")

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        try:
            raw = self.read_body()
        except (ValueError, OSError):
            log(f"POST {path} unreadable body")
            self.close_connection = True
            return self.send_error_json(400, "Could not read the request body.")
        if path == "/_reset":
            log("POST /_reset")
            with STATE.lock:
                STATE.requests.clear()
                STATE.total = STATE.client_closed = 0
            return self.send_json(200, {"ok": True})
        if not path.rstrip("/").endswith("/chat/completions") or \
                not self.path_ok(path, "chat/completions"):
            log(f"POST {path} (unknown path)")
            return self.send_error_json(404, f"Unknown path {path}")
        try:
            self.chat(path, raw)
        except (ClientGone, BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            STATE.bump("client_closed")
            self.close_connection = True

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline(100).split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(1000).strip():  # trailers
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline(10)
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > 64 << 20:
            raise ValueError("bad Content-Length")
        return self.rfile.read(n)

    def authorized(self):
        key = self.opts.api_key
        if self.opts.azure:  # Azure takes the key in "api-key", never a bearer token
            if "Authorization" in self.headers:
                return False
            return not key or self.headers.get("api-key", "") == key
        return not key or self.headers.get("Authorization", "") == "Bearer " + key

    def auth_kind(self):
        if "Authorization" in self.headers:
            return "bearer"
        return "api-key" if "api-key" in self.headers else "none"

    def path_ok(self, path, tail):
        """Whether path is one this server answers: any .../tail, or with --azure
        only Azure's two forms (a deployment's URL with api-version, or the v1 URL)."""
        if not self.opts.azure:
            return True
        query = self.path.split("?", 1)[1] if "?" in self.path else ""
        if path == "/openai/v1/" + tail:
            return True
        m = re.fullmatch(r"/openai/deployments/([^/]+)/" + re.escape(tail), path)
        return bool(m) and re.search(r"(^|&)api-version=[^&]+", query) is not None

    def record(self, rec, where=None):
        query = self.path.split("?", 1)[1] if "?" in self.path else ""
        rec.update(_auth="Authorization" in self.headers, _auth_kind=self.auth_kind(),
                   _query=query)
        with STATE.lock:
            if where is None:
                STATE.requests = (STATE.requests + [rec])[-100:]
            else:
                where.append(rec)
                del where[:-100]

    # ---- chat completions -----------------------------------------------------------
    def chat(self, path, raw):
        STATE.bump("total")
        auth = "Authorization" in self.headers
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        rec = dict(body) if isinstance(body, dict) else {"_raw": raw[:1000].decode(
            "utf-8", "replace")}
        rec.update(_path=path)
        self.record(rec)
        model = body.get("model") if isinstance(body, dict) else None
        msgs = body.get("messages") if isinstance(body, dict) else None
        prompt = ""
        for m in msgs if isinstance(msgs, list) else []:
            if isinstance(m, dict) and m.get("role") == "user":
                prompt = content_text(m.get("content"))
        d = directives(prompt)
        scenario = ",".join(d) or "default"
        stream = isinstance(body, dict) and body.get("stream") is True
        log(f"POST {path} model={model} scenario={scenario} "
            f"stream={str(stream).lower()} auth={'yes' if auth else 'no'}")
        if body is None:
            return self.send_error_json(400, "We could not parse the JSON body of your "
                                        "request.")
        bad = validate(body)
        if bad:
            return self.send_error_json(400, bad[1], bad[0])
        if not self.authorized():
            return self.send_error_json(401)
        if self.opts.reject_stream_options and "stream_options" in body:
            # Mistral's answer (FastAPI/pydantic's extra_forbidden).
            return self.send_json(422, {"object": "error", "message": {"detail": [{
                "type": "extra_forbidden", "loc": ["body", "stream_options"],
                "msg": "Extra inputs are not permitted",
                "input": body["stream_options"]}]}, "type": "invalid_request_error",
                "param": None, "code": None})
        if "status" in d and d["status"].isdigit() and 400 <= int(d["status"]) <= 599:
            code = int(d["status"])
            return self.send_error_json(code, extra=[("Retry-After", "7")] if code == 429
                                        else [])
        if "html200" in d:
            page = HTML_PAGE.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            return self.wfile.write(page)
        STATE.bump("active")
        try:
            self.reply(body, prompt, d)
        finally:
            STATE.bump("active", -1)

    def reply_text(self, body, prompt, d):
        if "params" in d:
            keys = ("model", "max_tokens", "temperature", "top_p", "frequency_penalty",
                    "presence_penalty", "stream")
            p = {k: body.get(k) for k in keys}
            p["n_messages"] = len(body["messages"])
            return json.dumps(p, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if "unicode" in d:
            return UNICODE_REPLY
        if "version" in d:
            with STATE.lock:
                n = STATE.versions[prompt] = STATE.versions.get(prompt, 0) + 1
            return f"Version {n}: You said: {prompt}"
        if "markdown" in d:
            return MARKDOWN_REPLY
        if "math" in d:
            return MATH_REPLY
        if "words" in d:
            n = int(d["words"]) if d["words"].isdigit() else 10
            return " ".join(f"w{i}" for i in range(1, min(n, 2_000_000) + 1))
        for name, ch in (("ctrl", "\x01"), ("quotes", '"')):
            if name in d:
                n = int(d[name]) if d[name].isdigit() else 1
                return (ch * 1023 + " ") * min(n, 65536)
        return "You said: " + prompt

    def reply(self, body, prompt, d):
        pieces = word_pieces(self.reply_text(body, prompt, d))
        finish = "stop"
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        if limit and len(pieces) > limit:
            pieces = pieces[:limit]
            pieces[-1] = pieces[-1].rstrip()
            finish = "length"
        text = "".join(pieces)
        form, _, more = (d.get("reason") or "").partition(":")
        form = form if form in REASON_FORMS else None
        thought = word_pieces(REASONING + "".join(
            f" r{i}" for i in range(1, min(int(more), 2_000_000) + 1 if more.isdigit() else 1)))
        ptok = sum(len(content_text(m.get("content")).split()) for m in body["messages"])
        answer = 0 if "reasononly" in d else len(pieces)
        thinking = len(thought) if form or "reasononly" in d else 0
        usage = {"prompt_tokens": ptok, "completion_tokens": answer + thinking,
                 "total_tokens": ptok + answer + thinking}
        if thinking:
            usage["completion_tokens_details"] = {"reasoning_tokens": thinking}
        if "nousage" in d:
            usage = None
        model = body["model"]
        rng = random.Random(hashlib.sha256(encode(prompt)).digest())
        cid = "chatcmpl-%024x" % rng.getrandbits(96)
        created = int(time.time())
        try:
            slow = float(d["slow"]) if "slow" in d else 0.0
        except ValueError:
            slow = 0.0
        if not body.get("stream") or "nostream" in d:  # a server ignoring "stream"
            return self.reply_whole(cid, created, model, text, finish, usage, d, slow)

        include_usage = isinstance(body.get("stream_options"), dict) and \
            body["stream_options"].get("include_usage") is True and usage is not None

        def chunk_obj(delta, finish_reason=None):
            obj = {"id": cid, "object": "chat.completion.chunk", "created": created,
                   "model": model, "system_fingerprint": "fp_fake",
                   "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                "finish_reason": finish_reason}]}
            if include_usage:
                obj["usage"] = None  # as OpenAI does on every chunk but the last
            return dumps(obj)

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Request-Id", "req_" + cid[9:])
        self.end_headers()
        sse = Sse(self, rng, keepalive="slow" not in d)
        if self.opts.azure or "azurefilter" in d:  # Azure's content filter chunk comes first
            sse.event(dumps({"id": "", "object": "", "created": 0, "model": "",
                             "choices": [], "prompt_filter_results": [{
                                 "prompt_index": 0, "content_filter_results": {
                                     "hate": {"filtered": False, "severity": "safe"}}}]}))
        if form == "r":
            sse.buf += b": OPENROUTER PROCESSING\n\n"
        first = {"role": "assistant", "content": ""}
        if form == "rc" or "nullcontent" in d or "timings" in d:
            first["content"] = None  # llama.cpp's first chunk
        sse.event(chunk_obj(first))
        if "hang" in d:
            sse.flush()
            self.pause(600, step=0.2)
            self.close_connection = True
            return
        if "truncate" in d:
            pieces = pieces[:3]
        elif "badjson" in d or "midstream-error" in d:
            pieces = pieces[:1]
        elif "err200" in d:
            pieces = pieces[:2]
        # (delta, split_after) of each event, the reasoning first
        events = [({"content": p}, None) for p in pieces]
        if form == "rc":
            events[:0] = [({"content": None, "reasoning_content": p}, None)
                          for p in thought]
        elif form == "r":
            events[:0] = [({"content": "", "reasoning": p, "reasoning_details": [
                {"type": "reasoning.text", "text": p, "format": "unknown"}]}, None)
                for p in thought]
        elif form in ("tag", "open"):
            tagged = [({"content": p}, None) for p in thought]
            if form == "tag":
                tagged[0] = ({"content": "nk>" + thought[0]}, None)
                tagged.insert(0, ({"content": "<thi"}, None))
            tagged.append(({"content": "</think>\n\n"}, b"</th"))
            events[:0] = tagged
        elif "reasononly" in d:
            events = [({"content": "", "reasoning_content": p}, None) for p in thought]
        if "nullcontent" in d and len(events) > 1:
            events.insert(1, ({"content": None}, None))
        per_word = slow / max(len(events), 1) if slow else 0
        for delta, split in events:
            if "azurefilter" in d:
                obj = json.loads(chunk_obj(delta))
                obj["choices"][0]["content_filter_results"] = {
                    "hate": {"filtered": False, "severity": "safe"}}
                sse.event(dumps(obj), split)
            else:
                sse.event(chunk_obj(delta), split)
            if per_word:
                sse.flush()
                self.pause(per_word)
        if "truncate" in d:
            sse.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)  # no last chunk, no [DONE]
            return
        done = "midstream-error" not in d
        if "badjson" in d:
            sse.event("{not json")
        elif "midstream-error" in d:
            sse.event(dumps({"error": {
                "message": "The server had an error while processing your request.",
                "type": "server_error"}}))
            self.close_connection = True
        elif "err200" in d:
            kind = d["err200"] if d["err200"] in ERR200_KINDS else "openai"
            msg = f"Upstream failed ({kind})."
            if kind == "openai":
                sse.event(dumps({"error": {"message": msg, "type": "server_error",
                                           "param": None, "code": None}}))
            elif kind == "openrouter":
                sse.event(dumps({"id": cid, "object": "chat.completion.chunk",
                                 "created": created, "model": model,
                                 "error": {"code": 502, "message": msg},
                                 "choices": [{"index": 0, "delta": {"content": ""},
                                              "finish_reason": "error"}]}))
                done = False
            else:
                sse.event(dumps({"error_type": "InternalServerError",
                                 "error_message": msg}))
        elif "nofinish" in d:
            pass
        else:
            last = chunk_obj({}, finish)
            if "timings" in d:
                obj = json.loads(last)
                obj["timings"] = {"prompt_n": ptok, "prompt_ms": 1.5,
                                  "predicted_n": len(pieces), "predicted_ms": 2.5,
                                  "predicted_per_second": 400.0}
                last = dumps(obj)
            sse.event(last)
            if include_usage:
                sse.event(dumps({"id": cid, "object": "chat.completion.chunk",
                                 "created": created, "model": model,
                                 "system_fingerprint": "fp_fake", "choices": [],
                                 "usage": usage}))
        if "nodone" in d:
            done = False
        if done:
            sse.event("[DONE]")
        sse.flush()
        self.wfile.write(b"0\r\n\r\n")

    def reply_whole(self, cid, created, model, text, finish, usage, d, slow):
        if "hang" in d:
            self.pause(600, step=0.2)
            self.close_connection = True
            return
        if "midstream-error" in d:
            return self.send_error_json(500)
        if slow:
            self.pause(slow)
        whole = {
            "id": cid, "object": "chat.completion", "created": created, "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text,
                                                 "refusal": None},
                         "logprobs": None, "finish_reason": finish}]}
        if usage is not None:
            whole["usage"] = usage
        body = encode(dumps(whole))
        if "badjson" in d:
            body = b"{not json"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if "truncate" in d:  # promise the whole body, deliver half of it
            self.wfile.write(body[:len(body) // 2])
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # many concurrent streams must not hit a tiny backlog

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ClientGone, TimeoutError)):
            return  # a client that went away is routine, not worth a traceback
        super().handle_error(request, client_address)


def stop(signum, frame):
    raise SystemExit(0)


def main():
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    ap = argparse.ArgumentParser(description="Fake OpenAI-compatible chat API.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True, help="0 picks a free port")
    ap.add_argument("--port-file", help="write the bound port number here")
    ap.add_argument("--api-key", help="require 'Authorization: Bearer KEY'")
    ap.add_argument("--delay-ms", type=float, default=5.0,
                    help="pause after each HTTP chunk (default 5)")
    ap.add_argument("--models-file", help="GET /models lists the ids in this file "
                    "(one a line, re-read at each GET; missing: 500)")
    ap.add_argument("--models-status", type=int, help="GET /models answers this status")
    ap.add_argument("--reject-stream-options", action="store_true",
                    help="answer 422 (Mistral's extra_forbidden) to stream_options")
    ap.add_argument("--azure", action="store_true",
                    help="Azure OpenAI's paths, api-key header and filter chunk")
    opts = ap.parse_args()
    Handler.opts = opts
    if ":" in opts.host:
        Server.address_family = socket.AF_INET6
    try:
        server = Server((opts.host, opts.port), Handler)
    except OSError as e:
        log(f"cannot listen on {opts.host}:{opts.port}: {e}")
        sys.exit(1)
    port = server.server_address[1]
    if opts.port_file:
        tmp = f"{opts.port_file}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, opts.port_file)
    log(f"listening on {opts.host}:{port}")
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        server.server_close()
        log("stopped")


if __name__ == "__main__":
    main()
