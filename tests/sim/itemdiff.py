#!/usr/bin/env python3
"""itemdiff.py OLD.tar.gz NEW.tar.gz: the item-level changes between two export archives of all
nine entities, as `op<TAB>numUnique<TAB>entity<TAB>key` lines sorted bytewise (the format of
changes.tsv). Items are compared by key; an item is updated when its serialised XML differs.
Both archives must come from the same writer (the comparison is on bytes, not canonical form)."""
import sys
import tarfile
import xml.etree.ElementTree as ET

NS = "{http://nuu.application.i2/}"
ENTITIES = [
    ("CERFA", "cerfa", None, None),
    ("DALO", "dalo", None, None),
    ("EVT", "listeEvenement", "evenement", "idEvenement"),
    ("CONT", "listeContingent", "contingent", "idContingent"),
    ("ATTRIB", "listeAttribution", "attribution", "idAttribution"),
    ("PRIO", "listePriorite", "priorite", "idPriorite"),
    ("COTA", "listeCotation", "cotation", "epci"),
    ("PJ", "listePieceJustificative", "pieceJustificative", "idPiece"),
    ("DRM", "listeMoisDrm", "moisDrm", "periode"),
]


def blob(el):
    el.tail = None
    return ET.tostring(el)


def load(path):
    items = {}
    with tarfile.open(path, "r:gz") as tar:
        for m in tar:
            if not m.name.endswith(".xml"):
                continue
            for _, el in ET.iterparse(tar.extractfile(m)):
                if el.tag != NS + "demande":
                    continue
                num = el.find(NS + "numUnique").text
                for code, block, item, key in ENTITIES:
                    b = el.find(NS + block)
                    if b is None:
                        continue
                    if item is None:
                        items[(num, code, "")] = blob(b)
                    else:
                        for it in b.findall(NS + item):
                            k = it.find(NS + key).text.strip()
                            if (num, code, k) in items:
                                sys.exit("duplicate key %s %s %s" % (num, code, k))
                            items[(num, code, k)] = blob(it)
                el.clear()
    return items


def main():
    old, new = load(sys.argv[1]), load(sys.argv[2])
    out = []
    for k, v in old.items():
        if k not in new:
            out.append("delete\t%s\t%s\t%s" % k)
        elif new[k] != v:
            out.append("update\t%s\t%s\t%s" % k)
    for k in new:
        if k not in old:
            out.append("create\t%s\t%s\t%s" % k)
    out = sorted(line.encode() for line in out)
    sys.stdout.buffer.write(b"".join(line + b"\n" for line in out))


main()
