/* follow_read.c: the unit reads of a follow, in parallel, handed back in order. See
 * follow_read.h. */
#include "follow_read.h"

#include "common/buffer.h"
#include "common/thread.h"
#include "fetch/gdm.h"
#include "parse/parser.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum slot_state { SLOT_FREE, SLOT_READING, SLOT_DONE } slot_state;

/* The read of one number; slot i % FOLLOW_READ_AHEAD holds read i. */
typedef struct slot {
    slot_state state;
    sne_err rc;
    sne_error err;
    follow_result res;
} slot;

typedef struct worker {
    follow_reader *r;
    pthread_t thread;
    bool started;
    sne_fetch *fetch;
    sne_parser *parser;
    sne_buf body;
    /* what the parser's callbacks fill for the document being parsed */
    slot *current;
    size_t demands;
    const char *num;
} worker;

struct follow_reader {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    char (*nums)[SNE_NUM_UNIQUE_LEN + 1];
    size_t n;
    size_t next_read;  /* the next number a worker takes */
    size_t next_given; /* the next number follow_reader_next() hands back */
    bool stopping;
    char query[SNE_GDM_READ_QUERY_MAX];
    slot slots[FOLLOW_READ_AHEAD];
    unsigned n_workers;
    worker workers[SNE_FOLLOW_MAX_PARALLEL];
};

static sne_err on_header(void *ctx, const sne_export_header *h, sne_error *err)
{
    worker *w = ctx;
    char want[SNE_NUM_UNIQUE_LEN + 2];
    snprintf(want, sizeof(want), "D%s", w->num);
    if (strcmp(h->numero, want) != 0 || h->nombre_parties != 1)
        return sne_error_set(err, SNE_ERR_INVALID, 0,
                             "the read of %s is not its document (numeroExport, one part)", w->num);
    w->current->res.header = *h;
    w->current->res.header.locations = NULL; /* the parser's: not kept */
    w->current->res.header.n_locations = 0;
    return SNE_OK;
}

static sne_err on_demand(void *ctx, sne_record **rec, sne_error *err)
{
    worker *w = ctx;
    if (++w->demands > 1 || strcmp((*rec)->demand.num_unique, w->num) != 0)
        return sne_error_set(err, SNE_ERR_INVALID, 0,
                             "the read of %s holds another demand, or more than one", w->num);
    sne_record *fresh = sne_record_new();
    if (!fresh)
        return sne_error_set(err, SNE_ERR_NOMEM, 0, "out of memory");
    w->current->res.record = *rec; /* taken: the slot owns it */
    *rec = fresh;
    return SNE_OK;
}

/* Parses the document in w->body into the slot: one demand, the one asked for. */
static sne_err parse_document(worker *w, slot *sl)
{
    char member[48];
    snprintf(member, sizeof(member), "D%s", w->num);
    w->current = sl;
    w->demands = 0;
    sne_err rc = sne_parser_begin(w->parser, member);
    if (!rc)
        rc = sne_parser_feed(w->parser, w->body.data, w->body.len);
    if (!rc)
        rc = sne_parser_end(w->parser);
    if (!rc && !sl->res.record)
        rc = sne_error_set(&sl->err, SNE_ERR_INVALID, 0, "the read of %s holds no demand", w->num);
    else if (rc)
        sl->err = *sne_parser_error(w->parser);
    return rc;
}

/* Reads number i into its slot (called without the lock). */
static void read_one(worker *w, size_t i, slot *sl)
{
    w->num = w->r->nums[i];
    sl->rc = sne_gdm_read_demand(w->fetch, w->num, w->r->query, &w->body, &sl->err);
    if (sl->rc == SNE_ERR_HTTP && sl->err.lib_code == 404) {
        sl->rc = SNE_OK;
        sl->res.not_found = true;
        return;
    }
    if (!sl->rc)
        sl->rc = parse_document(w, sl);
}

static void *work(void *arg)
{
    worker *w = arg;
    follow_reader *r = w->r;
    sne_thread_name("sne-follow");
    pthread_mutex_lock(&r->mu);
    for (;;) {
        /* the slots in use are the borrowed one (next_given - 1) up to next_read - 1 */
        while (!r->stopping && r->next_read < r->n &&
               r->next_read + 1 >= r->next_given + FOLLOW_READ_AHEAD)
            pthread_cond_wait(&r->cond, &r->mu);
        if (r->stopping || r->next_read >= r->n)
            break;
        size_t i = r->next_read++;
        slot *sl = &r->slots[i % FOLLOW_READ_AHEAD];
        sl->state = SLOT_READING;
        pthread_mutex_unlock(&r->mu);
        read_one(w, i, sl);
        pthread_mutex_lock(&r->mu);
        sl->state = SLOT_DONE;
        pthread_cond_broadcast(&r->cond);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void slot_clear(slot *sl)
{
    sne_record_free(sl->res.record);
    memset(sl, 0, sizeof(*sl));
}

sne_err follow_reader_start(follow_reader **out, const sne_fetch_options *fo, unsigned parallel,
                            const volatile sig_atomic_t *stop, char (*nums)[SNE_NUM_UNIQUE_LEN + 1],
                            size_t n, const char *query, sne_error *err)
{
    *out = NULL;
    if (parallel < 1 || parallel > SNE_FOLLOW_MAX_PARALLEL ||
        strlen(query) >= SNE_GDM_READ_QUERY_MAX)
        return sne_error_set(err, SNE_ERR_USAGE, 0, "reads at once: 1..%d",
                             SNE_FOLLOW_MAX_PARALLEL);
    follow_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return sne_error_set(err, SNE_ERR_NOMEM, 0, "out of memory");
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->nums = nums;
    r->n = n;
    snprintf(r->query, sizeof(r->query), "%s", query);
    sne_parser_callbacks cb = {on_header, on_demand};
    sne_err rc = SNE_OK;
    for (unsigned k = 0; !rc && k < parallel; k++) {
        worker *w = &r->workers[k];
        w->r = r;
        sne_buf_init(&w->body, SNE_GDM_DOCUMENT_MAX);
        r->n_workers = k + 1;
        if ((rc = sne_fetch_new(&w->fetch, fo, err)))
            break;
        sne_fetch_set_stop(w->fetch, stop);
        if (!(w->parser = sne_parser_new(NULL, &cb, w))) {
            rc = sne_error_set(err, SNE_ERR_NOMEM, 0, "out of memory");
            break;
        }
        if (pthread_create(&w->thread, NULL, work, w) != 0) {
            rc = sne_error_set(err, SNE_ERR_NOMEM, 0, "cannot start a reading thread");
            break;
        }
        w->started = true;
    }
    if (rc) { /* the caller has no reader to stop: the few retries made so far go untold */
        follow_reader_stop(r, NULL);
        return rc;
    }
    *out = r;
    return SNE_OK;
}

sne_err follow_reader_next(follow_reader *r, follow_result **res, sne_error *err)
{
    pthread_mutex_lock(&r->mu);
    if (r->next_given > 0) { /* the previous result is given back */
        slot_clear(&r->slots[(r->next_given - 1) % FOLLOW_READ_AHEAD]);
        pthread_cond_broadcast(&r->cond);
    }
    if (r->next_given >= r->n) {
        pthread_mutex_unlock(&r->mu);
        return sne_error_set(err, SNE_ERR_USAGE, 0, "no more reads");
    }
    slot *sl = &r->slots[r->next_given % FOLLOW_READ_AHEAD];
    while (sl->state != SLOT_DONE)
        pthread_cond_wait(&r->cond, &r->mu);
    r->next_given++;
    pthread_mutex_unlock(&r->mu);
    if (sl->rc) {
        *err = sl->err;
        return sl->rc;
    }
    *res = &sl->res;
    return SNE_OK;
}

void follow_reader_stop(follow_reader *r, unsigned *retries)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
    for (unsigned k = 0; k < r->n_workers; k++)
        if (r->workers[k].fetch)
            sne_fetch_cancel(r->workers[k].fetch);
    for (unsigned k = 0; k < r->n_workers; k++) {
        worker *w = &r->workers[k];
        if (w->started)
            pthread_join(w->thread, NULL);
        if (retries && w->fetch)
            *retries += sne_fetch_retries(w->fetch);
        sne_fetch_free(w->fetch);
        sne_parser_free(w->parser);
        sne_buf_free(&w->body);
    }
    for (size_t i = 0; i < FOLLOW_READ_AHEAD; i++)
        slot_clear(&r->slots[i]);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
