/* follow.c: the incremental sync: window, movements, reads applied in order. See follow.h. */
#include "follow.h"

#include "common/buffer.h"
#include "common/isotime.h"
#include "fetch/gdm.h"
#include "follow_read.h"
#include "model/geo.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOTE_NAME "follow"
#define NOTE_MAX  (SNE_MAX_LOCATIONS * 8 + 512)

void sne_follow_options_default(sne_follow_options *o)
{
    memset(o, 0, sizeof(*o));
    sne_fetch_options_default(&o->fetch);
    o->overlap = 600;
    o->parallel = SNE_FOLLOW_MAX_PARALLEL;
    o->min_interval = 3600;
    o->batch_reads = 256;
}

/* The scope, parsed once. */
typedef struct scope {
    sne_location_kind kind;
    sne_location_list locations; /* when kind is not SNE_LOCATION_ALL */
    char key[NOTE_MAX / 2];      /* the scope as the note names it */
} scope;

static int cmp_code(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The scope's locations, parsed once: sorted and deduplicated. */
static sne_err parse_locations(scope *sc, const sne_follow_options *o, sne_error *err)
{
    sc->kind = o->departements ? SNE_LOCATION_DEPARTEMENTS
               : o->communes   ? SNE_LOCATION_COMMUNES
                               : SNE_LOCATION_ALL;
    sc->locations.n = 0;
    if (o->departements && o->communes)
        return sne_error_set(err, SNE_ERR_USAGE, 0, "departements or communes, not both");
    if (sc->kind == SNE_LOCATION_ALL)
        return SNE_OK;
    return sne_location_list_parse(&sc->locations, sc->kind,
                                   o->departements ? o->departements : o->communes,
                                   SNE_MAX_LOCATIONS, err);
}

/* The scope's key: etat, entities, locations ("A|1ff|D38,26"). */
static sne_err make_key(scope *sc, const sne_follow_options *o, sne_error *err)
{
    sne_buf b;
    sne_buf_init(&b, sizeof(sc->key) - 1);
    sne_err rc =
        sne_buf_printf(&b, "%c|%x|%c", o->radiees ? 'R' : 'A', o->entities, "*DC"[sc->kind]);
    for (size_t i = 0; !rc && i < sc->locations.n; i++)
        rc = sne_buf_printf(&b, "%s%s", i ? "," : "", sc->locations.codes[i]);
    if (!rc) {
        memcpy(sc->key, b.data, b.len);
        sc->key[b.len] = '\0';
    }
    sne_buf_free(&b);
    return rc ? sne_error_set(err, SNE_ERR_LIMIT, 0, "the scope's locations are too long") : rc;
}

/* --- the note: the last window followed -------------------------------------------------- */

typedef struct follow_note {
    bool found;        /* a note for this scope */
    char jusque[48];   /* the end of the last window followed, "" before the first */
    long long started; /* when the last sequence began (wall clock, seconds) */
} follow_note;

/* The value of `name=` in the note text, into out[cap] ("" when absent or too long). */
static void note_field(const char *text, const char *name, char *out, size_t cap)
{
    char pat[32];
    snprintf(pat, sizeof(pat), "\n%s=", name);
    out[0] = '\0';
    const char *p = strstr(text, pat);
    if (!p)
        return;
    p += strlen(pat);
    size_t n = strcspn(p, "\n");
    if (n < cap) {
        memcpy(out, p, n);
        out[n] = '\0';
    }
}

static sne_err note_load(sne_store *s, const scope *sc, follow_note *nt, sne_error *err)
{
    sne_buf b;
    char key[sizeof(sc->key)], started[24];
    memset(nt, 0, sizeof(*nt));
    sne_buf_init(&b, NOTE_MAX);
    sne_err rc = sne_store_note_get(s, NOTE_NAME, &b);
    if (rc == SNE_ERR_NOTFOUND) {
        rc = SNE_OK;
    } else if (rc) {
        *err = *sne_store_error(s);
    } else if ((rc = sne_buf_append_byte(&b, '\0')) == SNE_OK) {
        const char *text = (const char *)b.data;
        note_field(text, "scope", key, sizeof(key));
        note_field(text, "jusque", nt->jusque, sizeof(nt->jusque));
        note_field(text, "started", started, sizeof(started));
        nt->found = strcmp(key, sc->key) == 0;
        nt->started = nt->found ? atoll(started) : 0;
        if (!nt->found)
            nt->jusque[0] = '\0';
    } else {
        rc = sne_error_set(err, SNE_ERR_CORRUPT, 0, "the follow note is damaged");
    }
    sne_buf_free(&b);
    return rc;
}

static sne_err note_save(sne_store *s, const scope *sc, const follow_note *nt, sne_error *err)
{
    sne_buf b;
    sne_buf_init(&b, NOTE_MAX);
    sne_err rc = sne_buf_printf(&b, "\nversion=1\nscope=%s\njusque=%s\nstarted=%lld\n", sc->key,
                                nt->jusque, nt->started);
    if (!rc && (rc = sne_store_note_put(s, NOTE_NAME, b.data, b.len)))
        *err = *sne_store_error(s);
    else if (rc)
        rc = sne_error_set(err, rc, 0, "the follow note is too large");
    sne_buf_free(&b);
    return rc;
}

/* --- where the window starts -------------------------------------------------------------- */

typedef struct newest {
    char etat;
    sne_entity_set entities;
    int64_t ms[SNE_ENTITY__COUNT]; /* per entity, the newest export applied; 0: none */
} newest;

static sne_err on_scope(void *ctx, const char *key, const char *numero, const char *date)
{
    newest *nw = ctx;
    int64_t ms;
    (void)numero;
    const char *bar = strchr(key + 2, '|');
    if (key[0] != nw->etat || key[1] != '|' || !bar || !sne_isotime_parse(date, &ms))
        return SNE_OK;
    int e = sne_entity_by_code(key + 2, (size_t)(bar - key - 2));
    if (e >= 0 && (nw->entities & (1u << e)) && ms > nw->ms[e])
        nw->ms[e] = ms;
    return SNE_OK;
}

/* The start of a first window: for each entity asked, its newest export applied; the oldest. */
static sne_err first_start(sne_store *s, const sne_follow_options *o, int64_t *start,
                           sne_error *err)
{
    newest nw = {.etat = o->radiees ? 'R' : 'A', .entities = o->entities};
    sne_err rc = sne_store_scopes(s, on_scope, &nw);
    if (rc) {
        *err = *sne_store_error(s);
        return rc;
    }
    *start = INT64_MAX;
    for (int e = 0; e < SNE_ENTITY__COUNT; e++) {
        if (!(o->entities & (1u << e)))
            continue;
        if (nw.ms[e] == 0)
            return sne_error_set(err, SNE_ERR_BEHIND, 0,
                                 "the store holds no complete export of %s for this scope: run "
                                 "a full sync first",
                                 sne_entity_info_of((sne_entity)e)->code);
        if (nw.ms[e] < *start)
            *start = nw.ms[e];
    }
    return SNE_OK;
}

/* --- the moved demands -------------------------------------------------------------------- */

typedef struct moved {
    char (*nums)[SNE_NUM_UNIQUE_LEN + 1]; /* owned */
    size_t n, alloc;
    uint64_t movements;
} moved;

static sne_err on_movement(void *ctx, const char *num, const char *date, sne_error *err)
{
    moved *m = ctx;
    (void)date;
    m->movements++;
    if (m->n == m->alloc) {
        size_t want = m->alloc ? m->alloc * 2 : 1024;
        if (m->n >= SNE_FOLLOW_MAX_MOVED)
            return sne_error_set(err, SNE_ERR_LIMIT, 0, "more than %u demands moved in the window",
                                 SNE_FOLLOW_MAX_MOVED);
        void *p = realloc(m->nums, want * sizeof(*m->nums));
        if (!p)
            return sne_error_set(err, SNE_ERR_NOMEM, 0, "out of memory");
        m->nums = p;
        m->alloc = want;
    }
    memcpy(m->nums[m->n++], num, SNE_NUM_UNIQUE_LEN + 1);
    return SNE_OK;
}

/* Sorts the moved demands and drops repeats: each is read once, in numUnique order. */
static void sort_moved(moved *m)
{
    if (m->n == 0)
        return;
    qsort(m->nums, m->n, sizeof(*m->nums), cmp_code);
    size_t kept = 1;
    for (size_t i = 1; i < m->n; i++)
        if (strcmp(m->nums[kept - 1], m->nums[i]) != 0)
            memcpy(m->nums[kept++], m->nums[i], sizeof(*m->nums));
    m->n = kept;
}

/* Lists the window's movements into m, and adds the attempts the listing repeated after a
 * transient failure to *retries; a window the server refuses as too far back (400) is
 * SNE_ERR_BEHIND. */
static sne_err list_movements(const sne_follow_options *o, const scope *sc, const char *depuis,
                              const volatile sig_atomic_t *stop, moved *m, char *jusque,
                              unsigned *retries, sne_error *err)
{
    sne_fetch *f = NULL;
    sne_gdm_window w = {.depuis = depuis,
                        .location = sc->kind,
                        .n_locations = sc->locations.n,
                        .locations =
                            (const char(*)[SNE_LOCATION_CODE_MAX + 1]) sc->locations.codes};
    sne_err rc = sne_fetch_new(&f, &o->fetch, err);
    if (!rc) {
        sne_fetch_set_stop(f, stop);
        rc = sne_gdm_list(f, &w, on_movement, m, jusque, err);
        *retries += sne_fetch_retries(f);
    }
    sne_fetch_free(f);
    if (rc == SNE_ERR_HTTP && err->lib_code == 400)
        return sne_error_set(err, SNE_ERR_BEHIND, 400,
                             "the server refuses the movements since %s (%s): the store is too "
                             "far behind to follow them; run a full sync",
                             depuis, err->message);
    if (!rc)
        sort_moved(m);
    return rc;
}

/* --- the reads ---------------------------------------------------------------------------- */

/* Whether a demand read is in the scope: its state, and one of its sought communes. */
static bool in_scope(const sne_follow_options *o, const scope *sc, const sne_demand *d)
{
    if (d->radiee != o->radiees)
        return false;
    if (sc->kind == SNE_LOCATION_ALL || !d->has_cerfa)
        return true; /* no CERFA: nothing says it moved away */
    for (size_t c = 0; c < d->n_communes; c++) {
        const char *commune = d->communes[c];
        size_t n = sc->kind == SNE_LOCATION_COMMUNES ? SNE_COMMUNE_LEN
                                                     : sne_commune_department_len(commune);
        for (size_t i = 0; i < sc->locations.n; i++)
            if (strlen(sc->locations.codes[i]) == n &&
                memcmp(sc->locations.codes[i], commune, n) == 0)
                return true;
    }
    return false;
}

/* Applies one read: the demand as read, or its departure from the scope. */
static sne_err apply_one(sne_store *s, const sne_follow_options *o, const scope *sc,
                         const char *num, const follow_result *res, sne_follow_summary *sum,
                         sne_error *err)
{
    char numero[SNE_NUM_UNIQUE_LEN + 2];
    snprintf(numero, sizeof(numero), "D%s", num);
    sne_store_read rd = {.num = num, .entities = o->entities, .numero = numero};
    if (res->not_found) {
        /* no document: the instant is the window's end, which the server gave */
        rd.date_export = sum->jusque;
        if (!sne_isotime_parse(sum->jusque, &rd.date_ms))
            return sne_error_set(err, SNE_ERR_INVALID, 0, "jusque '%.40s' is not a date",
                                 sum->jusque);
    } else {
        rd.date_export = res->header.date_export;
        rd.date_ms = res->header.date_export_ms;
        rd.profondeur_drm = res->header.profondeur_drm;
        rd.derniere_periode_drm = res->header.derniere_periode_drm;
        if (in_scope(o, sc, &res->record->demand))
            rd.demand = &res->record->demand;
    }
    sum->demands_read++;
    sum->left_scope += rd.demand == NULL;
    sne_err rc = sne_store_apply_read(s, &rd, &sum->stats);
    if (rc)
        *err = *sne_store_error(s);
    return rc;
}

static bool stopped(const volatile sig_atomic_t *stop)
{
    return stop && *stop;
}

/* Commits the reads applied so far (`applied` of `n`), and tells the progress. */
static sne_err commit_reads(sne_store *s, const sne_follow_options *o, size_t n, size_t applied,
                            sne_error *err)
{
    sne_err rc = sne_store_commit(s);
    if (rc)
        *err = *sne_store_error(s);
    else if (o->progress)
        o->progress(o->progress_ctx, n, applied);
    return rc;
}

/* Reads and applies the moved demands in order, a transaction every batch_reads. Once *stop is
 * set, the reads applied are committed and the others left: the window is not recorded, so the
 * next run reads it again. */
static sne_err read_all(sne_store *s, const sne_follow_options *o, const scope *sc, const moved *m,
                        const volatile sig_atomic_t *stop, sne_follow_summary *sum, sne_error *err)
{
    follow_reader *r = NULL;
    char query[SNE_GDM_READ_QUERY_MAX];
    sne_gdm_read_query(o->entities | (1u << SNE_ENTITY_CERFA), o->profondeur_drm, query,
                       sizeof(query));
    sne_err rc =
        m->n ? follow_reader_start(&r, &o->fetch, o->parallel, stop, m->nums, m->n, query, err)
             : SNE_OK;
    size_t i = 0, committed = 0;
    for (; !rc && i < m->n && !stopped(stop); i++) {
        follow_result *res;
        rc = follow_reader_next(r, &res, err);
        if (rc && stopped(stop)) /* a read cut by the stop: not a failure of its own */
            rc = SNE_OK;
        else if (!rc)
            rc = apply_one(s, o, sc, m->nums[i], res, sum, err);
        if (!rc && !stopped(stop) && ((i + 1) % o->batch_reads == 0 || i + 1 == m->n) &&
            !(rc = commit_reads(s, o, m->n, i + 1, err)))
            committed = i + 1;
    }
    if (!rc && stopped(stop) && committed < m->n) {
        size_t applied = sum->demands_read; /* the reads before the stop, each whole */
        if (applied > committed)
            rc = commit_reads(s, o, m->n, applied, err);
        if (!rc)
            rc = sne_error_set(err, SNE_ERR_NETWORK, 0,
                               "stopped by a signal after %zu of %zu reads; the next run reads "
                               "the window again",
                               applied, m->n);
    }
    if (rc)
        sne_store_abort(s);
    follow_reader_stop(r, &sum->retries);
    return rc;
}

/* --- the run ------------------------------------------------------------------------------ */

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The window's start into sum->depuis; *skip when the last sequence began too recently. */
static sne_err plan_window(sne_store *s, const sne_follow_options *o, const scope *sc,
                           follow_note *nt, sne_follow_summary *sum, sne_error *err)
{
    int64_t start;
    sne_err rc = note_load(s, sc, nt, err);
    if (rc)
        return rc;
    double now = wall_now();
    if (nt->found && now - (double)nt->started < o->min_interval) {
        sum->skipped = true;
        sum->since_last = now - (double)nt->started;
        return SNE_OK;
    }
    if (nt->jusque[0]) {
        if (!sne_isotime_parse(nt->jusque, &start))
            return sne_error_set(err, SNE_ERR_CORRUPT, 0, "the follow note's jusque is damaged");
    } else if ((rc = first_start(s, o, &start, err))) {
        return rc;
    }
    sne_isotime_format_utc(start - (int64_t)o->overlap * 1000, sum->depuis);
    nt->found = true;
    nt->started = (long long)now;
    return SNE_OK;
}

sne_err sne_follow_run(sne_store *s, const sne_follow_options *o, sne_follow_summary *sum,
                       sne_error *err)
{
    return sne_follow_run_until(s, o, NULL, sum, err);
}

sne_err sne_follow_run_until(sne_store *s, const sne_follow_options *o,
                             const volatile sig_atomic_t *stop, sne_follow_summary *sum,
                             sne_error *err)
{
    double t0 = wall_now();
    moved m = {0};
    follow_note nt;
    memset(sum, 0, sizeof(*sum));
    scope *sc = calloc(1, sizeof(*sc));
    if (!sc)
        return sne_error_set(err, SNE_ERR_NOMEM, 0, "out of memory");
    sne_err rc = o->entities && o->parallel >= 1 && o->parallel <= SNE_FOLLOW_MAX_PARALLEL &&
                         o->batch_reads > 0
                     ? SNE_OK
                     : sne_error_set(err, SNE_ERR_USAGE, 0,
                                     "follow: no entity, or reads at once "
                                     "not 1..4");
    if (!rc)
        rc = parse_locations(sc, o, err);
    if (!rc)
        rc = make_key(sc, o, err);
    if (!rc)
        rc = plan_window(s, o, sc, &nt, sum, err);
    if (rc || sum->skipped)
        goto out;
    /* the sequence begins: it counts for the etiquette even if it fails */
    if ((rc = note_save(s, sc, &nt, err)) ||
        (rc = list_movements(o, sc, sum->depuis, stop, &m, sum->jusque, &sum->retries, err))) {
        if (stopped(stop)) /* the listing cut: nothing read, the window is the next run's */
            rc = sne_error_set(err, SNE_ERR_NETWORK, 0,
                               "stopped by a signal while listing the movements; the next run "
                               "lists them again");
        goto out;
    }
    sum->movements = m.movements;
    double t1 = wall_now();
    if ((rc = read_all(s, o, sc, &m, stop, sum, err)))
        goto out;
    sum->seconds_reading = wall_now() - t1;
    snprintf(nt.jusque, sizeof(nt.jusque), "%s", sum->jusque);
    rc = note_save(s, sc, &nt, err); /* every read is committed: the window is done */
out:
    sum->seconds = wall_now() - t0;
    free(m.nums);
    free(sc);
    return rc;
}
