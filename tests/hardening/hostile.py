#!/usr/bin/env python3
"""hostile.py: hostile archives and documents get a clear error (exit 3), in bounded memory and
time, and delete nothing.

The store first holds the contract's sample export (12 demands, all entities, ACTIVE, no location
filter). Each hostile export claims the same scope with a newer date, so an engine that wrongly
took it as complete would sweep (delete) the sample's demands. For each case:
  - exit status 3 and a message on stderr (printed, for review);
  - max RSS (/usr/bin/time -f %M) under HARDENING_RSS_MB (default 200) and wall time under
    HARDENING_CASE_SECONDS (default 60);
  - the change log is unchanged (no deletion, nothing else either), and `stats` works.
Streamed cases are written to snesync's standard input ("ingest -"); endless ones by a generator
that gives up after GENERATOR_CAP compressed bytes: snesync must stop first, on its own limits.
"""
import os
import re
import signal
import subprocess
import threading
import time
import zlib

import hlib
from hlib import Failure, check, log

NS = "http://nuu.application.i2/"
RSS_MB = int(os.environ.get("HARDENING_RSS_MB", 200))
CASE_SECONDS = float(os.environ.get("HARDENING_CASE_SECONDS", 60))
GENERATOR_CAP = 256 << 20  # compressed bytes an endless stream may send before the test gives up
SAMPLE = os.path.join(hlib.ROOT, "..", "shared", "contract", "sample", "EXPORT_SAMPLE.tgz")
MEMBER = "EXPORT_HOST1_001.xml"

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<ns1:exportNuu versionInterface="13.34" xmlns:ns1="{NS}">\n'
    "<ns1:entete><ns1:numeroExport>HOST1</ns1:numeroExport>"
    "<ns1:dateExport>2026-12-31T02:00:00.000+01:00</ns1:dateExport>"
    "<ns1:numGuichet>G1226</ns1:numGuichet><ns1:partie>1</ns1:partie>"
    "<ns1:nombreParties>1</ns1:nombreParties><ns1:perimetre><ns1:listeEntite>"
    + "".join(f"<ns1:entite>{e}</ns1:entite>"
              for e in "CERFA DALO EVT CONT ATTRIB PRIO COTA PJ DRM".split())
    + "</ns1:listeEntite><ns1:etatDemande>ACTIVE</ns1:etatDemande></ns1:perimetre></ns1:entete>\n"
).encode()
DEMAND_OPEN = (b"<ns1:demande><ns1:numUnique>0380000000001G1226</ns1:numUnique>"
               b"<ns1:etatDemande>ACTIVE</ns1:etatDemande>"
               b"<ns1:dateDerniereModification>2026-12-01T10:00:00.000+01:00"
               b"</ns1:dateDerniereModification><ns1:cerfa><ns1:numGuichet>G1226</ns1:numGuichet>")
DEMAND_CLOSE = b"</ns1:cerfa></ns1:demande>\n"
FOOT = b"<ns1:pied><ns1:nombreDemandes>1</ns1:nombreDemandes></ns1:pied></ns1:exportNuu>\n"


def doc(inner):
    return HEAD + DEMAND_OPEN + inner + DEMAND_CLOSE + FOOT


def tar_pad(n):
    return b"\0" * (-n % 512)


def gz_stream(pieces):
    """Gzip-compresses an iterable of byte pieces, yielding compressed chunks."""
    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    for p in pieces:
        c = z.compress(p)
        if c:
            yield c
    yield z.flush()


def repeat(piece, total):
    """`piece` repeated up to `total` bytes, in 1 MiB blocks."""
    block = piece * max(1, (1 << 20) // len(piece))
    sent = 0
    while sent < total:
        b = block[: total - sent]
        sent += len(b)
        yield b


def member_stream(name, declared, body):
    yield hlib.tar_header(name, declared)
    yield from body


def endless_entries():
    """A tar that never ends: LISEZMOI members one after the other."""
    while True:
        yield hlib.tar_header("LISEZMOI.txt", 512) + b"x" * 512


def cases():
    """(name, kind, payload, what the message should mention): kind 'file' (bytes) or 'stream'
    (a generator of compressed bytes)."""
    big = 7 << 30  # under the 8 GiB member cap: only the document's own limits stop it
    yield ("tar member of 2 TiB declared", "file",
           hlib.tgz_raw(hlib.tar_header(MEMBER, 2 << 40) + HEAD + b" " * 4096), r"(?i)limit|size|large|big")
    yield ("tar member of 2 TiB declared, streamed", "stream",
           gz_stream(member_stream(MEMBER, 2 << 40, [HEAD] + list(repeat(b" ", 1 << 20)))), "")
    yield ("endless text value", "endless",
           gz_stream(member_stream(MEMBER, big,
                                   _chain([HEAD, DEMAND_OPEN, b"<ns1:nom>"], repeat(b"A", big)))),
           r"(?i)limit|long|text")
    yield ("endless archive entries", "endless", gz_stream(endless_entries()), r"(?i)limit|entr|member")
    yield ("endless elements (a list that never closes)", "endless",
           gz_stream(member_stream(MEMBER, big, _chain(
               [HEAD, DEMAND_OPEN.replace(b"<ns1:cerfa>", b"<ns1:listeEvenement>")],
               repeat(b"<ns1:evenement><ns1:idEvenement>E</ns1:idEvenement></ns1:evenement>", big)))),
           r"(?i)limit|item|duplicate|key")
    xml_open = HEAD + DEMAND_OPEN + b"<ns1:nom>"
    n = 2 << 30
    yield ("gzip bomb: 2 GiB of XML in a 2 MB archive", "file",
           hlib.gzip_run(hlib.tar_header(MEMBER, len(xml_open) + n) + xml_open, ord("Z"), n,
                         tar_pad(len(xml_open) + n) + b"\0" * 1024), r"(?i)limit|long|text")
    yield ("gzip bomb: 2 GiB of NUL bytes", "file",
           hlib.gzip_run(hlib.tar_header(MEMBER, n), 0, n, b"\0" * 1024), "")
    yield ("elements nested 200000 deep", "file",
           hlib.tgz_bytes([(MEMBER, doc(b"<ns1:a>" * 200000 + b"x" + b"</ns1:a>" * 200000))]),
           r"(?i)depth|nest|limit")
    yield ("element name of 1 MiB", "file",
           hlib.tgz_bytes([(MEMBER, doc(b"<ns1:" + b"n" * (1 << 20) + b">x</ns1:" + b"n" * (1 << 20) + b">"))]),
           r"(?i)name|limit|long")
    yield ("attribute value of 64 MiB", "file",
           hlib.tgz_bytes([(MEMBER, doc(b'<ns1:civilite code="' + b"v" * (64 << 20) + b'"/>'))]),
           r"(?i)limit|long|huge|attribute|value")
    yield ("attribute value of 1 MiB", "file",
           hlib.tgz_bytes([(MEMBER, doc(b'<ns1:civilite code="' + b"v" * (1 << 20) + b'"/>'))]),
           r"(?i)limit|long|attribute|value")
    # 5.5 MB of XML, 30 KB gzipped. libxml2 parses the whole start tag before the engine sees it
    # (and checks duplicate attributes pairwise): time grows with the square of the count.
    yield ("500000 attributes on one element", "file",
           hlib.tgz_bytes([(MEMBER, doc(b"<ns1:civilite " + b" ".join(b'a%d="1"' % i for i in range(500000)) + b"/>"))]),
           r"(?i)attribute")
    yield ("invalid UTF-8 in a value", "file",
           hlib.tgz_bytes([(MEMBER, doc(b"<ns1:nom>DUP\xff\xfeONT\xc3</ns1:nom>"))]), r"(?i)utf|encoding|byte|xml")
    yield ("entity expansion (billion laughs)", "file",
           hlib.tgz_bytes([(MEMBER, HEAD.replace(b"<ns1:exportNuu", b'<!DOCTYPE ns1:exportNuu [<!ENTITY a "aaaaaaaaaa">'
                                                 + b"".join(b'<!ENTITY %c "%s">' % (98 + i, (b"&%c;" % (97 + i)) * 10) for i in range(9))
                                                 + b"]>\n<ns1:exportNuu", 1)
                                 + DEMAND_OPEN + b"<ns1:nom>&j;</ns1:nom>" + DEMAND_CLOSE + FOOT)]),
           r"(?i)dtd|doctype|entit")
    yield ("HTML instead of gzip", "file",
           b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
           b"<h1>Bad Gateway</h1></body></html>\n", r"(?i)gzip|not a|archive")
    with open(SAMPLE, "rb") as f:
        sample = f.read()
    yield ("truncated archive (the sample cut in half)", "file", sample[: len(sample) // 2],
           r"(?i)truncat|incomplete|unexpected|archive")


def _chain(first, rest):
    yield from first
    yield from rest


def feed(proc, stream, state):
    try:
        for chunk in stream:
            proc.stdin.write(chunk)
            state["raw"] += len(chunk)
            if state["raw"] > GENERATOR_CAP:
                break
        state["ended"] = True
    except (BrokenPipeError, ValueError, OSError):
        pass
    finally:
        try:
            proc.stdin.close()
        except OSError:
            pass


def run_case(store, name, kind, payload, d):
    rss_file = d("rss.txt")
    args = ["/usr/bin/time", "-o", rss_file, "-f", "%M", hlib.SNESYNC, "ingest", "--store", store]
    env = dict(os.environ)
    env.pop("SNESYNC_STORE", None)
    t0 = time.monotonic()
    state = {"raw": 0, "ended": False}
    # stderr goes to a file: communicate() would close the stdin the feeder writes to.
    errf = open(d("stderr.txt"), "w+b")
    if kind == "file":
        path = d("hostile.tar.gz")
        with open(path, "wb") as f:
            f.write(payload)
        proc = subprocess.Popen(args + [path], stdout=subprocess.DEVNULL, stderr=errf, env=env,
                                start_new_session=True)
        feeder = None
    else:
        proc = subprocess.Popen(args + ["-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=errf, env=env, start_new_session=True)
        feeder = threading.Thread(target=feed, args=(proc, payload, state), daemon=True)
        feeder.start()
    try:
        proc.wait(timeout=CASE_SECONDS + 30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # /usr/bin/time and snesync under it
        proc.wait()
    secs = time.monotonic() - t0
    if feeder:
        feeder.join(timeout=30)
    errf.seek(0)
    err = errf.read()
    errf.close()
    lines = open(rss_file).read().strip().splitlines()
    rss_kb = int(lines[-1]) if lines and lines[-1].isdigit() else -1
    return proc.returncode, err.decode(errors="replace"), rss_kb, secs, state


def body(d):
    store = d("store")
    hlib.sne(store, "ingest", SAMPLE, timeout=300, check_rc=0)
    before = hlib.changes(store)
    log(f"store holds the sample: {len(before)} changes")
    failures = []
    for name, kind, payload, want_msg in cases():
        rc, err, rss_kb, secs, state = run_case(store, name, kind, payload, d)
        msg = err.strip().replace("\n", " | ")
        log(f"- {name}: exit {rc}, {rss_kb / 1024:.0f} MB max RSS, {secs:.1f} s: {msg[:300]}")
        problems = []
        if rc == -signal.SIGKILL:
            problems.append(f"still running after {secs:.0f} s: killed")
        elif rc != hlib.EXIT_BAD_EXPORT:
            problems.append(f"exit {rc}, expected 3")
        if rc == -signal.SIGKILL:
            pass  # the other measures mean nothing for a process that was killed
        elif not msg:
            problems.append("no message on stderr")
        elif want_msg and not re.search(want_msg, msg):
            problems.append(f"message does not say what is wrong (wanted /{want_msg}/)")
        if rc != -signal.SIGKILL and (rss_kb < 0 or rss_kb > RSS_MB * 1024):
            problems.append(f"max RSS {rss_kb} KiB over {RSS_MB} MB")
        if rc != -signal.SIGKILL and secs > CASE_SECONDS:
            problems.append(f"took {secs:.1f} s, over {CASE_SECONDS:.0f} s")
        if kind == "endless" and state["ended"]:
            problems.append("the generator ran to its cap: snesync did not stop on its own")
        st = hlib.sne(store, "stats", timeout=120)
        if st.returncode != 0:
            problems.append(f"stats afterwards: exit {st.returncode}")
        after = hlib.changes(store)
        if after != before:
            problems.append(f"the change log changed: {len(before)} -> {len(after)} lines"
                            + (f"; first new: {after[len(before)][:200]!r}" if len(after) > len(before) else ""))
            before = after
        if problems:
            failures.append(f"{name}: " + "; ".join(problems))
            log("    FAILED: " + "; ".join(problems))
    if failures:
        raise Failure(f"{len(failures)} case(s) failed:\n  " + "\n  ".join(failures))


if __name__ == "__main__":
    hlib.main("hostile", body)
