#!/usr/bin/env python3
"""options_in_man.py BINARY PAGE.scd: every command and option a binary's --help names is in its
manual page.

The commands are read off `BINARY --help` (the indented names under its commands heading), the
options off `BINARY --help` and `BINARY COMMAND --help`. The page must have a `## COMMAND`
section for each command and name each option in bold (`*--option*`), as its option lists do.
"""
import re
import subprocess
import sys


def help_text(binary, *args):
    out = subprocess.run([binary, *args, "--help"], capture_output=True, text=True, timeout=30)
    return out.stdout + out.stderr


def commands(top_help):
    names, listing = [], False
    for line in top_help.splitlines():
        if re.match(r"^[Cc]ommands:\s*$", line):
            listing = True
            continue
        if listing:
            m = re.match(r"^  ([a-z][a-z-]*)\s", line)
            if m:
                names.append(m.group(1))
            elif line.strip() == "" and names:
                listing = False
    return names


def main():
    binary, page_path = sys.argv[1], sys.argv[2]
    page = open(page_path, encoding="utf-8").read()
    top = help_text(binary)
    cmds = commands(top)
    if not cmds:
        sys.exit(f"no command found in `{binary} --help`")
    missing = []
    options = set(re.findall(r"--[a-z][a-z0-9-]*", top))
    for cmd in cmds:
        if not re.search(rf"^## {re.escape(cmd)}( |$)", page, re.M):
            missing.append(f"command {cmd}")
        options |= set(re.findall(r"--[a-z][a-z0-9-]*", help_text(binary, cmd)))
    for opt in sorted(options):
        if f"*{opt}*" not in page:
            missing.append(f"option {opt}")
    if missing:
        print(f"{page_path} lacks what `{binary} --help` names:")
        for m in missing:
            print("  " + m)
        sys.exit(1)
    print(f"{page_path}: {len(cmds)} commands and {len(options)} options documented")


main()
