"""test_build.py - the build states its dependencies: every program and unit
test links only objects it uses (nm), the programs need only the libraries
their modules declare (readelf), and a changed header rebuilds exactly the
objects that include it (make -n -W). Run after `make` (tests/run.sh unit).
    PYTHONPATH=tools:tests/unit python3 tests/unit/test_build.py"""
import os
import re
import subprocess

from tap import eq, run, test

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("BUILD", "build")
# A make of its own: not the flags or jobserver of the make that runs the tests.
ENV = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
PROGRAMS = {"FCGI_MODS": "lightchat.fcgi", "WS_MODS": "lightchat-ws",
            "WORKER_MODS": "lightchat-worker", "ADMIN_MODS": "lightchat-admin"}


def make_vars(names):
    """The Makefile's values of names, as lists of words."""
    rules = "show:\n" + "".join(f"\t@echo '{n}=$({n})'\n" for n in names)
    out = subprocess.run(["make", "-s", "--no-print-directory", "-C", ROOT, "-f", "Makefile",
                          "-f", "-", "show", f"BUILD={BUILD}"], input=rules,
                         capture_output=True, text=True, check=True, env=ENV).stdout
    return {k: v.split() for k, _, v in (line.partition("=") for line in out.splitlines())}


def symbols(obj):
    """(defined, undefined) global symbols of an object file."""
    defined, undefined = set(), set()
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        p = line.split()
        if len(p) == 2 and p[0] == "U":
            undefined.add(p[1])
        elif len(p) == 3 and p[1] in "TDBRC":
            defined.add(p[2])
    return defined, undefined


def objects(mods):
    """The object files of a list of modules."""
    srcs = make_vars([m + "_SRC" for m in mods])
    return [os.path.join(ROOT, BUILD, "obj", s[:-2] + ".o")
            for m in mods for s in srcs[m + "_SRC"]]


def unused(objs, own=None):
    """The objects of objs (a main or own excepted) that define nothing the
    others use."""
    info = {o: symbols(o) for o in objs + ([own] if own else [])}
    wanted = set().union(*(u for _, u in info.values()))
    return [os.path.relpath(o, ROOT) for o in objs
            if not o.endswith("/main.o") and not info[o][0] & wanted]


def needed(binary):
    """The shared libraries a binary names (DT_NEEDED), without versions."""
    out = subprocess.run(["readelf", "-d", os.path.join(ROOT, BUILD, binary)],
                         capture_output=True, text=True, check=True).stdout
    return sorted(re.sub(r"\.so.*", "", m) for m in re.findall(r"Shared library: \[(.*?)\]", out))


@test
def programs_link_what_they_use():
    """each program links only objects it uses"""
    lists = make_vars(list(PROGRAMS))
    for var, prog in PROGRAMS.items():
        eq(unused(objects(lists[var])), [], f"{prog}: objects nothing uses")


@test
def unit_tests_link_what_they_use():
    """each C unit test links only objects it uses"""
    names = sorted(f[:-2] for f in os.listdir(os.path.join(ROOT, "tests", "unit"))
                   if f.startswith("test-") and f.endswith(".c"))
    lists = make_vars([n + "_MODS" for n in names])
    for n in names:
        own = os.path.join(ROOT, BUILD, "obj", "tests", "unit", n + ".o")
        eq(unused(objects(lists[n + "_MODS"]), own), [], f"{n}: objects nothing uses")


@test
def libraries_per_program():
    """the programs and test-reply need only their modules' libraries"""
    eq(needed("lightchat-ws"), [], "lightchat-ws: a static PIE, no shared library")
    eq(needed("tests/lightchat-ws"), ["libc"], "its dynamic copy for valgrind: libc only")
    # the admin tool links the store: sessions and a deleted user's data;
    # libcrypto for check's WebSocket accept key (SHA-1, admin/wsclient.c)
    eq(needed("lightchat-admin"), ["libc", "libcjson", "libcrypt", "libcrypto",
                                   "libsqlite3"],
       "lightchat-admin")
    # tokens and device cookies by lib/hmac.c and lib/token.c: the FastCGI
    # program loads neither OpenSSL nor libjwt (nor its jansson, b64)
    loaded = subprocess.run(["ldd", os.path.join(ROOT, BUILD, "lightchat.fcgi")],
                            capture_output=True, text=True, check=True).stdout
    eq(sorted(set(re.findall(r"(libcrypto|libssl|libjwt|libjansson|libb64)", loaded))), [],
       "lightchat.fcgi: no libcrypto, libssl, libjwt, jansson, b64")
    eq("libjwt" in needed("lightchat-worker"), False, "the worker: no libjwt")
    worker = needed("lightchat-worker")
    eq("libcrypt" in worker or "libfcgi" in worker, False, "the worker: no libxcrypt, no libfcgi")
    # its ROUTER speaks ZMTP itself (worker/router.c): none of libzmq's chain is loaded
    loaded = subprocess.run(["ldd", os.path.join(ROOT, BUILD, "lightchat-worker")],
                            capture_output=True, text=True, check=True).stdout
    eq(sorted(set(re.findall(r"(libzmq|libstdc\+\+|libsodium|libpgm|libnorm)", loaded))), [],
       "the worker: no libzmq, nor libstdc++, sodium, PGM, NORM")
    eq("libzmq" in needed("tests/test-reply"), False, "test-reply: no libzmq")
    eq("libzmq" in needed("lightchat.fcgi"), False, "lightchat.fcgi: no libzmq")


@test
def session_is_self_contained():
    """lightchat-ws: a static PIE of the libc WS_LIBC names, with no program interpreter"""
    path = os.path.join(ROOT, BUILD, "lightchat-ws")
    heads = subprocess.run(["readelf", "-lh", path], capture_output=True, text=True,
                           check=True).stdout
    # a static PIE is of type DYN (its own loader relocates it at a random
    # address) and names no interpreter: Debian's musl-gcc alone would link
    # one (/lib/ld-musl-*.so.1), which the musl package may not have
    eq(re.search(r"Type:\s+DYN", heads) is not None, True, "lightchat-ws: position-independent")
    eq("INTERP" in heads, False, "lightchat-ws: no program interpreter")
    names = set(subprocess.run(["nm", path], capture_output=True, text=True,
                               check=True).stdout.split())
    libc = make_vars(["WS_LIBC"])["WS_LIBC"]
    # musl's malloc keeps its state in __malloc_context; glibc's in main_arena
    eq("__malloc_context" in names, libc == ["musl"], f"lightchat-ws: malloc of {libc}")
    eq("main_arena" in names, libc == ["glibc"], f"lightchat-ws: not glibc's unless {libc}")


@test
def headers_rebuild_their_users():
    """a changed header rebuilds the objects that include it, and no other"""
    out = subprocess.run(["make", "-n", "--no-print-directory", "-C", ROOT, f"BUILD={BUILD}",
                          "-W", "lib/id.h", "programs"], capture_output=True, text=True,
                         check=True, env=ENV).stdout
    rebuilt = set(re.findall(r"-c (\S+\.c) ", out))
    for src in ("lib/id.c", "lib/store_conv.c", "worker/request.c", "cgi-bin/route.c"):
        eq(src in rebuilt, True, f"{src} includes id.h (through its headers)")
    for src in ("ws/main.c", "lib/log.c", "worker/sse.c", "lib/token.c"):
        eq(src in rebuilt, False, f"{src} does not include id.h")


if __name__ == "__main__":
    run()
