/* Unit tests of the store's small records (store/codec.h): the run record, the scope key and
 * value, meta's counts, a demand's read instant and the sync job's note. Each is checked byte by
 * byte against its layout (built here by hand, little-endian, not by the encoder), read back,
 * read in the versions written before the current one, and refused when cut. */
#include "store/codec.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

/* `s` NUL-padded to `width` bytes at p. */
static void put_field(uint8_t *p, const char *s, size_t width)
{
    memset(p, 0, width);
    memcpy(p, s, strlen(s));
}

/* A run record as versions 0 (no window) and 1 wrote it: no version byte, the state first. */
static size_t run_record_v1(uint8_t *b, bool window)
{
    size_t at = 0;
    b[at++] = SNE_RUN_STARTED;
    b[at++] = 1; /* radiees */
    b[at++] = SNE_LOCATION_DEPARTEMENTS;
    put_le(b + at, 0x0102030405060708ull, 8), at += 8; /* attempt */
    put_le(b + at, (uint64_t)-86400000ll, 8), at += 8; /* date: the day before 1970 */
    put_le(b + at, (1u << SNE_ENTITY_CERFA) | (1u << SNE_ENTITY_DRM), 4), at += 4;
    put_le(b + at, 2, 4), at += 4; /* locations */
    put_field(b + at, "EXP_1", 41), at += 41;
    put_field(b + at, "1969-12-31T00:00:00Z", 41), at += 41;
    put_field(b + at, "38", 8), at += 8;
    put_field(b + at, "2A", 8), at += 8;
    if (window) {
        b[at++] = 3;
        put_le(b + at, 24312, 4), at += 4;
    }
    return at;
}

static char run_locations[SNE_MAX_LOCATIONS][SNE_STORED_LOCATION];

/* The run the records of run_record_v1() describe. */
static sne_run sample_run(void)
{
    sne_run r = {.state = SNE_RUN_STARTED,
                 .attempt = 0x0102030405060708ull,
                 .date_ms = -86400000ll,
                 .entities = (1u << SNE_ENTITY_CERFA) | (1u << SNE_ENTITY_DRM),
                 .radiees = true,
                 .location = SNE_LOCATION_DEPARTEMENTS,
                 .n_locations = 2,
                 .locations = run_locations,
                 .profondeur_drm = 3,
                 .derniere_periode_drm = 24312};
    strcpy(r.numero, "EXP_1");
    strcpy(r.date_export, "1969-12-31T00:00:00Z");
    strcpy(run_locations[0], "38");
    strcpy(run_locations[1], "2A");
    return r;
}

static void check_sample_run(const sne_run *r, bool window)
{
    CHECK_EQ_INT(r->state, SNE_RUN_STARTED);
    CHECK(r->attempt == 0x0102030405060708ull);
    CHECK_EQ_INT(r->date_ms, -86400000ll);
    CHECK_EQ_INT(r->entities, (1u << SNE_ENTITY_CERFA) | (1u << SNE_ENTITY_DRM));
    CHECK(r->radiees);
    CHECK_EQ_INT(r->location, SNE_LOCATION_DEPARTEMENTS);
    CHECK_EQ_STR(r->numero, "EXP_1");
    CHECK_EQ_STR(r->date_export, "1969-12-31T00:00:00Z");
    CHECK_EQ_INT(r->n_locations, 2);
    CHECK_EQ_STR(r->locations[0], "38");
    CHECK_EQ_STR(r->locations[1], "2A");
    CHECK_EQ_INT(r->profondeur_drm, window ? 3 : 0);
    CHECK_EQ_INT(r->derniere_periode_drm, window ? 24312 : 0);
}

static void test_run_record(void)
{
    static char got_locations[SNE_MAX_LOCATIONS][SNE_STORED_LOCATION];
    uint8_t v1[256], v0[256];
    size_t n1 = run_record_v1(v1, true), n0 = run_record_v1(v0, false);
    sne_buf enc;
    sne_buf_init(&enc, 1 << 20);
    sne_run r = sample_run(), got = {.locations = got_locations};

    /* Version 2 is version 1 behind a version byte. */
    CHECK_EQ_INT(sne_run_encode(&r, &enc), SNE_OK);
    CHECK_EQ_INT(enc.len, 1 + n1);
    CHECK_EQ_INT(enc.data[0], SNE_RUN_VERSION);
    CHECK(enc.len == 1 + n1 && memcmp(enc.data + 1, v1, n1) == 0);
    CHECK_EQ_INT(sne_run_decode(enc.data, enc.len, &got), SNE_OK);
    check_sample_run(&got, true);

    /* Records of versions 1 and 0 read. */
    memset(&got, 0, sizeof(got));
    got.locations = got_locations;
    CHECK_EQ_INT(sne_run_decode(v1, n1, &got), SNE_OK);
    check_sample_run(&got, true);
    CHECK_EQ_INT(sne_run_decode(v0, n0, &got), SNE_OK);
    check_sample_run(&got, false);

    /* A cut record is refused and leaves the run as it was. */
    for (size_t cut = 0; cut < enc.len; cut++) {
        got.attempt = 99;
        CHECK_EQ_INT(sne_run_decode(enc.data, cut, &got), SNE_ERR_CORRUPT);
        CHECK_EQ_INT(got.attempt, 99);
    }
    for (size_t cut = 1; cut < 5; cut++)
        CHECK_EQ_INT(sne_run_decode(v1, n1 - cut, &got), SNE_ERR_CORRUPT);
    CHECK_EQ_INT(sne_run_decode(v1, n1 + 1, &got), SNE_ERR_CORRUPT);

    /* Values outside the layout's. */
    enc.data[1] = 2; /* no state */
    CHECK_EQ_INT(sne_run_decode(enc.data, enc.len, &got), SNE_ERR_CORRUPT);
    enc.data[1] = SNE_RUN_STARTED;
    memset(enc.data + 1 + 27, 'x', 41); /* numero without its NUL */
    CHECK_EQ_INT(sne_run_decode(enc.data, enc.len, &got), SNE_ERR_CORRUPT);
    r.n_locations = SNE_MAX_LOCATIONS + 1;
    CHECK_EQ_INT(sne_run_encode(&r, &enc), SNE_ERR_LIMIT);
    r.n_locations = 2;
    r.profondeur_drm = 256;
    CHECK_EQ_INT(sne_run_encode(&r, &enc), SNE_ERR_LIMIT);
    sne_buf_free(&enc);
}

static void test_scope(void)
{
    uint8_t want[SNE_SCOPE_VALUE_SIZE], enc[SNE_SCOPE_VALUE_SIZE];
    want[0] = SNE_SCOPE_VERSION;
    put_le(want + 1, 0x0807060504030201ull, 8);
    put_field(want + 9, "EXP_2", 41);
    put_field(want + 50, "2026-02-01T10:00:00Z", 41);
    sne_scope_value sv = {.date_ms = 0x0807060504030201ll}, got;
    strcpy(sv.numero, "EXP_2");
    strcpy(sv.date_export, "2026-02-01T10:00:00Z");
    CHECK_EQ_INT(sne_scope_value_encode(&sv, enc), SNE_OK);
    CHECK(memcmp(enc, want, sizeof(want)) == 0);
    CHECK_EQ_INT(sne_scope_value_decode(enc, sizeof(enc), &got), SNE_OK);
    CHECK(got.date_ms == sv.date_ms);
    CHECK_EQ_STR(got.numero, "EXP_2");
    CHECK_EQ_STR(got.date_export, "2026-02-01T10:00:00Z");

    /* Version 0: the same without the version byte. */
    memset(&got, 0, sizeof(got));
    CHECK_EQ_INT(sne_scope_value_decode(want + 1, sizeof(want) - 1, &got), SNE_OK);
    CHECK(got.date_ms == sv.date_ms);
    CHECK_EQ_STR(got.date_export, "2026-02-01T10:00:00Z");

    for (size_t cut = 0; cut < sizeof(want) - 1; cut++)
        CHECK_EQ_INT(sne_scope_value_decode(want, cut, &got), SNE_ERR_CORRUPT);
    want[0] = SNE_SCOPE_VERSION + 1;
    CHECK_EQ_INT(sne_scope_value_decode(want, sizeof(want), &got), SNE_ERR_CORRUPT);
    want[0] = SNE_SCOPE_VERSION;
    memset(want + 50, 'x', 41); /* dateExport without its NUL */
    CHECK_EQ_INT(sne_scope_value_decode(want, sizeof(want), &got), SNE_ERR_CORRUPT);
    memset(sv.numero, 'x', sizeof(sv.numero)); /* too long for its field */
    CHECK_EQ_INT(sne_scope_value_encode(&sv, enc), SNE_ERR_LIMIT);

    char key[SNE_SCOPE_KEY_MAX + 1];
    sne_scope_key k = {.radiees = false, .entity = SNE_ENTITY_CERFA, .unit = "D38"}, kg;
    CHECK_EQ_INT(sne_scope_key_encode(&k, key), 11);
    CHECK_EQ_STR(key, "A|CERFA|D38");
    CHECK_EQ_INT(sne_scope_key_decode((const uint8_t *)"R|DRM|C38185", 12, &kg), SNE_OK);
    CHECK(kg.radiees && kg.entity == SNE_ENTITY_DRM);
    CHECK_EQ_STR(kg.unit, "C38185");
    const char *bad[] = {"",          "A",        "A|CERFA",   "A|CERFA|",
                         "X|CERFA|*", "A|NOPE|*", "A-CERFA|*", "A|CERFA|C123456789"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ_INT(sne_scope_key_decode((const uint8_t *)bad[i], strlen(bad[i]), &kg),
                     SNE_ERR_CORRUPT);
}

static void test_counts(void)
{
    uint64_t counts[SNE_ENTITY__COUNT], got[SNE_ENTITY__COUNT];
    uint8_t enc[SNE_COUNTS_SIZE], want[SNE_COUNTS_SIZE];
    for (int e = 0; e < SNE_ENTITY__COUNT; e++) {
        counts[e] = 0x0101010101ull * (uint64_t)(e + 1);
        put_le(want + 8 * e, counts[e], 8);
    }
    sne_counts_encode(counts, enc);
    CHECK(memcmp(enc, want, sizeof(want)) == 0);
    CHECK(sne_counts_decode(enc, sizeof(enc), got));
    CHECK(memcmp(got, counts, sizeof(got)) == 0);
    CHECK(!sne_counts_decode(enc, sizeof(enc) - 8, got)); /* another entity table */
    CHECK_EQ_INT(got[0], 0);
}

static void test_taken(void)
{
    uint8_t enc[SNE_TAKEN_SIZE], want[SNE_TAKEN_SIZE];
    int64_t ms = 0;
    bool tombstone = false;
    put_le(want, (uint64_t)1761872400123LL, 8);
    want[8] = SNE_TAKEN_TOMBSTONE;
    sne_taken_encode(1761872400123LL, true, enc);
    CHECK(memcmp(enc, want, sizeof(want)) == 0);
    CHECK(sne_taken_decode(enc, sizeof(enc), &ms, &tombstone));
    CHECK(ms == 1761872400123LL && tombstone);
    sne_taken_encode(-1, false, enc); /* before 1970: still an instant */
    CHECK(sne_taken_decode(enc, sizeof(enc), &ms, &tombstone));
    CHECK(ms == -1 && !tombstone);
    CHECK(!sne_taken_decode(enc, sizeof(enc) - 1, &ms, &tombstone)); /* damaged */
}

/* A note as sync.c wrote it before its layout moved to the codec. */
static const char OLD_NOTE[] =
    "version=1\nphase=ready\nserver=https://sne.example\nrequest={\"a\":1}\nnumero=EXP_3\n"
    "taille=1234\nsha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
    "url=https://sne.example/f/EXP_3.tar.gz\ndateExport=2026-03-01T00:00:00Z\n";

static void test_sync_note(void)
{
    static sne_sync_note nt, back;
    sne_buf enc;
    sne_buf_init(&enc, SNE_NOTE_MAX);
    size_t n = sizeof(OLD_NOTE) - 1;

    CHECK_EQ_INT(sne_sync_note_decode(&nt, OLD_NOTE, n), SNE_OK);
    CHECK_EQ_INT(nt.phase, SNE_NOTE_READY);
    CHECK_EQ_STR(nt.server, "https://sne.example");
    CHECK_EQ_STR(nt.request, "{\"a\":1}");
    CHECK_EQ_STR(nt.numero, "EXP_3");
    CHECK_EQ_INT(nt.taille, 1234);
    CHECK_EQ_INT(strlen(nt.sha256), 64);
    CHECK_EQ_STR(nt.url, "https://sne.example/f/EXP_3.tar.gz");
    CHECK_EQ_STR(nt.date_export, "2026-03-01T00:00:00Z");

    /* The layout: the same text, byte for byte. */
    CHECK_EQ_INT(sne_sync_note_encode(&nt, &enc), SNE_OK);
    CHECK_EQ_STR((const char *)enc.data, OLD_NOTE);
    CHECK_EQ_INT(sne_sync_note_decode(&back, enc.data, enc.len), SNE_OK);
    CHECK(memcmp(&back, &nt, sizeof(nt)) == 0);

    /* A cut note is no note. */
    for (size_t cut = 0; cut < n; cut++) {
        CHECK_EQ_INT(sne_sync_note_decode(&back, OLD_NOTE, cut), SNE_ERR_CORRUPT);
        CHECK_EQ_INT(back.phase, SNE_NOTE_NONE);
    }

    /* Another version; an unknown key; a value too long for its field. */
    char text[2048];
    snprintf(text, sizeof(text), "version=2\n%s", strchr(OLD_NOTE, '\n') + 1);
    CHECK_EQ_INT(sne_sync_note_decode(&back, text, strlen(text)), SNE_ERR_CORRUPT);
    snprintf(text, sizeof(text), "%slater=1\n", OLD_NOTE);
    CHECK_EQ_INT(sne_sync_note_decode(&back, text, strlen(text)), SNE_OK);
    char url[600];
    memset(url, 'u', sizeof(url) - 1);
    url[sizeof(url) - 1] = '\0';
    snprintf(text, sizeof(text), "%surl=%s\n", OLD_NOTE, url); /* the last one read wins */
    CHECK_EQ_INT(sne_sync_note_decode(&back, text, strlen(text)), SNE_OK);
    CHECK_EQ_STR(back.url, "");

    /* What the decoder would not read back is not written. */
    back = nt;
    strcpy(back.url, "https://a\nphase=ingested");
    CHECK_EQ_INT(sne_sync_note_encode(&back, &enc), SNE_ERR_INVALID);
    back = nt;
    back.sha256[0] = '\0';
    CHECK_EQ_INT(sne_sync_note_encode(&back, &enc), SNE_ERR_INVALID);
    back = nt;
    back.numero[0] = '\0';
    CHECK_EQ_INT(sne_sync_note_encode(&back, &enc), SNE_ERR_INVALID);
    back.phase = SNE_NOTE_REQUESTED; /* requested: no size or SHA-256 yet */
    strcpy(back.numero, "EXP_4");
    back.taille = -1;
    back.sha256[0] = '\0';
    CHECK_EQ_INT(sne_sync_note_encode(&back, &enc), SNE_OK);
    CHECK_EQ_INT(sne_sync_note_decode(&nt, enc.data, enc.len), SNE_OK);
    CHECK_EQ_INT(nt.phase, SNE_NOTE_REQUESTED);
    CHECK_EQ_INT(nt.taille, -1);
    sne_buf_free(&enc);
}

int main(void)
{
    test_run_record();
    test_scope();
    test_counts();
    test_taken();
    test_sync_note();
    return TEST_SUMMARY();
}
