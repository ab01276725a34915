/* Unit tests of the parser: canonical equality (contract README §4), item extraction by the
 * schema table, and refusal of hostile or broken documents. */
#include "canon/canon.h"
#include "common/isotime.h"
#include "parse/parser.h"
#include "testlib.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define NS "http://nuu.application.i2/"

/* What a parse produced, copied out of the callbacks. */
typedef struct capture {
    sne_export_header header;
    char locations[8][8];
    int demands;
    char num[4][SNE_NUM_UNIQUE_LEN + 1];
    size_t n_items[4];
    sne_entity entities[4][16];
    char keys[4][16][64];
    uint64_t hashes[4][16];
    size_t communes[4];
    sne_err fail_demand_with; /* make on_demand fail, to test error propagation */
} capture;

static sne_err on_header(void *ctx, const sne_export_header *h, sne_error *err)
{
    (void)err;
    capture *c = ctx;
    c->header = *h;
    for (size_t i = 0; i < h->n_locations && i < 8; i++)
        memcpy(c->locations[i], h->locations[i], 8);
    return SNE_OK;
}

static sne_err on_demand(void *ctx, sne_record **rec, sne_error *err)
{
    capture *c = ctx;
    const sne_demand *d = &(*rec)->demand;
    if (c->fail_demand_with)
        return sne_error_set(err, c->fail_demand_with, 0, "refused by the test");
    if (c->demands < 4) {
        int i = c->demands;
        memcpy(c->num[i], d->num_unique, sizeof(c->num[i]));
        c->n_items[i] = d->n_items;
        c->communes[i] = d->n_communes;
        for (size_t k = 0; k < d->n_items && k < 16; k++) {
            c->entities[i][k] = d->items[k].entity;
            snprintf(c->keys[i][k], sizeof(c->keys[i][k]), "%s", d->items[k].key);
            c->hashes[i][k] = d->items[k].hash;
        }
    }
    c->demands++;
    return SNE_OK;
}

/* Parses `doc`, fed in pieces of `step` bytes. Returns the parse status. */
static sne_err parse(const char *doc, size_t step, capture *c, sne_error *err_out)
{
    memset(c, 0, offsetof(capture, fail_demand_with));
    sne_parser_callbacks cb = {on_header, on_demand};
    sne_parser *p = sne_parser_new(NULL, &cb, c);
    sne_err rc = sne_parser_begin(p, "EXPORT_T_001.xml");
    size_t n = strlen(doc);
    for (size_t off = 0; !rc && off < n; off += step)
        rc = sne_parser_feed(p, doc + off, off + step > n ? n - off : step);
    if (!rc)
        rc = sne_parser_end(p);
    if (err_out)
        *err_out = *sne_parser_error(p);
    sne_parser_free(p);
    return rc;
}

/* The entete up to its perimetre. */
#define ENTETE_START                                                                               \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                                 \
    "<ns1:exportNuu versionInterface=\"13.34\" xmlns:ns1=\"" NS "\">\n"                            \
    "<ns1:entete><ns1:numeroExport>T1</ns1:numeroExport>"                                          \
    "<ns1:dateExport>2026-10-31T02:00:00.000+01:00</ns1:dateExport>"                               \
    "<ns1:numGuichet>G1226</ns1:numGuichet><ns1:partie>1</ns1:partie>"                             \
    "<ns1:nombreParties>1</ns1:nombreParties>"

static const char *HEAD = ENTETE_START
    "<ns1:perimetre><ns1:listeEntite>"
    "<ns1:entite>CERFA</ns1:entite><ns1:entite>EVT</ns1:entite><ns1:entite>DALO</ns1:entite>"
    "</ns1:listeEntite><ns1:etatDemande>ACTIVE</ns1:etatDemande>"
    "<ns1:listeDepartement><ns1:departement>38</ns1:departement></ns1:listeDepartement>"
    "</ns1:perimetre></ns1:entete>\n";

/* Builds a document from HEAD, `body` and a pied counting `count` demands. */
static char *doc_of(const char *head, const char *body, int count)
{
    size_t n = strlen(head) + strlen(body) + 200;
    char *d = malloc(n);
    snprintf(d, n,
             "%s%s<ns1:pied><ns1:nombreDemandes>%d</ns1:nombreDemandes></ns1:pied>"
             "</ns1:exportNuu>\n",
             head, body, count);
    return d;
}

static const char *DEMAND_A =
    "<ns1:demande><ns1:numUnique>0380000000001G1226</ns1:numUnique>"
    "<ns1:etatDemande>ACTIVE</ns1:etatDemande>"
    "<ns1:dateDerniereModification>2026-10-01T10:00:00Z</ns1:dateDerniereModification>"
    "<ns1:cerfa><ns1:numGuichet>G1226</ns1:numGuichet>"
    "<ns1:personnePhysique><ns1:demandeur><ns1:civilite code=\"2\"/><ns1:nom>D'ARC &amp; "
    "FILS</ns1:nom><ns1:adressePostale/></ns1:demandeur></ns1:personnePhysique>"
    "<ns1:logementRecherche><ns1:listeLocalisationSouhaitee>"
    "<ns1:localisationSouhaitee><ns1:commune code=\"38185\"/></ns1:localisationSouhaitee>"
    "<ns1:localisationSouhaitee><ns1:commune code=\"38421\"/></ns1:localisationSouhaitee>"
    "</ns1:listeLocalisationSouhaitee></ns1:logementRecherche></ns1:cerfa>"
    "<ns1:listeEvenement>"
    "<ns1:evenement><ns1:idEvenement>E2</ns1:idEvenement><ns1:typeEvenement code=\"VISITE\"/>"
    "</ns1:evenement>"
    "<ns1:evenement><ns1:idEvenement>E1</ns1:idEvenement><ns1:libelle>Visite « T3 »</ns1:libelle>"
    "</ns1:evenement></ns1:listeEvenement></ns1:demande>\n";

/* DEMAND_A written differently: default namespace, other prefixes, attribute order, blanks,
 * character references, CDATA, comments, PIs, keyed list order, an empty element dropped, an
 * extension namespace. Same data. */
static const char *DEMAND_A_REWRITTEN =
    "<demande xmlns=\"" NS
    "\" xmlns:x=\"urn:ext\">\n  <numUnique> 0380000000001G1226 </numUnique>\n"
    "  <etatDemande>ACTIVE</etatDemande>\n"
    "  <dateDerniereModification>2026-10-01T10:00:00Z</dateDerniereModification>\n"
    "  <listeEvenement>\n"
    "    <evenement><idEvenement>E1</idEvenement><!-- note --><libelle><![CDATA[Visite « T3 "
    "»]]></libelle></evenement>\n"
    "    <evenement><?pi data?><idEvenement>E2</idEvenement>\n"
    "      <typeEvenement x:extra=\"1\" code=\"VISITE\"></typeEvenement><x:ext>ignored</x:ext>\n"
    "    </evenement>\n  </listeEvenement>\n"
    "  <cerfa>\n    <numGuichet>G1226</numGuichet>\n    <personnePhysique>\n      <demandeur>\n"
    "        <civilite code=\"2\"/>\n        <nom>D&#39;ARC &#x26; FILS</nom>\n"
    "      </demandeur>\n    </personnePhysique>\n    <logementRecherche>\n"
    "      <listeLocalisationSouhaitee><localisationSouhaitee><commune code=\"38185\"/>"
    "</localisationSouhaitee><localisationSouhaitee><commune code=\"38421\"/>"
    "</localisationSouhaitee></listeLocalisationSouhaitee>\n"
    "    </logementRecherche>\n  </cerfa>\n  <dalo/>\n</demande>\n";

static void test_header_and_items(void)
{
    capture c = {0};
    char *doc = doc_of(HEAD, DEMAND_A, 1);
    CHECK_EQ_INT(parse(doc, 1 << 20, &c, NULL), SNE_OK);
    CHECK_EQ_STR(c.header.numero, "T1");
    CHECK_EQ_INT(c.header.entities,
                 (1u << SNE_ENTITY_CERFA) | (1u << SNE_ENTITY_EVT) | (1u << SNE_ENTITY_DALO));
    CHECK_EQ_INT(c.header.location, SNE_LOCATION_DEPARTEMENTS);
    CHECK_EQ_INT(c.header.n_locations, 1);
    CHECK_EQ_STR(c.locations[0], "38");
    CHECK_EQ_INT(c.demands, 1);
    CHECK_EQ_STR(c.num[0], "0380000000001G1226");
    CHECK_EQ_INT(c.n_items[0], 3); /* CERFA, EVT E1, EVT E2: sorted by entity then key */
    CHECK_EQ_INT(c.entities[0][0], SNE_ENTITY_CERFA);
    CHECK_EQ_INT(c.entities[0][1], SNE_ENTITY_EVT);
    CHECK_EQ_STR(c.keys[0][1], "E1");
    CHECK_EQ_STR(c.keys[0][2], "E2");
    CHECK_EQ_INT(c.communes[0], 2);
    free(doc);
}

static void test_same_data_written_another_way(void)
{
    capture a = {0}, b = {0};
    char *doc_a = doc_of(HEAD, DEMAND_A, 1);
    /* The rewritten document also uses another prefix for the envelope and ISO-8859-1. */
    char *doc_b = doc_of(HEAD, DEMAND_A_REWRITTEN, 1);
    CHECK_EQ_INT(parse(doc_a, 1 << 20, &a, NULL), SNE_OK);
    CHECK_EQ_INT(parse(doc_b, 7, &b, NULL), SNE_OK); /* fed 7 bytes at a time */
    CHECK_EQ_INT(b.n_items[0], a.n_items[0]);
    for (size_t i = 0; i < a.n_items[0]; i++) {
        CHECK_EQ_STR(b.keys[0][i], a.keys[0][i]);
        CHECK(a.hashes[0][i] == b.hashes[0][i]);
    }
    free(doc_a);
    free(doc_b);
}

static void test_latin1_document(void)
{
    /* "Visite « T3 »" in ISO-8859-1: « is 0xAB, » is 0xBB. */
    const char *latin1_head_decl = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>";
    const char *utf8_decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
    char *utf8 = doc_of(HEAD, DEMAND_A, 1);
    size_t n = strlen(utf8);
    char *latin1 = malloc(n + 64);
    strcpy(latin1, latin1_head_decl);
    const char *src = utf8 + strlen(utf8_decl);
    char *dst = latin1 + strlen(latin1);
    for (; *src; src++) {
        unsigned char ch = (unsigned char)*src;
        if (ch == 0xC2 && ((unsigned char)src[1] == 0xAB || (unsigned char)src[1] == 0xBB)) {
            *dst++ = src[1];
            src++;
        } else {
            *dst++ = (char)ch;
        }
    }
    *dst = '\0';
    capture a = {0}, b = {0};
    CHECK_EQ_INT(parse(utf8, 1 << 20, &a, NULL), SNE_OK);
    CHECK_EQ_INT(parse(latin1, 3, &b, NULL), SNE_OK);
    CHECK_EQ_INT(a.n_items[0], b.n_items[0]);
    for (size_t i = 0; i < a.n_items[0]; i++)
        CHECK(a.hashes[0][i] == b.hashes[0][i]);
    free(utf8);
    free(latin1);
}

static void test_changed_value_changes_hash(void)
{
    capture a = {0}, b = {0};
    char *doc_a = doc_of(HEAD, DEMAND_A, 1);
    char *body = strdup(DEMAND_A);
    char *at = strstr(body, "38421");
    at[4] = '2'; /* another sought commune */
    char *doc_b = doc_of(HEAD, body, 1);
    CHECK_EQ_INT(parse(doc_a, 1 << 20, &a, NULL), SNE_OK);
    CHECK_EQ_INT(parse(doc_b, 1 << 20, &b, NULL), SNE_OK);
    CHECK(a.hashes[0][0] != b.hashes[0][0]); /* CERFA differs */
    CHECK(a.hashes[0][1] == b.hashes[0][1]); /* events do not */
    free(doc_a);
    free(doc_b);
    free(body);
}

/* Each of these must fail with the given code. */
static void expect_failure(const char *name, const char *doc, sne_err code)
{
    capture c = {0};
    sne_error err;
    sne_err rc = parse(doc, 4096, &c, &err);
    if (rc != code)
        fprintf(stderr, "%s: got %d (%s), wanted %d\n", name, rc, err.message, code);
    CHECK_EQ_INT(rc, code);
    CHECK(strstr(err.message, "EXPORT_T_001.xml") != NULL);
}

static void test_bad_documents(void)
{
    char *doc;
    doc = doc_of(HEAD, DEMAND_A, 2);
    expect_failure("pied count", doc, SNE_ERR_INCOMPLETE);
    free(doc);

    char *bad_num = strdup(DEMAND_A);
    memcpy(strstr(bad_num, "0380000000001G1226"), "03800000000a1G1226", 18);
    doc = doc_of(HEAD, bad_num, 1);
    expect_failure("invalid numUnique", doc, SNE_ERR_INVALID);
    free(doc);
    free(bad_num);

    size_t n = strlen(DEMAND_A) * 2 + 1;
    char *twice = malloc(n);
    snprintf(twice, n, "%s%s", DEMAND_A, DEMAND_A);
    doc = doc_of(HEAD, twice, 2);
    capture c = {0};
    CHECK_EQ_INT(parse(doc, 4096, &c, NULL), SNE_OK); /* across demands: the store's job */
    free(doc);
    free(twice);

    char *dup_key = strdup(DEMAND_A);
    memcpy(strstr(dup_key, ">E2<") + 1, "E1", 2);
    doc = doc_of(HEAD, dup_key, 1);
    expect_failure("duplicate item key", doc, SNE_ERR_INVALID);
    free(doc);
    free(dup_key);

    char *no_key = strdup(DEMAND_A);
    memcpy(strstr(no_key, "idEvenement>E2</ns1:idEvenement"), "idEvenemenX>E2</ns1:idEvenemenX",
           31);
    doc = doc_of(HEAD, no_key, 1);
    expect_failure("item without key", doc, SNE_ERR_INVALID);
    free(doc);
    free(no_key);

    doc = doc_of(HEAD, "<ns1:demande><ns1:numUnique>0380000000001G1226", 1);
    expect_failure("truncated", doc, SNE_ERR_XML);
    free(doc);

    const char *bomb =
        "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 "
        "\"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>\n"
        "<ns1:exportNuu xmlns:ns1=\"" NS "\">&lol2;</ns1:exportNuu>";
    expect_failure("entity bomb", bomb, SNE_ERR_XML);

    const char *xxe =
        "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "
        "\"file:///etc/passwd\">]>\n<ns1:exportNuu xmlns:ns1=\"" NS "\">&e;</ns1:exportNuu>";
    expect_failure("external entity", xxe, SNE_ERR_XML);

    const char *undeclared = "<ns1:exportNuu xmlns:ns1=\"" NS "\">&e;</ns1:exportNuu>";
    expect_failure("undeclared entity", undeclared, SNE_ERR_XML);

    expect_failure("wrong root", "<exportNuu/>", SNE_ERR_INVALID);
    expect_failure("empty", "", SNE_ERR_XML);

    /* A text value over the limit. */
    size_t big = 300 * 1024;
    char *huge = malloc(big + 1024);
    int off = snprintf(huge, big + 1024, "%s", DEMAND_A);
    char *lib = strstr(huge, "Visite");
    memmove(lib + big, lib, (size_t)off - (size_t)(lib - huge) + 1);
    memset(lib, 'a', big);
    doc = doc_of(HEAD, huge, 1);
    expect_failure("huge text", doc, SNE_ERR_LIMIT);
    free(doc);
    free(huge);

    /* Nesting deeper than the limit. */
    char deep[64 * 20 + 512];
    size_t pos = (size_t)snprintf(deep, sizeof(deep), "<ns1:exportNuu xmlns:ns1=\"" NS "\">");
    for (int i = 0; i < 70; i++)
        pos += (size_t)snprintf(deep + pos, sizeof(deep) - pos, "<ns1:a>");
    expect_failure("deep nesting", deep, SNE_ERR_LIMIT);
}

/* A start tag with thousands of attributes is refused before libxml2 compares them pairwise;
 * '=' signs in comments, CDATA, PIs and attribute values are not attributes. */
static void test_attribute_flood(void)
{
    size_t cap = 200000;
    char *body = malloc(cap);
    size_t pos = (size_t)snprintf(body, cap, "<ns1:demande><ns1:numUnique a0=\"1\"");
    for (int i = 1; i < 5000; i++)
        pos += (size_t)snprintf(body + pos, cap - pos, " a%d=\"1\"", i);
    snprintf(body + pos, cap - pos, ">X</ns1:numUnique></ns1:demande>");
    char *doc = doc_of(HEAD, body, 1);
    expect_failure("attribute flood", doc, SNE_ERR_LIMIT);
    free(doc);

    char equals[400];
    memset(equals, '=', sizeof(equals) - 1);
    equals[sizeof(equals) - 1] = '\0';
    char *quiet = strdup(DEMAND_A);
    snprintf(body, cap, "<!-- %s --><?pi %s?>%.*s<![CDATA[%s]]>%s", equals, equals,
             (int)(strstr(quiet, "</ns1:libelle>") - quiet), quiet, equals,
             strstr(quiet, "</ns1:libelle>"));
    doc = doc_of(HEAD, body, 1);
    capture c = {0}, bytewise = {0};
    CHECK_EQ_INT(parse(doc, 5, &c, NULL), SNE_OK);
    CHECK_EQ_INT(parse(doc, 1, &bytewise, NULL), SNE_OK); /* every "-->" split across chunks */
    free(doc);
    free(quiet);
    free(body);
}

/* An entete asking for DRM only, with the perimetre's DRM fields `drm`. */
static char *drm_head(const char *drm)
{
    size_t n = strlen(ENTETE_START) + strlen(drm) + 256;
    char *h = malloc(n);
    snprintf(h, n,
             ENTETE_START "<ns1:perimetre><ns1:listeEntite><ns1:entite>DRM</ns1:entite>"
                          "</ns1:listeEntite><ns1:etatDemande>ACTIVE</ns1:etatDemande>%s"
                          "</ns1:perimetre></ns1:entete>\n",
             drm);
    return h;
}

static void test_drm_window_header(void)
{
    capture c = {0};
    char *head = drm_head("<ns1:profondeurDrm>1</ns1:profondeurDrm>"
                          "<ns1:dernierePeriodeDrm> 2026-10\n</ns1:dernierePeriodeDrm>");
    char *doc = doc_of(head, "", 0);
    CHECK_EQ_INT(parse(doc, 7, &c, NULL), SNE_OK);
    CHECK_EQ_INT(c.header.entities, 1u << SNE_ENTITY_DRM);
    CHECK_EQ_INT(c.header.profondeur_drm, 1);
    CHECK_EQ_INT(c.header.derniere_periode_drm, 2026 * 12 + 10);
    free(doc);
    free(head);

    /* Absent: 0, whatever the depth. */
    head = drm_head("<ns1:profondeurDrm>2</ns1:profondeurDrm>");
    doc = doc_of(head, "", 0);
    CHECK_EQ_INT(parse(doc, 4096, &c, NULL), SNE_OK);
    CHECK_EQ_INT(c.header.profondeur_drm, 2);
    CHECK_EQ_INT(c.header.derniere_periode_drm, 0);
    free(doc);
    free(head);

    /* Consecutive months have consecutive numbers, across a year; the first period is not 0. */
    uint32_t dec, jan, first;
    CHECK(sne_period_parse("2026-12", 7, &dec) && sne_period_parse("2027-01", 7, &jan));
    CHECK_EQ_INT(jan, dec + 1);
    CHECK(sne_period_parse("0000-01", 7, &first) && first > 0);

    const char *bad[] = {"2026-13",    "2026-00", "2026-1", "26-10",    "2026/10",
                         "2026-10-01", "2026-1a", "",       "2026-10 x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char field[96];
        snprintf(field, sizeof(field), "<ns1:dernierePeriodeDrm>%s</ns1:dernierePeriodeDrm>",
                 bad[i]);
        head = drm_head(field);
        doc = doc_of(head, "", 0);
        sne_error err;
        CHECK_EQ_INT(parse(doc, 4096, &c, &err), SNE_ERR_INVALID);
        CHECK(strstr(err.message, "dernierePeriodeDrm is not a period") != NULL);
        CHECK(strstr(err.message, "EXPORT_T_001.xml") != NULL);
        free(doc);
        free(head);
    }
}

static void test_callback_error_is_located(void)
{
    capture c = {0};
    c.fail_demand_with = SNE_ERR_STORE;
    char *doc = doc_of(HEAD, DEMAND_A, 1);
    sne_error err;
    CHECK_EQ_INT(parse(doc, 4096, &c, &err), SNE_ERR_STORE);
    CHECK(strstr(err.message, "refused by the test") != NULL);
    CHECK(strstr(err.message, "0380000000001G1226") != NULL);
    free(doc);
}

int main(void)
{
    test_header_and_items();
    test_same_data_written_another_way();
    test_latin1_document();
    test_changed_value_changes_hash();
    test_bad_documents();
    test_attribute_flood();
    test_callback_error_is_located();
    test_drm_window_header();
    return TEST_SUMMARY();
}
