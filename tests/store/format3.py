#!/usr/bin/env python3
"""format3.py: a store of format 3, made by the snesync of that format from the bundled
sample-initial (synthetic data; format3-sample-initial.mdb.gz, its data.mdb), is read as it is,
then brought to format 4 by the first writable open, and ends equal to a store that this snesync
fed the same exports from scratch.

  read      stats, `changes --since 0` and `show` of every demand of the old store equal those
            of a fresh store of sample-initial
  migrated  after `ingest sample-next` into both: the same again (the old store's bodies moved
            beside their headers, its demands counted), and the old store read once more
usage: format3.py SNESYNC DATA_SAMPLES_DIR
"""
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(*args):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(args[:3])}: exit {p.returncode}: {p.stderr.decode()[-500:]}")
    return p.stdout.decode()


def view(sne, store):
    """What a reader sees of a store: its counters, its change log, every demand it holds."""
    st = json.loads(run(sne, "stats", "--store", store, "--json"))
    log = run(sne, "changes", "--store", store, "--since", "0")
    nums = sorted({json.loads(line)["numUnique"] for line in log.splitlines()})
    shows = {n: run(sne, "show", "--store", store, n) for n in nums
             if subprocess.run([sne, "show", "--store", store, n],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0}
    counters = {k: st[k] for k in ("demands", "items", "firstSeq", "lastSeq")}
    return counters, log, shows


def same(what, old, fresh):
    for name, a, b in zip(("counters", "change log", "demands shown"), old, fresh):
        if a != b:
            sys.exit(f"FAIL: {what}: the {name} differ")
    print(f"ok   {what}: {old[0]['demands']} demands, seq {old[0]['lastSeq']}, "
          f"{len(old[2])} shown, all equal")


def main():
    sne, samples = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="snesync-format3-")
    try:
        old, fresh = os.path.join(tmp, "old"), os.path.join(tmp, "fresh")
        os.makedirs(old, mode=0o700)
        with gzip.open(os.path.join(HERE, "format3-sample-initial.mdb.gz")) as f, \
                open(os.path.join(old, "data.mdb"), "wb") as out:
            shutil.copyfileobj(f, out)
        run(sne, "ingest", "--store", fresh, os.path.join(samples, "sample-initial.tar.gz"))
        same("format 3, read as it is", view(sne, old), view(sne, fresh))
        for store in (old, fresh):
            run(sne, "ingest", "--store", store, os.path.join(samples, "sample-next.tar.gz"))
        same("migrated by an ingest, then read", view(sne, old), view(sne, fresh))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
