#!/usr/bin/env python3
"""Writes the synthetic seed corpora of the fuzz targets (corpus/seed-*): small export documents
shaped like the contract sample, tiny archives, canonical items. Deterministic: re-running it gives
the same files. All data is synthetic (taken from ../../../shared/contract/sample, itself synthetic).

usage: tests/fuzz/make_seeds.py   (from anywhere; writes next to this script)
"""
import gzip
import io
import os
import re
import tarfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "..", "..", "shared", "contract", "sample", "EXPORT_SAMPLE_001.xml")
NS = "http://nuu.application.i2/"


def out(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    assert len(data) < 65536, (name, len(data))
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


sample = open(SAMPLE, encoding="utf-8").read()
starts = [m.start() for m in re.finditer(r"  <ns1:demande>", sample)]
head = sample[: starts[0]]
foot = "  <ns1:pied>\n    <ns1:nombreDemandes>%d</ns1:nombreDemandes>\n  </ns1:pied>\n</ns1:exportNuu>\n"
demands = [sample[starts[i] : (starts[i + 1] if i + 1 < len(starts) else sample.index("  <ns1:pied>"))]
           for i in range(len(starts))]


def doc(ds, h=head):
    return h + "".join(ds) + foot % len(ds)


MINI_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<ns1:exportNuu versionInterface="13.34" xmlns:ns1="%s">'
    "<ns1:entete><ns1:numeroExport>F1</ns1:numeroExport>"
    "<ns1:dateExport>2026-10-31T02:00:00.000+01:00</ns1:dateExport><ns1:numGuichet>G1226</ns1:numGuichet>"
    "<ns1:partie>1</ns1:partie><ns1:nombreParties>1</ns1:nombreParties><ns1:perimetre><ns1:listeEntite>"
    "<ns1:entite>CERFA</ns1:entite><ns1:entite>EVT</ns1:entite><ns1:entite>DALO</ns1:entite></ns1:listeEntite>"
    "<ns1:etatDemande>ACTIVE</ns1:etatDemande>%s</ns1:perimetre></ns1:entete>" % (NS, "%s")
)
MINI_DEMAND = (
    "<ns1:demande><ns1:numUnique>0380000000001G1226</ns1:numUnique><ns1:etatDemande>ACTIVE</ns1:etatDemande>"
    "<ns1:dateDerniereModification>2026-10-14T15:12:00.000+01:00</ns1:dateDerniereModification>"
    "<ns1:cerfa><ns1:numGuichet>G1226</ns1:numGuichet><ns1:logementRecherche><ns1:listeLocalisationSouhaitee>"
    '<ns1:localisationSouhaitee><ns1:commune code="38185"/></ns1:localisationSouhaitee>'
    "</ns1:listeLocalisationSouhaitee></ns1:logementRecherche></ns1:cerfa>"
    "<ns1:listeEvenement><ns1:evenement><ns1:idEvenement>E2</ns1:idEvenement>"
    '<ns1:typeEvenement code="VISITE"/></ns1:evenement><ns1:evenement><ns1:idEvenement>E1</ns1:idEvenement>'
    '<ns1:typeEvenement code="RECTIF"/></ns1:evenement></ns1:listeEvenement></ns1:demande>'
)
MINI_FOOT = "<ns1:pied><ns1:nombreDemandes>%d</ns1:nombreDemandes></ns1:pied></ns1:exportNuu>"


def mini(n=1, loc="", demand=MINI_DEMAND, foot_count=None):
    return (MINI_HEAD % loc) + demand * n + MINI_FOOT % (n if foot_count is None else foot_count)


# --- parser: byte 0 seeds the chunk sizes, the rest is the document --------------------------------
docs = {
    "sample-2-demands.xml": doc(demands[:2]),
    "sample-last-demand.xml": doc(demands[-1:]),
    "mini.xml": mini(),
    "mini-3.xml": mini(3),
    "mini-dep.xml": mini(1, "<ns1:listeDepartement><ns1:departement>38</ns1:departement>"
                            "<ns1:departement>974</ns1:departement></ns1:listeDepartement>"),
    "mini-communes.xml": mini(1, "<ns1:listeCommune><ns1:commune>38185</ns1:commune></ns1:listeCommune>"),
    "mini-badcount.xml": mini(2, foot_count=3),
    "mini-empty.xml": mini(0),
    "mini-nodata.xml": mini(1, demand=MINI_DEMAND.split("<ns1:cerfa>")[0] + "</ns1:demande>"),
    "default-ns.xml": mini().replace("ns1:", "").replace("xmlns:ns1", "xmlns"),
    "cdata-refs-comments.xml": mini().replace(
        "<ns1:numGuichet>G1226</ns1:numGuichet><ns1:logement",
        "<!-- c --><?pi x?><ns1:numGuichet><![CDATA[G12]]>&#x32;&#54;</ns1:numGuichet><ns1:logement"),
    "foreign-ns.xml": mini().replace(
        "<ns1:cerfa>", '<ns1:cerfa><x:ext xmlns:x="urn:other" x:a="1"><x:y>z</x:y></x:ext>'
                       '<ns1:nouveau attr="v">future</ns1:nouveau>'),
    "dtd.xml": mini().replace('<?xml version="1.0" encoding="UTF-8"?>\n',
                              '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e "boom">]>\n'),
    "truncated.xml": mini()[:-40],
    "dup-keys.xml": mini().replace("E1</ns1:idEvenement>", "E2</ns1:idEvenement>"),
    "radiee.xml": mini().replace("ACTIVE</ns1:etatDemande></ns1:perimetre>",
                                 "RADIEE</ns1:etatDemande></ns1:perimetre>")
                        .replace("<ns1:etatDemande>ACTIVE</ns1:etatDemande><ns1:date",
                                 "<ns1:etatDemande>RADIEE</ns1:etatDemande><ns1:date"),
    "empty-elements.xml": mini().replace("<ns1:cerfa>", "<ns1:cerfa><ns1:adressePostale/><ns1:a>  </ns1:a>"),
}
for i, (name, text) in enumerate(sorted(docs.items())):
    out("parser", name, bytes([i * 37 % 256]) + text.encode("utf-8"))
latin = mini().replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace(
    "<ns1:numGuichet>G1226</ns1:numGuichet><ns1:logement",
    "<ns1:numGuichet>G1226</ns1:numGuichet><ns1:nom>Noël Éloïse</ns1:nom><ns1:logement")
out("parser", "latin1.xml", b"\x07" + latin.encode("iso-8859-1"))
DRM_PERIMETRE = "<ns1:profondeurDrm>1</ns1:profondeurDrm><ns1:dernierePeriodeDrm>2026-09</ns1:dernierePeriodeDrm>"
DRM_MONTH = ("<ns1:listeMoisDrm><ns1:moisDrm><ns1:periode>2026-09</ns1:periode>"
             "<ns1:dateCollecte>2026-09-22</ns1:dateCollecte></ns1:moisDrm></ns1:listeMoisDrm>")
drm = mini(1, DRM_PERIMETRE, demand=MINI_DEMAND.replace("</ns1:demande>", DRM_MONTH + "</ns1:demande>"))
drm = drm.replace("<ns1:entite>DALO</ns1:entite>", "<ns1:entite>DRM</ns1:entite>")
out("parser", "drm-window.xml", b"\x0b" + drm.encode("utf-8"))


# --- unpack: raw archive bytes -------------------------------------------------------------------
def tgz(members, fmt=tarfile.PAX_FORMAT, level=9):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt) as t:
        for name, data in members:
            if data is None:
                ti = tarfile.TarInfo(name)
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
                continue
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1700000000
            t.addfile(ti, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), level, mtime=0), raw.getvalue()


small = mini().encode()
arch, plain = tgz([("EXPORT_F1_001.xml", small)])
out("unpack", "one-part.tar.gz", arch)
out("unpack", "dir-readme.tar.gz", tgz([("export/", None), ("export/LISEZMOI.txt", b"lisez-moi\n"),
                                         ("export/EXPORT_F1_001.xml", small)])[0])
out("unpack", "two-parts-gnu.tar.gz", tgz([("EXPORT_F1_001.xml", small), ("EXPORT_F1_002.xml", small)],
                                          fmt=tarfile.GNU_FORMAT)[0])
out("unpack", "longname-ustar.tar.gz", tgz([("d" * 90 + "/EXPORT_F1_001.xml", small)], fmt=tarfile.USTAR_FORMAT)[0])
out("unpack", "longname-pax.tar.gz", tgz([("é" * 70 + "/EXPORT_F1_001.xml", small)])[0])
out("unpack", "empty-tar.tar.gz", tgz([])[0])
out("unpack", "truncated.tar.gz", arch[: len(arch) // 2])
out("unpack", "multi-member-gzip.tar.gz", gzip.compress(plain[:512], mtime=0) + gzip.compress(plain[512:], mtime=0))
out("unpack", "trailing-garbage.tar.gz", arch + b"garbage")
out("unpack", "plain.tar", plain[:4096])
out("unpack", "html.gz", b"<html><body>503 Service Unavailable</body></html>\n")
out("unpack", "gzip-of-text.gz", gzip.compress(b"not a tar\n" * 20, mtime=0))
bad_crc = bytearray(arch)
bad_crc[-8] ^= 0xFF
out("unpack", "bad-crc.tar.gz", bytes(bad_crc))
# A member whose header announces more than is there.
hdr = bytearray(plain[:512])
hdr[124:136] = b"77777777777\0"
chk = sum(hdr[:148]) + 8 * 32 + sum(hdr[156:512])
hdr[148:156] = b"%06o\0 " % chk
out("unpack", "huge-size.tar.gz", gzip.compress(bytes(hdr) + plain[512:2048], mtime=0))
out("unpack", "zeros.tar.gz", gzip.compress(b"\0" * 20000, mtime=0))


# --- render: u16 length of `before`, one cap byte, then before + after (canonical forms) -------
def canon(el):
    """The canonical form (canon.h) of an ElementTree element, as the parser would build it."""
    def local(n):
        return n.split("}", 1)[1] if n.startswith("{") else n

    def enc(e):
        if e.tag.startswith("{") and not e.tag.startswith("{" + NS):
            return b""
        body = b""
        for k in sorted(e.attrib, key=lambda a: local(a).encode()):
            if "}" in k:
                continue
            body += b"\x02" + local(k).encode() + b"\0" + e.attrib[k].strip().encode() + b"\0"
        text = (e.text or "").strip()
        if text:
            body += b"\x03" + text.encode() + b"\0"
        kids = b""
        for c in e:
            kids += enc(c)
            tail = (c.tail or "").strip()
            if tail:
                kids += b"\x03" + tail.encode() + b"\0"
        if not body and not kids:
            return b""
        return b"\x01" + local(e.tag).encode() + b"\0" + body + kids + b"\x04"
    return enc(el)


root = ET.fromstring(doc(demands[:2]).encode())
items = []
for d in root.findall("{%s}demande" % NS):
    for block in d:
        tag = block.tag.split("}")[1]
        if tag in ("cerfa", "dalo"):
            items.append((tag, canon(block)))
        elif tag.startswith("liste"):
            for it in block:
                items.append((it.tag.split("}")[1], canon(it)))


def pair(name, a, b, cap=1):
    assert len(a) < 65536
    out("render", name, bytes([len(a) & 255, len(a) >> 8, cap]) + a + b)


seen = set()
for tag, c in items:
    if tag in seen or len(c) > 20000:
        continue
    seen.add(tag)
    pair(tag + "-same", c, c)
    mod = c.replace(b"RECTIF", b"VISITE").replace(b"2026", b"2027", 1)
    pair(tag + "-changed", c, mod)
    pair(tag + "-vs-empty", c, b"")
evts = [c for t, c in items if t == "evenement"]
pair("evenement-two", evts[0], evts[1])
pair("text-root", b"\x01nom\0\x03DUPONT\0\x04", b"\x01nom\0\x03DURAND\0\x04")
pair("attr-text", b"\x01e\0\x02a\0x\0\x02b\0y\0\x03t\0\x01c\0\x03v\0\x04\x04",
     b"\x01e\0\x02a\0x\0\x01c\0\x03v\0\x04\x01c\0\x03w\0\x04\x04")
pair("seq-list", b"\x01x\0\x01listeTypeLogement\0\x01typeLogement\0\x02code\0T1\0\x04\x04\x04",
     b"\x01x\0\x01listeTypeLogement\0\x01typeLogement\0\x02code\0T1\0\x04"
     b"\x01typeLogement\0\x02code\0T2\0\x04\x04\x04")
pair("escapes", b"\x01e\0\x01a/b~c\0\x03\"\\\x7f\xff\xc3\xa9\0\x04\x04", b"\x01e\0\x04", cap=0x40)
pair("unsorted-attrs", b"\x01e\0\x02b\0y\0\x02a\0x\0\x04", b"\x01e\0\x02a\0x\0\x02a\0x\0\x04")
pair("garbage", b"\x01\x01\x04\x04\x03", b"\x04\x01e")
print("seeds written under", os.path.join(HERE, "corpus"))
