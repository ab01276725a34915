#!/usr/bin/env python3
"""files.py: what snesync leaves on disk and prints is owner-only and free of personal data.

  - permissions: under umask 000, 022 and 077, a store created by `ingest` is a 0700 directory
    and every file in it is 0600;
  - personal data: a full run with errors (ingest, re-ingest, a stale export, a bad sha256, and
    exports broken in the middle of personal fields: a control character in a `nom`, invalid UTF-8
    in a `mel`, an over-long `nir`, a truncated document, a wrong demand count; `validate` of each)
    prints nothing to stderr that holds a `nir`, `nom`, `prenom`, `mel` or `telPortable` of the
    data (values parsed out of the archives' XML; names matched as whole words).
environment: HARDENING_SEED (replay).
"""
import os
import random
import re
import subprocess

import hlib
from hlib import Failure, check, log

PII = ("nir", "nom", "prenom", "mel", "telPortable")


def ingest_with_umask(store, archive, mask):
    env = dict(os.environ)
    env.pop("SNESYNC_STORE", None)
    return subprocess.run([hlib.SNESYNC, "ingest", "--store", store, archive],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300, env=env,
                          preexec_fn=lambda: os.umask(mask))


def check_modes(store, mask):
    mode = os.stat(store).st_mode & 0o7777
    check(mode == 0o700, f"umask {mask:03o}: store directory is {mode:04o}, expected 0700")
    names = os.listdir(store)
    check(names, "the store directory is empty")
    for n in names:
        p = os.path.join(store, n)
        st = os.lstat(p)
        m = st.st_mode & 0o7777
        kind = "directory" if os.path.isdir(p) else "file"
        want = 0o700 if kind == "directory" else 0o600
        check(m == want, f"umask {mask:03o}: {kind} {n} is {m:04o}, expected {want:04o}")
    return names


def pii_values(archives):
    vals = {k: set() for k in PII}
    pat = re.compile(rb"<(?:\w+:)?(" + b"|".join(k.encode() for k in PII) + rb")>([^<]+)</")
    for a in archives:
        for _, data in hlib.archive_xml(a):
            for k, v in pat.findall(data):
                v = v.decode("utf-8").strip()
                if len(v) >= 4:
                    vals[k.decode()].add(v)
    return vals


def mutate(xml, field, fn, nth):
    """Applies fn to the value of the nth <field> element of the document."""
    pat = re.compile(rb"(<(?:\w+:)?" + field.encode() + rb">)([^<]*)(</)")
    ms = list(pat.finditer(xml))
    m = ms[min(nth, len(ms) - 1)]
    return xml[: m.start(2)] + fn(m.group(2)) + xml[m.end(2):]


def body(d):
    seed = hlib.seed_from_env()
    rng = random.Random(seed)
    reg1 = hlib.make_register(d, 300, rng.randrange(1, 2**32), "reg1")
    reg2 = hlib.evolve(d, reg1, 30, rng.randrange(1, 2**32), "reg2")
    a1 = hlib.export(reg1, d("a1.tar.gz"))
    a2 = hlib.export(reg2, d("a2.tar.gz"))

    # Permissions, whatever the umask.
    for mask in (0o000, 0o022, 0o077):
        store = d(f"store-{mask:03o}")
        p = ingest_with_umask(store, a1, mask)
        check(p.returncode == 0, f"ingest under umask {mask:03o}: exit {p.returncode}")
        names = check_modes(store, mask)
        p = ingest_with_umask(store, a2, mask)
        check(p.returncode == 0, f"second ingest under umask {mask:03o}: exit {p.returncode}")
        check_modes(store, mask)
        log(f"umask {mask:03o}: directory 0700, {', '.join(sorted(names))} 0600")

    # A full run with errors; every stderr kept.
    (name, xml), = list(hlib.archive_xml(a2))
    n = len(re.findall(rb"<(?:\w+:)?demande>", xml))
    broken = {
        "ctrl-in-nom": mutate(xml, "nom", lambda v: v + b"\x01", rng.randrange(n)),
        "bad-utf8-in-mel": mutate(xml, "mel", lambda v: v[:3] + b"\xff\xfe" + v[3:], rng.randrange(n)),
        "huge-nir": mutate(xml, "nir", lambda v: v * (300000 // max(1, len(v))), rng.randrange(n)),
        "lt-in-prenom": mutate(xml, "prenom", lambda v: v + b"<", rng.randrange(n)),
        "truncated-in-tel": xml[: xml.index(b"telPortable>", len(xml) // 2) + 16],
        "count": re.sub(rb"(nombreDemandes>)(\d+)", lambda m: m.group(1) + str(int(m.group(2)) + 1).encode(), xml),
    }
    runs = [("ingest A1", ["ingest", a1]), ("ingest A2", ["ingest", a2]),
            ("stale A1", ["ingest", a1]), ("bad sha256", ["ingest", "--sha256", "0" * 64, a2])]
    for k, data in broken.items():
        path = d(f"broken-{k}.tar.gz")
        with open(path, "wb") as f:
            f.write(hlib.tgz_bytes([(name, data)]))
        runs.append((f"ingest {k}", ["ingest", "--force", path]))
        runs.append((f"validate {k}", ["validate", path]))
    runs += [("changes", ["changes", "--since", "0"]), ("stats", ["stats"])]
    store = d("store-run")
    stderr = []
    for label, args in runs:
        p = hlib.sne(store, *args, timeout=300)
        e = p.stderr.decode("utf-8", errors="replace")
        log(f"  {label}: exit {p.returncode}: {e.strip()[:200]}")
        stderr.append((label, e))
    check(any(e.strip() for _, e in stderr), "no error message at all: the run did not fail")

    vals = pii_values([a1, a2])
    log("personal values searched: " + ", ".join(f"{len(v)} {k}" for k, v in vals.items()))
    leaks = []
    for label, e in stderr:
        for k, vs in vals.items():
            for v in vs:
                hit = (re.search(r"(?<!\w)" + re.escape(v) + r"(?!\w)", e) if k in ("nom", "prenom")
                       else v in e)
                if hit:
                    leaks.append(f"{label}: {k} {v!r} in {e.strip()[:300]!r}")
    if leaks:
        raise Failure("personal data on stderr:\n  " + "\n  ".join(leaks[:20]))
    log("no personal data on stderr")


if __name__ == "__main__":
    hlib.main("files", body)
