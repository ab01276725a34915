"""hlib.py: what the hardening tests share (python3 stdlib only).

Each test drives the real binaries, in its own temporary directory, within a time bound:
  SNESYNC       the snesync binary            (set by CTest; default build-hard/engine/snesync)
  SNESYNC_SIM   the snesync-sim binary        (default build-hard/sim/snesync-sim)
  HARDENING_TMP where temporary directories go (default: $TMPDIR, else /tmp)
  HARDENING_KEEP=1 keeps the temporary directory of a failed test for inspection

  SNESYNC_HTOOL the hardening_vg_driver binary  (default build-hard/tests/hardening/...)

Snapshots: a store is compared with another by the full output of `snesync changes --since 0`
(seq included), by the stored state of every demand it may hold (header and every item as JSON,
read through the library by `hardening_vg_driver --dump` in one process, since a `snesync show`
per demand costs a process start each), and by `snesync show` of a sample of 20 demands.
"""
import concurrent.futures
import gzip
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SNESYNC = os.environ.get("SNESYNC", os.path.join(ROOT, "build-hard", "engine", "snesync"))
SIM = os.environ.get("SNESYNC_SIM", os.path.join(ROOT, "build-hard", "sim", "snesync-sim"))
TOOL = os.environ.get("SNESYNC_HTOOL", os.path.join(ROOT, "build-hard", "tests", "hardening",
                                                    "hardening_vg_driver"))
SKIP = 77  # CTest SKIP_RETURN_CODE

EXIT_BAD_EXPORT, EXIT_STALE, EXIT_BUSY, EXIT_STORE = 3, 4, 5, 6


class Failure(Exception):
    pass


def log(*a):
    print(*a, flush=True)


def check(cond, what):
    if not cond:
        raise Failure(what)


def seed_from_env(name="HARDENING_SEED"):
    s = os.environ.get(name)
    seed = int(s) if s else random.SystemRandom().randrange(1, 2**31)
    log(f"seed {seed} (replay with {name}={seed})")
    return seed


class TestDir:
    """A fresh temporary directory, removed at the end unless the test failed and HARDENING_KEEP=1."""

    def __init__(self, name):
        base = os.environ.get("HARDENING_TMP") or None
        self.path = tempfile.mkdtemp(prefix=f"snesync-{name}-", dir=base)

    def __call__(self, *parts):
        return os.path.join(self.path, *parts)

    def cleanup(self, failed):
        if failed and os.environ.get("HARDENING_KEEP") == "1":
            log(f"kept {self.path}")
            return
        shutil.rmtree(self.path, ignore_errors=True)


def main(name, body):
    """Runs body(tmpdir); exits 0 on success, 1 on a Failure (printed), 77 on skip."""
    d = TestDir(name)
    failed = True
    t0 = time.monotonic()
    try:
        rc = body(d)
        failed = False
        log(f"{name}: {'skipped' if rc == SKIP else 'passed'} in {time.monotonic() - t0:.1f} s")
        sys.exit(rc or 0)
    except Failure as e:
        log(f"FAIL {name}: {e}")
        sys.exit(1)
    finally:
        d.cleanup(failed)


def run(args, timeout=300, check_rc=None, stdin=None, env=None, input_bytes=None):
    """Runs a command; returns CompletedProcess (stdout/stderr as bytes)."""
    e = dict(os.environ)
    e.pop("SNESYNC_STORE", None)
    if env:
        e.update(env)
    try:
        p = subprocess.run(args, stdin=stdin, input=input_bytes, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, env=e)
    except subprocess.TimeoutExpired:
        raise Failure(f"timed out after {timeout} s: {' '.join(args)}")
    if check_rc is not None and p.returncode != check_rc:
        raise Failure(f"{' '.join(args)}: exit {p.returncode}, expected {check_rc}\n"
                      f"stderr: {p.stderr.decode(errors='replace')[-2000:]}")
    return p


def sne(store, *args, **kw):
    return run([SNESYNC, args[0], "--store", store, *args[1:]], **kw)


def sim(*args, timeout=600):
    return run([SIM, *args], timeout=timeout, check_rc=0)


def make_register(d, demands, seed, name="reg"):
    sim("generate", "--demands", str(demands), "--seed", str(seed), "--out", d(name))
    return d(name)


def evolve(d, src, days, seed, name):
    sim("evolve", "--from", src, "--out", d(name), "--days", str(days), "--seed", str(seed))
    return d(name)


def export(register, out, entities="ALL", etat="ACTIVE", per_part=None, extra=()):
    args = ["export", "--data", register, "--out", out, "--entities", entities, "--etat", etat]
    if per_part:
        args += ["--demands-per-part", str(per_part)]
    sim(*args, *extra)
    return out


def archive_xml(path):
    """Yields (member name, bytes) of the .xml members of an export archive."""
    with tarfile.open(path, "r:gz") as t:
        for m in t:
            if m.isfile() and m.name.endswith(".xml"):
                yield m.name, t.extractfile(m).read()


def archive_numbers(path):
    nums = set()
    for _, data in archive_xml(path):
        nums.update(x.decode() for x in re.findall(rb"<(?:\w+:)?numUnique>([0-9A-Z]{18})<", data))
    return nums


def changes(store, since=0, timeout=300):
    p = sne(store, "changes", "--since", str(since), timeout=timeout, check_rc=0)
    return p.stdout.splitlines()


def shows(store, nums, workers=8, timeout=120):
    """{num: show output bytes, or None when the demand is unknown (non-zero exit)}."""
    def one(n):
        p = sne(store, "show", n, timeout=timeout)
        return n, (p.stdout if p.returncode == 0 else None)
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        return dict(ex.map(one, sorted(nums)))


def numbers_in_changes(lines):
    return {json.loads(l)["numUnique"] for l in lines}


def dump(store, nums):
    """{num: stored state as text (header line, one line per item), or '-' when unknown}."""
    p = run([TOOL, "--dump", store], input_bytes="".join(n + "\n" for n in sorted(nums)).encode(),
            timeout=600, check_rc=0)
    out = {}
    for line in p.stdout.decode().splitlines():
        n, rest = line.split(" ", 1)
        out[n] = out.get(n, "") + rest + "\n"
    return out


def snapshot(store, nums, show_sample=20):
    """(change lines, dump of nums, {num: show} of a sample of nums) of a store."""
    lines = changes(store)
    allnums = sorted(set(nums) | numbers_in_changes(lines))
    step = max(1, len(allnums) // show_sample)
    return lines, dump(store, allnums), shows(store, allnums[::step])


def diff_lines(got, want, what):
    """Raises a Failure naming the first difference between two lists of change lines."""
    if got == want:
        return
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            raise Failure(f"{what}: line {i + 1} differs\n  got  {g[:300]!r}\n  want {w[:300]!r}")
    raise Failure(f"{what}: {len(got)} lines, expected {len(want)}"
                  + (f"; first extra: {got[len(want)][:300]!r}" if len(got) > len(want) else
                     f"; first missing: {want[len(got)][:300]!r}"))


def compare_snapshots(got, want, what):
    diff_lines(got[0], want[0], what + ": change log")
    for i, kind in ((1, "stored demand"), (2, "show")):
        gs, ws = got[i], want[i]
        for n in sorted(set(gs) | set(ws)):
            if gs.get(n, "-\n") != ws.get(n, "-\n") and (n in gs and n in ws or i == 1):
                raise Failure(f"{what}: {kind} {n} differs\n  got  {str(gs.get(n))[:300]}\n"
                              f"  want {str(ws.get(n))[:300]}")


def copy_store(src, dst):
    shutil.copytree(src, dst)
    return dst


# --- hostile archives -------------------------------------------------------------------------

def tar_header(name, size, typeflag=b"0"):
    """A ustar header; sizes past 8 GiB use the GNU base-256 encoding."""
    h = bytearray(512)
    h[0:len(name)] = name.encode()
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    if size < 8**11:
        h[124:136] = b"%011o\0" % size
    else:
        h[124] = 0x80
        h[125:136] = size.to_bytes(11, "big")
    h[136:148] = b"%011o\0" % 1700000000
    h[156:157] = typeflag
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def tgz_bytes(members):
    """A gzip tar of [(name, bytes)] written with python's tarfile."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1700000000
            t.addfile(ti, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), 6, mtime=0)


def time_rss(args, timeout, stdin=None, env=None):
    """Runs args under /usr/bin/time; returns (CompletedProcess, max RSS in KiB, seconds)."""
    tf = tempfile.NamedTemporaryFile(delete=False)
    tf.close()
    t0 = time.monotonic()
    try:
        p = run(["/usr/bin/time", "-o", tf.name, "-f", "%M", *args], timeout=timeout, stdin=stdin,
                env=env)
        secs = time.monotonic() - t0
        txt = open(tf.name).read().strip().splitlines()
        rss = int(txt[-1]) if txt and txt[-1].isdigit() else -1
    finally:
        os.unlink(tf.name)
    return p, rss, secs


def tgz_raw(tar_bytes):
    """Gzip of raw tar bytes (written by hand, e.g. with a forged header)."""
    return gzip.compress(tar_bytes, 6, mtime=0)


def tgz_raw_stream(pieces, level=9):
    """Gzip of raw tar bytes given as pieces (for bombs: never held whole in memory)."""
    import zlib
    z = zlib.compressobj(level, zlib.DEFLATED, 31)
    out = [z.compress(p) for p in pieces]
    out.append(z.flush())
    return b"".join(out)


def gzip_run(prefix, byte, count, suffix=b"", block=1 << 20):
    """Gzip of prefix + byte*count + suffix, built in about a second whatever count is: the run is
    compressed once per 1 MiB block after a full flush (which resets the compressor, so every
    block compresses to the same bytes) and that output is repeated. For gzip bombs."""
    import struct
    import zlib
    assert count % block == 0
    run = bytes([byte]) * block
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = z.compress(prefix) + z.flush(zlib.Z_FULL_FLUSH)
    one = z.compress(run) + z.flush(zlib.Z_FULL_FLUSH)
    two = z.compress(run) + z.flush(zlib.Z_FULL_FLUSH)
    assert one == two, "deflate output of a block is not stable"
    tail = z.compress(suffix) + z.flush(zlib.Z_FINISH)
    crc = zlib.crc32(prefix)
    blk_crc_state = crc
    for _ in range(count // block):
        blk_crc_state = zlib.crc32(run, blk_crc_state)
    crc = zlib.crc32(suffix, blk_crc_state)
    size = (len(prefix) + count + len(suffix)) & 0xFFFFFFFF
    hdr = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return hdr + head + one * (count // block) + tail + struct.pack("<II", crc & 0xFFFFFFFF, size)
