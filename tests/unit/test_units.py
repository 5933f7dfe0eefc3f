"""test_units.py - the systemd units in systemd/: `systemd-analyze verify`
passes on each (a copy whose /usr/lib/lightchat/ programs are stand-ins, so
that it runs before anything is installed), `systemd-analyze security
--offline=yes` rates each service "OK" or better (exposure below 2.0), and
the promises of docs/DEPLOY.md hold in the files: every service runs as
lightchat with LIGHTCHAT_CONFIG set, restarts on failure, keeps the
hardening it lists, and only websocketd has a capability
(CAP_NET_BIND_SERVICE, for its port below 1024). And
systemd/lightchat-websocketd, with a stand-in websocketd and admin tool: the
command it runs, its refusal of a port others could bind, the exit status
passed on, and tokens removed from websocketd's lines. Skips without
systemd-analyze.
    PYTHONPATH=tools:tests/unit python3 tests/unit/test_units.py"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

from tap import eq, run, test

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
UNITS = os.path.join(ROOT, "systemd")
SERVICES = ["lightchat-worker.service", "lightchat-ws.service", "lightchat-fcgi@.service"]
PROGRAMS = ["lightchat.fcgi", "lightchat-worker", "lightchat-websocketd", "lightchat-ws",
            "lightchat-admin"]
HARDENING = {
    "User": "lightchat", "Group": "lightchat",
    "Environment": "LIGHTCHAT_CONFIG=/etc/lightchat/lightchat.conf",
    "Restart": "on-failure", "StateDirectory": "lightchat", "StateDirectoryMode": "0700",
    "UMask": "0077", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
    "ReadWritePaths": "/var/lib/lightchat", "ProtectHome": "yes", "PrivateTmp": "yes",
    "PrivateDevices": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes", "RestrictNamespaces": "yes",
    "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes", "RestrictSUIDSGID": "yes",
    "SystemCallFilter": "@system-service", "SystemCallArchitectures": "native",
}


def settings(name):
    """The unit file's settings: {key: [values]} (comments left out)."""
    out = {}
    with open(os.path.join(UNITS, name)) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;[" or "=" not in line:
                continue
            k, _, v = line.partition("=")
            out.setdefault(k.strip(), []).append(v.strip())
    return out


def staged():
    """A temporary directory holding copies of the units whose programs are
    stand-in scripts in it: `verify` wants every ExecStart= executable."""
    d = tempfile.mkdtemp(prefix="lightchat-units.")
    lib = os.path.join(d, "lib")
    os.mkdir(lib)
    for p in PROGRAMS:
        with open(os.path.join(lib, p), "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(os.path.join(lib, p), 0o755)
    units = os.path.join(d, "units")
    os.mkdir(units)
    for src in glob.glob(os.path.join(UNITS, "lightchat*.*")):
        if src.endswith(("websocketd",)):
            continue
        with open(src) as f:
            text = f.read().replace("/usr/lib/lightchat/", lib + "/")
        with open(os.path.join(units, os.path.basename(src)), "w") as f:
            f.write(text)
    return d, units


if shutil.which("systemd-analyze") is None:
    print("skip - systemd-analyze is not installed")
    sys.exit(0)
TMP, STAGED = staged()


@test
def verify():
    """systemd-analyze verify passes on every unit"""
    names = sorted(os.listdir(STAGED))
    eq(len(names) >= 5, True, f"units found: {names}")
    p = subprocess.run(["systemd-analyze", "verify", "--man=no"] + names, cwd=STAGED,
                       capture_output=True, text=True)
    eq((p.returncode, p.stdout + p.stderr), (0, ""), "verify")


@test
def security():
    """systemd-analyze security --offline=yes: every service OK or better"""
    for name in SERVICES:
        p = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", name],
                           cwd=STAGED, capture_output=True, text=True)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\w+)", p.stdout)
        eq(m is not None, True, f"{name}: {p.stdout[-300:]}{p.stderr[-300:]}")
        eq(float(m.group(1)) < 2.0 and m.group(2) in ("SAFE", "OK"), True,
           f"{name}: exposure {m.group(1)} {m.group(2)}")


@test
def hardening():
    """each service: user lightchat, its config, restarts, the hardening listed"""
    for name in SERVICES:
        s = settings(name)
        for k, v in HARDENING.items():
            eq(v in s.get(k, []), True, f"{name}: {k}={v} (has {s.get(k)})")
        caps = s.get("CapabilityBoundingSet", [None])
        if name == "lightchat-ws.service":
            eq(caps, ["CAP_NET_BIND_SERVICE"], f"{name}: CapabilityBoundingSet")
            eq(s.get("AmbientCapabilities"), ["CAP_NET_BIND_SERVICE"], f"{name}: ambient")
        else:
            eq(caps, [""], f"{name}: CapabilityBoundingSet (none)")


@test
def ordering():
    """websocketd and the FastCGI program start after the worker"""
    for name in ("lightchat-ws.service", "lightchat-fcgi@.service"):
        s = settings(name)
        eq("lightchat-worker.service" in " ".join(s.get("After", [])), True, f"{name}: After")
        eq("lightchat-worker.service" in " ".join(s.get("Wants", [])), True, f"{name}: Wants")


@test
def fcgi_socket():
    """the FastCGI sockets: in /run/lightchat, group www-data, mode 0660"""
    s = settings("lightchat-fcgi@.socket")
    eq(s.get("ListenStream"), ["/run/lightchat/fcgi-%i.sock"], "ListenStream")
    eq(s.get("SocketGroup"), ["www-data"], "SocketGroup")
    eq(s.get("SocketMode"), ["0660"], "SocketMode")
    svc = settings("lightchat-fcgi@.service")
    eq(svc.get("StandardInput"), ["socket"], "the socket is descriptor 0")
    eq(svc.get("StandardOutput"), ["journal"], "stdout is not the socket")
    t = " ".join(settings("lightchat.target").get("Wants", []))
    for u in ("lightchat-worker.service", "lightchat-ws.service", "lightchat-fcgi@auth.socket",
              "lightchat-fcgi@api.socket"):
        eq(u in t, True, f"lightchat.target wants {u}")


def wrapper(ws_port, lines, status=0, extra_env=None):
    """Runs lightchat-websocketd with a stand-in admin tool (ws_port, 77
    connections) and websocketd (prints its arguments, then lines on stdout
    and stderr, exits with status). Returns (returncode, output)."""
    d = tempfile.mkdtemp(prefix="lightchat-wsd.", dir=TMP)
    with open(os.path.join(d, "lightchat-admin"), "w") as f:
        f.write("#!/bin/sh\ncase $2 in ws_port) echo %d;; max_connections) echo 77;; *) exit 1;; esac\n"
                % ws_port)
    with open(os.path.join(d, "websocketd"), "w") as f:
        f.write("#!/bin/sh\necho \"args: $*\"\ncat <<'EOF'\n%s\nEOF\ncat >&2 <<'EOF'\n%s\nEOF\nexit %d\n"
                % ("\n".join(lines), "\n".join(lines), status))
    for n in ("lightchat-admin", "websocketd"):
        os.chmod(os.path.join(d, n), 0o755)
    env = dict(os.environ, LIGHTCHAT_LIBEXEC=d, PATH=d + ":" + os.environ.get("PATH", ""))
    for v in ("LIGHTCHAT_WS_ANY_PORT", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        env.pop(v, None)
    env.update(extra_env or {})
    p = subprocess.run([os.path.join(UNITS, "lightchat-websocketd")], env=env,
                       capture_output=True, text=True, timeout=20)
    return p.returncode, p.stdout + p.stderr


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


@test
def websocketd_command():
    """lightchat-websocketd: websocketd on 127.0.0.1:ws_port with the config's limits"""
    rc, out = wrapper(1011, ["hello"])
    eq(rc, 0, f"status: {out}")
    m = re.search(r"args: (.*)", out)
    eq(m is not None, True, out)
    args = m.group(1).split()
    eq(args[:-1], ["--address=127.0.0.1", "--port=1011", "--maxforks=77", "--loglevel=error",
                   "--passenv=LIGHTCHAT_CONFIG"], "websocketd's arguments")
    eq(args[-1].endswith("/lightchat-ws"), True, f"runs lightchat-ws: {args[-1]}")
    rc, out = wrapper(1011, [], extra_env={"ASAN_OPTIONS": "log_path=/tmp/x"})
    eq("--passenv=LIGHTCHAT_CONFIG,ASAN_OPTIONS " in out, True, f"sanitizer builds: {out}")


@test
def websocketd_port():
    """lightchat-websocketd: refuses a port another user could bind"""
    rc, out = wrapper(8081, ["hello"])
    eq(rc, 1, "status")
    eq("ip_unprivileged_port_start" in out and "args:" not in out, True, out)
    rc, out = wrapper(8081, ["hello"], extra_env={"LIGHTCHAT_WS_ANY_PORT": "yes"})
    eq(rc, 0, f"the tests' override: {out}")


@test
def websocketd_status_and_redaction():
    """lightchat-websocketd: websocketd's status is the unit's; tokens never reach the journal"""
    lines = [f"url /ws?token=Bearer%20{JWT}&x=1",
             f"Cookie: lightchat_session={JWT}",
             "while reading STDOUT from process: read |0: file already closed",
             "http: panic serving 127.0.0.1:5: runtime error: nil pointer",
             "goroutine 7 [running]:",
             "net/http.(*conn).serve.func1()",
             "\t/usr/lib/go/src/net/http/server.go:1850 +0x1a",
             "created by net/http.(*Server).Serve in goroutine 1",
             "an ordinary line"]
    rc, out = wrapper(1011, lines, status=3)
    eq(rc, 3, "websocketd's exit status")
    eq("eyJ" in out, False, f"a token left: {out}")
    eq(out.count("token=[redacted]"), 2, out)
    eq(out.count("[redacted-token]"), 2, out)
    eq("already closed" in out or "goroutine" in out or "server.go" in out, False, out)
    eq(out.count("websocketd bug #342"), 2, out)
    eq(out.count("an ordinary line"), 2, out)


try:
    run()
finally:
    shutil.rmtree(TMP, ignore_errors=True)
