"""test_sw_version.py - the service worker's VERSION follows the page's files
(scripts/sw-version.sh): the committed www/sw.js is up to date, and in a copy of
www/ a changed file, a new file or a removed one each give a new VERSION and file
list, which is how an update of the page reaches browsers (docs/ARCHITECTURE.md,
"The service worker caches the page, never the API"); sw.js itself is not in its
own list, nor is anything under /api/.
    PYTHONPATH=tools:tests/unit python3 tests/unit/test_sw_version.py"""
import os
import re
import shutil
import subprocess
import tempfile

from tap import eq, run, test

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def copy():
    """A temporary checkout with scripts/sw-version.sh and a copy of www/."""
    d = tempfile.mkdtemp(prefix="lightchat-sw.")
    os.mkdir(os.path.join(d, "scripts"))
    shutil.copy(os.path.join(ROOT, "scripts", "sw-version.sh"), os.path.join(d, "scripts"))
    shutil.copytree(os.path.join(ROOT, "www"), os.path.join(d, "www"))
    return d


def generate(d, *args):
    return subprocess.run([os.path.join(d, "scripts", "sw-version.sh"), *args],
                          capture_output=True, text=True)


def version(d):
    text = open(os.path.join(d, "www", "sw.js")).read()
    m = re.search(r"const VERSION = '([0-9a-f]{16})';\nconst FILES = \[\n(.*?)\];", text, re.S)
    assert m, "no generated block in sw.js"
    return m.group(1), re.findall(r"'([^']+)'", m.group(2))


@test
def committed_is_current():
    """the committed www/sw.js is up to date (else: scripts/sw-version.sh, make does)"""
    r = subprocess.run([os.path.join(ROOT, "scripts", "sw-version.sh"), "--check"], capture_output=True, text=True)
    eq(r.returncode, 0, r.stderr)


@test
def lists_the_page():
    """its list is the page's files: index.html, the modules, the manifest; not sw.js"""
    _, files = version(ROOT)
    for f in ("index.html", "js/main.js", "js/math.js", "css/app.css", "manifest.webmanifest"):
        eq(f in files, True, f)
    eq("sw.js" in files, False, "sw.js")
    eq([f for f in files if f.startswith(("api/", "vendor/"))], [], "api/ or vendor/")


@test
def changes_follow():
    """a changed, added or removed file gives a new VERSION; unchanged, sw.js stays"""
    d = copy()
    try:
        eq(generate(d).returncode, 0)
        v0, files0 = version(d)
        before = open(os.path.join(d, "www", "sw.js")).read()
        eq(generate(d).returncode, 0)
        eq(open(os.path.join(d, "www", "sw.js")).read(), before, "rewritten without a change")
        with open(os.path.join(d, "www", "js", "render.js"), "a") as f:
            f.write("// changed\n")
        eq(generate(d, "--check").returncode, 1, "--check of a changed file")
        eq(generate(d).returncode, 0)
        v1, _ = version(d)
        eq(v1 != v0, True, "VERSION after a change")
        with open(os.path.join(d, "www", "js", "new.js"), "w") as f:
            f.write("export {};\n")
        generate(d)
        v2, files2 = version(d)
        eq((v2 != v1, "js/new.js" in files2), (True, True), "a new module")
        os.remove(os.path.join(d, "www", "js", "new.js"))
        generate(d)
        v3, files3 = version(d)
        eq((v3, files3), (v1, files0), "back as it was")
    finally:
        shutil.rmtree(d)


run()
