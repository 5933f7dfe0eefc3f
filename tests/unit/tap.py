"""tap.py - the smallest harness for lightchat's Python unit tests: each test
is a function; run() prints one "ok - NAME" or "not ok - NAME" line per test
(with "#   " lines saying why) and exits 1 if any failed."""
import sys
import traceback

TESTS = []


def test(fn):
    """Decorator: registers fn; its docstring's first line is the test's name."""
    TESTS.append(fn)
    return fn


def eq(got, want, what=""):
    """Fails the current test unless got == want."""
    if got != want:
        raise AssertionError(f"{what}: got {got!r:.300}, want {want!r:.300}")


def raises(exc, fn, *args):
    """Fails the current test unless fn(*args) raises exc."""
    try:
        fn(*args)
    except exc:
        return
    raise AssertionError(f"{fn.__name__}{args!r:.100} did not raise {exc.__name__}")


def run():
    failed = 0
    for fn in TESTS:
        name = (fn.__doc__ or fn.__name__).strip().split("\n")[0]
        try:
            fn()
        except Exception as e:  # one failed test, the others still run
            failed += 1
            print(f"not ok - {name}")
            # the line of the test, not of eq() or raises()
            where = [f for f in traceback.extract_tb(e.__traceback__)
                     if f.filename != __file__][-1]
            print(f"#   {type(e).__name__}: {e} (line {where.lineno})"[:600])
        else:
            print(f"ok - {name}")
        sys.stdout.flush()
    sys.exit(1 if failed else 0)
