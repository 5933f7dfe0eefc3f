#!/usr/bin/env python3
"""unitrun.py - starts one systemd service the way its installed unit says,
in a root without systemd (the package test's Debian root). Standard
library only; run as root on the host.

    unitrun.py --root DIR [--print] UNIT

UNIT is a service name (lightchat-worker.service, lightchat-fcgi@auth.service):
its file is read from DIR's /etc/systemd/system, /lib/systemd/system or
/usr/lib/systemd/system (a template "name@.service" for "name@I.service",
%i and %I the instance), with the drop-ins of DIR/etc/systemd/system/UNIT.d/
(and the template's) applied after it, in name order, as systemd does.

What it honours: ExecStartPre= (each run to its end; "-" prefix: failure
ignored) and ExecStart= (exec'ed: the runner's PID becomes the service's,
so the caller stops it by that PID, SIGTERM as `systemctl stop` does);
User=/Group= (setpriv --reuid --regid --init-groups, inside the root);
Environment= (a reset environment with PATH, as systemd's); UMask=;
NoNewPrivileges=; AmbientCapabilities=; LimitNOFILE= (setpriv --inh-caps and
--ambient-caps); StateDirectory=/RuntimeDirectory= (made under /var/lib and
/run with their *Mode=, owned by User=/Group=); and StandardInput=socket:
the service's .socket unit (ListenStream= a unix path, SocketUser=,
SocketGroup=, SocketMode=, DirectoryMode=, Backlog=) is bound by the runner
as root and handed over as descriptor 0. The process is chroot'ed into DIR
and shares the host's network. Everything else (the sandboxing options,
Restart=, limits) is not emulated: --print lists the keys it skipped.
Stdout and stderr stay the runner's (the caller's log file, for the
journal). Exit status: the service's, or 2 when the unit cannot be run."""
import argparse
import os
import resource
import shlex
import socket
import subprocess
import sys

UNIT_DIRS = ("etc/systemd/system", "lib/systemd/system", "usr/lib/systemd/system")
HONOURED = {"ExecStartPre", "ExecStart", "User", "Group", "Environment", "UMask",
            "NoNewPrivileges", "AmbientCapabilities", "StateDirectory", "StateDirectoryMode",
            "RuntimeDirectory", "RuntimeDirectoryMode", "StandardInput", "LimitNOFILE"}
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def die(msg):
    sys.stderr.write(f"unitrun: {msg}\n")
    sys.exit(2)


def parse(text, into):
    """Adds the [Section] Key=Value lines of a unit file to into
    {section: [(key, value)]}; an empty value resets the key (systemd's
    rule for list settings)."""
    section = None
    lines = iter(text.splitlines())
    for line in lines:
        while line.endswith("\\"):
            line = line[:-1] + " " + next(lines, "")
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            into.setdefault(section, [])
            continue
        if "=" not in line or section is None:
            continue
        k, v = (s.strip() for s in line.split("=", 1))
        if v == "":
            into[section] = [(a, b) for a, b in into[section] if a != k]
        else:
            into[section].append((k, v))
    return into


def load(root, name):
    """The unit NAME (with its template and drop-ins), instance substituted.
    Returns {section: [(key, value)]}."""
    base, dot, kind = name.rpartition(".")
    instance = ""
    candidates = [name]
    if "@" in base:
        prefix, instance = base.split("@", 1)
        candidates.append(f"{prefix}@.{kind}")
    path = None
    for c in candidates:
        for d in UNIT_DIRS:
            p = os.path.join(root, d, c)
            if os.path.isfile(p):
                path = p
                break
        if path:
            break
    if path is None:
        die(f"no unit {name} in {root}")
    texts = [open(path).read()]
    for c in reversed(candidates):
        d = os.path.join(root, "etc/systemd/system", c + ".d")
        if os.path.isdir(d):
            texts += [open(os.path.join(d, f)).read() for f in sorted(os.listdir(d))
                      if f.endswith(".conf")]
    unit = {}
    for t in texts:
        t = t.replace("%i", instance).replace("%I", instance).replace("%%", "%")
        parse(t, unit)
    return unit


def get(unit, section, key, default=None):
    vals = [v for k, v in unit.get(section, []) if k == key]
    return vals[-1] if vals else default


def get_all(unit, section, key):
    return [v for k, v in unit.get(section, []) if k == key]


def command(value):
    """An Exec*= line: (argv, ignore_failure)."""
    ignore = False
    while value and value[0] in "-@:+!":
        ignore = ignore or value[0] == "-"
        value = value[1:]
    return shlex.split(value), ignore


def ids(root, user, group):
    """uid, gid, home of User=/Group= by the root's passwd and group files
    (not NSS: the host's would answer)."""
    def lookup(path, name):
        with open(os.path.join(root, path)) as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                if fields[0] == name or fields[2] == name:
                    return fields
        die(f"no {name} in the root's /{path}")
    pw = lookup("etc/passwd", user)
    gid = int(lookup("etc/group", group)[2]) if group else int(pw[3])
    return int(pw[2]), gid, pw[5]


def make_dirs(path, mode):
    """Makes path and its missing parents with mode itself, whatever the
    umask (the fcgi runner binds its socket after the unit's UMask=0077 and
    runs at the same time as the others: a parent made 0700 would shut
    www-data and the worker out of /run/lightchat)."""
    missing = []
    while path and not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for d in reversed(missing):
        try:
            os.mkdir(d)
        except FileExistsError:
            continue   # another runner made it: its mode stands
        os.chmod(d, mode)


def make_dir(path, mode, uid, gid):
    """Makes path (its parents root's, 0755) and gives it mode and owner,
    as systemd does for StateDirectory=/RuntimeDirectory=."""
    make_dirs(path, 0o755)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def listen_socket(root, name):
    """Binds the service's .socket unit's ListenStream= (a path) as root;
    returns the listening socket."""
    sock_unit = load(root, name.rsplit(".", 1)[0] + ".socket")
    path = get(sock_unit, "Socket", "ListenStream")
    if not path or not path.startswith("/"):
        die(f"{name}: only a ListenStream= path is supported, not {path!r}")
    make_dirs(os.path.dirname(path), int(get(sock_unit, "Socket", "DirectoryMode", "0755"), 8))
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    uid = ids(root, get(sock_unit, "Socket", "SocketUser", "root"), None)[0]
    gid = ids(root, "root", get(sock_unit, "Socket", "SocketGroup", "root"))[1]
    os.chown(path, uid, gid)
    os.chmod(path, int(get(sock_unit, "Socket", "SocketMode", "0666"), 8))
    s.listen(int(get(sock_unit, "Socket", "Backlog", "4096")))
    return s


def main():
    ap = argparse.ArgumentParser(description="start a service as its unit says, in a root")
    ap.add_argument("--root", required=True)
    ap.add_argument("--print", action="store_true", help="print what would run, and exit")
    ap.add_argument("unit")
    a = ap.parse_args()
    root = os.path.abspath(a.root)
    unit = load(root, a.unit)
    svc = "Service"
    if svc not in unit:
        die(f"{a.unit}: no [Service]")
    user = get(unit, svc, "User", "root")
    group = get(unit, svc, "Group")
    uid, gid, home = ids(root, user, group)

    env = {"PATH": DEFAULT_PATH, "LANG": "C.UTF-8"}
    for line in get_all(unit, svc, "Environment"):
        for kv in shlex.split(line):
            k, _, v = kv.partition("=")
            env[k] = v
    if uid != 0:
        env.update({"USER": user, "LOGNAME": user, "HOME": home})

    wrap = []
    if uid != 0 or group:
        wrap = ["setpriv", f"--reuid={uid}", f"--regid={gid}"]
        wrap.append("--init-groups" if uid != 0 else "--clear-groups")
    if get(unit, svc, "NoNewPrivileges", "no") in ("yes", "true", "1", "on"):
        wrap = (wrap or ["setpriv"]) + ["--no-new-privs"]
    caps = [c.lower().replace("cap_", "") for line in get_all(unit, svc, "AmbientCapabilities")
            for c in line.split()]
    if caps:
        c = ",".join("+" + x for x in caps)
        wrap = (wrap or ["setpriv"]) + [f"--inh-caps={c}", f"--ambient-caps={c}"]
    if wrap:
        wrap.append("--")

    pre = [command(v) for v in get_all(unit, svc, "ExecStartPre")]
    starts = get_all(unit, svc, "ExecStart")
    if len(starts) != 1:
        die(f"{a.unit}: {len(starts)} ExecStart= lines (Type=exec/simple needs one)")
    argv, _ = command(starts[0])
    stdin_socket = get(unit, svc, "StandardInput") == "socket"

    if a.print:
        print("user", uid, gid, "umask", get(unit, svc, "UMask", "0022"))
        print("env", " ".join(f"{k}={v}" for k, v in sorted(env.items())))
        for p, _ in pre:
            print("pre", shlex.join(wrap + p))
        print("start", shlex.join(wrap + argv), "(socket on 0)" if stdin_socket else "")
        skipped = sorted({k for k, _ in unit[svc]} - HONOURED)
        print("skipped", " ".join(skipped))
        return 0

    for kind, base in (("StateDirectory", "var/lib"), ("RuntimeDirectory", "run")):
        mode = int(get(unit, svc, kind + "Mode", "0755"), 8)
        for line in get_all(unit, svc, kind):
            for d in line.split():
                make_dir(os.path.join(root, base, d), mode, uid, gid)

    nofile = get(unit, svc, "LimitNOFILE")
    if nofile:
        soft, _, hard = nofile.partition(":")
        soft, hard = int(soft), int(hard or soft)
        # a container may hold root below it: as much as it allows
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        except (ValueError, OSError):
            cap = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            if cap != resource.RLIM_INFINITY:
                soft, hard = min(soft, cap), min(hard, cap)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            sys.stderr.write(f"unitrun: LimitNOFILE={nofile} above this host's hard limit: {soft}\n")
    os.chroot(root)
    os.chdir("/")
    os.umask(int(get(unit, svc, "UMask", "0022"), 8))
    if stdin_socket:
        s = listen_socket("/", a.unit)
        os.dup2(s.fileno(), 0)
        s.close()
    else:
        fd = os.open("/dev/null", os.O_RDONLY)
        os.dup2(fd, 0)
        os.close(fd)
    for p, ignore in pre:
        rc = subprocess.call(wrap + p, env=env, stdin=subprocess.DEVNULL)
        if rc != 0 and not ignore:
            die(f"{a.unit}: ExecStartPre {p[0]} exited {rc}")
    os.execvpe((wrap + argv)[0], wrap + argv, env)


if __name__ == "__main__":
    sys.exit(main())
