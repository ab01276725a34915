/* Unit tests of the EtatExport / problem+json reader: the contract's shapes, strictness, bounds,
 * string decoding, and a seeded mutation run (the seed is printed; SNESYNC_TEST_SEED replays it)
 * that must never crash, over-read (run it under ASan) or leave a field unterminated. */
#include "fetch/movements_json.h"
#include "fetch/status_json.h"
#include "testlib.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static sne_err parse(const char *json, sne_export_status *st, sne_error *err)
{
    return sne_status_parse(json, strlen(json), st, err);
}

static void test_contract_shapes(void)
{
    sne_export_status st;
    sne_error err = {0};
    CHECK_EQ_INT(
        parse("{\"numeroExport\":\"X20261124A0001\",\"statut\":\"EN_ATTENTE\"}", &st, &err),
        SNE_OK);
    CHECK_EQ_STR(st.numero, "X20261124A0001");
    CHECK_EQ_INT(st.statut, SNE_STATUT_EN_ATTENTE);
    CHECK_EQ_INT(st.progression, -1);
    CHECK_EQ_INT(st.taille, -1);

    const char *termine =
        "{ \"numeroExport\" : \"X1\", \"statut\":\"TERMINE\", \"progression\": 100,\n"
        "  \"dateExport\":\"2026-11-24T02:00:00+01:00\",\"expiration\":\"2026-11-27T02:00:00Z\",\n"
        "  \"fichier\": {\"url\":\"/v1.0/exports/X1/fichier\",\"taille\":1234567890123,\n"
        "   \"sha256\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\n"
        "   \"nombreDemandes\":2700000}, \"extension\": {\"a\":[1,2,{\"b\":null}],\"c\":true}}";
    CHECK_EQ_INT(parse(termine, &st, &err), SNE_OK);
    CHECK_EQ_INT(st.statut, SNE_STATUT_TERMINE);
    CHECK_EQ_INT(st.progression, 100);
    CHECK_EQ_INT(st.taille, 1234567890123LL);
    CHECK_EQ_INT(st.nombre_demandes, 2700000);
    CHECK_EQ_STR(st.url, "/v1.0/exports/X1/fichier");
    CHECK_EQ_STR(st.sha256, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    CHECK_EQ_STR(st.date_export, "2026-11-24T02:00:00+01:00");
    CHECK(st.has_fichier);

    CHECK_EQ_INT(parse("{\"numeroExport\":\"X2\",\"statut\":\"ECHEC\",\"erreur\":{\"code\":"
                       "\"ERREUR_SIMULEE\",\"message\":\"line1\\nline2\\u0007\"}}",
                       &st, &err),
                 SNE_OK);
    CHECK_EQ_INT(st.statut, SNE_STATUT_ECHEC);
    CHECK_EQ_STR(st.erreur_code, "ERREUR_SIMULEE");
    CHECK_EQ_STR(st.erreur_message, "line1 line2 "); /* control characters never reach a log */

    CHECK_EQ_INT(parse("{\"numeroExport\":\"X3\",\"statut\":\"NOUVEAU_STATUT\"}", &st, &err),
                 SNE_OK);
    CHECK_EQ_INT(st.statut, SNE_STATUT_UNKNOWN); /* a later version's value: not an error */
    CHECK_EQ_STR(sne_statut_name(SNE_STATUT_EXPIRE), "EXPIRE");

    /* A UTF-8 BOM and null members are tolerated. */
    CHECK_EQ_INT(parse("\xEF\xBB\xBF{\"numeroExport\":\"X4\",\"statut\":\"EN_COURS\","
                       "\"progression\":null,\"fichier\":null}",
                       &st, &err),
                 SNE_OK);
    CHECK(!st.has_fichier);
}

static void test_refusals(void)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{",
        "{\"numeroExport\":\"X1\"}",                                /* no statut */
        "{\"statut\":\"EN_COURS\"}",                                /* no numero */
        "{\"numeroExport\":\"../../etc\",\"statut\":\"EN_COURS\"}", /* not a safe number */
        "{\"numeroExport\":\"\",\"statut\":\"EN_COURS\"}",
        "{\"numeroExport\":\"X1\",\"statut\":\"EN_COURS\"} x", /* trailing text */
        "{\"numeroExport\":\"X1\",\"statut\":\"EN_COURS\",}",
        "{\"numeroExport\":\"X1\",\"statut\":\"EN_COURS\",\"progression\":101}",
        "{\"numeroExport\":\"X1\",\"statut\":\"EN_COURS\",\"progression\":1.5}",
        "{\"numeroExport\":\"X1\",\"statut\":\"EN_COURS\",\"progression\":01}",
        "{\"numeroExport\":\"X1\",\"statut\":\"TERMINE\"}", /* TERMINE without fichier */
        "{\"numeroExport\":\"X1\",\"statut\":\"TERMINE\",\"fichier\":{\"taille\":1}}",
        "{\"numeroExport\":\"X1\",\"statut\":\"TERMINE\",\"fichier\":{\"taille\":-1,\"sha256\":"
        "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}}",
        "{\"numeroExport\":\"X1\",\"statut\":\"TERMINE\",\"fichier\":{\"taille\":1,\"sha256\":"
        "\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\"}}",
        "{\"numeroExport\":\"X1\",\"numeroExport\":\"X2\",\"statut\":\"EN_COURS\"}", /* twice */
        "{\"numeroExport\":\"X1\",\"statut\":\"EN_COURS\",\"x\":\"a\\qb\"}",
        "{\"numeroExport\":\"X1\",\"statut\":\"EN_COURS\",\"x\":\"\\u12\"}",
        "{\"numeroExport\":\"X1\",\"statut\":\"EN_COURS\",\"x\":\"tab\there\"}",
        "{\"numeroExport\":\"X1\",\"statut\":\"EN_COURS\",\"x\":tru}",
        "{\"numeroExport\":\"X1\",\"statut\":\"EN_COURS\",\"x\":-}",
        "{\"numeroExport\":\"X1\",\"statut\":\"EN_COURS\",\"fichier\":{\"taille\":"
        "99999999999999999999999}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sne_export_status st;
        sne_error err = {0};
        sne_err rc = parse(bad[i], &st, &err);
        if (rc == SNE_OK)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK(rc != SNE_OK);
        CHECK(err.message[0] != '\0');
    }
    /* An unknown member may hold any valid number: it is skipped. */
    sne_export_status st;
    CHECK_EQ_INT(
        parse("{\"numeroExport\":\"X1\",\"statut\":\"EN_COURS\",\"n\":-1.5e+300}", &st, NULL),
        SNE_OK);
}

static void test_bounds(void)
{
    sne_export_status st;
    sne_error err = {0};
    /* Nesting: 16 levels pass, 17 do not. */
    char deep[256];
    int n = snprintf(deep, sizeof(deep), "{\"numeroExport\":\"X1\",\"statut\":\"EN_COURS\",\"d\":");
    for (int i = 0; i < 14; i++)
        deep[n++] = '[';
    for (int i = 0; i < 14; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    CHECK_EQ_INT(parse(deep, &st, &err), SNE_OK);
    n = snprintf(deep, sizeof(deep), "{\"numeroExport\":\"X1\",\"statut\":\"EN_COURS\",\"d\":");
    for (int i = 0; i < 16; i++)
        deep[n++] = '[';
    for (int i = 0; i < 16; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    CHECK_EQ_INT(parse(deep, &st, &err), SNE_ERR_LIMIT);

    /* Input size. */
    size_t big = SNE_JSON_MAX_INPUT + 10;
    char *b = malloc(big + 1);
    memset(b, ' ', big);
    memcpy(b, "{\"numeroExport\":\"X1\",\"statut\":\"EN_COURS\"}", 41);
    b[big] = '\0';
    CHECK_EQ_INT(sne_status_parse(b, big, &st, &err), SNE_ERR_LIMIT);
    CHECK_EQ_INT(sne_status_parse(b, SNE_JSON_MAX_INPUT, &st, &err), SNE_OK);
    free(b);

    /* A numero over 40 characters is an error; a long free text is cut, not an error. */
    CHECK_EQ_INT(parse("{\"numeroExport\":\"X123456789012345678901234567890123456789012\","
                       "\"statut\":\"EN_COURS\"}",
                       &st, &err),
                 SNE_ERR_LIMIT);
    char msg[4096];
    n = snprintf(msg, sizeof(msg),
                 "{\"numeroExport\":\"X1\",\"statut\":\"ECHEC\",\"erreur\":"
                 "{\"message\":\"");
    for (int i = 0; i < 300; i++)
        n += snprintf(msg + n, sizeof(msg) - (size_t)n, "\\u00e9"); /* é, 2 bytes each */
    snprintf(msg + n, sizeof(msg) - (size_t)n, "\"}}");
    CHECK_EQ_INT(parse(msg, &st, &err), SNE_OK);
    CHECK_EQ_INT(strlen(st.erreur_message), 254); /* 127 whole characters, none split */
    CHECK(memcmp(st.erreur_message, "\xC3\xA9", 2) == 0);
}

static void test_strings(void)
{
    sne_export_status st;
    sne_problem pb;
    /* Escapes, a surrogate pair, a lone surrogate, invalid UTF-8. */
    const char *j = "{\"title\":\"caf\\u00e9 \\ud83d\\ude00 \\ud800x \xff\xfe ok\","
                    "\"status\":403,\"detail\":\"habilitation DRM requise \\\"G1\\\"\","
                    "\"type\":\"about:blank\",\"instance\":{\"x\":[]}}";
    CHECK_EQ_INT(sne_problem_parse(j, strlen(j), &pb, NULL), SNE_OK);
    CHECK_EQ_INT(pb.status, 403);
    CHECK_EQ_STR(pb.title, "caf\xC3\xA9 \xF0\x9F\x98\x80 ?x ?? ok");
    CHECK_EQ_STR(pb.detail, "habilitation DRM requise \"G1\"");
    CHECK_EQ_INT(sne_problem_parse("{}", 2, &pb, NULL), SNE_OK);
    CHECK_EQ_INT(pb.status, -1);
    CHECK_EQ_STR(pb.detail, "");
    CHECK(sne_problem_parse("<html>", 6, &pb, NULL) != SNE_OK);
    CHECK_EQ_INT(pb.status, -1);
    /* \u0000 never cuts a C string short. */
    CHECK_EQ_INT(parse("{\"numeroExport\":\"X1\",\"statut\":\"ECHEC\",\"erreur\":{\"message\":"
                       "\"a\\u0000b\"}}",
                       &st, NULL),
                 SNE_OK);
    CHECK_EQ_STR(st.erreur_message, "a?b");
}

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Mutations of valid documents: whatever the result, no crash, no over-read (the input is an
 * exact-size heap copy, so ASan sees one byte too far), fields always terminated. */
static void test_mutations(void)
{
    static const char *const seeds[] = {
        "{\"numeroExport\":\"X1\",\"statut\":\"TERMINE\",\"progression\":100,\"fichier\":{\"url\":"
        "\"/v1.0/exports/X1/fichier\",\"taille\":12,\"sha256\":"
        "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
        "\"nombreDemandes\":3},\"x\":[1,-2.5e3,true,false,null,\"\\u00e9\\n\"]}",
        "{\"numeroExport\":\"X2\",\"statut\":\"ECHEC\",\"erreur\":{\"code\":\"E\",\"message\":"
        "\"m\\\"\\\\\\/\"}}",
        "{\"type\":\"about:blank\",\"title\":\"Forbidden\",\"status\":403,\"detail\":\"no\"}",
    };
    const char *env = getenv("SNESYNC_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
    printf("mutation seed %llu (SNESYNC_TEST_SEED=%llu replays it)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    rng_state = seed * 2654435761u + 1;
    static const char alphabet[] = "{}[]\":,\\u0123456789abcdefE.-+ \t\ntruefalsnl\xC3\xA9\xff";
    int accepted = 0;
    for (int iter = 0; iter < 20000; iter++) {
        const char *src = seeds[rnd() % 3];
        size_t n = strlen(src);
        char *buf = malloc(n + 8);
        memcpy(buf, src, n);
        int edits = 1 + (int)(rnd() % 4);
        for (int e = 0; e < edits; e++) {
            size_t at = n ? rnd() % n : 0;
            switch (rnd() % 4) {
            case 0: /* replace */
                if (n)
                    buf[at] = alphabet[rnd() % (sizeof(alphabet) - 1)];
                break;
            case 1: /* delete */
                if (n) {
                    memmove(buf + at, buf + at + 1, n - at - 1);
                    n--;
                }
                break;
            case 2: /* truncate */
                n = at;
                break;
            default: /* insert */
                if (n < strlen(src) + 7) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = alphabet[rnd() % (sizeof(alphabet) - 1)];
                    n++;
                }
            }
        }
        char *exact = malloc(n ? n : 1);
        memcpy(exact, buf, n);
        sne_export_status st;
        sne_problem pb;
        sne_error err = {0};
        if (sne_status_parse(exact, n, &st, &err) == SNE_OK) {
            accepted++;
            CHECK(strlen(st.numero) <= 40 && strlen(st.url) < sizeof(st.url));
            CHECK(strlen(st.erreur_message) < sizeof(st.erreur_message));
            for (const char *p = st.erreur_message; *p; p++)
                CHECK((unsigned char)*p >= 0x20);
        } else {
            CHECK(strlen(err.message) < sizeof(err.message));
        }
        if (sne_problem_parse(exact, n, &pb, NULL) == SNE_OK)
            CHECK(strlen(pb.detail) < sizeof(pb.detail));
        free(exact);
        free(buf);
    }
    CHECK(accepted > 0); /* the mutations are not all fatal: the accepting paths ran too */
}

/* Collects the movements of a page as "NUM@DATE " into a string. */
typedef struct seen_movements {
    char text[512];
    int stop_after; /* >0: the callback stops the parse at that movement */
    int n;
} seen_movements;

static sne_err collect(void *ctx, const char *num, const char *date, sne_error *err)
{
    seen_movements *s = ctx;
    size_t len = strlen(s->text);
    snprintf(s->text + len, sizeof(s->text) - len, "%s@%s ", num, date);
    if (++s->n == s->stop_after)
        return sne_error_set(err, SNE_ERR_STORE, 0, "stopped by the callback");
    return SNE_OK;
}

static sne_err page(const char *json, seen_movements *s, sne_movements_page *pg, sne_error *err)
{
    memset(s->text, 0, sizeof(s->text));
    s->n = 0;
    return sne_movements_parse(json, strlen(json), collect, s, pg, err);
}

static void test_movements(void)
{
    sne_movements_page pg;
    sne_error err = {0};
    seen_movements s = {.stop_after = 0};
    CHECK_EQ_INT(
        page("{\"mouvements\":[{\"numUnique\":\"0380126000001G1700\",\"dateMouvement\":"
             "\"2026-10-24T22:02:00Z\",\"autre\":[1]},{\"dateMouvement\":\"2026-10-25T10:00:"
             "00Z\",\"numUnique\":\"02A0626000003G2001\"}],\"jusque\":\"2026-10-31T01:00:00."
             "000Z\",\"prochainCurseur\":\"c7.1761872400000\"}",
             &s, &pg, &err),
        SNE_OK);
    CHECK_EQ_STR(s.text, "0380126000001G1700@2026-10-24T22:02:00Z "
                         "02A0626000003G2001@2026-10-25T10:00:00Z ");
    CHECK_EQ_INT(pg.count, 2);
    CHECK_EQ_STR(pg.jusque, "2026-10-31T01:00:00.000Z");
    CHECK_EQ_STR(pg.curseur, "c7.1761872400000");
    CHECK_EQ_INT(page("{\"mouvements\":[],\"jusque\":\"2026-10-31T01:00:00Z\","
                      "\"prochainCurseur\":null}",
                      &s, &pg, &err),
                 SNE_OK);
    CHECK_EQ_STR(pg.curseur, "");
    CHECK_EQ_INT(pg.count, 0);
    /* refusals: no jusque, no mouvements, a bad number, a missing date, a cursor with a space,
     * a number cut to fit (never), a duplicate member, a movement that is not an object */
    static const char *const bad[] = {
        "{\"mouvements\":[]}",
        "{\"jusque\":\"2026-10-31T01:00:00Z\"}",
        "{\"mouvements\":[{\"numUnique\":\"0380126000001g1700\",\"dateMouvement\":\"x\"}],"
        "\"jusque\":\"j\"}",
        "{\"mouvements\":[{\"numUnique\":\"0380126000001G1700\"}],\"jusque\":\"j\"}",
        "{\"mouvements\":[],\"jusque\":\"j\",\"prochainCurseur\":\"c 1\"}",
        "{\"mouvements\":[{\"numUnique\":\"0380126000001G17001\",\"dateMouvement\":\"x\"}],"
        "\"jusque\":\"j\"}",
        "{\"mouvements\":[],\"jusque\":\"j\",\"jusque\":\"k\"}",
        "{\"mouvements\":[\"0380126000001G1700\"],\"jusque\":\"j\"}",
        "{\"mouvements\":{},\"jusque\":\"j\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ_INT(page(bad[i], &s, &pg, &err), SNE_ERR_INVALID);
    /* the callback's code stops the page */
    s.stop_after = 1;
    CHECK_EQ_INT(page("{\"mouvements\":[{\"numUnique\":\"0380126000001G1700\",\"dateMouvement\":"
                      "\"d\"},{\"numUnique\":\"0380126000001G1701\",\"dateMouvement\":\"d\"}],"
                      "\"jusque\":\"j\"}",
                      &s, &pg, &err),
                 SNE_ERR_STORE);
    CHECK_EQ_INT(s.n, 1);
}

int main(void)
{
    test_movements();
    test_contract_shapes();
    test_refusals();
    test_bounds();
    test_strings();
    test_mutations();
    return TEST_SUMMARY();
}
