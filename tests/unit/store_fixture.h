/* store_fixture.h: demands made by hand for the store's unit tests (test_store.c,
 * test_store_read.c): items of a given canonical text, export headers, the change log collected
 * as short lines. Static functions: each test executable has its own copy. */
#ifndef SNE_STORE_FIXTURE_H
#define SNE_STORE_FIXTURE_H

#include "canon/canon.h"
#include "store/store.h"
#include "testlib.h"

#include <stdio.h>
#include <string.h>
#include <xxhash.h>

/* A demand under construction: items are (entity, key, text) made canonical here. */
typedef struct fake_demand {
    sne_demand d;
    sne_item items[8];
    sne_buf canon[8];
    char keys[8][16]; /* keys made by fake_months() */
    char communes[2][SNE_COMMUNE_LEN + 1];
} fake_demand;

static void fake_init(fake_demand *f, const char *num, const char *commune)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->d.num_unique, sizeof(f->d.num_unique), "%s", num);
    snprintf(f->d.date_modification, sizeof(f->d.date_modification), "2026-10-01T00:00:00Z");
    snprintf(f->communes[0], sizeof(f->communes[0]), "%s", commune);
    f->d.communes = (const char(*)[SNE_COMMUNE_LEN + 1]) f->communes;
    f->d.items = f->items;
}

/* Adds an item whose canonical form is <name><v>text</v></name>; items must come sorted. */
static void fake_item(fake_demand *f, sne_entity e, const char *key, const char *text)
{
    sne_canon_writer w;
    sne_canon_writer_init(&w, 1 << 20, 1 << 16);
    const char *name = sne_entity_info_of(e)->item;
    sne_canon_open(&w, name, strlen(name), NULL, 0);
    sne_canon_open(&w, "v", 1, NULL, 0);
    sne_canon_text(&w, (const uint8_t *)text, strlen(text));
    sne_canon_close(&w);
    sne_canon_close(&w);
    size_t i = f->d.n_items++;
    f->canon[i] = w.out; /* take the buffer */
    sne_buf_free(&w.text);
    f->items[i] = (sne_item){e,
                             key,
                             strlen(key),
                             f->canon[i].data,
                             f->canon[i].len,
                             XXH3_64bits(f->canon[i].data, f->canon[i].len)};
    if (e == SNE_ENTITY_CERFA) {
        f->d.has_cerfa = true;
        f->d.n_communes = 1;
    }
}

static void fake_free(fake_demand *f)
{
    for (size_t i = 0; i < f->d.n_items; i++)
        sne_buf_free(&f->canon[i]);
}

static sne_export_header header(const char *numero, const char *date, int64_t ms,
                                sne_entity_set entities, char (*locs)[8], size_t n_locs)
{
    sne_export_header h = {0};
    snprintf(h.numero, sizeof(h.numero), "%s", numero);
    snprintf(h.date_export, sizeof(h.date_export), "%s", date);
    h.date_export_ms = ms;
    h.partie = h.nombre_parties = 1;
    h.entities = entities;
    h.location = n_locs ? SNE_LOCATION_DEPARTEMENTS : SNE_LOCATION_ALL;
    h.locations = locs;
    h.n_locations = n_locs;
    return h;
}

typedef struct collected {
    int n;
    char lines[64][96];
} collected;

static sne_err collect(void *ctx, const sne_change *c)
{
    collected *col = ctx;
    if (col->n < 64)
        snprintf(col->lines[col->n++], sizeof(col->lines[0]), "%llu %s %s %s %.*s%s%s",
                 (unsigned long long)c->seq, sne_op_name(c->op), c->num_unique,
                 sne_entity_info_of(c->entity)->code, (int)c->key_len, c->key,
                 c->before ? " B" : "", c->after ? " A" : "");
    return SNE_OK;
}

/* Runs export `h` of the n demands `ds` through the store as an ingest does. */
static void ingest_run(sne_store *s, sne_export_header *h, fake_demand *ds, size_t n,
                       sne_apply_stats *st, sne_err want_begin)
{
    bool resumed;
    memset(st, 0, sizeof(*st));
    CHECK_EQ_INT(sne_store_run_begin(s, h, false, &resumed), want_begin);
    if (want_begin)
        return;
    for (size_t i = 0; i < n; i++)
        CHECK_EQ_INT(sne_store_apply(s, &ds[i].d, st), SNE_OK);
    CHECK_EQ_INT(sne_store_commit(s), SNE_OK);
    CHECK_EQ_INT(sne_store_sweep(s, st), SNE_OK);
    CHECK_EQ_INT(sne_store_run_finish(s), SNE_OK);
}

#endif
