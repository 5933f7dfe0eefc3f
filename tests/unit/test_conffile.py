"""test_conffile.py - the configuration files cannot drift from the settings
table: the repository's lightchat.conf (make run's) and the package's
conffile are `lightchat-admin config --template`, lightchat.conf(5) lists
every key, and lightchat-admin(8) names every command the tool's usage has.
Run after `make` (tests/run.sh unit).
    PYTHONPATH=tools:tests/unit python3 tests/unit/test_conffile.py"""
import os
import re
import subprocess

from tap import eq, run, test

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("BUILD", "build")
ADMIN = os.path.join(ROOT, BUILD, "lightchat-admin")
ENV = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def template():
    return subprocess.run([ADMIN, "config", "--template"], capture_output=True, text=True,
                          check=True, env={"PATH": "/usr/bin:/bin"}).stdout


def keys():
    """Every key the programs read (lightchat-admin config, in table order)."""
    out = subprocess.run([ADMIN, "config"], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "LIGHTCHAT_CONFIG": "/dev/null",
                              "LIGHTCHAT_STATE": "/nonexistent"}).stdout
    return [line.split(" = ")[0] for line in out.splitlines()]


@test
def repo_conf_is_the_template():
    """lightchat.conf is lightchat-admin config --template (make conffile; cp build/lightchat.conf .)"""
    with open(os.path.join(ROOT, "lightchat.conf")) as f:
        eq(f.read(), template(), "lightchat.conf")


@test
def template_lists_every_key():
    """the template lists every key, commented out, in table order"""
    listed = re.findall(r"^#([a-z_]+) =", template(), re.M)
    eq(listed, keys(), "keys")


@test
def man_page_lists_every_key():
    """lightchat.conf(5) lists every key"""
    subprocess.run(["make", "-s", "-C", ROOT, f"BUILD={BUILD}", "man"], check=True, env=ENV,
                   capture_output=True)
    with open(os.path.join(ROOT, BUILD, "man", "lightchat.conf.5")) as f:
        page = f.read()
    settings = page.split(".SH SECTIONS", 1)[0]
    eq(re.findall(r"^\.TP\n\.B ([a-z_]+)$", settings, re.M), keys(), "keys in lightchat.conf(5)")


def section_keys(text):
    """The [upstream]/[model] example's keys in the template, by section."""
    out, kind = {}, None
    for line in text.split("# ---- Sections", 1)[1].splitlines():
        m = re.match(r"^#\[(upstream|model) ", line)
        if m:
            kind = m.group(1)
        m = re.match(r"^#  ([a-z_]+) =", line)
        if m:
            out.setdefault(kind, []).append(m.group(1))
    return out


@test
def template_ends_with_the_sections_example():
    """the template ends with a commented [upstream] and [model] example, every line a comment"""
    text = template()
    eq("# ---- Sections" in text, True, "the sections' mark")
    keys_by = section_keys(text)
    eq(keys_by.get("upstream", [])[:2], ["label", "base_url"], "upstream keys")
    eq("upstream" in keys_by.get("model", []), True, "model keys")
    eq([l for l in text.split("# ---- Sections", 1)[1].splitlines()[1:] if l and not l.startswith("#")],
       [], "lines that are not comments")


@test
def man_page_explains_every_section_key():
    """lightchat.conf(5)'s SECTIONS has every key of the template's example"""
    subprocess.run(["make", "-s", "-C", ROOT, f"BUILD={BUILD}", "man"], check=True, env=ENV,
                   capture_output=True)
    with open(os.path.join(ROOT, BUILD, "man", "lightchat.conf.5")) as f:
        page = f.read()
    sec = page.split(".SH SECTIONS", 1)[1].split(".SH FILES", 1)[0]
    want = section_keys(template())
    for kind, head in (("upstream", '.SS "[upstream NAME]"'), ("model", '.SS "[model PATTERN]"')):
        part = sec.split(head, 1)[1].split(".SS", 1)[0] if head in sec else ""
        eq(re.findall(r"^\.TP\n\.B ([a-z_]+)$", part, re.M), want[kind], f"[{kind}] keys in lightchat.conf(5)")


@test
def man_page_names_every_command():
    """lightchat-admin(8) names every command of the tool's usage"""
    usage = subprocess.run([ADMIN], capture_output=True, text=True).stderr
    cmds = sorted(set(re.findall(r"lightchat-admin ([a-z-]+(?: [a-z|]+)?)", usage)))
    with open(os.path.join(ROOT, "man", "lightchat-admin.8")) as f:
        page = f.read().replace("\\-", "-")
    names = set()
    for c in cmds:
        first, _, rest = c.partition(" ")
        if first == "user":
            names.update("user " + w for w in rest.split("|"))
        else:
            names.add(first)
    eq(len(names) > 10, True, "commands in the usage")
    for n in sorted(names):
        eq(f".B lightchat-admin {n}" in page, True, f"{n} in lightchat-admin(8)'s synopsis")


if __name__ == "__main__":
    run()
