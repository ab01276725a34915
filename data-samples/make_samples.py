#!/usr/bin/env python3
"""make_samples.py: a small, deterministic, synthetic generator of SNE bulk export archives.

It builds demands shaped like the contract sample (contract README §3), serialises them as export
documents in several equivalent ways (contract README §4), packs them as gzip tar archives
(contract README §2), and knows how the engine must react to them: `Model` applies an export to a
model of the store with the contract's scope rules (§5) and returns the expected changes. The
integration suite (tests/integration/run_integration.py) imports this module, so its expectations
come from the generator's own data and never from the engine.

All names and numbers are synthetic (seeded pseudo-random draws from small lists of common first
names, surnames and street names); no real personal data.

    python3 make_samples.py [--out DIR]   # writes the committed sample archives into DIR
                                          # (default: the folder of this script)
"""
import argparse
import copy
import gzip
import io
import os
import random
import tarfile

NS = "http://nuu.application.i2/"
FOREIGN_NS = "urn:example:deployment-extension"

# (CODE, block element, item element, key element) as in schema/entities.def.
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
ENTITY_CODES = [e[0] for e in ENTITIES]
ENTITY_INFO = {e[0]: e for e in ENTITIES}
SINGLE = {"CERFA", "DALO"}

# Ordered lists (schema/sequences.def): in JSON a container listed here is an array of its members.
SEQUENCES = {
    "listeMotifDemande", "listePersonneACharge", "listeCotitulaire", "listeRessourceRecue",
    "listeRessourceVersee", "listeModeleLogement", "listeTypeLogement",
    "listeLocalisationSouhaitee", "listeCritere", "listeSousDocument", "listeRessource",
}

# ---------------------------------------------------------------------------------------------
# Element trees: (name, [(attr, value), ...], content); content is a str (text) or a list of
# child elements. All in the SNE namespace.


def E(name, *children, **attrs):
    return (name, list(attrs.items()), list(children))


def T(name, text):
    return (name, [], str(text))


def C(name, code, **more):
    return (name, [("code", str(code))] + list(more.items()), [])


def child(el, name):
    for c in el[2] if isinstance(el[2], list) else []:
        if c[0] == name:
            return c
    return None


def item_key(entity, item):
    key_el = ENTITY_INFO[entity][3]
    if not key_el:
        return ""
    return child(item, key_el)[2].strip()


def to_json(el):
    """The JSON value of an element under the engine's documented mapping (README, JSON mapping)."""
    name, attrs, content = el
    if name in SEQUENCES and isinstance(content, list):
        return [to_json(c) for c in content]
    if not attrs and (isinstance(content, str) or not content):
        return content.strip() if isinstance(content, str) else ""
    obj = {}
    for k, v in attrs:
        obj[k] = v
    if isinstance(content, str):
        if content.strip():
            obj["#text"] = content.strip()
        return obj
    groups = {}
    order = []
    for c in content:
        if c[0] not in groups:
            groups[c[0]] = []
            order.append(c[0])
        groups[c[0]].append(to_json(c))
    for n in order:
        obj[n] = groups[n][0] if len(groups[n]) == 1 else groups[n]
    return obj


def json_leaf_diff(a, b, path=""):
    """RFC 6901 pointers of the leaf values that differ between two JSON values."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in list(a.keys()) + [k for k in b.keys() if k not in a]:
            p = path + "/" + k.replace("~", "~0").replace("/", "~1")
            if k not in a or k not in b:
                out.append(p)
            else:
                out += json_leaf_diff(a[k], b[k], p)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += json_leaf_diff(x, y, "%s/%d" % (path, i))
        return out
    return [] if a == b else [path]


# ---------------------------------------------------------------------------------------------
# Synthetic register

SURNAMES = ["MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS",
            "MOREAU", "LAURENT", "SIMON", "MICHEL", "LEFÈVRE", "GARÇON", "FONTAINE", "CHEVALIER"]
FIRSTNAMES = ["Marie", "Noël", "Zoé", "Léa", "Éloïse", "Lucie", "Jean", "Hélène", "Jérôme",
              "Chloé", "Gaël", "Inès", "Loïc", "Maëlle", "Théo", "Anaïs", "Paul", "Céline"]
STREETS = ["avenue Jean-Jaurès", "rue de la Paix", "allée des Tilleuls", "place de l'Église",
           "chemin des Écoliers", "boulevard Gambetta", "impasse du Moulin", "rue Émile Zola"]
LIBELLES = ["Passage en CALEOL", "Proposition T3 résidence « Les Lilas »", "Visite effectuée",
            "Dossier < incomplet > & relancé", "Pièce reçue — à vérifier", "Relance n°2 envoyée"]
RESERVATAIRES = ["Action Logement", "Préfecture", "Commune", "Conseil départemental"]
# Departments and communes (INSEE codes) the synthetic demands look for housing in.
COMMUNES = {
    "38": ["38185", "38151", "38421", "38563", "38053"],
    "69": ["69123", "69266", "69259", "69029"],
    "75": ["75056", "75116", "75115"],
    "13": ["13055", "13001", "13047"],
    "974": ["97411", "97415", "97416"],
}
DEPTS = list(COMMUNES)
EPCIS = ["200040715", "200046977", "217500016", "200054807", "249740119"]
DRM_MONTHS = ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]
DRM_PERIODS = 3  # DRM periods the register keeps per demand (contract README §5)


def month_number(periode):
    """A period YYYY-MM as a month count, so that consecutive months differ by one."""
    return int(periode[:4]) * 12 + int(periode[5:7])


def drm_window(demands, last, depth):
    """Copies of `demands` carrying only their DRM months of periods last-depth+1..last, as an
    export of that profondeurDrm and dernierePeriodeDrm does."""
    out = []
    for d in demands:
        d = d.copy()
        months = [m for m in d.items.get("DRM", [])
                  if 0 <= month_number(last) - month_number(item_key("DRM", m)) < depth]
        if months:
            d.items["DRM"] = months
        else:
            d.items.pop("DRM", None)
        out.append(d)
    return out


def dept_of(code):
    return code[:3] if code.startswith("97") else code[:2]


class Demand:
    """One demand: its number, state, last-modification date and items per entity."""

    def __init__(self, num, etat, datemod, items):
        self.num = num
        self.etat = etat
        self.datemod = datemod
        self.items = items  # entity -> list of item trees (in document order)

    def communes(self):
        cerfa = self.items.get("CERFA")
        if not cerfa:
            return []
        lr = child(cerfa[0], "logementRecherche")
        ls = child(lr, "listeLocalisationSouhaitee")
        return [dict(child(l, "commune")[1])["code"] for l in ls[2]]

    def keyed(self, entities=None):
        """{(entity, key): item} of the given entities (all by default)."""
        out = {}
        for e, items in self.items.items():
            if entities is not None and e not in entities:
                continue
            for it in items:
                out[(e, item_key(e, it))] = it
        return out

    def copy(self):
        # Item trees are never changed in place (set_text builds a new one): share them.
        return Demand(self.num, self.etat, self.datemod, {e: list(v) for e, v in self.items.items()})


class Gen:
    """A seeded generator of demands and their evolution."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.serial = 0
        self.hexserial = 0

    def hexid(self, n):
        self.hexserial += 1
        return ("%0*X" % (n, (self.rng.getrandbits(4 * n) ^ self.hexserial)))[-n:]

    def date(self, y0=2019, y1=2026):
        r = self.rng
        return "%04d-%02d-%02d" % (r.randint(y0, y1), r.randint(1, 12), r.randint(1, 28))

    def datetime(self, y0=2025, y1=2026):
        r = self.rng
        return "%sT%02d:%02d:00+01:00" % (self.date(y0, y1), r.randint(8, 18), r.randint(0, 59))

    def communes_for(self, dept=None, multi=False):
        r = self.rng
        dept = dept or r.choice(DEPTS)
        cs = r.sample(COMMUNES[dept], r.randint(1, 2))
        if multi:
            other = r.choice([d for d in DEPTS if d != dept])
            cs.append(r.choice(COMMUNES[other]))
        return cs

    def nir(self, civilite, naissance):
        """A NIR of the schema's shape (ns1:Nir) with a valid key: sex, year and month of birth,
        department of birth (2A/2B included), commune and order numbers, then 97 - body mod 97
        (2A counts as 19, 2B as 18). Random: it belongs to nobody."""
        r = self.rng
        dept = r.choice(["38", "69", "75", "13", "2A", "2B", "59", "33"])
        body = "%s%s%s%s%03d%03d" % (civilite, naissance[2:4], naissance[5:7], dept,
                                     r.randint(1, 999), r.randint(1, 999))
        number = int(body.replace("2A", "19").replace("2B", "18"))  # letters only there
        return "%s%02d" % (body, 97 - number % 97)

    def cerfa(self, guichet, communes, radiee=False, lean=False):
        r = self.rng
        nom = r.choice(SURNAMES)
        civilite, naissance = r.choice("12"), self.date(1950, 2000)
        dem = [C("civilite", civilite), T("nom", nom), T("prenom", r.choice(FIRSTNAMES)),
               T("dateNaissance", naissance)]
        if r.random() < 0.5:
            dem.append(T("nir", self.nir(civilite, naissance)))
        dem += [C("nationalite", "1"), C("situationFamiliale", r.choice("MSDV")),
                T("telPortable", "06%08d" % r.randint(0, 10**8 - 1)),
                T("mel", "%s.%d@exemple.fr" % (nom.lower().replace("è", "e").replace("ç", "c"),
                                               r.randint(1, 999)))]
        if r.random() < 0.8:
            home = communes[0]
            dem.append(E("adressePostale", T("etranger", "false"), T("numero", r.randint(1, 300)),
                         T("voie", r.choice(STREETS)), T("codePostal", dept_of(home).ljust(5, "0")),
                         C("commune", home)))
        if not lean:
            dem.append(E("revenuFiscal", T("anneeMoins1", "2025"),
                         T("montantMoins1", r.randint(5000, 40000)), T("anneeMoins2", "2024"),
                         T("montantMoins2", r.randint(5000, 40000))))
            dem.append(E("listeRessourceRecue", *[
                E("detailRessource", C("ressource", r.choice(["CHO", "RET", "SAL", "RSA"])),
                  T("montant", "%d.%02d" % (r.randint(100, 2500), r.randint(0, 99))))
                for _ in range(r.randint(1, 3))]))
        pp = [E("demandeur", *dem)]
        nchildren = r.randint(0, 3) if not lean else r.randint(0, 1)
        if nchildren:
            pp.append(E("listePersonneACharge", *[
                E("personneACharge", T("nom", nom), T("prenom", r.choice(FIRSTNAMES)),
                  T("dateNaissance", self.date(2005, 2025)), C("sexe", r.choice("MF")),
                  C("lienParente", "E")) for _ in range(nchildren)]))
        if not lean:
            pp.append(E("logementActuel",
                        E("listeModeleLogement", C("modeleLogement", r.choice(["RS", "SQUAT", "LOC"]))),
                        T("montantMensuelLoyer", r.randint(200, 1200)),
                        T("nombreHabitant", r.randint(1, 6)),
                        C("typeLogementActuel", r.choice(["T1", "T2", "T3"])),
                        T("surface", r.randint(15, 110))))
        items = [T("numGuichet", guichet), T("dateCreationDemande", self.date(2018, 2025))]
        if r.random() < 0.7:
            items.append(T("dateRenouvellement", self.date(2026, 2026)))
        items.append(E("personnePhysique", *pp))
        items.append(E("listeMotifDemande", *[C("motifDemande", m) for m in
                                               r.sample(["10", "14", "20", "31", "42"], r.randint(1, 2))]))
        items.append(E("logementRecherche", T("demandeElargie", r.choice(["true", "false"])),
                       E("listeTypeLogement", *[C("typeLogement", t) for t in
                                                r.sample(["T1", "T2", "T3", "T4"], r.randint(1, 2))]),
                       E("listeLocalisationSouhaitee", *[E("localisationSouhaitee", C("commune", c))
                                                         for c in communes])))
        if radiee:
            items.append(E("radiation", C("motifRadiation", r.choice(["ATTRIB", "NON_RENOUV"])),
                           T("dateRadiation", self.date(2026, 2026))))
        return E("cerfa", *items)

    def dalo(self, dept):
        r = self.rng
        return E("dalo", C("statutDalo", r.choice(["PRIORITAIRE", "REJET"])),
                 T("dateDecision", self.date(2023, 2026)), T("departementComed", dept))

    def evt(self):
        r = self.rng
        return E("evenement", T("idEvenement", self.hexid(12)),
                 C("typeEvenement", r.choice(["RECTIF", "VISITE", "PROPOSITION", "PASSAGE_CAL"])),
                 T("dateEvenement", self.datetime()), T("numGuichetAuteur", "G%04d" % r.randint(1000, 9999)),
                 T("libelle", r.choice(LIBELLES)))

    def cont(self):
        r = self.rng
        return E("contingent", T("idContingent", self.hexid(8)),
                 C("typeContingent", r.choice(["PFONCT", "PREF", "COMMUNE"])),
                 T("reservataire", r.choice(RESERVATAIRES)), T("dateEligibilite", self.date(2023, 2026)))

    def attrib(self):
        r = self.rng
        return E("attribution", T("idAttribution", self.hexid(10)), T("dateCal", self.date(2025, 2026)),
                 C("decisionCal", r.choice(["ATTRIB_RANG", "REFUS", "AJOURNE"])), T("rang", r.randint(1, 3)),
                 C("typeLogement", r.choice(["T2", "T3"])), T("loyer", "%d.00" % r.randint(300, 700)))

    def prio(self):
        r = self.rng
        return E("priorite", T("idPriorite", self.hexid(8)),
                 C("typePriorite", r.choice(["L441_1_a", "L441_1_b", "LOCAL"])),
                 C("origine", r.choice(["PDALHPD", "CIA"])), T("dateReconnaissance", self.date(2022, 2026)))

    def cota(self, epci):
        r = self.rng
        return E("cotation", T("epci", epci), T("dateCalcul", "2026-10-01"),
                 T("note", "%d.%d" % (r.randint(10, 300), r.randint(0, 9))),
                 T("positionnement", r.randint(1, 500)), T("delaiAttenteMoyen", r.randint(100, 2000)),
                 E("listeCritere", *[(("critere", [("code", c), ("points", str(r.randint(1, 40)))], []))
                                     for c in r.sample(["HANDICAP", "EXPULSION", "VIOLENCES",
                                                        "SUROCCUPATION"], r.randint(1, 2))]))

    def pj(self):
        r = self.rng
        return E("pieceJustificative", T("idPiece", self.hexid(16)),
                 C("typePiece", r.choice(["IDENT", "REVENU", "DOMICILE"])),
                 C("personneConcernee", "DEMANDEUR"), T("dateDepot", self.datetime()),
                 C("statutPiece", r.choice(["CONFORME", "A_VERIFIER"])), T("nombrePages", "2"),
                 T("taille", r.randint(10000, 900000)),
                 T("empreinteSha256", "%064x" % r.getrandbits(256)),
                 E("listeSousDocument", E("sousDocument", T("pageDebut", "1"), T("pageFin", "2"),
                                          T("libelle", "Avis_imposition_2025"))))

    def drm(self, periode):
        r = self.rng
        return E("moisDrm", T("periode", periode), T("dateCollecte", periode + "-22"),
                 E("listeRessource", *[E("ressource", C("nature", r.choice(["SAL", "RET", "CHO", "IJ"])),
                                         T("montantNetVerse", "%d.%02d" % (r.randint(100, 2500), r.randint(0, 99))),
                                         C("source", r.choice(["DSN", "PASRAU"])))
                                       for _ in range(r.randint(1, 2))]))

    def demand(self, dept=None, multi=False, etat="ACTIVE", lean=False, drm_last=3):
        r = self.rng
        self.serial += 1
        communes = self.communes_for(dept, multi)
        d3 = dept_of(communes[0]).rjust(3, "0")
        guichet = "G%04d" % r.randint(1000, 9999)
        num = "%s%010d%s" % (d3, self.serial * 7919 % 10**10, guichet)
        assert len(num) == 18
        items = {"CERFA": [self.cerfa(guichet, communes, radiee=(etat == "RADIEE"), lean=lean)]}
        if r.random() < 0.15:
            items["DALO"] = [self.dalo(dept_of(communes[0]))]
        lo = 0 if lean else 1
        for e, f, hi in (("EVT", self.evt, 4), ("CONT", self.cont, 2), ("ATTRIB", self.attrib, 1),
                         ("PRIO", self.prio, 2), ("PJ", self.pj, 2)):
            n = r.randint(0 if e != "EVT" else lo, hi if not lean else 1)
            if n:
                items[e] = [f() for _ in range(n)]
        if r.random() < 0.8:
            items["COTA"] = [self.cota(x) for x in r.sample(EPCIS, r.randint(1, 2))]
        if r.random() < 0.7:
            k = r.randint(1, 3)
            months = DRM_MONTHS[drm_last - k + 1:drm_last + 1]
            items["DRM"] = [self.drm(m) for m in months]
        datemod = "%sT%02d:%02d:00.000+01:00" % (self.date(2026, 2026), r.randint(8, 18), r.randint(0, 59))
        return Demand(num, etat, datemod, items)

    def register(self, n, radiees=0, lean=False):
        """n ACTIVE demands (a mix of departments, some looking in two) and `radiees` RADIEE ones."""
        out = []
        for i in range(n):
            dept = DEPTS[i % len(DEPTS)]
            out.append(self.demand(dept=dept, multi=(i % 7 == 3), lean=lean))
        for i in range(radiees):
            out.append(self.demand(etat="RADIEE", lean=lean))
        return out


def set_text(el, path, value):
    """A copy of `el` with the text of the element at `path` (list of names) set to value."""
    name, attrs, content = el
    if not path:
        return (name, attrs, str(value))
    out = []
    done = False
    for c in content:
        if not done and c[0] == path[0]:
            out.append(set_text(c, path[1:], value))
            done = True
        else:
            out.append(c)
    assert done, path
    return (name, attrs, out)


def evolve(gen, demands, new=3, removed=2, cerfa_changed=3, evt_added=3, evt_removed=2):
    """A later snapshot of the ACTIVE demands: returns (demands, notes); notes says what changed."""
    r = gen.rng
    ds = [d.copy() for d in demands if d.etat == "ACTIVE"]
    notes = {"removed": [], "new": [], "cerfa": [], "evt_added": [], "evt_removed": [], "drm": []}
    for d in r.sample(ds, removed):
        ds.remove(d)
        notes["removed"].append(d.num)
    idx = list(range(len(ds)))
    r.shuffle(idx)
    for i in idx[:cerfa_changed]:
        d = ds[i]
        d.items["CERFA"][0] = set_text(d.items["CERFA"][0], ["personnePhysique", "demandeur", "telPortable"],
                                       "07%08d" % r.randint(0, 10**8 - 1))
        d.datemod = "2026-11-20T10:00:00.000+01:00"
        notes["cerfa"].append(d.num)
    for i in idx[cerfa_changed:cerfa_changed + evt_added]:
        d = ds[i]
        d.items.setdefault("EVT", []).append(gen.evt())
        notes["evt_added"].append(d.num)
    k = 0
    for i in idx[cerfa_changed + evt_added:]:
        if k == evt_removed:
            break
        d = ds[i]
        if d.items.get("EVT"):
            del d.items["EVT"][0]
            if not d.items["EVT"]:
                del d.items["EVT"]
            notes["evt_removed"].append(d.num)
            k += 1
    # DRM rollover: the oldest month of a three-month window goes, the next month arrives.
    for d in ds:
        drm = d.items.get("DRM")
        if drm:
            last = DRM_MONTHS.index(item_key("DRM", drm[-1]))
            drm.append(gen.drm(DRM_MONTHS[last + 1]))
            if len(drm) > 3:
                del drm[0]
            notes["drm"].append(d.num)
    for _ in range(new):
        d = gen.demand(drm_last=4)
        ds.append(d)
        notes["new"].append(d.num)
    return ds, notes


# ---------------------------------------------------------------------------------------------
# Exports and their scope


class Export:
    def __init__(self, numero, date, demands, entities=None, etat="ACTIVE", departements=None,
                 communes=None, guichet="G1226", profondeur=None, derniere=None):
        self.numero = numero
        self.date = date
        self.entities = list(entities or ENTITY_CODES)
        self.etat = etat
        self.departements = departements
        self.communes = communes
        self.guichet = guichet
        self.demands = demands
        self.profondeur = profondeur  # perimetre/profondeurDrm, None: not written (3)
        self.derniere = derniere  # perimetre/dernierePeriodeDrm, None: not written

    def drm_month_gone(self, periode):
        """Whether a DRM month held for a demand of this export, and absent from it, is gone
        (contract README §5): one of the window derniere-profondeur+1..derniere, or one older than
        derniere-2; without derniere, every absent month at full depth and none below it."""
        depth = self.profondeur or DRM_PERIODS
        if self.derniere is None:
            return depth >= DRM_PERIODS
        age = month_number(self.derniere) - month_number(periode)
        return age >= DRM_PERIODS or 0 <= age < depth

    def in_location(self, communes):
        if self.departements:
            return any(dept_of(c) in self.departements for c in communes)
        if self.communes:
            return any(c in self.communes for c in communes)
        return True

    @staticmethod
    def select(demands, etat="ACTIVE", departements=None, communes=None):
        ex = Export("", "", [], etat=etat, departements=departements, communes=communes)
        return [d for d in demands if d.etat == etat and ex.in_location(d.communes())]


class Model:
    """What the store must hold: per demand its state, sought communes and items. `apply` returns
    the expected changes of ingesting a complete export: [(op, numUnique, entity, key)]."""

    def __init__(self):
        self.demands = {}  # num -> {"etat", "communes", "items": {(entity, key): tree}}

    def copy(self):
        m = Model()
        m.demands = {n: {"etat": v["etat"], "communes": list(v["communes"]), "items": dict(v["items"])}
                     for n, v in self.demands.items()}
        return m

    def apply(self, ex):
        changes = []
        req = set(ex.entities)
        seen = set()
        for d in ex.demands:
            seen.add(d.num)
            m = self.demands.setdefault(d.num, {"etat": d.etat, "communes": [], "items": {}})
            m["etat"] = d.etat
            if "CERFA" in req and d.items.get("CERFA"):
                m["communes"] = d.communes()
            new = d.keyed(req)
            old = {k: v for k, v in m["items"].items() if k[0] in req}
            for k in sorted(set(old) | set(new), key=order_key):
                if k not in old:
                    changes.append(("create", d.num, k[0], k[1]))
                elif k not in new:
                    if k[0] == "DRM" and not ex.drm_month_gone(k[1]):
                        continue  # outside the export's DRM window: kept
                    changes.append(("delete", d.num, k[0], k[1]))
                    del m["items"][k]
                elif old[k] != new[k] and canon(old[k]) != canon(new[k]):
                    changes.append(("update", d.num, k[0], k[1]))
            m["items"].update(new)
        for num in sorted(self.demands):
            m = self.demands[num]
            if num in seen or m["etat"] != ex.etat or not ex.in_location(m["communes"]):
                continue
            for k in sorted([k for k in m["items"] if k[0] in req], key=order_key):
                changes.append(("delete", num, k[0], k[1]))
                del m["items"][k]
        return changes

    def counts(self):
        out = {e: 0 for e in ENTITY_CODES}
        for m in self.demands.values():
            for (e, _k) in m["items"]:
                out[e] += 1
        return out

    def show_items(self, num):
        """{(entity, key): JSON value} of the items of a demand."""
        return {k: to_json(v) for k, v in self.demands[num]["items"].items()}


def order_key(k):
    return (ENTITY_CODES.index(k[0]), k[1])


def canon(el):
    return to_json(el)


# ---------------------------------------------------------------------------------------------
# Serialisation: one export as XML parts, written in one of many equivalent styles.


class Style:
    """How to write a document. The defaults are the contract sample's."""

    def __init__(self, **kw):
        self.prefix = "ns1"        # "" for a default namespace
        self.indent = "  "         # None: no whitespace between elements
        self.attr_reverse = False  # attributes in reverse order (with namespace declarations)
        self.encoding = "UTF-8"    # or "ISO-8859-1"
        self.charrefs = False      # non-ASCII characters as character references
        self.cdata = False         # text in CDATA sections
        self.comments = False      # comments and processing instructions between elements
        self.shuffle = None        # a random.Random: keyed-list items in a shuffled order
        self.empties = False       # empty elements (no attributes) that stand for absent ones
        self.foreign = False       # elements and attributes of another namespace
        self.pad = False           # leading/trailing whitespace around text values
        self.declare_twice = False # redundant namespace declarations on inner elements
        self.prefix_per_demand = False  # each demande binds the namespace to a prefix of its own
        for k, v in kw.items():
            assert hasattr(self, k), k
            setattr(self, k, v)


def _esc_text(s, style):
    if style.cdata and s:
        # A character the document's encoding cannot hold leaves the CDATA section as a reference.
        lim = 256 if style.encoding.upper() == "ISO-8859-1" else 0x110000
        return "<![CDATA[" + "".join(c if ord(c) < lim else "]]>&#%d;<![CDATA[" % ord(c) for c in s) + "]]>"
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _charrefs(s, style)


def _esc_attr(s, style):
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return _charrefs(s, style)


def _charrefs(s, style):
    if style.charrefs:
        return "".join(c if ord(c) < 128 else ("&#%d;" % ord(c) if ord(c) % 2 else "&#x%X;" % ord(c))
                       for c in s)
    return s


class Writer:
    def __init__(self, style):
        self.s = style
        self.out = []
        self.n = 0  # elements written, to vary the decorations

    def qn(self, name):
        return "%s:%s" % (self.s.prefix, name) if self.s.prefix else name

    def nl(self, depth):
        if self.s.indent is not None:
            self.out.append("\n" + self.s.indent * depth)

    def deco(self, depth):
        """Decorations between elements that carry no data."""
        s = self.s
        self.n += 1
        if s.comments and self.n % 5 == 0:
            self.nl(depth)
            self.out.append("<!-- note %d: not data, <ns1:ignored/> & ignored -->" % self.n)
        if s.comments and self.n % 11 == 0:
            self.nl(depth)
            self.out.append('<?snesync-test pi="%d"?>' % self.n)
        if s.foreign and self.n % 7 == 0:
            self.nl(depth)
            self.out.append('<ext:annotation xmlns:ext="%s" ext:id="%d"><ext:texte>extension '
                            '%d</ext:texte><ext:vide/></ext:annotation>' % (FOREIGN_NS, self.n, self.n))

    def attrs(self, attrs, extra=()):
        al = list(attrs) + list(extra)
        if self.s.foreign and self.n % 3 == 0:
            al.append(("ext:flag", "x%d" % self.n))
            al.append(("xmlns:ext", FOREIGN_NS))
        if self.s.attr_reverse:
            al.reverse()
        return "".join(' %s="%s"' % (k, _esc_attr(v, self.s)) for k, v in al)

    def element(self, el, depth, keyed_child=None):
        name, attrs, content = el
        s = self.s
        extra = []
        if s.declare_twice and self.n % 4 == 1:
            extra.append(("xmlns:" + s.prefix if s.prefix else "xmlns", NS))
        self.deco(depth)
        self.nl(depth)
        a = self.attrs(attrs, extra)
        if isinstance(content, str):
            text = content
            if s.pad and text:
                text = (" \n\t" if self.n % 2 else "  ") + text + ("\n  " if self.n % 3 else " ")
            self.out.append("<%s%s>%s</%s>" % (self.qn(name), a, _esc_text(text, s), self.qn(name)))
            return
        if not content:
            self.out.append("<%s%s/>" % (self.qn(name), a))
            return
        self.out.append("<%s%s>" % (self.qn(name), a))
        kids = list(content)
        if keyed_child and s.shuffle is not None:
            s.shuffle.shuffle(kids)
        for c in kids:
            self.element(c, depth + 1)
        if s.empties and name in EMPTY_SLOTS:
            for e in EMPTY_SLOTS[name]:
                if child(el, e) is None:
                    self.nl(depth + 1)
                    self.out.append("<%s/>" % self.qn(e) if self.n % 2 else "<%s></%s>" % (self.qn(e), self.qn(e)))
        self.nl(depth)
        self.out.append("</%s>" % self.qn(name))


# Optional elements written as empty ones when absent (Style.empties).
EMPTY_SLOTS = {
    "demandeur": ["adressePostale", "nomUsage"],
    "cerfa": ["radiation"],
    "evenement": ["libelle"],
    "personnePhysique": ["loyerMaximum"],
}


def demand_tree(d, entities):
    kids = [T("numUnique", d.num), T("etatDemande", d.etat), T("dateDerniereModification", d.datemod)]
    for code, block, item, key in ENTITIES:
        if code not in entities or not d.items.get(code):
            continue
        if code in SINGLE:
            kids.append(d.items[code][0])
        else:
            kids.append(E(block, *d.items[code]))
    return E("demande", *kids)


def header_tree(ex, partie, nparts):
    per = [E("listeEntite", *[T("entite", e) for e in ex.entities]), T("etatDemande", ex.etat)]
    if ex.departements:
        per.append(E("listeDepartement", *[T("departement", x) for x in ex.departements]))
    if ex.communes:
        per.append(E("listeCommune", *[C("commune", x) for x in ex.communes]))
    if ex.profondeur is not None:
        per.append(T("profondeurDrm", ex.profondeur))
    if ex.derniere is not None:
        per.append(T("dernierePeriodeDrm", ex.derniere))
    return E("entete", T("numeroExport", ex.numero), T("dateExport", ex.date), T("numGuichet", ex.guichet),
             T("partie", partie), T("nombreParties", nparts), E("perimetre", *per))


def part_name(ex, partie):
    return "EXPORT_%s_%03d.xml" % (ex.numero, partie)


def serialize_part(ex, demands, partie, nparts, style=None, count=None, before_root="",
                   inject=None):
    """One export document as bytes. `count` overrides pied/nombreDemandes; `before_root` is text
    put between the XML declaration and the root (a DOCTYPE...); `inject(i, text)` may rewrite the
    text of the i-th demand."""
    s = style or Style()
    w = Writer(s)
    enc = s.encoding
    w.out.append('<?xml version="1.0" encoding="%s"?>' % enc)
    if s.comments:
        w.out.append("\n<!-- synthetic export, generated by make_samples.py -->")
    if before_root:
        w.out.append("\n" + before_root)
    w.out.append("\n")
    rootattrs = [("versionInterface", "13.34"), (("xmlns:" + s.prefix) if s.prefix else "xmlns", NS)]
    w.out.append("<%s%s>" % (w.qn("exportNuu"), w.attrs(rootattrs)))
    w.element(header_tree(ex, partie, nparts), 1)
    for i, d in enumerate(demands):
        start = len(w.out)
        dt = demand_tree(d, ex.entities)
        # the demande element itself, with keyed lists shuffled when asked
        name, attrs, content = dt
        w.deco(1)
        w.nl(1)
        saved_prefix = s.prefix
        if s.prefix_per_demand:
            s.prefix = "d%d" % i
            attrs = attrs + [("xmlns:" + s.prefix, NS)]
        w.out.append("<%s%s>" % (w.qn(name), w.attrs(attrs)))
        for c in content:
            w.element(c, 2, keyed_child=c[0] in KEYED_BLOCKS)
        if s.empties and i % 2 == 0:
            w.nl(2)
            w.out.append("<%s/>" % w.qn("listeAttribution") if "ATTRIB" not in d.items else "")
        w.nl(1)
        w.out.append("</%s>" % w.qn(name))
        s.prefix = saved_prefix
        if inject:
            text = "".join(w.out[start:])
            del w.out[start:]
            w.out.append(inject(i, text))
    w.element(E("pied", T("nombreDemandes", len(demands) if count is None else count)), 1)
    w.nl(0)
    w.out.append("</%s>\n" % w.qn("exportNuu"))
    text = "".join(w.out)
    return text.encode("iso-8859-1" if enc.upper() == "ISO-8859-1" else "utf-8",
                       errors="xmlcharrefreplace")


KEYED_BLOCKS = {e[1] for e in ENTITIES if e[3]}


def split(seq, n):
    k, m = divmod(len(seq), n)
    out, i = [], 0
    for p in range(n):
        j = i + k + (1 if p < m else 0)
        out.append(seq[i:j])
        i = j
    return out


def export_members(ex, parts=1, style=None, subdir="", readme=False, order=None):
    """[(member name, bytes)] of an export in `parts` parts."""
    chunks = split(ex.demands, parts)
    members = []
    if readme:
        members.append((subdir + "LISEZMOI.txt", "Export synthétique, données fictives.\n".encode("utf-8")))
    for p, ch in enumerate(chunks, 1):
        members.append((subdir + part_name(ex, p), serialize_part(ex, ch, p, parts, style)))
    if order:
        members = [members[i] for i in order]
    return members


def make_archive(members, mtime=1764000000):
    """A deterministic gzip tar of [(name, bytes)]; directories in names get their own entries."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        dirs = set()
        for name, data in members:
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dname = "/".join(parts[:i])
                if dname not in dirs:
                    dirs.add(dname)
                    ti = tarfile.TarInfo(dname)
                    ti.type = tarfile.DIRTYPE
                    ti.mode = 0o755
                    ti.mtime = mtime
                    tf.addfile(ti)
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            ti.mtime = mtime
            ti.uname = ti.gname = "sne"
            tf.addfile(ti, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# The scenario the committed samples and the integration suite share.

DATE_INITIAL = "2026-10-31T02:00:00.000+01:00"
DATE_NEXT = "2026-11-28T02:00:00.000+01:00"
DATE_DRM = "2026-11-29T02:00:00.000+01:00"
DATE_DEP38 = "2026-11-30T02:00:00.000+01:00"


def scenario(seed=20261031, n=60, radiees=6):
    """The initial register, its ACTIVE export, and a later snapshot of it."""
    gen = Gen(seed)
    reg = gen.register(n, radiees=radiees)
    active = [d for d in reg if d.etat == "ACTIVE"]
    radiated = [d for d in reg if d.etat == "RADIEE"]
    initial = Export("X20261031A0001", DATE_INITIAL, active)
    nxt, notes = evolve(gen, active)
    later = Export("X20261128A0001", DATE_NEXT, nxt)
    return {"gen": gen, "register": reg, "active": active, "radiated": radiated,
            "initial": initial, "next": later, "notes": notes}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    a = ap.parse_args()
    sc = scenario()
    files = {
        "sample-initial.tar.gz": make_archive(export_members(sc["initial"])),
        "sample-next.tar.gz": make_archive(export_members(sc["next"], parts=2, subdir="export/",
                                                          readme=True)),
        "sample-radiees.tar.gz": make_archive(export_members(
            Export("X20261031R0001", DATE_INITIAL, sc["radiated"], etat="RADIEE"))),
        "sample-drm.tar.gz": make_archive(export_members(
            Export("X20261129D0001", DATE_DRM, sc["next"].demands, entities=["DRM"]))),
    }
    for name, data in files.items():
        path = os.path.join(a.out, name)
        with open(path, "wb") as f:
            f.write(data)
        print("%-24s %7d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()
