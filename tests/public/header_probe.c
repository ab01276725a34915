/* Compiled with snesync.h's own directory as the only -I and -Werror (header.sh): the public
 * header must stand alone. It names a type of each part, so that a part that needed another
 * header to compile would fail here. */
#include <snesync.h>

int probe(void);

static sne_err on_change(void *ctx, const sne_change *c)
{
    (void)ctx;
    return c->op == SNE_OP_DELETE ? SNE_ERR_NOTFOUND : SNE_OK;
}

int probe(void)
{
    sne_error err = {SNE_OK, 0, ""};
    sne_store_options so = {.writable = false};
    sne_ingest_options io;
    sne_sync_options sync;
    sne_pg_options pg;
    sne_store_stats stats;
    sne_demand_state state;
    sne_buf json;
    sne_change_fn fn = on_change;
    const char *(*version)(void) = snesync_version;
    (void)so, (void)io, (void)sync, (void)pg, (void)stats, (void)state, (void)fn, (void)version;
    sne_buf_init(&json, 1024);
    sne_buf_free(&json);
    return (int)err.code + (int)sne_entity_is_keyed(SNE_ENTITY_EVT) + (int)SNE_ENTITY__COUNT;
}
