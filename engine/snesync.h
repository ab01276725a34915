/* snesync.h: the engine's public interface, the one header a program using it includes.
 *
 * How to use:
 *     sne_store *store;
 *     sne_store_options so = {.writable = true, .create = true};
 *     if (sne_store_open(&store, "snesync.store", &so, &err)) ...;      // err.message says why
 *     sne_ingest_options io;
 *     sne_ingest_options_default(&io);
 *     sne_ingest(store, read_fn, read_ctx, &io, &summary, &err);        // archive -> store
 *     sne_store_changes(store, since_seq, 0, on_change, ctx);          // change log, seq order
 *     sne_render_json(change->after, change->after_len, &json);        // an item as JSON
 *     sne_pg_apply(store, &pg_options, &pg_summary, &err);              // to PostgreSQL (pg.h)
 *     sne_store_close(store);
 * Every function returns an sne_err (0 is success) and leaves its detail in an sne_error. */
#ifndef SNESYNC_H
#define SNESYNC_H

#include "common/buffer.h"
#include "common/error.h"
#include "common/schema.h"
#include "diff/render.h"
#include "ingest.h"
#include "parse/validate.h"
#include "sink/pg.h"
#include "store/store.h"

#define SNESYNC_VERSION "0.1.0"

#endif
