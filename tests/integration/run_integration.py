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
import pty
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tty
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "data-samples"))
import make_samples as ms  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Harness


class Ctx:
    def __init__(self, snesync, tmp, seed, cache_dir=None):
        self.cache_dir = os.path.abspath(cache_dir or tempfile.gettempdir())
        self.snesync = snesync
        self.tmp = tmp
        self.seed = seed
        self.failures = []
        self.nfile = 0
        self.t0 = time.time()

    # -- checks --
    def log(self, msg):
        print("[%5.1fs] %s" % (time.time() - self.t0, msg), flush=True)

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


def _raise():
    raise Abort()


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
    p = ctx.run(["changes", "--store", store, "--since", "0"])
    ctx.check(p.returncode == 0, "changes exits 0", 0, p.returncode) or _raise()
    lines = p.stdout.decode("utf-8").splitlines()
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


SMALL = 30  # demands in the scenario of the tests that show every demand several times


def scenario(n=SMALL):
    return ms.scenario(n=n, radiees=4 if n < 60 else 6)


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
    sc = scenario(60)
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


def t_bundled_sample(ctx):
    """data-samples/sample-initial.tar.gz, ingested by name as setup.sh does, then sample-next."""
    sc = ms.scenario()
    sample = os.path.join(ROOT, "data-samples", "sample-initial.tar.gz")
    with open(sample, "rb") as f:
        committed = f.read()
    ctx.eq("committed sample-initial.tar.gz is what make_samples.py generates (sha256)",
           hashlib.sha256(archive_of(sc["initial"])).hexdigest(), hashlib.sha256(committed).hexdigest())
    store = ctx.store()
    p = ctx.run(["ingest", "--store", store, sample])
    ctx.eq("ingest of the bundled sample exits 0", 0, p.returncode)
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
    "prefix_per_demand": dict(style=dict(prefix_per_demand=True)),
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
    if variant == "everything_at_once":
        check_store(ctx, store, model, "after variant %s" % variant)
    else:
        ctx.eq("after variant %s: stats item counts per entity" % variant, model.counts(),
               ctx.stats(store).get("items"))


# ---------------------------------------------------------------------------------------------
# 3. A later snapshot


def t_next_snapshot(ctx):
    sc = scenario(60)
    store, model = loaded(ctx, sc)
    last = ctx.last_seq(store)
    notes = sc["notes"]
    exp, bodies = model_changes(model, sc["next"])
    ctx.log("generator's changes: %s" % {k: len(v) for k, v in notes.items()})
    # The generator's own account of what changed must show in the expectation (guards the model).
    for num in notes["removed"]:
        ctx.check(any(t[0] == "delete" and t[1] == num for t in exp) and
                  not any(t[1] == num and t[0] != "delete" for t in exp),
                  "expectation: removed demand %s -> deletes of its items only" % num)
    for num in notes["new"]:
        ctx.check(any(t[1] == num and t[2] == "CERFA" and t[0] == "create" for t in exp),
                  "expectation: new demand %s -> creates" % num)
    for num in notes["cerfa"]:
        ctx.check(("update", num, "CERFA", "") in exp, "expectation: CERFA update of %s" % num)
    ctx.check(any(t[0] == "create" and t[2] == "DRM" for t in exp) and any(t[0] == "delete" and t[2] == "DRM"
              and t[1] not in notes["removed"] for t in exp), "expectation: DRM month rollover (create + delete)")
    p = ctx.ingest(store, ctx.write(archive_of(sc["next"], parts=2)), "--json")
    _, got = ctx.changes(store, last)
    check_changes(ctx, "next snapshot", exp, got, bodies, sc["next"])
    if p.returncode == 0:
        s = json.loads(p.stdout.decode("utf-8"))
        ops = collections.Counter(t[0] for t in exp)
        ctx.eq("summary: creates/updates/deletes/demandsSwept",
               (ops["create"], ops["update"], ops["delete"], len(notes["removed"])),
               (s.get("creates"), s.get("updates"), s.get("deletes"), s.get("demandsSwept")))
    # One update in detail: the CERFA whose telPortable changed.
    num = notes["cerfa"][0]
    upd = [c for c in got if c.get("numUnique") == num and c.get("entity") == "CERFA"]
    eb, ea = bodies.get(("update", num, "CERFA", ""), (None, None))
    if ctx.eq("one CERFA update for %s" % num, 1, len(upd)):
        c = upd[0]
        ctx.eq("update %s: before" % num, eb, c.get("before"))
        ctx.eq("update %s: after" % num, ea, c.get("after"))
        ctx.eq("update %s: changed" % num, ms.json_leaf_diff(eb, ea), c.get("changed"))
        ctx.eq("update %s: changed is the telPortable" % num, ["/personnePhysique/demandeur/telPortable"],
               c.get("changed"))
    evt = [c for c in got if c.get("op") == "update" and c.get("entity") != "CERFA"]
    ctx.eq("no update other than the changed CERFAs", [], [(c["numUnique"], c["entity"], c["key"]) for c in evt])
    check_store(ctx, store, model, "after the next snapshot", nums=set(model.demands))
    for num in notes["removed"]:
        doc, _ = ctx.show(store, num)
        ctx.check(doc is None or not show_items(doc), "removed demand %s shows no item" % num, "no items",
                  doc and sorted(show_items(doc)))
    last = ctx.last_seq(store)
    ctx.ingest(store, ctx.write(archive_of(sc["next"])), what="the same snapshot again")
    _, got = ctx.changes(store, last)
    check_changes(ctx, "same snapshot again", [], got)


def t_forward_compat(ctx):
    """An element of the SNE namespace unknown to this version is data: stored, compared, passed on."""
    sc = scenario()
    store, model = loaded(ctx, sc)
    last = ctx.last_seq(store)
    ds = [d.copy() for d in sc["initial"].demands]
    d = next(x for x in ds if x.items.get("EVT"))
    evt = d.items["EVT"][0]
    d.items["EVT"][0] = (evt[0], evt[1], evt[2] + [ms.T("canalNotification", "SMS"),
                                                   ms.E("detailFutur", ms.C("niveau", "2"), ms.T("note", "à suivre"))])
    ex = ms.Export("X20261201F0001", "2026-12-01T02:00:00.000+01:00", ds)
    exp, bodies = model_changes(model, ex)
    key = ("update", d.num, "EVT", ms.item_key("EVT", evt))
    ctx.eq("expectation: one EVT update", [key], exp)
    ctx.ingest(store, ctx.write(archive_of(ex)), what="ingest of an export with unknown SNE elements")
    _, got = ctx.changes(store, last)
    check_changes(ctx, "new SNE elements", exp, got, bodies, ex)
    if len(got) == 1:
        ctx.eq("changed pointers", ["/canalNotification", "/detailFutur/niveau/code", "/detailFutur/note"],
               sorted(got[0].get("changed") or []))
    check_store(ctx, store, model, "after unknown SNE elements", nums=[d.num])


# ---------------------------------------------------------------------------------------------
# 4. Scope


def t_scope_drm(ctx):
    sc = scenario()
    store, model = loaded(ctx, sc)
    last = ctx.last_seq(store)
    ex = ms.Export("X20261129D0001", ms.DATE_DRM, sc["next"].demands, entities=["DRM"])
    exp, bodies = model_changes(model, ex)
    gone = [n for n in sc["notes"]["removed"] if any(k[0] == "DRM" for k in sc["initial"].demands[0].keyed()) or True]
    ctx.log("DRM-only export of the next snapshot: %d demands, %d absent" % (len(ex.demands), len(gone)))
    ctx.check(all(t[2] == "DRM" for t in exp), "expectation: DRM changes only")
    ctx.check(any(t[0] == "delete" and t[1] in gone for t in exp), "expectation: DRM of an absent demand deleted")
    ctx.ingest(store, ctx.write(archive_of(ex)))
    _, got = ctx.changes(store, last)
    check_changes(ctx, "DRM-only export", exp, got, bodies, ex)
    ctx.eq("no change outside DRM", [], sorted({(c["op"], c["entity"]) for c in got if c.get("entity") != "DRM"}))
    check_store(ctx, store, model, "after the DRM-only export")
    for num in gone:
        doc, _ = ctx.show(store, num)
        ctx.check(doc is not None and ("CERFA", "") in show_items(doc),
                  "absent demand %s keeps its CERFA after a DRM-only export" % num)


# The DRM depth (contract README §5). The next snapshot's latest DRM period is DRM_LAST; the
# initial store holds one to three months ending one period before it.
DRM_LAST = "2026-11"


def _drm_export(numero, demands, depth, derniere):
    return ms.Export(numero, ms.DATE_DRM, ms.drm_window(demands, DRM_LAST, depth), entities=["DRM"],
                     profondeur=depth, derniere=derniere)


def _apply_drm_export(ctx, store, model, ex, label):
    """Ingests `ex`; its changes and the store must be the model's. Returns the changes."""
    last = ctx.last_seq(store)
    exp, bodies = model_changes(model, ex)
    ctx.ingest(store, ctx.write(archive_of(ex)), what="ingest of the %s" % label)
    _, got = ctx.changes(store, last)
    check_changes(ctx, label, exp, got, bodies, ex)
    check_store(ctx, store, model, "after the %s" % label)
    return exp


def t_drm_depth_without_period(ctx):
    sc = scenario()
    store, model = loaded(ctx, sc)
    ex = _drm_export("X20261129D0002", sc["next"].demands, 2, None)
    held = {n for n, m in model.demands.items() if any(k[0] == "DRM" for k in m["items"])}
    present = {d.num for d in ex.demands}
    exp = _apply_drm_export(ctx, store, model, ex, "depth-2 DRM export without dernierePeriodeDrm")
    ctx.check(any(t[0] == "create" for t in exp), "expectation: the new month arrives")
    ctx.eq("no DRM month of a demand it holds is deleted", [],
           [t for t in exp if t[0] == "delete" and t[1] in present])
    swept = held - present
    if swept:
        ctx.check(all(any(t[0] == "delete" and t[1] == n for t in exp) for n in swept),
                  "demands it does not hold lose their DRM months (%d)" % len(swept))
    kept = [n for n in present if ("DRM", "2026-08") in model.demands[n]["items"]]
    ctx.check(kept, "a month older than its window is still held (%d demands)" % len(kept))


def t_drm_depth_1_between_syncs(ctx):
    sc = scenario()
    store, model = loaded(ctx, sc)
    full = ms.Export("X20261129A0002", ms.DATE_DRM, sc["next"].demands, profondeur=3, derniere=DRM_LAST)
    synced_only = model.copy()
    synced_only.apply(full)
    refresh = _drm_export("X20261128D0001", sc["next"].demands, 1, DRM_LAST)
    refresh.date = ms.DATE_NEXT
    exp = _apply_drm_export(ctx, store, model, refresh, "depth-1 DRM refresh")
    gone = {(t[1], t[3]) for t in exp if t[0] == "delete"}
    ctx.check(all(t[3] == DRM_LAST for t in exp if t[0] == "create"), "expectation: only the latest month arrives")
    ctx.check(any(k < "2026-09" for _, k in gone), "expectation: a month older than P-2 leaves")
    ctx.check(not any(k in ("2026-09", "2026-10") for n, k in gone if n in {d.num for d in refresh.demands}),
              "expectation: P-2 and P-1 stay")
    exp = _apply_drm_export(ctx, store, model, full, "full export after the refresh")
    ctx.eq("no DRM month the refresh deleted is created again", [],
           [t for t in exp if t[0] == "create" and t[2] == "DRM" and (t[1], t[3]) in gone])
    ctx.eq("refresh + full export hold what the full export alone holds", synced_only.demands, model.demands)


def t_drm_period_invalid(ctx):
    sc = scenario()
    store, model = loaded(ctx, sc)
    last = ctx.last_seq(store)
    ex = _drm_export("X20261129D0003", sc["next"].demands, 1, "2026-13")
    p = ctx.ingest(store, ctx.write(archive_of(ex)), expect=3, what="ingest with dernierePeriodeDrm 2026-13")
    err = p.stderr.decode("utf-8", "replace")
    ctx.check("dernierePeriodeDrm" in err, "the message names dernierePeriodeDrm", "dernierePeriodeDrm", err.strip())
    ctx.eq("nothing changed", last, ctx.last_seq(store))
    # Two parts of one export that disagree on the DRM window: not one export.
    ex = _drm_export("X20261129D0004", sc["next"].demands, 1, DRM_LAST)
    other = _drm_export("X20261129D0004", sc["next"].demands, 1, "2026-10")
    half = len(ex.demands) // 2
    members = [(ms.part_name(ex, 1), ms.serialize_part(ex, ex.demands[:half], 1, 2)),
               (ms.part_name(ex, 2), ms.serialize_part(other, other.demands[half:], 2, 2))]
    p = ctx.ingest(store, ctx.write(ms.make_archive(members)), expect=3,
                   what="ingest of parts that disagree on dernierePeriodeDrm")
    err = p.stderr.decode("utf-8", "replace")
    ctx.check("another export" in err, "the message says the parts differ", "another export", err.strip())
    _, got = ctx.changes(store, last)
    ctx.eq("no demand was swept", [], [c for c in got if c["numUnique"] not in {d.num for d in ex.demands[:half]}])


def _dep_demands(active, dep):
    inside = [d for d in active if any(ms.dept_of(c) == dep for c in d.communes())]
    pure = [d for d in inside if all(ms.dept_of(c) == dep for c in d.communes())]
    mixed = [d for d in inside if d not in pure]
    return inside, pure, mixed


def t_scope_department(ctx, dep="38"):
    sc = scenario()
    store, model = loaded(ctx, sc)
    last = ctx.last_seq(store)
    active = sc["active"]
    inside, pure, mixed = _dep_demands(active, dep)
    outside = [d for d in active if d not in inside]
    ctx.log("department %s: %d demands look there (%d also elsewhere), %d do not" % (dep, len(inside), len(mixed),
                                                                                  len(outside)))
    if not ctx.check(pure and outside, "generator: demands inside and outside department %s" % dep):
        return
    absent = [pure[0].num] + ([mixed[0].num] if mixed else [])
    kept = [d.copy() for d in inside if d.num not in absent]
    kept[0].items["CERFA"][0] = ms.set_text(kept[0].items["CERFA"][0], ["personnePhysique", "demandeur", "mel"],
                                            "nouveau.%s@exemple.fr" % dep)
    ex = ms.Export("X20261130P%s" % dep, ms.DATE_DEP38, kept, departements=[dep])
    exp, bodies = model_changes(model, ex)
    ctx.log("export listeDepartement %s without %s (in scope, absent) -> their items deleted" % (dep, absent))
    ctx.check(all(t[1] in absent for t in exp if t[0] == "delete"), "expectation: deletes only for absent demands")
    ctx.ingest(store, ctx.write(archive_of(ex)))
    _, got = ctx.changes(store, last)
    check_changes(ctx, "department %s export" % dep, exp, got, bodies, ex)
    outnums = {d.num for d in outside}
    ctx.eq("no change to a demand looking only outside department %s" % dep, [],
           [(c["op"], c["numUnique"], c["entity"]) for c in got if c.get("numUnique") in outnums][:5])
    check_store(ctx, store, model, "after the department %s export" % dep)


def t_scope_communes(ctx):
    sc = scenario()
    store, model = loaded(ctx, sc)
    last = ctx.last_seq(store)
    communes = ["38185", "69123"]
    inside = [d for d in sc["active"] if any(c in communes for c in d.communes())]
    ex = ms.Export("X20261130C0001", ms.DATE_DEP38, inside[1:], communes=communes)
    exp, bodies = model_changes(model, ex)
    ctx.log("export listeCommune %s without %s" % (communes, inside[0].num))
    ctx.check(exp and all(t[1] == inside[0].num and t[0] == "delete" for t in exp),
              "expectation: only the absent demand's items deleted")
    ctx.ingest(store, ctx.write(archive_of(ex)))
    _, got = ctx.changes(store, last)
    check_changes(ctx, "commune export", exp, got, bodies, ex)
    check_store(ctx, store, model, "after the commune export")


def t_scope_radiees(ctx):
    sc = scenario()
    store, model = loaded(ctx, sc)
    r1 = ms.Export("X20261031R0001", ms.DATE_INITIAL, sc["radiated"], etat="RADIEE")
    exp, bodies = model_changes(model, r1)
    last = ctx.last_seq(store)
    ctx.ingest(store, ctx.write(archive_of(r1)), what="ingest of a RADIEE export")
    _, got = ctx.changes(store, last)
    check_changes(ctx, "RADIEE export (all creates, no ACTIVE deleted)", exp, got, bodies, r1)
    last = ctx.last_seq(store)
    r2 = ms.Export("X20261128R0001", ms.DATE_NEXT, sc["radiated"][1:], etat="RADIEE")
    exp, bodies = model_changes(model, r2)
    ctx.check(exp and all(t[1] == sc["radiated"][0].num and t[0] == "delete" for t in exp),
              "expectation: only the absent RADIEE demand's items deleted")
    ctx.ingest(store, ctx.write(archive_of(r2)), what="ingest of a later RADIEE export without one demand")
    _, got = ctx.changes(store, last)
    check_changes(ctx, "later RADIEE export", exp, got, bodies, r2)
    check_store(ctx, store, model, "after the RADIEE exports")


def t_stale(ctx):
    sc = scenario()
    store, model = loaded(ctx, sc)
    model.apply(sc["next"])
    ctx.ingest(store, ctx.write(archive_of(sc["next"])), what="ingest of the next snapshot")
    nums = set(model.demands)
    before = snapshot(ctx, store, nums)
    old = ms.Export("X20261031A0002", ms.DATE_INITIAL, sc["initial"].demands)
    old_archive = ctx.write(archive_of(old))
    p = ctx.ingest(store, old_archive, expect=4, what="ingest of an older full export (stale)")
    err = p.stderr.decode("utf-8", "replace")
    ctx.check("stale" in err.lower() or "older" in err.lower(), "stale: the message says so", "stale/older", err.strip())
    compare_snapshots(ctx, "after the stale export", before, snapshot(ctx, store, nums))
    dep = ms.Export("X20261101P0038", "2026-11-01T02:00:00.000+01:00",
                    [d for d in sc["initial"].demands if any(ms.dept_of(c) == "38" for c in d.communes())][1:],
                    departements=["38"])
    ctx.ingest(store, ctx.write(archive_of(dep)), expect=4,
               what="ingest of an older department-38 export (overlaps the full one: stale)")
    drm = ms.Export("X20261101D0001", "2026-11-01T02:00:00.000+01:00", sc["initial"].demands[1:], entities=["DRM"])
    ctx.ingest(store, ctx.write(archive_of(drm)), expect=4,
               what="ingest of an older DRM-only export (overlaps the full one: stale)")
    compare_snapshots(ctx, "after the older partial exports", before, snapshot(ctx, store, nums))
    # A RADIEE export is another scope: an older date there is not stale.
    last = ctx.last_seq(store)
    r1 = ms.Export("X20261031R0001", ms.DATE_INITIAL, sc["radiated"], etat="RADIEE")
    exp, bodies = model_changes(model, r1)
    ctx.ingest(store, ctx.write(archive_of(r1)), what="ingest of an older RADIEE export (other scope: applied)")
    _, got = ctx.changes(store, last)
    check_changes(ctx, "older RADIEE export", exp, got, bodies, r1)
    last = ctx.last_seq(store)
    exp, bodies = model_changes(model, old)
    ctx.ingest(store, old_archive, "--force", what="ingest --force of the stale export")
    _, got = ctx.changes(store, last)
    check_changes(ctx, "forced stale export", exp, got, bodies, old)
    check_store(ctx, store, model, "after the forced export")


# ---------------------------------------------------------------------------------------------
# 5. Bad input: non-zero exit, a clear message, nothing deleted

PASSWD_LINE = None


def _passwd_marker():
    try:
        with open("/etc/passwd", encoding="utf-8", errors="replace") as f:
            first = f.readline().strip()
        return first or None
    except OSError:
        return None


def _bad_base(sc):
    """The initial export without three demands: a wrongful sweep would delete their items."""
    ds = sc["initial"].demands
    omitted = [ds[3].num, ds[11].num, ds[len(ds) - 4].num]
    return ms.Export("X20261201B0001", "2026-12-01T02:00:00.000+01:00",
                     [d for d in ds if d.num not in omitted]), omitted


def _line_of(data, needle):
    pos = data.index(needle)
    return data[:pos].count(b"\n") + 1


def _replace_nth(data, old, new, n):
    i = -1
    for _ in range(n + 1):
        i = data.index(old, i + 1)
    return data[:i] + new + data[i + len(old):], i


DOCTYPE_BOMB = ('<!DOCTYPE ns1:exportNuu [\n <!ENTITY lol "lol">\n' +
                "".join(' <!ENTITY lol%d "%s">\n' % (i, ("&lol%s;" % (i - 1 if i > 1 else "")) * 10)
                        for i in range(1, 10)) + "]>")
DOCTYPE_XXE = '<!DOCTYPE ns1:exportNuu [\n <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>'


def bad_case(name, ex):
    """(members, opts, member named in the message or None, line or None, extra) of a bad archive."""
    members = ms.export_members(ex, parts=3)
    m0, d0 = members[0]
    opts = []
    member = line = None
    raw = None
    if name == "truncated":
        raw = ms.make_archive(members)
        raw = raw[:len(raw) * 6 // 10]
    elif name == "truncated_tar":
        tarred = ms.make_archive(members)
        import gzip as _gz
        plain = _gz.decompress(tarred)
        raw = _gz.compress(plain[:len(plain) // 2 + 100], mtime=0)  # a complete gzip of a cut tar
    elif name == "pied_mismatch":
        mname, data = members[1]
        n = sum(1 for _ in range(data.count(b"<ns1:demande>")))
        data = data.replace(b"<ns1:nombreDemandes>%d<" % n, b"<ns1:nombreDemandes>%d<" % (n + 1))
        members[1] = (mname, data)
        member = mname
    elif name == "missing_part":
        del members[1]
    elif name == "duplicate_part":
        members.append(("copie/" + members[0][0], members[0][1]))
    elif name == "malformed_xml":
        data, pos = _replace_nth(d0, b"</ns1:prenom>", b"</ns1:prenon>", 7)
        members[0] = (m0, data)
        member, line = m0, data[:pos].count(b"\n") + 1
    elif name in ("numunique_short", "numunique_lowercase"):
        num = ex.demands[4].num.encode()
        bad = num[:16] if name == "numunique_short" else num[:13] + num[13:14].lower() + num[14:]
        assert bad != num
        data = d0.replace(b">%s<" % num, b">%s<" % bad)
        members[0] = (m0, data)
        member, line = m0, _line_of(data, b">%s<" % bad)
    elif name in ("duplicate_in_part", "duplicate_across_parts"):
        ds = list(ex.demands)
        k = len(ds) // 3
        if name == "duplicate_in_part":
            parts = [ds[:4] + [ds[1]] + ds[4:k], ds[k:2 * k], ds[2 * k:]]
        else:
            parts = [ds[:k], ds[k:2 * k] + [ds[2]], ds[2 * k:]]
        members = [(ms.part_name(ex, i + 1), ms.serialize_part(ex, p, i + 1, 3)) for i, p in enumerate(parts)]
        member = members[0 if name == "duplicate_in_part" else 1][0]
    elif name in ("entity_bomb", "external_entity"):
        dt = DOCTYPE_BOMB if name == "entity_bomb" else DOCTYPE_XXE
        ref = b"&lol9;" if name == "entity_bomb" else b"&xxe;"
        data = ms.serialize_part(ex, ms.split(ex.demands, 3)[0], 1, 3, before_root=dt)
        data, pos = _replace_nth(data, b"<ns1:libelle>", b"<ns1:libelle>" + ref, 2)
        members[0] = (m0, data)
        member = m0
    elif name == "text_over_256k":
        data, pos = _replace_nth(d0, b"<ns1:libelle>", b"<ns1:libelle>" + b"A" * (300 * 1024), 3)
        members[0] = (m0, data)
        member, line = m0, data[:pos].count(b"\n") + 1
    elif name == "not_gzip":
        raw = b"PK\x03\x04 this is not a gzip file, " + os.urandom(2000)
    elif name == "plain_tar":
        import gzip as _gz
        raw = _gz.decompress(ms.make_archive(members))
    elif name == "empty_file":
        raw = b""
    elif name == "sha256_mismatch":
        raw = ms.make_archive(members)
        opts = ["--sha256", hashlib.sha256(raw + b"x").hexdigest()]
    elif name == "size_mismatch":
        raw = ms.make_archive(members)
        opts = ["--size", str(len(raw) + 1)]
    else:
        raise KeyError(name)
    if raw is None:
        raw = ms.make_archive(members)
    return raw, opts, member, line


BAD_CASES = ["truncated", "truncated_tar", "pied_mismatch", "missing_part", "duplicate_part", "malformed_xml",
             "numunique_short", "numunique_lowercase", "duplicate_in_part", "duplicate_across_parts",
             "entity_bomb", "external_entity", "text_over_256k", "not_gzip", "plain_tar", "empty_file",
             "sha256_mismatch", "size_mismatch"]


def t_bad(ctx, case):
    sc = scenario()
    store, model = loaded(ctx, sc)
    ex, omitted = _bad_base(sc)
    nums = set(model.demands)
    before = snapshot(ctx, store, nums)
    raw, opts, member, line = bad_case(case, ex)
    ctx.log("bad archive (%s): %d bytes; the export omits %s, so a sweep would delete their items" % (
        case, len(raw), omitted))
    t0 = time.time()
    p = ctx.ingest(store, ctx.write(raw), *opts, expect=None)
    dt = time.time() - t0
    err = p.stderr.decode("utf-8", "replace").strip()
    ctx.log("  exit %d in %.2fs; stderr: %s" % (p.returncode, dt, err[:600]))
    ctx.check(p.returncode == 3, "bad input (%s) exits 3 (bad or incomplete export)" % case, 3, p.returncode)
    ctx.check(bool(err), "a message on stderr", "a message", err)
    ctx.check(len(err) < 4000, "the message is short", "< 4000 chars", len(err))
    if case.startswith("truncated"):
        ctx.check("EXPORT_" in err, "the message names the member being read", "EXPORT_...", err[:300])
    if member:
        ctx.check(os.path.basename(member) in err, "the message names the member %s" % member, member, err[:300])
    if line:
        import re
        ctx.check(re.search(r"\b%d\b" % line, err) is not None, "the message names line %d" % line,
                  "line %d" % line, err[:300])
    after = snapshot(ctx, store, nums)
    compare_snapshots(ctx, "after the bad archive", before, after)
    if case == "external_entity":
        marker = _passwd_marker()
        if marker:
            blob = p.stdout.decode("utf-8", "replace") + err + "".join(after["changes"]) + "".join(after["shows"].values())
            ctx.check(marker not in blob, "the content of /etc/passwd appears nowhere", "absent",
                      "found %r" % marker if marker in blob else "absent")
    # The failed run must not get in the way of the next good one, which does delete the omitted demands.
    last = ctx.last_seq(store)
    exp, bodies = model_changes(model, ex)
    ctx.check(exp and all(t[0] == "delete" and t[1] in omitted for t in exp),
              "expectation: the good export deletes the omitted demands' items")
    ctx.ingest(store, ctx.write(archive_of(ex)), what="ingest of the same export, complete and valid")
    _, got = ctx.changes(store, last)
    check_changes(ctx, "good export after the bad one", exp, got, bodies, ex)


# ---------------------------------------------------------------------------------------------
# 6. Kill and re-run

BIG_SEED = 10007
BIG_N = 10000


def big_scenario(ctx):
    """Archives of a register of BIG_N demands (A) and of a later snapshot (B), with what the
    generator expects of them: the change tuples of A on an empty store and of B after A, and the
    demands to `show` (some of each kind of change, some at random). Generating takes a while, so
    all of it is cached under --cache-dir, keyed by a hash of make_samples.py and the seed."""
    with open(ms.__file__, "rb") as f:
        h = hashlib.sha256(f.read() + b"%d/%d" % (BIG_SEED, BIG_N)).hexdigest()[:16]
    cache = os.path.join(ctx.cache_dir, "snesync-it-cache-%s" % h)
    t0 = time.time()
    pj = os.path.join(cache, "big-expected.json")
    pa, pb = os.path.join(cache, "big-a.tar.gz"), os.path.join(cache, "big-b.tar.gz")
    if not all(os.path.exists(x) for x in (pj, pa, pb)):
        gen = ms.Gen(BIG_SEED)
        reg = gen.register(BIG_N, lean=True)
        a = ms.Export("X20261031A0100", ms.DATE_INITIAL, reg)
        nxt, notes = ms.evolve(gen, reg, new=150, removed=120, cerfa_changed=200, evt_added=200, evt_removed=100)
        b = ms.Export("X20261128A0100", ms.DATE_NEXT, nxt)
        model = ms.Model()
        exp_a = model.apply(a)
        exp_b = model.apply(b)
        rng = random.Random(BIG_SEED)
        nums = set()
        for v in notes.values():
            nums.update(v[:12])
        nums.update(rng.sample(sorted(d.num for d in a.demands), 40))
        expected = {"demands_a": len(a.demands), "demands_b": len(b.demands), "exp_a": exp_a,
                    "exp_b": exp_b, "nums": sorted(nums)}
        os.makedirs(cache, exist_ok=True)
        for obj, pth in ((a, pa), (b, pb), (None, pj)):
            tmp = pth + ".%d" % os.getpid()
            with open(tmp, "wb") as f:
                if obj is None:
                    f.write(json.dumps(expected).encode())
                else:
                    f.write(ms.make_archive(ms.export_members(obj, parts=2, style=ms.Style(indent=None))))
            os.replace(tmp, pth)
    with open(pj, "rb") as f:
        big = json.loads(f.read())
    big["exp_a"] = [tuple(t) for t in big["exp_a"]]
    big["exp_b"] = [tuple(t) for t in big["exp_b"]]
    ctx.log("big archives: %d and %d demands, %d / %d bytes (%.1fs, cache %s)" % (
        big["demands_a"], big["demands_b"], os.path.getsize(pa), os.path.getsize(pb), time.time() - t0, cache))
    return big, pa, pb


FIRST_KILL_TRIES = 6  # a first run that beat its kill is started again with half the delay


def one_killed_run(ctx, store, archive, delay, stdin):
    """Starts ingest and SIGKILLs it after `delay` seconds; returns True if it finished before."""
    args = [ctx.snesync, "ingest", "--store", store, "-" if stdin else archive]
    fin = open(archive, "rb") if stdin else subprocess.DEVNULL
    pr = subprocess.Popen(args, stdin=fin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ctx.tmp)
    try:
        pr.wait(timeout=delay)
        finished = True
        ctx.log("  run finished (exit %d) before the kill at %.2fs" % (pr.returncode, delay))
    except subprocess.TimeoutExpired:
        pr.send_signal(signal.SIGKILL)
        pr.wait()
        finished = False
        ctx.log("  run killed after %.2fs" % delay)
    pr.stderr.close()
    if stdin:
        fin.close()
    return finished


def killed_runs(ctx, store, archive, rng, kills, span, reset, stdin=False):
    """Starts ingest and SIGKILLs it after random delays, `kills` times; then runs it to the end.
    The first run does all the work, so its kill is drawn well inside `span` (the uninterrupted
    run's time); on a loaded machine that time swings, so a first run that finishes before its kill
    is not counted: `reset()` puts the store back as it was and the run starts again with half the
    delay. Later runs resume and may finish sooner than any delay."""
    delay = rng.uniform(0.1, 0.6) * span
    for _ in range(FIRST_KILL_TRIES):
        if not one_killed_run(ctx, store, archive, delay, stdin):
            break
        reset()
        delay /= 2
    else:
        ctx.check(False, "the first run was killed before it finished", "killed", "finished every time")
        return
    for _ in range(kills - 1):
        one_killed_run(ctx, store, archive, rng.uniform(0.02, span), stdin)
    if stdin:
        with open(archive, "rb") as f:
            p = subprocess.run([ctx.snesync, "ingest", "--store", store, "--json", "-"], stdin=f,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ctx.tmp, timeout=300)
    else:
        p = ctx.run(["ingest", "--store", store, "--json", archive], timeout=300)
    ctx.eq("the run after the kills exits 0", 0, p.returncode)
    if p.returncode:
        ctx.log("    stderr: %s" % p.stderr.decode("utf-8", "replace")[:500])


def remove_store(store):
    shutil.rmtree(store, ignore_errors=True)
    shutil.rmtree(store + ".creating", ignore_errors=True)


def copy_of(base, store):
    """A reset() that puts `store` back to a copy of `base`."""
    def reset():
        remove_store(store)
        shutil.copytree(base, store)
    return reset


def timed_ingest(ctx, store, archive):
    t0 = time.time()
    ctx.ingest(store, archive, what="uninterrupted ingest of %s" % os.path.basename(archive))
    return time.time() - t0


def t_kill_fresh(ctx):
    big, pa, pb = big_scenario(ctx)
    rng = random.Random(ctx.seed)
    ref = ctx.store("ref")
    span = timed_ingest(ctx, ref, pa)
    nums = big["nums"]
    want = snapshot(ctx, ref, nums)
    check_changes(ctx, "uninterrupted first load of %d demands" % big["demands_a"], big["exp_a"],
                  [json.loads(l) for l in want["changes"]])
    ctx.log("SIGKILL at random delays within %.2fs (seed %d); then show of %d demands and the whole log compared"
            % (span, ctx.seed, len(nums)))
    store = ctx.store("killed")
    killed_runs(ctx, store, pa, rng, 4, span, lambda: remove_store(store))
    compare_snapshots(ctx, "killed first load vs uninterrupted", want, snapshot(ctx, store, nums))
    ctx.log("the same archive through standard input (ingest -), killed twice then run to the end")
    store2 = ctx.store("stdin")
    killed_runs(ctx, store2, pa, rng, 2, span, lambda: remove_store(store2), stdin=True)
    compare_snapshots(ctx, "stdin first load vs uninterrupted", want, snapshot(ctx, store2, nums))


def t_kill_older(ctx):
    big, pa, pb = big_scenario(ctx)
    rng = random.Random(ctx.seed)
    ref = ctx.store("ref")
    timed_ingest(ctx, ref, pa)
    base = ctx.store("base")
    shutil.copytree(ref, base)
    last = ctx.last_seq(ref)
    span = timed_ingest(ctx, ref, pb)
    nums = big["nums"]
    want = snapshot(ctx, ref, nums)
    check_changes(ctx, "uninterrupted later snapshot", big["exp_b"],
                  [json.loads(l) for l in want["changes"][last:]])
    ctx.log("SIGKILL at random delays within %.2fs (seed %d); then show of %d demands and the whole log compared"
            % (span, ctx.seed, len(nums)))
    store = ctx.store("killed")
    shutil.copytree(base, store)
    killed_runs(ctx, store, pb, rng, 4, span, copy_of(base, store))
    compare_snapshots(ctx, "killed later snapshot vs uninterrupted", want, snapshot(ctx, store, nums))
    store2 = ctx.store("stdin")
    shutil.copytree(base, store2)
    ctx.log("the later snapshot through standard input, killed twice then run to the end")
    killed_runs(ctx, store2, pb, rng, 2, span, copy_of(base, store2), stdin=True)
    compare_snapshots(ctx, "stdin later snapshot vs uninterrupted", want, snapshot(ctx, store2, nums))


# ---------------------------------------------------------------------------------------------
# 7. Summary, change paging, prune, concurrent writers


def t_json_summary(ctx):
    sc = scenario()
    store = ctx.store()
    raw = archive_of(sc["initial"], parts=2)
    path = ctx.write(raw)
    members = ms.export_members(sc["initial"], parts=2)
    p = ctx.ingest(store, path, "--json", "--sha256", hashlib.sha256(raw).hexdigest(), "--size", str(len(raw)))
    try:
        s = json.loads(p.stdout.decode("utf-8"))
    except ValueError:
        ctx.check(False, "--json prints one JSON object", "JSON", p.stdout[:300])
        return
    n_items = sum(len(d.keyed()) for d in sc["initial"].demands)
    want = {"export": sc["initial"].numero, "dateExport": sc["initial"].date, "resumed": False, "parts": 2,
            "demands": len(sc["initial"].demands), "creates": n_items, "updates": 0, "deletes": 0,
            "unchanged": 0, "demandsSwept": 0, "archiveBytes": len(raw),
            "xmlBytes": sum(len(d) for _, d in members), "sha256": hashlib.sha256(raw).hexdigest()}
    for k, v in want.items():
        ctx.eq("summary %s" % k, v, s.get(k))
    ctx.check(isinstance(s.get("seconds"), (int, float)), "summary seconds is a number", "number", s.get("seconds"))
    model = ms.Model()
    model.apply(sc["initial"])
    exp, _ = model_changes(model, sc["next"])
    ops = collections.Counter(t[0] for t in exp)
    n_next = sum(len(d.keyed()) for d in sc["next"].demands)
    p = ctx.ingest(store, ctx.write(archive_of(sc["next"])), "--json")
    s = json.loads(p.stdout.decode("utf-8") or "{}")
    for k, v in (("creates", ops["create"]), ("updates", ops["update"]), ("deletes", ops["delete"]),
                 ("unchanged", n_next - ops["create"] - ops["update"]),
                 ("demandsSwept", len(sc["notes"]["removed"])), ("demands", len(sc["next"].demands))):
        ctx.eq("next summary %s" % k, v, s.get(k))
    p = ctx.ingest(store, "-", "--json", stdin=archive_of(sc["next"]), what="ingest - (stdin) of the same snapshot")
    s = json.loads(p.stdout.decode("utf-8") or "{}")
    ctx.eq("stdin summary: unchanged, nothing else", (n_next, 0, 0, 0),
           (s.get("unchanged"), s.get("creates"), s.get("updates"), s.get("deletes")))
    p = ctx.run(["ingest", "--store", store, "--bogus-option", path])
    ctx.eq("an unknown option exits 2", 2, p.returncode)
    p = ctx.run(["ingest", "--store", store, ctx.path("does-not-exist.tar.gz")])
    ctx.check(p.returncode not in (0, 5) and "does-not-exist" in p.stderr.decode("utf-8", "replace"),
              "a missing archive fails naming the file", "non-zero + file name",
              "%d %s" % (p.returncode, p.stderr.decode("utf-8", "replace").strip()))


def t_changes_paging(ctx):
    sc = scenario()
    store, model = loaded(ctx, sc)
    model.apply(sc["next"])
    ctx.ingest(store, ctx.write(archive_of(sc["next"])))
    lines, allc = ctx.changes(store, 0)
    n = len(lines)
    ctx.eq("seq runs 1..%d" % n, list(range(1, n + 1)), [c.get("seq") for c in allc])
    for since, limit in ((0, 1), (1, 10), (37, 100), (n - 5, 3), (n - 1, 10), (n, 10), (250, None)):
        got, _ = ctx.changes(store, since, limit)
        want = lines[since:] if limit is None else lines[since:since + limit]
        ctx.eq("changes --since %d --limit %s" % (since, limit), want, got)
    paged, since = [], 0
    while True:
        got, parsed = ctx.changes(store, since, 97)
        if not got:
            break
        paged += got
        since = parsed[-1]["seq"]
    ctx.eq("paging by 97 reproduces the whole log", lines, paged)
    p = ctx.run(["changes", "--store", store, "--since", str(n + 100), "--limit", "5"])
    ctx.eq("changes --since %d (past the last seq) exits 8" % (n + 100), 8, p.returncode)
    p = ctx.run(["changes", "--store", store, "--since", "abc"])
    ctx.eq("changes --since abc exits 2", 2, p.returncode)


def t_prune(ctx):
    sc = scenario()
    store, model = loaded(ctx, sc)
    ctx.ingest(store, ctx.write(archive_of(sc["next"])))
    lines, _ = ctx.changes(store, 0)
    n = len(lines)
    k = n // 2
    p = ctx.run(["prune", "--store", store, "--upto", str(k)])
    ctx.eq("prune --upto %d exits 0" % k, 0, p.returncode)
    got, _ = ctx.changes(store, k)
    ctx.eq("after prune, changes --since %d gives the rest" % k, lines[k:], got)
    st = ctx.stats(store)
    ctx.eq("stats after prune: changesHeld, lastSeq", (n - k, n), (st.get("changesHeld"), st.get("lastSeq")))
    p = ctx.run(["prune", "--store", store, "--upto", str(k)])
    ctx.eq("prune again exits 0", 0, p.returncode)
    ctx.eq("prune again changes nothing", lines[k:], ctx.changes(store, k)[0])
    model.apply(sc["next"])
    drm = ms.Export("X20261129D0001", ms.DATE_DRM, [d.copy() for d in sc["next"].demands[2:]], entities=["DRM"])
    exp, _ = model_changes(model, drm)
    ctx.ingest(store, ctx.write(archive_of(drm)))
    _, got = ctx.changes(store, n)
    ctx.eq("after prune, new changes continue at seq %d" % (n + 1), list(range(n + 1, n + 1 + len(exp))),
           [c.get("seq") for c in got])
    check_changes(ctx, "DRM export after prune", exp, got)
    p = ctx.run(["prune", "--store", store, "--upto", str(n + len(exp))])
    ctx.eq("prune of everything exits 0", 0, p.returncode)
    ctx.eq("nothing left", [], ctx.changes(store, n + len(exp))[0])
    ctx.eq("stats lastSeq kept", n + len(exp), ctx.stats(store).get("lastSeq"))
    p = ctx.run(["prune", "--store", store])
    ctx.eq("prune without --upto exits 2", 2, p.returncode)


def holds_lock(pid, path, timeout):
    """True once process `pid` holds a lock on `path` (per /proc/locks), within `timeout` s."""
    ino = os.stat(path).st_ino
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open("/proc/locks") as f:
            for line in f:
                fields = line.split()
                # "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"
                if len(fields) >= 6 and fields[4] == str(pid) and fields[5].split(":")[-1] == str(ino):
                    return True
        time.sleep(0.01)
    return False


def t_concurrent_writers(ctx):
    sc = scenario()
    store, model = loaded(ctx, sc)
    raw = archive_of(sc["next"])
    ctx.log("first writer: ingest - fed half the archive, then held open")
    pr = subprocess.Popen([ctx.snesync, "ingest", "--store", store, "-"], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ctx.tmp)
    try:
        pr.stdin.write(raw[:len(raw) // 2])
        pr.stdin.flush()
        # Probing with another writer before the first holds the lock would make the *first* one
        # the refused writer: wait until /proc/locks shows it holding the store's lock file.
        ctx.check(holds_lock(pr.pid, os.path.join(ctx.tmp, store, "writer.lock"), 20),
                  "the first writer takes the store's lock", "lock held", "not within 20s")
        busy = None
        deadline = time.time() + 20
        while time.time() < deadline:  # poll: a writer command that changes nothing
            q = ctx.run(["prune", "--store", store, "--upto", "0"])
            if q.returncode == 5:
                busy = q
                break
        ctx.check(busy is not None, "while the first writer runs, another writer gets exit 5", 5,
                  "no exit 5 within 20s")
        p = ctx.run(["ingest", "--store", store, ctx.write(archive_of(sc["initial"]))])
        err = p.stderr.decode("utf-8", "replace").strip()
        ctx.eq("second ingest exits 5 (store busy)", 5, p.returncode)
        ctx.check("busy" in err.lower() or "another" in err.lower() or "lock" in err.lower(),
                  "its message says the store is busy", "busy/another writer", err)
        q = ctx.run(["stats", "--store", store, "--json"])
        ctx.eq("a reader (stats) works meanwhile", 0, q.returncode)
        q = ctx.run(["changes", "--store", store, "--since", "0", "--limit", "1"])
        ctx.eq("a reader (changes) works meanwhile", 0, q.returncode)
        pr.stdin.write(raw[len(raw) // 2:])
        pr.stdin.close()
        pr.wait(timeout=120)
    finally:
        if pr.poll() is None:
            pr.kill()
            pr.wait()
    ctx.eq("the first writer then completes", 0, pr.returncode)
    last = len(ctx.changes(store, 0)[0])
    exp, _ = model_changes(model, sc["next"])
    _, got = ctx.changes(store, 0)
    check_changes(ctx, "first writer's changes", exp, got[-len(exp):] if exp else [])
    p = ctx.run(["prune", "--store", store, "--upto", "0"])
    ctx.eq("after it ends, a writer gets in", 0, p.returncode)


# ---------------------------------------------------------------------------------------------
# 8. Edges: the input named, stores that are not there or half made, cursors, exit statuses


def _err(p):
    return p.stderr.decode("utf-8", "replace").strip()


def t_ingest_names_input(ctx):
    """An ingest names its archive: none is a usage error that touches nothing (no sample is
    applied by default); `-` with an empty standard input is a bad export that deletes nothing."""
    sc = scenario()
    store, model = loaded(ctx, sc)
    nums = set(model.demands)
    before = snapshot(ctx, store, nums)
    for label, stdin in (("no archive", None), ("no archive and an empty standard input", b"")):
        p = ctx.run(["ingest", "--store", store], stdin=stdin)
        ctx.eq("ingest with %s exits 2 (usage)" % label, 2, p.returncode)
        ctx.check("archive" in _err(p), "its message asks for an archive", "...archive...", _err(p))
    ctx.ingest(store, "-", stdin=b"", expect=3, what="ingest - with an empty standard input")
    compare_snapshots(ctx, "after the ingests without input", before, snapshot(ctx, store, nums))
    fresh = ctx.store("fresh")
    p = ctx.run(["ingest", "--store", fresh], stdin=b"")
    ctx.eq("ingest with no archive, into a new store, exits 2", 2, p.returncode)
    ctx.check(not os.path.exists(fresh) and not os.path.exists(fresh + ".creating"), "... and creates nothing",
              "no store", sorted(os.listdir(ctx.tmp)))


def t_cursor_range(ctx):
    """A consumer's cursor below the first seq held - 1 (changes pruned under it) or past the last
    seq (a store rebuilt under it) is refused with exit 8, naming the range; stats shows both ends
    and the store's identity, also once everything is pruned."""
    sc = scenario()
    store, _ = loaded(ctx, sc)
    ident = ctx.stats(store).get("storeId")
    ctx.check(isinstance(ident, str) and len(ident) == 32 and all(c in "0123456789abcdef" for c in ident),
              "stats: storeId is 32 hex digits", "32 hex digits", ident)
    ctx.ingest(store, ctx.write(archive_of(sc["next"])))
    lines, _ = ctx.changes(store, 0)
    n = len(lines)
    k = n // 2
    st = ctx.stats(store)
    ctx.eq("stats of an unpruned log: storeId kept, firstSeq 1, lastSeq %d" % n, (ident, 1, n),
           (st.get("storeId"), st.get("firstSeq"), st.get("lastSeq")))

    def refused(since, needle):
        p = ctx.run(["changes", "--store", store, "--since", str(since)])
        ctx.eq("changes --since %d exits 8 (cursor out of range)" % since, 8, p.returncode)
        ctx.check(needle in _err(p), "... saying %r" % needle, needle, _err(p))
        ctx.eq("... and prints no change", b"", p.stdout)

    p = ctx.run(["prune", "--store", store, "--upto", str(k)])
    ctx.eq("prune --upto %d exits 0" % k, 0, p.returncode)
    refused(0, "the first held is %d" % (k + 1))
    refused(k - 1, "the first held is %d" % (k + 1))
    ctx.eq("changes --since %d (the first held - 1) gives the rest" % k, lines[k:], ctx.changes(store, k)[0])
    ctx.eq("changes --since %d (the last seq) gives nothing" % n, [], ctx.changes(store, n)[0])
    refused(n + 1, "the last seq %d" % n)
    refused(n + 1000, ident)
    st = ctx.stats(store)
    ctx.eq("stats after prune --upto %d: firstSeq, lastSeq, changesHeld" % k, (k + 1, n, n - k),
           (st.get("firstSeq"), st.get("lastSeq"), st.get("changesHeld")))
    p = ctx.run(["prune", "--store", store, "--upto", str(n + 50)])
    ctx.eq("prune of everything (--upto past the last seq) exits 0", 0, p.returncode)
    st = ctx.stats(store)
    ctx.eq("stats with nothing held: firstSeq = lastSeq + 1, changesHeld 0, same storeId",
           (n + 1, n, 0, ident), (st.get("firstSeq"), st.get("lastSeq"), st.get("changesHeld"), st.get("storeId")))
    ctx.eq("changes --since %d (the last seq) still exits 0, with nothing" % n, [], ctx.changes(store, n)[0])
    refused(n - 1, "the first held is %d" % (n + 1))
    refused(n + 1, "the last seq %d" % n)
    text = ctx.run(["stats", "--store", store]).stdout.decode("utf-8")
    ctx.check(ident in text and "first seq %d, last seq %d" % (n + 1, n) in text,
              "stats (text) shows the identity and both ends of the log", "identity, first/last seq", text)
    rebuilt, _ = loaded(ctx, sc, ctx.store("rebuilt"))
    other = ctx.stats(rebuilt).get("storeId")
    ctx.check(isinstance(other, str) and len(other) == 32 and other != ident,
              "a store rebuilt from the same export has another identity", "not " + ident, other)


def t_no_store(ctx):
    """prune, stats, changes and show of a store that is not there say "no store at DIR" (exit 2)
    and create nothing; an empty directory is no store either, and stays empty."""
    missing = ctx.store("missing")
    empty = ctx.path("empty")
    os.mkdir(empty)
    commands = (["prune", "--upto", "1"], ["stats"], ["changes", "--since", "0"],
                ["show", "0380000000001G1226"])
    for where, label in ((missing, "a missing store"), (empty, "an empty directory")):
        for c in commands:
            p = ctx.run([c[0], "--store", where] + c[1:])
            ctx.eq("%s of %s exits 2" % (c[0], label), 2, p.returncode)
            ctx.check("no store at %s" % where in _err(p), "... saying \"no store at DIR\"", "no store at " + where,
                      _err(p))
    ctx.eq("no store was created", ["empty"], sorted(os.listdir(ctx.tmp)))
    ctx.eq("the empty directory stays empty", [], os.listdir(empty))


def _unprivileged():
    """A preexec_fn that runs a command as nobody when the tests run as root (for whom file
    permissions do not apply), else None."""
    if os.geteuid() != 0:
        return None

    def drop():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    return drop


def _ingest_cut_by_eio(ctx, store, data):
    """`ingest -` reading from a terminal that hangs up after `data`: its next read fails with EIO,
    as a failing disk would fail it, in the middle of the archive."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    p = subprocess.Popen([ctx.snesync, "ingest", "--store", store, "-"], stdin=master,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ctx.tmp)
    os.close(master)
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(slave, view[:65536]):]
    except OSError:  # the ingest stopped reading
        pass
    os.close(slave)
    out, err = p.communicate(timeout=120)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def t_exit_statuses(ctx):
    """Exit statuses true to the table: an archive that cannot be opened is a usage error (2); a
    read error in the middle of it (EIO), or a store that permissions keep out, is 6; a demand not
    in the store is 9. Each message names the path and the reason; nothing is deleted."""
    sc = scenario(60)
    store, model = loaded(ctx, sc)
    nums = set(model.demands)
    before = snapshot(ctx, store, nums)

    def status(args, want, label, needles=(), preexec=None):
        p = subprocess.run([ctx.snesync] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, cwd=ctx.tmp, timeout=120, preexec_fn=preexec)
        ctx.eq("%s exits %d" % (label, want), want, p.returncode)
        for n in needles:
            ctx.check(n in _err(p), "... naming %r" % n, n, _err(p))
        return p

    missing = ctx.path("does-not-exist.tar.gz")
    for cmd in ("ingest", "validate"):
        status([cmd, "--store", store, missing], 2, "%s of a missing archive" % cmd,
               (missing, "No such file or directory"))
    status(["ingest", "--store", store, ctx.tmp], 2, "ingest of a directory", (ctx.tmp, "Is a directory"))
    p = _ingest_cut_by_eio(ctx, store, archive_of(sc["next"])[:-4096])
    ctx.eq("ingest whose input fails with EIO in the middle exits 6", 6, p.returncode)
    ctx.check("EXPORT_" in _err(p) and "Input/output error" in _err(p),
              "... naming the member being read and the error", "EXPORT_...: Input/output error", _err(p))
    status(["show", "--store", store, "0000000000000Z0000"], 9, "show of a demand not in the store",
           ("0000000000000Z0000", "not in the store"))
    compare_snapshots(ctx, "after the failures", before, snapshot(ctx, store, nums))

    ctx.log("permissions, as %s" % ("nobody" if os.geteuid() == 0 else "this user"))
    drop = _unprivileged()
    os.chmod(ctx.tmp, 0o711)  # nobody may reach the paths below, and no more
    secret = ctx.write(archive_of(sc["next"]), "secret.tar.gz")
    os.chmod(secret, 0)
    status(["ingest", "--store", ctx.store("mine"), secret], 2, "ingest of an archive it may not read",
           (secret, "Permission denied"), drop)
    readable = ctx.write(archive_of(sc["next"]), "readable.tar.gz")
    locked = ctx.path("locked")
    os.mkdir(locked, 0o555)
    where = os.path.join(locked, "store")
    status(["ingest", "--store", where, readable], 6, "ingest into a store it may not create",
           (where, "Permission denied"), drop)
    shut = ctx.path("shut")
    os.mkdir(shut)
    shutil.copytree(store, os.path.join(shut, "store"))
    os.chmod(shut, 0o600)  # not searchable: the store inside cannot even be looked at
    where = os.path.join(shut, "store")
    for args in (["stats"], ["changes", "--since", "0"], ["prune", "--upto", "1"], ["ingest", readable]):
        status([args[0], "--store", where] + args[1:], 6, "%s of a store it may not open" % args[0],
               (where, "Permission denied"), drop)
    os.chmod(shut, 0o700)
    ctx.eq("that store is untouched", before["changes"], ctx.changes(os.path.join(shut, "store"), 0)[0])
    for p in (locked, shut):
        os.chmod(p, 0o700)


def t_creation_killed(ctx):
    """kill -9 of an ingest into a new store at random instants around the store's creation: the
    store then opens, or is not there ("no store at", exit 2), never half made; the next ingest
    completes it, and no DIR.creating is left. The kill delays follow the creation's instant
    whatever the machine's load: a kill that finds the store made brings the next ones earlier,
    one that finds nothing made takes them later."""
    rng = random.Random(ctx.seed)
    path = ctx.write(archive_of(scenario()["initial"]))
    kills = 100

    def start(d):
        return subprocess.Popen([ctx.snesync, "ingest", "--store", d, "-"], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ctx.tmp)

    # A first guess of the creation's instant: when the store appears for an ingest that then
    # waits for its input.
    d = ctx.store("probe")
    t0 = time.time()
    pr = start(d)
    while not os.path.exists(d) and pr.poll() is None:
        pass
    center = time.time() - t0
    pr.stdin.close()
    pr.wait()
    ctx.check(os.path.exists(d), "probe: the ingest creates its store, then waits for input", "a store",
              "exit %s" % pr.returncode) or _raise()
    ctx.log("the store appears %.1f ms after the start; %d kills around that (seed %d)"
            % (center * 1000, kills, ctx.seed))
    seen = collections.Counter()
    for i in range(kills):
        d = ctx.store("k%03d" % i)
        delay = center * rng.uniform(0.8, 1.2)
        pr = start(d)
        time.sleep(delay)  # the kill point itself
        pr.kill()
        pr.wait()
        pr.stdin.close()
        p = ctx.run(["stats", "--store", d])
        if os.path.exists(d):
            when, ok = "after the store was made", p.returncode == 0
            center *= 0.9
        else:
            ok = p.returncode == 2 and "no store at" in _err(p)
            if os.path.exists(d + ".creating"):
                when = "during the creation (DIR.creating left)"
            else:
                when = "before the creation"
                center *= 1.1
        seen[when] += 1
        if not ctx.check(ok, "kill %d after %.2f ms (%s): stats opens the store or says there is none"
                         % (i, delay * 1000, when), "0, or 2 with \"no store at\"",
                         "%d: %s" % (p.returncode, _err(p))):
            break
        q = ctx.run(["ingest", "--store", d, path])
        if not ctx.check(q.returncode == 0 and not os.path.exists(d + ".creating"),
                         "kill %d: the next ingest completes the store and leaves no DIR.creating" % i,
                         0, "%d: %s" % (q.returncode, _err(q))):
            break
    ctx.log("kills: %s" % dict(seen))
    ctx.check(seen["during the creation (DIR.creating left)"] > 0, "some kills landed during the creation",
              "> 0", dict(seen))


def t_concurrent_creators(ctx):
    """Ingests racing to create the same store: each applies the export (0) or is refused as busy
    (5); the store holds the export's changes once, and no DIR.creating is left."""
    sc = scenario()
    path = ctx.write(archive_of(sc["initial"]))
    exp, _ = model_changes(ms.Model(), sc["initial"])
    for r in range(20):
        d = ctx.store("race-%d" % r)
        procs = [subprocess.Popen([ctx.snesync, "ingest", "--store", d, path], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, cwd=ctx.tmp) for _ in range(4)]
        out = [(pr.wait(timeout=120), pr.stderr.read().decode("utf-8", "replace").strip()) for pr in procs]
        for pr in procs:
            pr.stderr.close()
        ok = all(rc == 0 or rc == 5 and "snesync process" in e for rc, e in out)
        ctx.check(ok and any(rc == 0 for rc, _ in out),
                  "round %d: 4 racing creators exit 0 or 5 (busy), one at least 0" % r, "0 or 5", out)
        ctx.check(not os.path.exists(d + ".creating"), "round %d: no DIR.creating left" % r, "none", "left")
        _, got = ctx.changes(d, 0)
        ctx.eq("round %d: the export's changes, once" % r, len(exp), len(got))


# ---------------------------------------------------------------------------------------------
# Driver

TESTS = collections.OrderedDict()
TESTS["first_load"] = t_first_load
TESTS["bundled_sample"] = t_bundled_sample
for _v in EQUIV:
    TESTS["equivalent_" + _v] = (lambda v: (lambda ctx: t_equivalent(ctx, v)))(_v)
TESTS["next_snapshot"] = t_next_snapshot
TESTS["forward_compatible_elements"] = t_forward_compat
TESTS["scope_drm_only"] = t_scope_drm
TESTS["drm_depth_2_without_period"] = t_drm_depth_without_period
TESTS["drm_depth_1_between_syncs"] = t_drm_depth_1_between_syncs
TESTS["drm_period_invalid"] = t_drm_period_invalid
TESTS["scope_department_38"] = lambda ctx: t_scope_department(ctx, "38")
TESTS["scope_department_974"] = lambda ctx: t_scope_department(ctx, "974")
TESTS["scope_communes"] = t_scope_communes
TESTS["scope_radiees"] = t_scope_radiees
TESTS["stale_export"] = t_stale
for _c in BAD_CASES:
    TESTS["bad_" + _c] = (lambda c: (lambda ctx: t_bad(ctx, c)))(_c)
TESTS["kill_rerun_fresh"] = t_kill_fresh
TESTS["kill_rerun_older"] = t_kill_older
TESTS["json_summary"] = t_json_summary
TESTS["changes_since_limit"] = t_changes_paging
TESTS["prune"] = t_prune
TESTS["concurrent_writers"] = t_concurrent_writers
TESTS["ingest_names_its_input"] = t_ingest_names_input
TESTS["cursor_out_of_range"] = t_cursor_range
TESTS["no_store"] = t_no_store
TESTS["exit_statuses"] = t_exit_statuses
TESTS["creation_killed"] = t_creation_killed
TESTS["concurrent_creators"] = t_concurrent_creators


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--snesync", required=True)
    ap.add_argument("--test", action="append", default=[])
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directories")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--cache-dir", default=None, help="where generated big archives are kept (default: TMPDIR)")
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
        ctx = Ctx(snesync, tmp, seed, a.cache_dir)
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
