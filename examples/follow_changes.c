/* follow_changes.c: how an information system follows snesync's change log through libsnesync.
 *
 * It opens a store read-only (snesync itself keeps writing to it: readers never block it), reads
 * the changes after the cursor it is given, and prints one line per change:
 *
 *     SEQ OP ENTITY NUMUNIQUE KEY [CHANGED_PATHS]
 *
 * with the JSON pointers of what an update changed. A real consumer applies each change to its
 * own database instead, in the same transaction as the cursor (the last seq applied), so that a
 * crash never applies a change twice nor skips one; it also keeps the store's identity beside the
 * cursor, to notice a rebuilt store. Here the cursor is printed on standard error at the end.
 *
 * Build and run:
 *     cc follow_changes.c $(pkg-config --cflags --libs snesync) -o follow_changes
 *     ./follow_changes /var/lib/snesync/snesync.store 0
 */
#include <snesync.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* What the callback needs: a buffer for the changed paths, reused from one change to the next,
 * the last seq printed, and why it stopped the walk, if it did. */
typedef struct follower {
    sne_buf paths;
    uint64_t cursor;
    sne_err failed;
} follower;

/* Called once per change, in seq order. Everything `c` points to is borrowed until we return. */
static sne_err print_change(void *ctx, const sne_change *c)
{
    follower *f = ctx;
    printf("%" PRIu64 " %s %s %s %.*s", c->seq, sne_op_name(c->op),
           sne_entity_info_of(c->entity)->code, c->num_unique, (int)c->key_len, c->key);
    if (c->op == SNE_OP_UPDATE) {
        sne_buf_reset(&f->paths);
        f->failed =
            sne_render_changed_paths(c->before, c->before_len, c->after, c->after_len, &f->paths);
        if (f->failed)
            return f->failed; /* stops the walk: sne_store_changes() returns it */
        printf(" %s", (const char *)f->paths.data);
    }
    if (putchar('\n') == EOF)
        return f->failed = SNE_ERR_IO;
    f->cursor = c->seq;
    return SNE_OK;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s STORE_DIR SINCE_SEQ\n", argv[0]);
        return 2;
    }
    char *end;
    errno = 0;
    unsigned long long since = strtoull(argv[2], &end, 10);
    if (errno || end == argv[2] || *end || argv[2][0] == '-') {
        fprintf(stderr, "%s: SINCE_SEQ is a seq: 0, or the last one applied\n", argv[0]);
        return 2;
    }
    fprintf(stderr, "libsnesync %s\n", snesync_version());

    sne_error err;
    sne_store *store = NULL;
    sne_store_options options = {.writable = false};
    if (sne_store_open(&store, argv[1], &options, &err) != SNE_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], err.message);
        return 1;
    }

    /* The buffer's cap bounds what one change's paths may take: past it, SNE_ERR_LIMIT. */
    follower f = {.cursor = since};
    sne_buf_init(&f.paths, 16u << 20);
    sne_err rc = sne_store_changes(store, since, 0, print_change, &f);
    int status = 0;
    if (rc == SNE_ERR_RANGE) {
        /* Pruned past the cursor, or another store: this consumer must reload from the state. */
        fprintf(stderr, "%s: %s\n", argv[0], sne_store_error(store)->message);
        status = 3;
    } else if (f.failed) {
        fprintf(stderr, "%s: the change after seq %" PRIu64 ": %s\n", argv[0], f.cursor,
                sne_strerror(rc));
        status = 1;
    } else if (rc) {
        fprintf(stderr, "%s: %s\n", argv[0], sne_store_error(store)->message);
        status = 1;
    } else if (fflush(stdout) != 0) {
        fprintf(stderr, "%s: cannot write the changes\n", argv[0]);
        status = 1;
    } else {
        fprintf(stderr, "store %s: cursor %" PRIu64 "\n", sne_store_identity(store), f.cursor);
    }
    sne_buf_free(&f.paths);
    sne_store_close(store);
    return status;
}
