"""test_unitrun.py - tests/pkg/unitrun.py, the package test's stand-in for
systemd, reads units as systemd does: continued lines, an empty value
resetting a list, drop-ins after the unit (the template's too), %i of a
template instance; and for the units in systemd/ it runs what they say (the
user, no new privileges, websocketd's one capability, the fcgi@ socket as
descriptor 0, the worker's environment). Starting them for real is
tests/pkg/test-deb.sh's (root, a Debian root).
    PYTHONPATH=tools:tests/unit python3 tests/unit/test_unitrun.py"""
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile

from tap import eq, run, test

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
RUNNER = os.path.join(ROOT, "tests", "pkg", "unitrun.py")
spec = importlib.util.spec_from_file_location("unitrun", RUNNER)
unitrun = importlib.util.module_from_spec(spec)
spec.loader.exec_module(unitrun)


def fake_root():
    """A directory with the tree's units in lib/systemd/system and a passwd
    and group file with lightchat (uid 990) and www-data (33)."""
    d = tempfile.mkdtemp(prefix="lightchat-unitrun.")
    units = os.path.join(d, "lib", "systemd", "system")
    os.makedirs(units)
    os.makedirs(os.path.join(d, "etc", "systemd", "system"))
    for f in os.listdir(os.path.join(ROOT, "systemd")):
        shutil.copy(os.path.join(ROOT, "systemd", f), units)
    with open(os.path.join(d, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n"
                "lightchat:x:990:991::/var/lib/lightchat:/usr/sbin/nologin\n")
    with open(os.path.join(d, "etc", "group"), "w") as f:
        f.write("root:x:0:\nwww-data:x:33:\nlightchat:x:991:\n")
    return d


def printed(root, unit):
    """unitrun.py --print: {first word: the rest of the line}."""
    p = subprocess.run([sys.executable, RUNNER, "--root", root, "--print", unit],
                       capture_output=True, text=True)
    eq(p.returncode, 0, f"{unit}: {p.stderr}")
    return dict(line.split(" ", 1) for line in p.stdout.splitlines())


@test
def parse_like_systemd():
    """continued lines, comments, an empty value resetting the key"""
    u = unitrun.parse("[Service]\n# c\nExecStart=/bin/a \\\n  b\nEnvironment=A=1\n"
                      "Environment=\nEnvironment=B=2\n", {})
    eq(unitrun.get(u, "Service", "ExecStart"), "/bin/a    b", "continued")
    eq(unitrun.get_all(u, "Service", "Environment"), ["B=2"], "reset")


@test
def template_and_dropins():
    """%i of an instance; the template's drop-ins, then the instance's"""
    d = fake_root()
    try:
        sysd = os.path.join(d, "etc", "systemd", "system")
        os.makedirs(os.path.join(sysd, "lightchat-fcgi@.service.d"))
        os.makedirs(os.path.join(sysd, "lightchat-fcgi@api.service.d"))
        with open(os.path.join(sysd, "lightchat-fcgi@.service.d", "a.conf"), "w") as f:
            f.write("[Service]\nEnvironment=X=%i\n")
        with open(os.path.join(sysd, "lightchat-fcgi@api.service.d", "b.conf"), "w") as f:
            f.write("[Service]\nEnvironment=Y=2\nExecStart=\nExecStart=/bin/true %i\n")
        u = unitrun.load(d, "lightchat-fcgi@api.service")
        eq(unitrun.get(u, "Unit", "Requires"), "lightchat-fcgi@api.socket", "%i")
        eq(unitrun.get_all(u, "Service", "Environment")[-2:], ["X=api", "Y=2"], "drop-ins in order")
        eq(unitrun.get_all(u, "Service", "ExecStart"), ["/bin/true api"], "ExecStart reset")
        s = unitrun.load(d, "lightchat-fcgi@auth.socket")
        eq(unitrun.get(s, "Socket", "ListenStream"), "/run/lightchat/fcgi-auth.sock", "socket path")
    finally:
        shutil.rmtree(d)


@test
def the_units_as_they_say():
    """the tree's units: user, no new privileges, one capability, the socket"""
    d = fake_root()
    try:
        w = printed(d, "lightchat-worker.service")
        eq(w["user"], "990 991 umask 0077", "worker's user and umask")
        eq(w["start"].strip(), "setpriv --reuid=990 --regid=991 --init-groups --no-new-privs -- "
           "/usr/lib/lightchat/lightchat-worker", "worker's command")
        eq("LIGHTCHAT_CONFIG=/etc/lightchat/lightchat.conf" in w["env"].split(), True, w["env"])
        eq("GNUTLS_NO_IMPLICIT_INIT=1" in w["env"].split(), True, w["env"])
        ws = printed(d, "lightchat-ws.service")
        eq("--ambient-caps=+net_bind_service" in ws["start"], True, ws["start"])
        f = printed(d, "lightchat-fcgi@auth.service")
        eq(f["start"].endswith("/usr/lib/lightchat/lightchat.fcgi (socket on 0)"), True, f["start"])
        eq("ProtectSystem" in f["skipped"].split(), True, "what it does not emulate is said")
    finally:
        shutil.rmtree(d)


if __name__ == "__main__":
    run()
