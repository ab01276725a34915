#!/usr/bin/python3
"""peer_import.py: the importer an integrator typically writes instead of snesync (bench peer).

    peer_import.py --db FILE.sqlite ARCHIVE.tar.gz

Streams the export archive (tarfile streaming mode, gzip), parses every XML member with lxml
iterparse, canonicalises each entity item (exclusive C14N of the element, blank text dropped at
parse time), hashes it (blake2b-128), and upserts it into SQLite: one row per entity item keyed by
(numUnique, entity, key), WAL mode, one transaction per 2000 demands, executemany for the writes.
Per batch it reads the hashes held for the batch's demands in one query, so an unchanged item
costs a hash comparison and no write; items held for a seen demand but absent from it are
deleted at once; demands held but absent from the export lose the requested entities in a final
sweep (a `demand` table remembers the run that last saw each demand).

It is honest and reasonably efficient (elements are cleared as soon as their demand is stored,
memory stays bounded), and deliberately simple where a real integrator would be: it handles a
national export (no department or commune scope), does not verify parts, counts or sha256, and
keeps no change log beyond the counts it prints as one JSON object at the end.

Needs Debian's python3-lxml (apt-get install python3-lxml).
"""
import argparse
import hashlib
import json
import sqlite3
import sys
import tarfile
import time

from lxml import etree

NS = "http://nuu.application.i2/"
Q = "{%s}" % NS

# entity code, block element under <demande>, item element, key child ("" = single item);
# the same table as schema/entities.def, written out as an integrator would.
ENTITIES = [
    ("CERFA", "cerfa", "cerfa", ""),
    ("DALO", "dalo", "dalo", ""),
    ("EVT", "listeEvenement", "evenement", "idEvenement"),
    ("CONT", "listeContingent", "contingent", "idContingent"),
    ("ATTRIB", "listeAttribution", "attribution", "idAttribution"),
    ("PRIO", "listePriorite", "priorite", "idPriorite"),
    ("COTA", "listeCotation", "cotation", "epci"),
    ("PJ", "listePieceJustificative", "pieceJustificative", "idPiece"),
    ("DRM", "listeMoisDrm", "moisDrm", "periode"),
]
BY_BLOCK = {Q + blk: (code, Q + item, Q + key if key else "") for code, blk, item, key in ENTITIES}
BATCH = 2000

SCHEMA = """
CREATE TABLE IF NOT EXISTS item (
    num TEXT NOT NULL, entity TEXT NOT NULL, key TEXT NOT NULL,
    hash BLOB NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (num, entity, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS demand (
    num TEXT PRIMARY KEY, etat TEXT, modified TEXT, run INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS run (id INTEGER PRIMARY KEY, export TEXT, started REAL);
"""


def items_of(demande):
    """Yields (entity, key, canonical bytes) for every entity item of one <demande>."""
    for child in demande:
        spec = BY_BLOCK.get(child.tag)
        if spec is None:
            continue
        code, item_tag, key_tag = spec
        if not key_tag:
            yield code, "", etree.tostring(child, method="c14n", exclusive=True)
            continue
        for it in child.iterchildren(item_tag):
            k = it.findtext(key_tag)
            yield code, (k or "").strip(), etree.tostring(it, method="c14n", exclusive=True)


class Importer:
    def __init__(self, db):
        self.db = sqlite3.connect(db, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA cache_size=-65536")
        self.db.executescript(SCHEMA)
        self.run = self.db.execute("INSERT INTO run(export, started) VALUES('', ?)",
                                   (time.time(),)).lastrowid
        self.entities = None
        self.pending = []  # (num, etat, modified, [(entity, key, hash, body)])
        self.counts = dict(demands=0, creates=0, updates=0, deletes=0, unchanged=0, swept=0)

    def add(self, num, etat, modified, items):
        self.pending.append((num, etat, modified, items))
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self):
        if not self.pending:
            return
        db = self.db
        nums = [p[0] for p in self.pending]
        held = {}
        for i in range(0, len(nums), 500):
            part = nums[i:i + 500]
            q = "SELECT num, entity, key, hash FROM item WHERE num IN (%s)" % ",".join("?" * len(part))
            for num, ent, key, h in db.execute(q, part):
                held.setdefault(num, {})[(ent, key)] = h
        ins, upd, dele = [], [], []
        for num, etat, modified, items in self.pending:
            mine = held.get(num, {})
            seen = set()
            for ent, key, h, body in items:
                k = (ent, key)
                seen.add(k)
                old = mine.get(k)
                if old is None:
                    ins.append((num, ent, key, h, body))
                elif old != h:
                    upd.append((h, body, num, ent, key))
                else:
                    self.counts["unchanged"] += 1
            for k in mine:
                if k not in seen and k[0] in self.entities:
                    dele.append((num,) + k)
        db.execute("BEGIN")
        db.executemany("INSERT INTO item VALUES (?,?,?,?,?)", ins)
        db.executemany("UPDATE item SET hash=?, body=? WHERE num=? AND entity=? AND key=?", upd)
        db.executemany("DELETE FROM item WHERE num=? AND entity=? AND key=?", dele)
        db.executemany("INSERT INTO demand VALUES (?,?,?,?) ON CONFLICT(num) DO UPDATE SET "
                       "etat=excluded.etat, modified=excluded.modified, run=excluded.run",
                       [(p[0], p[1], p[2], self.run) for p in self.pending])
        db.execute("COMMIT")
        self.counts["creates"] += len(ins)
        self.counts["updates"] += len(upd)
        self.counts["deletes"] += len(dele)
        self.counts["demands"] += len(self.pending)
        self.pending = []

    def sweep(self):
        """Demands held but absent from this (complete, national) export lose the requested
        entities."""
        db = self.db
        ents = sorted(self.entities)
        marks = ",".join("?" * len(ents))
        db.execute("BEGIN")
        n = db.execute("DELETE FROM item WHERE entity IN (%s) AND num IN "
                       "(SELECT num FROM demand WHERE run <> ?)" % marks,
                       ents + [self.run]).rowcount
        self.counts["swept"] = db.execute("DELETE FROM demand WHERE run <> ?",
                                          (self.run,)).rowcount
        self.counts["deletes"] += n
        db.execute("COMMIT")

    def member(self, f):
        """Parses one XML member, streaming: each <demande> is processed and freed at its end."""
        head = Q + "entete"
        dem = Q + "demande"
        for _, el in etree.iterparse(f, events=("end",), tag=(head, dem),
                                     remove_blank_text=True, resolve_entities=False,
                                     no_network=True, huge_tree=True):
            if el.tag == dem:
                num = (el.findtext(Q + "numUnique") or "").strip()
                items = [(e, k, hashlib.blake2b(b, digest_size=16).digest(), b)
                         for e, k, b in items_of(el) if e in self.entities]
                self.add(num, el.findtext(Q + "etatDemande"),
                         el.findtext(Q + "dateDerniereModification"), items)
            else:
                ents = [e.text.strip() for e in el.iter(Q + "entite")]
                if self.entities is None:
                    self.entities = set(ents)
                    self.export = el.findtext(Q + "numeroExport")
            el.clear(keep_tail=False)
            parent = el.getparent()
            if parent is not None:
                while el.getprevious() is not None:
                    del parent[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("archive")
    a = ap.parse_args()
    t0 = time.time()
    imp = Importer(a.db)
    src = sys.stdin.buffer if a.archive == "-" else open(a.archive, "rb")
    with tarfile.open(fileobj=src, mode="r|gz") as tar:
        for m in tar:
            if m.isfile() and m.name.endswith(".xml"):
                imp.member(tar.extractfile(m))
    imp.flush()
    if imp.entities is None:
        sys.exit("peer_import: no <entete> in the archive")
    imp.sweep()
    imp.db.execute("UPDATE run SET export=? WHERE id=?", (imp.export, imp.run))
    imp.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    imp.db.close()
    out = dict(imp.counts, export=imp.export, seconds=round(time.time() - t0, 3))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
