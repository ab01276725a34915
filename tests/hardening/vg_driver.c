/* vg_driver.c: ingest + changes + show of one archive through the engine's public API, with a
 * 1 GiB LMDB map, for valgrind.
 *
 * The snesync program reserves a 64 GiB map, which valgrind's address space cannot hold (the
 * store fails to open under valgrind: see README.md), so this driver does what `snesync ingest`,
 * `snesync changes --since 0` and `snesync show` do for every demand, through the same library
 * calls, in one process. usage: vg_driver STORE_DIR ARCHIVE
 * Exit 0 when everything succeeded; the output (counts) goes to stdout.
 *
 * Second use, by the Python tests: `vg_driver --dump STORE_DIR < numbers` prints, for each demand
 * number read from stdin (one a line), one line "NUM STATE DATE" then one line per item
 * "NUM ENTITY KEY JSON", or "NUM -" when the store does not hold it: the whole stored state of many
 * demands in one process (a `snesync show` per demand costs a process start each). */
#include "snesync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct walk {
    sne_buf json;
    uint64_t changes;
    size_t n_nums, cap_nums;
    char (*nums)[SNE_NUM_UNIQUE_LEN + 1];
} walk;

static ptrdiff_t fd_read(void *ctx, void *buf, size_t n)
{
    int fd = *(int *)ctx;
    ssize_t k;
    do
        k = read(fd, buf, n);
    while (k < 0 && errno == EINTR);
    return (ptrdiff_t)k;
}

static sne_err on_change(void *ctx, const sne_change *c)
{
    walk *w = ctx;
    sne_buf_reset(&w->json);
    sne_err rc = SNE_OK;
    if (c->before)
        rc = sne_render_json(c->before, c->before_len, &w->json);
    if (!rc && c->after)
        rc = sne_render_json(c->after, c->after_len, &w->json);
    if (!rc && c->before && c->after)
        rc = sne_render_changed_paths(c->before, c->before_len, c->after, c->after_len, &w->json);
    if (rc)
        return rc;
    w->changes++;
    if (w->n_nums && strcmp(w->nums[w->n_nums - 1], c->num_unique) == 0)
        return SNE_OK;
    if (w->n_nums == w->cap_nums) {
        size_t cap = w->cap_nums ? w->cap_nums * 2 : 64;
        void *p = realloc(w->nums, cap * sizeof *w->nums);
        if (!p)
            return SNE_ERR_NOMEM;
        w->nums = p;
        w->cap_nums = cap;
    }
    snprintf(w->nums[w->n_nums++], SNE_NUM_UNIQUE_LEN + 1, "%s", c->num_unique);
    return SNE_OK;
}

static sne_err on_item(void *ctx, const sne_stored_item *it)
{
    walk *w = ctx;
    return sne_render_json(it->canon, it->canon_len, &w->json);
}

static sne_err dump_item(void *ctx, const sne_stored_item *it)
{
    walk *w = ctx;
    const char *num = (const char *)w->nums;
    sne_buf_reset(&w->json);
    sne_err rc = sne_render_json(it->canon, it->canon_len, &w->json);
    if (!rc)
        printf("%s %s %.*s %.*s\n", num, sne_entity_info_of(it->entity)->code, (int)it->key_len,
               it->key, (int)w->json.len, (const char *)w->json.data);
    return rc;
}

static int dump(const char *dir)
{
    sne_store *s = NULL;
    sne_error err = {0};
    sne_store_options so = {.writable = false};
    if (sne_store_open(&s, dir, &so, &err) != SNE_OK) {
        fprintf(stderr, "open: %s\n", err.message);
        return 1;
    }
    walk w = {0};
    sne_buf_init(&w.json, 256u << 20);
    char line[256];
    int status = 0;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0])
            continue;
        w.nums = (void *)line;
        sne_demand_state state;
        sne_err rc = sne_store_demand_state(s, line, &state);
        if (!rc) {
            printf("%s %s %s\n", line, state.radiee ? "RADIEE" : "ACTIVE", state.date_modification);
            rc = sne_store_read_demand(s, line, dump_item, &w);
        }
        if (rc == SNE_ERR_NOTFOUND) {
            printf("%s -\n", line);
        } else if (rc) {
            fprintf(stderr, "read %s: %s\n", line, sne_strerror(rc));
            status = 1;
            break;
        }
    }
    w.nums = NULL;
    sne_buf_free(&w.json);
    sne_store_close(s);
    return status;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--dump") == 0)
        return dump(argv[2]);
    if (argc != 3) {
        fprintf(stderr, "usage: %s STORE_DIR ARCHIVE\n", argv[0]);
        return 2;
    }
    int status = 1;
    sne_store *s = NULL;
    walk w = {0};
    sne_buf_init(&w.json, 256u << 20);
    sne_error err = {0};
    int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror(argv[2]);
        goto out;
    }
    sne_store_options so = {.writable = true, .create = true, .map_size = 1ull << 30};
    if (sne_store_open(&s, argv[1], &so, &err) != SNE_OK) {
        fprintf(stderr, "open: %s\n", err.message);
        goto out;
    }
    sne_ingest_options io;
    sne_ingest_options_default(&io);
    sne_ingest_summary sum;
    if (sne_ingest(s, fd_read, &fd, &io, &sum, &err) != SNE_OK) {
        fprintf(stderr, "ingest: %s\n", err.message);
        goto out;
    }
    sne_err rc = sne_store_changes(s, 0, 0, on_change, &w);
    if (rc) {
        fprintf(stderr, "changes: %s\n", sne_strerror(rc));
        goto out;
    }
    for (size_t i = 0; i < w.n_nums; i++) {
        sne_buf_reset(&w.json);
        rc = sne_store_read_demand(s, w.nums[i], on_item, &w);
        if (rc) {
            fprintf(stderr, "show %s: %s\n", w.nums[i], sne_strerror(rc));
            goto out;
        }
    }
    printf("%llu changes, %zu demands shown\n", (unsigned long long)w.changes, w.n_nums);
    status = 0;
out:
    sne_store_close(s);
    if (fd >= 0)
        close(fd);
    sne_buf_free(&w.json);
    free(w.nums);
    return status;
}
