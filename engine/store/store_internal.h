/* store_internal.h: the state shared by store.c (environment, transactions, runs, reads) and
 * apply.c (applying demands and sweeping absent ones). Not for use outside engine/store/. */
#ifndef SNE_STORE_INTERNAL_H
#define SNE_STORE_INTERNAL_H

#include "store.h"

#include <lmdb.h>

typedef enum run_state { RUN_NONE = 0, RUN_STARTED = 1, RUN_DONE = 3 } run_state;

/* The export being ingested, as recorded in meta "run". */
typedef struct sne_run {
    run_state state;
    uint64_t attempt; /* incremented each time an ingest (re)starts: the seen set's mark */
    char numero[41];
    char date_export[SNE_DATE_MAX + 1];
    int64_t date_ms;
    sne_entity_set entities;
    bool radiees;
    sne_location_kind location;
    size_t n_locations;
    char (*locations)[8]; /* owned, SNE_MAX_LOCATIONS */
} sne_run;

struct sne_store {
    MDB_env *env;
    MDB_dbi db_demand, db_item, db_change, db_seen, db_scope, db_meta;
    MDB_txn *txn; /* the open write batch, or NULL */
    int lock_fd;  /* the writer lock, -1 for readers */
    bool writable;
    char dir[4096];
    sne_error err;
    sne_body_codec codec;

    /* Valid while a batch is open; written back on commit. */
    uint64_t seq;
    uint64_t counts[SNE_ENTITY__COUNT];

    sne_run run;

    /* Scratch reused across demands. */
    sne_header_scratch old_scratch;
    sne_buf old_header; /* copy of the stored header being replaced */
    sne_buf new_header;
    sne_buf body;       /* encoded body of the new item */
    sne_buf old_body;   /* copy of the stored body being replaced or deleted */
    sne_buf change;     /* encoded change record */
    sne_buf canon_a, canon_b; /* decoded bodies for readers */
    sne_item_ref *merged;
    size_t merged_alloc;
};

/* Opens the write batch if none is open. */
sne_err store_begin_batch(sne_store *s);
/* Records an LMDB failure, aborts the open batch, returns SNE_ERR_STORE (or _BUSY/_LIMIT). */
sne_err store_fail(sne_store *s, int mdb_rc, const char *what);
/* Builds the item DB key numUnique | entity | key into `k` (at least 19 + SNE_MAX_KEY_LEN). */
size_t store_item_key(uint8_t *k, const char *num, sne_entity e, const char *key, size_t key_len);
/* True when a demand with this header is inside the running export's scope. */
bool store_in_run_scope(const sne_store *s, const sne_header *h);

#endif
