/* serve_demande.c: the unit read over the register, see serve_demande.h. */
#include "serve_demande.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_base.h"
#include "core/sim_register.h"
#include "register/sim_export.h"
#include "register/sim_xml.h"

#define NUM_LEN      18
#define MAX_DOCUMENT ((size_t)64 << 20) /* twice what the engine takes of one demand */

typedef struct slot {
    char guichet[64];
    unsigned busy; /* reads in progress; a slot with none is free */
} slot;

/* One demand of the index: its number and its place in the register. */
typedef struct entry {
    char num[NUM_LEN];
    uint32_t index;
} entry;

struct serve_demandes {
    const char *data_dir;
    pthread_mutex_t mu; /* guards everything below */
    int opened;         /* 1: r and by_num are ready; -1: the register cannot be opened */
    sim_register r;
    entry *by_num; /* owned: r's demands sorted by numUnique, r.n of them */
    slot slots[SERVE_DEMANDE_GUICHETS];
};

serve_demandes *serve_demandes_new(const char *data_dir)
{
    serve_demandes *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->data_dir = data_dir;
    pthread_mutex_init(&d->mu, NULL);
    return d;
}

void serve_demandes_free(serve_demandes *d)
{
    if (d == NULL)
        return;
    if (d->opened == 1)
        sim_register_close(&d->r);
    free(d->by_num);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

unsigned serve_demande_enter(serve_demandes *d, const char *guichet)
{
    unsigned status = 503;
    slot *mine = NULL, *free_slot = NULL;
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < SERVE_DEMANDE_GUICHETS && mine == NULL; i++) {
        if (d->slots[i].busy > 0 && strcmp(d->slots[i].guichet, guichet) == 0)
            mine = &d->slots[i];
        else if (d->slots[i].busy == 0 && free_slot == NULL)
            free_slot = &d->slots[i];
    }
    if (mine == NULL && free_slot != NULL) {
        mine = free_slot;
        snprintf(mine->guichet, sizeof(mine->guichet), "%s", guichet);
    }
    if (mine != NULL && mine->busy < SERVE_DEMANDE_PER_GUICHET) {
        mine->busy++;
        status = 0;
    } else if (mine != NULL) {
        status = 429;
    }
    pthread_mutex_unlock(&d->mu);
    return status;
}

void serve_demande_leave(serve_demandes *d, const char *guichet)
{
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < SERVE_DEMANDE_GUICHETS; i++)
        if (d->slots[i].busy > 0 && strcmp(d->slots[i].guichet, guichet) == 0) {
            d->slots[i].busy--;
            break;
        }
    pthread_mutex_unlock(&d->mu);
}

static int cmp_entry(const void *a, const void *b)
{
    return memcmp(((const entry *)a)->num, ((const entry *)b)->num, NUM_LEN);
}

/* Maps the register and indexes it, once; called with d->mu held. 0, or -1 (logged). */
static int open_register(serve_demandes *d)
{
    char err[256];
    if (d->opened != 0)
        return d->opened == 1 ? 0 : -1;
    d->opened = -1;
    if (sim_register_open(d->data_dir, &d->r, 0, err, sizeof(err)) != 0) {
        serve_log("demande: cannot open the register: %s", err);
        return -1;
    }
    if ((d->by_num = malloc((d->r.n ? d->r.n : 1) * sizeof(*d->by_num))) == NULL) {
        serve_log("demande: out of memory indexing the register");
        sim_register_close(&d->r);
        return -1;
    }
    for (size_t i = 0; i < d->r.n; i++) {
        memcpy(d->by_num[i].num, d->r.d[i].num, NUM_LEN);
        d->by_num[i].index = (uint32_t)i;
    }
    qsort(d->by_num, d->r.n, sizeof(*d->by_num), cmp_entry);
    d->opened = 1;
    return 0;
}

/* The register's index of demand `num` (18 characters), or -1 when it is unknown. */
static long find_demand(const serve_demandes *d, const char *num)
{
    size_t lo = 0, hi = d->r.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(d->by_num[mid].num, num, NUM_LEN);
        if (c == 0)
            return (long)d->by_num[mid].index;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int is_num(const char *s)
{
    if (strlen(s) != NUM_LEN)
        return 0;
    for (size_t i = 0; i < NUM_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
            return 0;
    return 1;
}

typedef struct query {
    unsigned entities; /* SIM_ENT_ bits */
    int depth;         /* profondeurDrm, 0 when not given */
    const char *bad;   /* the first problem found, NULL while none */
} query;

static int take_entity(const char *code, void *ctx)
{
    query *q = ctx;
    int e = sim_entity_find(code);
    if (e < 0)
        return -1;
    q->entities |= 1u << e;
    return 0;
}

static void add_entities(query *q, const char *value)
{
    if (serve_each_listed(value, 15, take_entity, q) != 0)
        q->bad = "entites: unknown entity code";
}

static enum MHD_Result on_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                              const char *value)
{
    query *q = cls;
    (void)kind;
    if (q->bad != NULL)
        return MHD_YES;
    if (strcmp(key, "entites") == 0) {
        add_entities(q, value);
    } else if (strcmp(key, "profondeurDrm") == 0) {
        if (q->depth != 0 || value == NULL || value[0] < '1' || value[0] > '3' || value[1] != '\0')
            q->bad = "profondeurDrm must be given once, 1..3";
        else
            q->depth = value[0] - '0';
    } else {
        q->bad = "unknown parameter";
    }
    return MHD_YES;
}

/* Renders and queues the document of demand i. */
static enum MHD_Result answer(serve_demandes *d, serve_exchange *ex, long i, const query *q)
{
    sim_xml w;
    sim_xml_init(&w, MAX_DOCUMENT);
    enum MHD_Result ret;
    if (sim_export_render_demand(&d->r, (size_t)i, q->entities, q->depth, &w) != 0) {
        serve_log("demande: rendering failed: %s", sne_strerror(w.err));
        ret = serve_problem(ex, 500, 0, "the demand cannot be rendered");
    } else {
        ret = serve_reply(ex, 200, "application/xml; charset=UTF-8", (const char *)w.buf.data,
                          w.buf.len, 0, NULL, NULL);
    }
    sim_xml_free(&w);
    return ret;
}

enum MHD_Result serve_demande(serve_demandes *d, serve_exchange *ex, const char *num)
{
    query q = {0, 0, NULL};
    if (!is_num(num))
        return serve_problem(ex, 400, 0, "numUnique must be 18 characters [0-9A-Z]");
    MHD_get_connection_values(ex->conn, MHD_GET_ARGUMENT_KIND, on_arg, &q);
    if (q.bad == NULL && q.entities == 0)
        q.bad = "entites is required";
    if (q.bad != NULL)
        return serve_problem(ex, 400, 0, q.bad);
    pthread_mutex_lock(&d->mu);
    int opened = open_register(d);
    pthread_mutex_unlock(&d->mu);
    if (opened != 0)
        return serve_problem(ex, 500, 0, "the register cannot be read");
    long i = find_demand(d, num);
    if (i < 0)
        return serve_problem(ex, 404, 0, "unknown numUnique");
    return answer(d, ex, i, &q);
}
