#!/usr/bin/env python3
"""limits.py ENGINE_DIR: the rules engine/README.md states for the tree hold.

- No source file over 800 lines, no function over 120 (a function's body is taken from a "{" to
  the "}" that open and close a line at column 0, as clang-format lays functions out here).
- parse/ and store/ never include each other; common/ and model/ include no stage.
Prints every breach, then exits 1 if there is one.
"""
import pathlib
import re
import sys

MAX_FILE_LINES = 800
MAX_FUNCTION_LINES = 120
STAGES = ("unpack", "canon", "parse", "store", "diff", "fetch", "sink", "cli")
FORBIDDEN = {  # folder -> folders its files may not include
    "parse": ("store",),
    "store": ("parse",),
    "common": STAGES + ("model",),
    "model": STAGES,
}


def included_folders(text):
    for m in re.finditer(r'^#include\s+"([^"]+)"', text, re.M):
        parts = [p for p in m.group(1).split("/") if p not in ("..", ".")]
        if len(parts) > 1:
            yield parts[0]


def main():
    engine = pathlib.Path(sys.argv[1])
    breaches = []
    files = sorted(p for p in engine.rglob("*") if p.suffix in (".c", ".h"))
    if not files:
        sys.exit(f"no source file under {engine}")
    for path in files:
        rel = path.relative_to(engine)
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        if len(lines) > MAX_FILE_LINES:
            breaches.append(f"{rel}: {len(lines)} lines (at most {MAX_FILE_LINES})")
        start = None
        for i, line in enumerate(lines, 1):
            if line.startswith("{"):
                start = i
            elif line.startswith("}") and start is not None:
                if i - start + 1 > MAX_FUNCTION_LINES:
                    breaches.append(f"{rel}:{start}: a function of {i - start + 1} lines "
                                    f"(at most {MAX_FUNCTION_LINES})")
                start = None
        folder = rel.parts[0] if len(rel.parts) > 1 else ""
        for used in included_folders(text):
            if used in FORBIDDEN.get(folder, ()):
                breaches.append(f"{rel}: {folder}/ includes {used}/")
    for b in breaches:
        print(b)
    if breaches:
        sys.exit(1)
    print(f"{len(files)} files of {engine}: within the limits and the include rules")


main()
