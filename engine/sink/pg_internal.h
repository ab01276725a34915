/* pg_internal.h: what the files of the PostgreSQL sink share. Not for use outside engine/sink/.
 *
 *   pg_link.c    the connection: connecting, statements, errors worded without personal data
 *   pg_copy.c    rows in COPY's binary format, streamed to the server
 *   pg_schema.c  the layout (generated from schema/entities.def), its state row, the swap
 *   pg_load.c    filling a new schema from the store's state (first run, --rebuild)
 *   pg_batch.c   one batch of changes: staged, collapsed, merged, committed with its seq
 *   pg_migrate.c the steps from an older layout version to SNE_PG_SCHEMA_VERSION
 *   pg_apply.c   the run: which of the above, and the checks that refuse a silent gap */
#ifndef SNE_PG_INTERNAL_H
#define SNE_PG_INTERNAL_H

#include "../common/buffer.h"
#include "../common/queue.h"
#include "pg.h"

#include <libpq-fe.h>
#include <pthread.h>

/* ---- pg_link.c ---- */

typedef struct pg_link {
    PGconn *conn;    /* owned */
    sne_error *err;  /* the caller's: where failures are described */
    char where[192]; /* "database si (host /run/postgresql, port 5432)", for messages */
    char schema[SNE_PG_SCHEMA_MAX + 1];
} pg_link;

/* Connects (client_encoding UTF8, application_name snesync unless the connection string names
 * one) and makes the session ready: no JIT (its compile time dwarfs a batch's statements).
 * On failure the link holds no connection and err says why. */
sne_err pg_connect(pg_link *l, const sne_pg_options *o, sne_error *err);
void pg_disconnect(pg_link *l); /* accepts a link that never connected */

/* Runs `sql` (one statement, or several with no result wanted but the last's); `affected`
 * (may be NULL) gets the rows the last one touched. */
sne_err pg_command(pg_link *l, const char *sql, uint64_t *affected, const char *what);
/* Runs `sql` with text parameters $1..$n; on success *res is owned by the caller (PQclear). */
sne_err pg_query(pg_link *l, const char *sql, int n, const char *const *params, PGresult **res,
                 const char *what);
/* Records why `what` failed, from `res` (may be NULL: the connection's state), and returns
 * SNE_ERR_DATABASE. Only the SQLSTATE, the primary message and the names of the schema, table
 * and constraint are kept: PostgreSQL's detail and context may quote a row's data. */
sne_err pg_fail(pg_link *l, const PGresult *res, const char *what);
/* Ends the open transaction, if any, when the connection still works (errors are ignored: the
 * server drops an unfinished transaction with its connection). */
void pg_rollback(pg_link *l);
/* Takes the session's advisory lock of the schema, waiting up to PG_LOCK_WAIT_MS for a run
 * that ends (or one that was killed and that the server is still ending): SNE_ERR_BUSY when
 * another session keeps it longer. */
#define PG_LOCK_WAIT_MS 15000
sne_err pg_lock_schema(pg_link *l);

/* ---- pg_copy.c ---- */

/* A COPY ... FROM STDIN (FORMAT binary) in progress, over one connection or several. Rows are
 * encoded into `buf`; whenever it holds PG_COPY_CHUNK bytes or more, the chunk goes to the
 * senders, a thread per connection, each of which sends the chunks it takes while the caller
 * encodes the next: the server parses rows while the store is read (with one thread the two
 * took turns, each waiting on the other, and a load took the sum of both), and over two
 * connections two server processes parse them. A chunk holds whole rows, so each connection
 * receives a COPY stream of its own (the format's header, some of the rows, its trailer); which
 * rows go where is whichever sender is free. At most PG_COPY_CHUNKS chunks exist, so memory
 * stays at about that many chunks plus the largest row.
 *
 * Threads: between pg_copy_begin and pg_copy_end (or pg_copy_abort) the connections belong to
 * the senders; the caller must not use them, nor their links' error, which the caller's thread
 * fills once the senders have stopped. The chunks travel by value (sne_buf) in a loop: `full`
 * holds those to send, in order, `spare` the ones sent and emptied. */
#define PG_COPY_CHUNK   (256u * 1024)
#define PG_COPY_CHUNKS  4
#define PG_COPY_STREAMS 2 /* the most connections a COPY is spread over */
typedef struct pg_copy pg_copy;
typedef struct pg_copy_stream {
    pg_copy *copy;
    pg_link *link; /* borrowed */
    pthread_t sender;
    bool open;    /* the server is in COPY IN for us */
    bool sending; /* the sender runs */
    bool failed;  /* libpq refused data; written by the sender before it ends */
} pg_copy_stream;
struct pg_copy {
    pg_copy_stream streams[PG_COPY_STREAMS];
    size_t n_streams; /* 0: nothing is sent; buf keeps the stream (the encoder's unit test) */
    sne_buf buf;      /* the chunk being filled; owned */
    size_t field;     /* offset of the open field's length word */
    uint64_t rows;
    sne_queue *full, *spare; /* owned, from begin to end or abort; the chunks queued in them too */
};

/* Prepares a COPY over the connections `links` (n of them, at most PG_COPY_STREAMS; 0: none). */
void pg_copy_init(pg_copy *c, pg_link *const *links, size_t n);
void pg_copy_free(pg_copy *c);
/* Sends `sql` (a COPY ... FROM STDIN (FORMAT binary)) over each connection and starts the
 * senders. */
sne_err pg_copy_begin(pg_copy *c, const char *sql, const char *what);
/* Starts a row of `fields` fields; the fields follow, in the table's column order. */
sne_err pg_copy_row(pg_copy *c, uint16_t fields);
sne_err pg_copy_null(pg_copy *c);
sne_err pg_copy_int2(pg_copy *c, int16_t v);
sne_err pg_copy_int8(pg_copy *c, int64_t v); /* also bigint, and timestamptz in microseconds */
sne_err pg_copy_text(pg_copy *c, const char *s, size_t n);
/* A field whose bytes the caller appends to c->buf between the two calls (a jsonb: version 1,
 * then the JSON text). */
sne_err pg_copy_field_open(pg_copy *c);
sne_err pg_copy_field_close(pg_copy *c);
/* A jsonb field: the JSON of the canonical item `canon` (render.h). */
sne_err pg_copy_item_json(pg_copy *c, const uint8_t *canon, size_t len);
/* Sends the last rows and ends the COPY on every connection. */
sne_err pg_copy_end(pg_copy *c, const char *what);
/* Ends a COPY in progress with an error (the server rolls the statement back). */
void pg_copy_abort(pg_copy *c);

/* ---- pg_schema.c ---- */

/* The state row of a schema. */
typedef struct pg_state {
    bool exists; /* the schema holds a snesync_state table with its row */
    bool schema_exists;
    int version;
    char store_id[64];
    uint64_t last_seq;
    char digest[64]; /* of the store's scopes at the last full comparison of demande */
} pg_state;

/* Reads the state of l->schema (nothing locked). */
sne_err pg_state_read(pg_link *l, pg_state *st);
/* Creates schema `name`, marked as a load in progress, with the tables of the layout without
 * their keys (a load adds them once the rows are in: pg_schema_add_keys). */
sne_err pg_schema_create(pg_link *l, const char *name);
sne_err pg_schema_add_keys(pg_link *l, const char *name);
/* Drops schema `name` when it is a load in progress that a run left (killed, or its connection
 * lost); SNE_ERR_MISMATCH when a schema of that name is not one. */
sne_err pg_schema_drop_load(pg_link *l, const char *name);
/* Makes in l->schema the tables of the entities it lacks (an entity that a later interface
 * version added to entities.def has no items yet: its table starts empty, and its changes
 * follow), so that the layout grows with the entity table without a new version. */
sne_err pg_schema_add_entities(pg_link *l);
/* Makes the session's staging tables (temporary, emptied at each commit). */
sne_err pg_schema_staging(pg_link *l);
/* SNE_ERR_MISMATCH, naming them, when objects of others would stop l->schema from being dropped
 * by a rebuild: views on its tables, foreign keys to them, relations of theirs in it. */
sne_err pg_schema_check_replaceable(pg_link *l);
/* Puts schema `fresh` in place of l->schema in the open transaction, no longer marked as a load
 * in progress. An old schema (`replace`)
 * is dropped, and the indexes and privileges others added to it and its tables are made again
 * on the new ones; a view on its tables makes the drop fail (PostgreSQL's message names it). */
sne_err pg_schema_swap(pg_link *l, const char *fresh, bool replace);
/* demande's fillfactor (percent), from layout version 2: pg_migrate.c says why. */
#define PG_DEMANDE_FILLFACTOR "50"
/* The name of entity e's table: its code in lower case ("cerfa"). */
#define PG_TABLE_MAX 16
void pg_entity_table(sne_entity e, char out[PG_TABLE_MAX]);

/* The store's digest of the scopes' newest exports (the hex of a 128-bit hash, 32 characters):
 * it changes whenever an ingest finishes, the only time a demand's state or date can change
 * without an item changing with it. Read inside the caller's pinned snapshot. */
sne_err pg_scopes_digest(sne_store *s, char out[33], sne_error *err);

/* One demand row: (num_unique, etat_demande, date_derniere_modification). */
sne_err pg_copy_demande(pg_copy *c, const char *num, const sne_header *h);

/* ---- pg_load.c ---- */

/* Fills a new schema from the store's current state (read in one snapshot) and puts it in
 * place of l->schema (`replace`: there is one) in one commit (pg_load.c says how). */
sne_err pg_load(pg_link *l, sne_store *s, const sne_pg_options *o, bool replace,
                sne_pg_summary *sum);

/* ---- pg_batch.c ---- */

/* Applies the changes after st->last_seq, at most o->batch of them, in one transaction, and
 * updates *st. *done is true once the database has every change of the snapshot read. */
sne_err pg_batch(pg_link *l, sne_store *s, const sne_pg_options *o, pg_state *st,
                 sne_pg_summary *sum, bool *done);

/* ---- pg_migrate.c ---- */

/* Takes l->schema from layout `version` (1 to SNE_PG_SCHEMA_VERSION) to SNE_PG_SCHEMA_VERSION in
 * the open transaction, and records the new version there. Nothing to do for the current one. */
sne_err pg_migrate(pg_link *l, int version);

#endif
