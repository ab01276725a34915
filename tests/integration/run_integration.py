#!/usr/bin/env python3
"""Data-driven integration tests of the snesync engine, through its CLI.

    run_integration.py --snesync PATH/TO/snesync --test NAME [--keep] [--seed N]
    run_integration.py --snesync PATH --list
    run_integration.py --snesync PATH --all

Archives come from data-samples/make_samples.py (a seeded synthetic generator, imported here), and
every expectation is computed from the generator's own data with make_samples.Model (the contract's
rules: what is the same data, scope, deletions). Nothing is taken from the engine's own output.
Each test runs in its own temporary directory, prints what it checks, and on failure says what was
expected and what came. Python 3 standard library only.
"""
import argparse
import collections
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "data-samples"))
import make_samples as ms  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Harness


class Ctx:
    def __init__(self, snesync, tmp, seed):
        self.snesync = snesync
        self.tmp = tmp
        self.seed = seed
        self.failures = []
        self.nfile = 0

    # -- checks --
    def log(self, msg):
        print(msg, flush=True)

    def check(self, cond, what, expected=None, got=None):
        if cond:
            print("  ok   %s" % what, flush=True)
            return True
        msg = "  FAIL %s" % what
        if expected is not None or got is not None:
            msg += "\n         expected: %s\n         got:      %s" % (_short(expected), _short(got))
        print(msg, flush=True)
        self.failures.append(what)
        return False

    def eq(self, what, expected, got):
        return self.check(expected == got, what, expected, got)

    # -- files --
    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, data, name=None):
        self.nfile += 1
        p = self.path(name or "archive-%03d.tar.gz" % self.nfile)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def store(self, name="store"):
        return self.path(name)

    # -- engine --
    def run(self, args, stdin=None, timeout=120):
        cmd = [self.snesync] + args
        try:
            p = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=timeout, cwd=self.tmp)
        except subprocess.TimeoutExpired:
            self.check(False, "%s finishes within %ds" % (" ".join(args[:2]), timeout))
            raise Abort()
        return p

    def ingest(self, store, archive, *opts, expect=0, what=None, stdin=None):
        args = ["ingest", "--store", store] + list(opts) + [archive]
        p = self.run(args, stdin=stdin)
        label = what or "ingest %s %s" % (" ".join(opts), os.path.basename(archive))
        if expect is not None:
            ok = (p.returncode == expect) if expect != "nonzero" else p.returncode not in (0,)
            self.check(ok, "%s exits %s" % (label, expect), expect,
                       "%d, stderr: %s" % (p.returncode, p.stderr.decode("utf-8", "replace").strip()))
        return p

    def changes(self, store, since=0, limit=None):
        args = ["changes", "--store", store, "--since", str(since)]
        if limit is not None:
            args += ["--limit", str(limit)]
        p = self.run(args)
        if p.returncode != 0:
            self.check(False, "changes --since %s exits 0" % since, 0,
                       "%d: %s" % (p.returncode, p.stderr.decode("utf-8", "replace")))
            raise Abort()
        lines = p.stdout.decode("utf-8").splitlines()
        return lines, [json.loads(l) for l in lines]

    def last_seq(self, store):
        return self.stats(store)["lastSeq"]

    def show(self, store, num):
        p = self.run(["show", "--store", store, num])
        if p.returncode != 0:
            return None, p
        return json.loads(p.stdout.decode("utf-8")), p

    def shows(self, store, nums):
        """{num: (doc or None, process)} of `show` of many demands, a few at a time."""
        nums = sorted(nums)
        with ThreadPoolExecutor(max_workers=4) as pool:
            return dict(zip(nums, pool.map(lambda n: self.show(store, n), nums)))

    def stats(self, store):
        p = self.run(["stats", "--store", store, "--json"])
        if p.returncode != 0:
            self.check(False, "stats --json exits 0", 0, "%d: %s" % (p.returncode, p.stderr))
            raise Abort()
        return json.loads(p.stdout.decode("utf-8"))


class Abort(Exception):
    pass


def _short(v, n=1500):
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True, default=str)
    return s if len(s) <= n else s[:n] + "... (%d chars)" % len(s)


# ---------------------------------------------------------------------------------------------
# Expectations


BLOCK_OF = {e[1]: e[0] for e in ms.ENTITIES}


def show_items(doc):
    """{(entity, key): JSON} of the items in a `show` document."""
    out = {}
    for code, block, item, key in ms.ENTITIES:
        v = doc.get(block)
        if v is None:
            continue
        if code in ms.SINGLE:
            out[(code, "")] = v
        else:
            for it in (v if isinstance(v, list) else [v]):
                out[(code, it.get(key) if isinstance(it, dict) else None)] = it
    return out


def model_changes(model, ex):
    """Applies ex to model; returns the expected change tuples and before/after bodies."""
    before = model.copy()
    tuples = model.apply(ex)
    bodies = {}
    for op, num, e, k in tuples:
        b = before.demands.get(num, {}).get("items", {}).get((e, k))
        a = model.demands.get(num, {}).get("items", {}).get((e, k))
        bodies[(op, num, e, k)] = (ms.to_json(b) if b is not None else None,
                                   ms.to_json(a) if a is not None else None)
    return tuples, bodies


def check_changes(ctx, label, expected, got, bodies=None, ex=None):
    """The change records `got` (parsed NDJSON) against the expected (op, num, entity, key)."""
    gt = [(c.get("op"), c.get("numUnique"), c.get("entity"), c.get("key")) for c in got]
    ce, cg = collections.Counter(expected), collections.Counter(gt)
    missing = list((ce - cg).elements())
    extra = list((cg - ce).elements())
    ops = collections.Counter(t[0] for t in expected)
    ok = ctx.check(not missing and not extra,
                   "%s: exactly the expected %d changes (%s)" % (
                       label, len(expected), ", ".join("%d %s" % (v, k) for k, v in sorted(ops.items()))),
                   "missing none, unexpected none",
                   "missing %d %s; unexpected %d %s" % (len(missing), missing[:8], len(extra), extra[:8]))
    seqs = [c.get("seq") for c in got]
    ctx.check(all(isinstance(s, int) for s in seqs) and seqs == sorted(set(seqs)),
              "%s: seq strictly increasing" % label, "increasing", seqs[:20])
    if ex is not None:
        bad = [c for c in got if c.get("export") != ex.numero or c.get("dateExport") != ex.date]
        ctx.check(not bad, "%s: every change names export %s of %s" % (label, ex.numero, ex.date),
                  (ex.numero, ex.date), bad[:1] and (bad[0].get("export"), bad[0].get("dateExport")))
    if bodies is not None and ok:
        wrong = []
        for c in got:
            t = (c["op"], c["numUnique"], c["entity"], c["key"])
            eb, ea = bodies[t]
            if c.get("before") != eb or c.get("after") != ea:
                wrong.append((t, {"before": eb, "after": ea}, {"before": c.get("before"), "after": c.get("after")}))
            elif c["op"] != "update" and c.get("changed") is not None:
                wrong.append((t, {"changed": None}, {"changed": c.get("changed")}))
        ctx.check(not wrong, "%s: before/after of every change equal the generator's items" % label,
                  wrong[0][1] if wrong else None, wrong[0][2] if wrong else None)
        if wrong:
            ctx.log("         (first wrong change: %s; %d wrong)" % (wrong[0][0], len(wrong)))
    return ok


def check_store(ctx, store, model, label, nums=None):
    """`show` of every demand of the model (or of `nums`) and `stats` item counts equal the model."""
    bad = []
    shown = ctx.shows(store, nums if nums is not None else model.demands)
    for num in sorted(shown):
        exp = model.show_items(num) if num in model.demands else {}
        doc, p = shown[num]
        if doc is None:
            if exp:
                bad.append((num, "show exits %d: %s" % (p.returncode, p.stderr.decode("utf-8", "replace").strip())))
            continue
        if doc.get("numUnique") != num:
            bad.append((num, "numUnique %r" % doc.get("numUnique")))
            continue
        got = show_items(doc)
        if got != exp:
            miss = sorted(set(exp) - set(got))
            extra = sorted(set(got) - set(exp))
            diff = [k for k in exp if k in got and exp[k] != got[k]]
            bad.append((num, "missing items %s, unexpected %s, different %s%s" % (
                miss[:5], extra[:5], diff[:5],
                (" e.g. expected %s got %s" % (_short(exp[diff[0]], 400), _short(got[diff[0]], 400))) if diff else "")))
    n = len(nums) if nums is not None else len(model.demands)
    ctx.check(not bad, "%s: show of %d demands equals the generator's data" % (label, n),
              "all equal", "%d differ; first: %s" % (len(bad), bad[:2]))
    st = ctx.stats(store)
    ctx.eq("%s: stats item counts per entity" % label, model.counts(), st.get("items"))


def snapshot(ctx, store, nums):
    """Everything observable: the whole change log, `show` of every demand, stats counts."""
    lines, _ = ctx.changes(store, 0)
    shows = {}
    for n, (doc, p) in ctx.shows(store, nums).items():
        shows[n] = p.stdout.decode("utf-8") if doc is not None else "exit %d" % p.returncode
    st = ctx.stats(store)
    return {"changes": lines, "shows": shows, "items": st.get("items"), "lastSeq": st.get("lastSeq")}


def compare_snapshots(ctx, label, a, b):
    ctx.eq("%s: change log unchanged (%d lines)" % (label, len(a["changes"])),
           len(a["changes"]), len(b["changes"]))
    if len(a["changes"]) == len(b["changes"]):
        diff = [i for i, (x, y) in enumerate(zip(a["changes"], b["changes"])) if x != y]
        ctx.check(not diff, "%s: change log lines identical" % label, "identical",
                  diff and "line %d differs: %s" % (diff[0], b["changes"][diff[0]][:300]))
    else:
        ctx.log("         new lines: %s" % _short(b["changes"][len(a["changes"]):][:3]))
    diff = [n for n in a["shows"] if a["shows"][n] != b["shows"].get(n)]
    ctx.check(not diff, "%s: show of %d demands identical" % (label, len(a["shows"])), "identical",
              diff and "%d differ, e.g. %s" % (len(diff), diff[:3]))
    ctx.eq("%s: stats item counts identical" % label, a["items"], b["items"])


# ---------------------------------------------------------------------------------------------
# Scenario helpers


def scenario():
    return ms.scenario()


def archive_of(ex, **kw):
    return ms.make_archive(ms.export_members(ex, **kw))


def loaded(ctx, sc, store=None):
    """A store holding the initial export; returns (store, model)."""
    store = store or ctx.store()
    model = ms.Model()
    model.apply(sc["initial"])
    ctx.ingest(store, ctx.write(archive_of(sc["initial"])), what="ingest of the initial export")
    return store, model


# ---------------------------------------------------------------------------------------------
# 1. First load


def t_first_load(ctx):
    sc = scenario()
    ex = sc["initial"]
    store = ctx.store()
    model = ms.Model()
    exp, bodies = model_changes(model, ex)
    ctx.log("initial export: %d demands, %d items" % (len(ex.demands), len(exp)))
    ctx.check(all(t[0] == "create" for t in exp), "generator: first load expects creates only")
    ctx.ingest(store, ctx.write(archive_of(ex)))
    _, got = ctx.changes(store)
    check_changes(ctx, "first load", exp, got, bodies, ex)
    ctx.eq("first load: seq runs 1..N", list(range(1, len(exp) + 1)), [c.get("seq") for c in got])
    check_store(ctx, store, model, "first load")
    st = ctx.stats(store)
    ctx.eq("stats: demands", len(ex.demands), st.get("demands"))
    ctx.eq("stats: lastSeq", len(exp), st.get("lastSeq"))
    d = ex.demands[0]
    doc, _ = ctx.show(store, d.num)
    ctx.eq("show %s: etatDemande and dateDerniereModification" % d.num,
           (d.etat, d.datemod), doc and (doc.get("etatDemande"), doc.get("dateDerniereModification")))
    p = ctx.run(["show", "--store", store, "0000000000000Z0000"])
    ctx.check(p.returncode != 0, "show of an unknown demand exits non-zero", "non-zero", p.returncode)


def t_default_sample(ctx):
    """`snesync ingest` without an archive applies data-samples/sample-initial.tar.gz."""
    sc = scenario()
    with open(os.path.join(ROOT, "data-samples", "sample-initial.tar.gz"), "rb") as f:
        committed = f.read()
    ctx.eq("committed sample-initial.tar.gz is what make_samples.py generates (sha256)",
           hashlib.sha256(archive_of(sc["initial"])).hexdigest(), hashlib.sha256(committed).hexdigest())
    store = ctx.store()
    p = ctx.run(["ingest", "--store", store])
    ctx.eq("ingest with no archive exits 0", 0, p.returncode)
    model = ms.Model()
    exp, bodies = model_changes(model, sc["initial"])
    _, got = ctx.changes(store)
    check_changes(ctx, "default sample", exp, got, bodies, sc["initial"])
    with open(os.path.join(ROOT, "data-samples", "sample-next.tar.gz"), "rb") as f:
        nxt = f.read()
    ctx.ingest(store, ctx.write(nxt), what="ingest of the committed sample-next.tar.gz")
    exp, bodies = model_changes(model, sc["next"])
    _, got = ctx.changes(store, len(got))
    check_changes(ctx, "sample-next", exp, got, bodies, sc["next"])


# ---------------------------------------------------------------------------------------------
# 2. Equivalent re-serialisations give no change

EQUIV = {
    "prefix": dict(style=dict(prefix="sne")),
    "default_namespace": dict(style=dict(prefix="")),
    "attribute_order": dict(style=dict(attr_reverse=True, declare_twice=True)),
    "no_indentation": dict(style=dict(indent=None)),
    "tab_indentation": dict(style=dict(indent="\t")),
    "iso8859_1": dict(style=dict(encoding="ISO-8859-1")),
    "char_references": dict(style=dict(charrefs=True)),
    "cdata": dict(style=dict(cdata=True)),
    "comments_pis": dict(style=dict(comments=True)),
    "shuffled_keyed_lists": dict(style=dict(shuffle=True)),
    "empty_elements": dict(style=dict(empties=True)),
    "foreign_namespace": dict(style=dict(foreign=True)),
    "padded_text": dict(style=dict(pad=True)),
    "demand_order": dict(demand_order=True),
    "parts_subdir_readme": dict(parts=3, subdir="export/", readme=True),
    "parts_out_of_order": dict(parts=3, order=[2, 0, 1]),
    "everything_at_once": dict(style=dict(prefix="", attr_reverse=True, declare_twice=True, indent=None,
                                          encoding="ISO-8859-1", charrefs=True, cdata=True, comments=True,
                                          shuffle=True, empties=True, foreign=True, pad=True),
                               parts=4, subdir="out/x/", readme=True, demand_order=True),
}


def equiv_archive(ex, variant, seed):
    v = dict(EQUIV[variant])
    st = dict(v.pop("style", {}))
    if st.get("shuffle"):
        st["shuffle"] = random.Random(seed)
    demands = list(ex.demands)
    if v.pop("demand_order", False):
        random.Random(seed + 1).shuffle(demands)
    e2 = ms.Export(ex.numero[:-2] + "E%d" % (sorted(EQUIV).index(variant) % 10), ex.date, demands,
                   entities=ex.entities, etat=ex.etat)
    return ms.make_archive(ms.export_members(e2, style=ms.Style(**st), **v)), e2


def t_equivalent(ctx, variant):
    sc = scenario()
    store, model = loaded(ctx, sc)
    last = ctx.last_seq(store)
    data, e2 = equiv_archive(sc["initial"], variant, ctx.seed)
    ctx.log("re-serialised as %s: %s" % (variant, EQUIV[variant]))
    p = ctx.ingest(store, ctx.write(data), "--json", what="ingest of the %s variant" % variant)
    _, got = ctx.changes(store, last)
    check_changes(ctx, "variant %s" % variant, [], got)
    if got:
        c = got[0]
        ctx.log("         first change: %s %s %s %s changed=%s" % (c.get("op"), c.get("numUnique"), c.get("entity"),
                                                                 c.get("key"), c.get("changed")))
    if p.returncode == 0:
        s = json.loads(p.stdout.decode("utf-8"))
        n_items = sum(len(d.keyed()) for d in e2.demands)
        ctx.eq("summary: all %d items unchanged" % n_items, (n_items, 0, 0, 0),
               (s.get("unchanged"), s.get("creates"), s.get("updates"), s.get("deletes")))
    check_store(ctx, store, model, "after variant %s" % variant)


# ---------------------------------------------------------------------------------------------
# Driver

TESTS = collections.OrderedDict()
TESTS["first_load"] = t_first_load
TESTS["default_sample"] = t_default_sample
for _v in EQUIV:
    TESTS["equivalent_" + _v] = (lambda v: (lambda ctx: t_equivalent(ctx, v)))(_v)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--snesync", required=True)
    ap.add_argument("--test", action="append", default=[])
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directories")
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    if a.list:
        print("\n".join(TESTS))
        return 0
    names = list(TESTS) if a.all else a.test
    unknown = [n for n in names if n not in TESTS]
    if unknown or not names:
        print("unknown or no tests: %s; --list shows them" % unknown, file=sys.stderr)
        return 2
    seed = a.seed if a.seed is not None else int(os.environ.get("SNESYNC_TEST_SEED", "0") or 0) or \
        random.SystemRandom().randrange(1, 10**9)
    snesync = os.path.abspath(a.snesync)
    failed = []
    for name in names:
        tmp = tempfile.mkdtemp(prefix="snesync-it-%s-" % name)
        ctx = Ctx(snesync, tmp, seed)
        print("=== %s (seed %d, dir %s)" % (name, seed, tmp), flush=True)
        t0 = time.time()
        try:
            TESTS[name](ctx)
        except Abort:
            pass
        dt = time.time() - t0
        if ctx.failures:
            failed.append(name)
            print("=== %s FAILED (%d checks, %.1fs; replay with --seed %d)" % (name, len(ctx.failures), dt, seed))
        else:
            print("=== %s passed (%.1fs)" % (name, dt))
        if a.keep or ctx.failures and os.environ.get("SNESYNC_KEEP_FAILED"):
            print("    kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if failed:
        print("FAILED: %s" % " ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
