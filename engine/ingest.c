#include "ingest.h"

#include "applier.h"
#include "common/format.h"
#include "unpack/readahead.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK     (256 * 1024)
#define PROGRESS_BYTES (16u << 20)
#define BATCH_DEMANDS  10000
#define BATCH_DIRTY    (16u << 20)

typedef struct ingest {
    sne_store *store;
    const sne_ingest_options *opt;
    sne_ingest_summary *sum;
    sne_readahead *unpack; /* the archive, decompressed on a thread of its own */
    sne_applier *applier;  /* the store's side, on a thread of its own once the run has begun */
    uint64_t demands_read;
    uint64_t commits_reported; /* the applier's commits when progress was last reported */
    bool applier_failed;       /* the parse stopped because the applier failed: ask it why */
    bool started;
    sne_export_header first;   /* the first part's header (locations not kept: compared by count) */
    unsigned char *parts_seen; /* nombreParties flags */
} ingest;

void sne_ingest_options_default(sne_ingest_options *o)
{
    memset(o, 0, sizeof(*o));
    o->batch_demands = BATCH_DEMANDS;
    o->batch_dirty = BATCH_DIRTY;
    o->expect_size = -1;
}

static void report(ingest *g, const char *phase)
{
    if (!g->opt->progress)
        return;
    sne_ingest_progress p = {sne_readahead_raw_bytes(g->unpack), g->sum->xml_bytes, g->demands_read,
                             phase};
    g->opt->progress(g->opt->progress_ctx, &p);
}

/* Later parts must describe the same export as the first. */
static bool same_export(const sne_export_header *a, const sne_export_header *b)
{
    return strcmp(a->numero, b->numero) == 0 && strcmp(a->date_export, b->date_export) == 0 &&
           a->nombre_parties == b->nombre_parties && a->entities == b->entities &&
           a->radiees == b->radiees && a->location == b->location &&
           a->n_locations == b->n_locations && a->profondeur_drm == b->profondeur_drm &&
           a->derniere_periode_drm == b->derniere_periode_drm;
}

static sne_err on_header(void *ctx, const sne_export_header *h, sne_error *err)
{
    ingest *g = ctx;
    if (g->started) {
        if (!same_export(&g->first, h))
            return sne_error_set(err, SNE_ERR_INVALID, 0,
                                 "this part describes another export than the first part");
    } else {
        bool resumed = false;
        sne_err rc = sne_store_run_begin(g->store, h, g->opt->force, &resumed);
        if (rc) {
            *err = *sne_store_error(g->store);
            return rc;
        }
        const sne_ingest_options *o = g->opt;
        rc = sne_applier_start(&g->applier, g->store,
                               o->batch_demands ? o->batch_demands : BATCH_DEMANDS,
                               o->batch_dirty ? o->batch_dirty : BATCH_DIRTY, &g->sum->stats, err);
        if (rc)
            return rc;
        g->first = *h;
        g->first.locations = NULL;
        g->parts_seen = calloc(h->nombre_parties, 1);
        if (!g->parts_seen)
            return sne_error_set(err, SNE_ERR_NOMEM, 0, "out of memory");
        g->started = true;
        sne_ingest_summary *sum = g->sum;
        snprintf(sum->numero, sizeof(sum->numero), "%s", h->numero);
        snprintf(sum->date_export, sizeof(sum->date_export), "%s", h->date_export);
        sum->entities = h->entities;
        sum->radiees = h->radiees;
        sum->resumed = resumed;
    }
    if (g->parts_seen[h->partie - 1])
        return sne_error_set(err, SNE_ERR_INVALID, 0, "part %u appears twice", h->partie);
    g->parts_seen[h->partie - 1] = 1;
    g->sum->parts++;
    return SNE_OK;
}

/* Reports progress when the applier committed a batch since the last report (from this thread:
 * the callback is the caller's), while demands are read and once the applier has finished. */
static void report_commits(ingest *g)
{
    uint64_t commits = sne_applier_commits(g->applier);
    if (commits != g->commits_reported) {
        g->commits_reported = commits;
        report(g, "reading");
    }
}

/* Hands the demand's record to the applier. Its errors stay with it (located there): parse_member
 * asks for them, and the parser's `err` is left alone. */
static sne_err on_demand(void *ctx, sne_record **rec, sne_error *err)
{
    (void)err;
    ingest *g = ctx;
    g->demands_read++;
    report_commits(g);
    sne_err rc = sne_applier_push(g->applier, rec);
    g->applier_failed = rc != SNE_OK;
    return rc;
}

static bool is_export_document(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".xml") == 0;
}

static sne_err parse_member(ingest *g, sne_parser *p, const char *name, uint8_t *buf,
                            sne_error *err)
{
    sne_err rc = sne_parser_begin(p, name);
    for (;;) {
        ptrdiff_t n = sne_readahead_read(g->unpack, buf, READ_CHUNK);
        if (n < 0) {
            *err = *sne_readahead_error(g->unpack);
            return err->code ? err->code : SNE_ERR_ARCHIVE;
        }
        if (n == 0)
            break;
        /* Progress between commits too: every PROGRESS_BYTES of XML. */
        if ((g->sum->xml_bytes + (uint64_t)n) / PROGRESS_BYTES !=
            g->sum->xml_bytes / PROGRESS_BYTES)
            report(g, "reading");
        g->sum->xml_bytes += (uint64_t)n;
        if ((rc = sne_parser_feed(p, buf, (size_t)n)))
            break;
    }
    if (!rc)
        rc = sne_parser_end(p);
    if (rc)
        *err = g->applier_failed ? *sne_applier_error(g->applier) : *sne_parser_error(p);
    else
        g->sum->unrequested += sne_parser_unrequested_count(p);
    return rc;
}

/* The proofs that the export is complete (contract README §2), once the archive is read. */
static sne_err check_complete(ingest *g, sne_error *err)
{
    if (!g->started)
        return sne_error_set(err, SNE_ERR_INCOMPLETE, 0, "the archive holds no export document");
    for (unsigned i = 0; i < g->first.nombre_parties; i++)
        if (!g->parts_seen[i])
            return sne_error_set(err, SNE_ERR_INCOMPLETE, 0,
                                 "part %u of %u of export %s is missing", i + 1,
                                 g->first.nombre_parties, g->first.numero);
    uint8_t digest[32];
    uint64_t size;
    sne_err rc = sne_readahead_digest(g->unpack, digest, &size);
    if (rc)
        return sne_error_set(err, rc, 0, "the archive's digest is not available");
    sne_format_hex(g->sum->sha256, digest, sizeof(digest));
    g->sum->raw_bytes = size;
    if (g->opt->expect_size >= 0 && (uint64_t)g->opt->expect_size != size)
        return sne_error_set(err, SNE_ERR_INCOMPLETE, 0,
                             "the archive has %llu bytes, %lld were announced",
                             (unsigned long long)size, (long long)g->opt->expect_size);
    if (g->opt->expect_sha256 && strcmp(g->opt->expect_sha256, g->sum->sha256) != 0)
        return sne_error_set(err, SNE_ERR_INCOMPLETE, 0,
                             "the archive's sha256 differs from the one announced");
    return SNE_OK;
}

sne_err sne_ingest(sne_store *s, sne_unpack_read_fn read, void *read_ctx,
                   const sne_ingest_options *o, sne_ingest_summary *sum, sne_error *err)
{
    sne_ingest_options defaults;
    if (!o) {
        sne_ingest_options_default(&defaults);
        o = &defaults;
    }
    memset(sum, 0, sizeof(*sum));
    ingest g = {.store = s, .opt = o, .sum = sum};
    sne_parser_callbacks cb = {on_header, on_demand};
    sne_parser *p = sne_parser_new(o->limits, &cb, &g);
    uint8_t *buf = malloc(READ_CHUNK);
    sne_err rc = SNE_OK;
    if (!p || !buf) {
        rc = sne_error_set(err, SNE_ERR_NOMEM, 0, "out of memory");
        goto out;
    }
    sne_unpack *u;
    if ((rc = sne_unpack_open(&u, read, read_ctx, o->unpack_limits, err)) ||
        (rc = sne_readahead_start(&g.unpack, u, 0, 0, err)))
        goto out;
    const char *name;
    while ((rc = sne_readahead_next(g.unpack, &name)) == SNE_OK) {
        if (is_export_document(name) && (rc = parse_member(&g, p, name, buf, err)))
            goto out;
    }
    if (rc != SNE_ERR_NOTFOUND) {
        *err = *sne_readahead_error(g.unpack);
        goto out;
    }
    if (g.applier) {
        if ((rc = sne_applier_finish(g.applier))) {
            *err = *sne_applier_error(g.applier);
            goto out;
        }
        report_commits(&g);
    }
    if ((rc = check_complete(&g, err)))
        goto out;
    report(&g, "sweeping");
    rc = sne_store_sweep(s, &sum->stats);
    if (!rc)
        rc = sne_store_run_finish(s);
    if (rc)
        *err = *sne_store_error(s);
out:
    sne_applier_free(g.applier); /* joins the thread, if a failure left it running */
    if (rc)
        sne_store_abort(s);
    if (!sum->raw_bytes)
        sum->raw_bytes = g.unpack ? sne_readahead_raw_bytes(g.unpack) : 0;
    sne_readahead_free(g.unpack);
    sne_parser_free(p);
    free(g.parts_seen);
    free(buf);
    return rc;
}
