/* store.c: the store's environment (store.h): opening and closing it, its databases and format,
 * the map's growth, and the transactions: write batches and read snapshots. */
#include "store_internal.h"

#include "../common/format.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define DEFAULT_MAP_SIZE   (64ull << 30)
#define SMALLEST_MAP_SIZE  (256ull << 20) /* the last try when address space is short */
#define MAP_HEADROOM       (256ull << 20) /* room kept free in the map before each batch */
#define DISK_FULL_MARGIN   (4u << 20) /* less free space after a failed write: the disk is full */
#define DEFAULT_MAX_DEMAND (64u << 20)

/* A write that failed with EIO or ENOSPC: says so when the store's filesystem is (nearly) full,
 * since LMDB reports a short write as EIO. */
static void disk_full_hint(const sne_store *s, int rc, char *hint, size_t size)
{
    struct statvfs fs;
    hint[0] = '\0';
    if (rc == ENOSPC) {
        snprintf(hint, size, " (the disk holding the store is full)");
    } else if (rc == EIO && statvfs(s->dir, &fs) == 0 &&
               (uint64_t)fs.f_bavail * fs.f_frsize < DISK_FULL_MARGIN) {
        snprintf(hint, size, " (the disk holding the store is full: %llu KiB left)",
                 (unsigned long long)fs.f_bavail * fs.f_frsize / 1024);
    }
}

sne_err store_fail(sne_store *s, int mdb_rc, const char *what)
{
    if (s->txn) {
        mdb_txn_abort(s->txn);
        s->txn = NULL;
    }
    char hint[96];
    if (mdb_rc == MDB_MAP_FULL)
        snprintf(hint, sizeof(hint),
                 " (the map could not grow: the address space is short; see SNESYNC_MAP_SIZE)");
    else
        disk_full_hint(s, mdb_rc, hint, sizeof(hint));
    return sne_error_set(&s->err, SNE_ERR_STORE, mdb_rc, "store %s: %s: %s%s", s->dir, what,
                         mdb_strerror(mdb_rc), hint);
}

bool store_meta_get_u64(const sne_store *s, MDB_txn *txn, const char *key, uint64_t *value)
{
    MDB_val k = store_meta_key(key), v;
    bool held = mdb_get(txn, s->db_meta, &k, &v) == 0 && v.mv_size == 8;
    *value = held ? sne_get_u64le(v.mv_data) : 0;
    return held;
}

uint64_t store_meta_u64(const sne_store *s, MDB_txn *txn, const char *key)
{
    uint64_t value;
    store_meta_get_u64(s, txn, key, &value);
    return value;
}

static int put_meta_u64(sne_store *s, MDB_txn *txn, const char *key, uint64_t value)
{
    uint8_t le[8];
    sne_put_u64le(le, value);
    MDB_val k = store_meta_key(key), v = {8, le};
    return mdb_put(txn, s->db_meta, &k, &v, 0);
}

/* Grows the map, between transactions, while less than MAP_HEADROOM (or an eighth of the map)
 * of it is left: a batch never finds it full unless the address space cannot hold more. The map
 * is address space only; the file grows as pages are used. */
static void grow_map_if_short(sne_store *s)
{
    MDB_envinfo info;
    if (mdb_env_info(s->env, &info) != 0)
        return;
    uint64_t used = ((uint64_t)info.me_last_pgno + 1) * s->page_size;
    uint64_t size = info.me_mapsize;
    while (size - used < MAP_HEADROOM || size - used < size / 8) {
        if (size > UINT64_MAX / 2)
            return;
        size *= 2;
    }
    if (size != info.me_mapsize)
        mdb_env_set_mapsize(s->env, size); /* on failure the map stays as it is: MAP_FULL later
                                              says so */
}

sne_err store_begin_batch(sne_store *s)
{
    if (s->txn)
        return SNE_OK;
    if (!s->writable)
        return sne_error_set(&s->err, SNE_ERR_USAGE, 0, "store %s is open read-only", s->dir);
    grow_map_if_short(s);
    int rc = mdb_txn_begin(s->env, NULL, 0, &s->txn);
    if (rc)
        return store_fail(s, rc, "cannot begin a transaction");
    s->batch_dirty = 0;
    s->seq = store_meta_u64(s, s->txn, SNE_META_SEQ);
    MDB_val k = store_meta_key(SNE_META_COUNTS), v;
    if (mdb_get(s->txn, s->db_meta, &k, &v) == 0)
        sne_counts_decode(v.mv_data, v.mv_size, s->counts);
    else
        memset(s->counts, 0, sizeof(s->counts));
    s->demands = store_meta_u64(s, s->txn, SNE_META_DEMANDS);
    return SNE_OK;
}

sne_err sne_store_commit(sne_store *s)
{
    if (!s->txn)
        return SNE_OK;
    uint8_t counts[SNE_COUNTS_SIZE];
    sne_counts_encode(s->counts, counts);
    MDB_val k = store_meta_key(SNE_META_COUNTS), v = {sizeof(counts), counts};
    int rc = put_meta_u64(s, s->txn, SNE_META_SEQ, s->seq);
    if (!rc && !s->has_old_bodies) /* a move's count comes with its end (store_migrate.c) */
        rc = put_meta_u64(s, s->txn, SNE_META_DEMANDS, s->demands);
    if (!rc)
        rc = mdb_put(s->txn, s->db_meta, &k, &v, 0);
    if (rc)
        return store_fail(s, rc, "cannot write counters");
    rc = mdb_txn_commit(s->txn);
    s->txn = NULL;
    if (rc)
        return store_fail(s, rc, "cannot commit");
    return SNE_OK;
}

void store_count_write(sne_store *s, size_t value_len, bool append)
{
    size_t page = s->page_size;
    if (value_len > s->max_node) /* an overflow value: pages of its own, and a node in a leaf */
        s->batch_dirty += (value_len + page - 1) / page * page + (append ? 0 : page);
    else
        s->batch_dirty += append ? value_len : page;
}

uint64_t sne_store_batch_dirty(const sne_store *s)
{
    return s->txn ? s->batch_dirty : 0;
}

void sne_store_abort(sne_store *s)
{
    if (s->txn) {
        mdb_txn_abort(s->txn);
        s->txn = NULL;
    }
}

/* Opens the databases (creating them when `create`) in a new environment. */
static sne_err open_named_databases(sne_store *s, MDB_txn *txn, bool create)
{
    struct {
        const char *name;
        MDB_dbi *dbi;
    } dbs[] = {{"demand", &s->db_demand},
               {"change", &s->db_change},
               {"seen", &s->db_seen},
               {"scope", &s->db_scope},
               {"meta", &s->db_meta}};
    int rc = 0;
    for (size_t i = 0; !rc && i < sizeof(dbs) / sizeof(dbs[0]); i++)
        rc = mdb_dbi_open(txn, dbs[i].name, create ? MDB_CREATE : 0, dbs[i].dbi);
    if (rc == MDB_NOTFOUND)
        return sne_error_set(&s->err, SNE_ERR_NOTFOUND, rc, "%s is not a snesync store", s->dir);
    if (rc)
        return store_fail(s, rc, "cannot open its databases");
    /* Added after format 2 without changing it: a writer adds it to an older store, a reader of
     * one finds no instant (store_taken.c). */
    rc = mdb_dbi_open(txn, "taken", s->writable ? MDB_CREATE : 0, &s->db_taken);
    s->has_taken = rc == 0;
    if (rc && rc != MDB_NOTFOUND)
        return store_fail(s, rc, "cannot open its databases");
    /* Where bodies were before format 4. Kept, empty, from then on: an older snesync needs them
     * to reach the format check and refuse the store by its format. A reader may meet them full
     * (a store before format 4, or one whose move was killed), which the next writable open
     * moves (store_migrate.c). */
    static const char *const old_bodies[BODY_PARTS] = {"body", "drm"};
    s->has_old_bodies = false;
    rc = 0;
    for (int part = 0; !rc && part < BODY_PARTS; part++) {
        MDB_stat ms;
        rc = mdb_dbi_open(txn, old_bodies[part], create ? MDB_CREATE : 0, &s->db_old_body[part]);
        if (!rc)
            rc = mdb_stat(txn, s->db_old_body[part], &ms);
        if (!rc)
            s->has_old_bodies |= ms.ms_entries > 0;
    }
    return rc && rc != MDB_NOTFOUND ? store_fail(s, rc, "cannot open its databases") : SNE_OK;
}

/* Checks the store's format and loads its dictionary. A new store is given the current format; an
 * older one still read is marked current by a writer, since what the writer adds (records of the
 * current versions) is more than an older snesync can read: that older snesync then refuses the
 * store by its format instead of calling a record damaged. */
static sne_err check_format(sne_store *s, MDB_txn *txn)
{
    uint64_t format = store_meta_u64(s, txn, SNE_META_FORMAT);
    if (format > SNE_STORE_FORMAT)
        return sne_error_set(&s->err, SNE_ERR_CORRUPT, 0,
                             "store %s has format %llu, newer than this snesync reads (%d to %d): "
                             "use the snesync that wrote it, or a newer one",
                             s->dir, (unsigned long long)format, SNE_STORE_FORMAT_OLDEST,
                             SNE_STORE_FORMAT);
    if (format != 0 && format < SNE_STORE_FORMAT_OLDEST)
        return sne_error_set(&s->err, SNE_ERR_CORRUPT, 0,
                             "store %s has format %llu, older than this snesync reads (%d to %d): "
                             "initialise a new store from a full export",
                             s->dir, (unsigned long long)format, SNE_STORE_FORMAT_OLDEST,
                             SNE_STORE_FORMAT);
    if (format == 0 && !s->writable)
        return sne_error_set(&s->err, SNE_ERR_CORRUPT, 0, "store %s has no format recorded",
                             s->dir);
    if (format != SNE_STORE_FORMAT && s->writable) {
        int rc = put_meta_u64(s, txn, SNE_META_FORMAT, SNE_STORE_FORMAT);
        if (rc)
            return store_fail(s, rc, "cannot record its format");
    }
    return store_dict_load(s, txn);
}

/* Reads the store's identity; a writer gives one to a store that has none (a new store, or one
 * made before identities existed). */
static sne_err load_identity(sne_store *s, MDB_txn *txn)
{
    MDB_val k = store_meta_key(SNE_META_IDENTITY), v;
    int mrc = mdb_get(txn, s->db_meta, &k, &v);
    if (mrc == 0 && v.mv_size == sizeof(s->identity) - 1) {
        memcpy(s->identity, v.mv_data, v.mv_size);
        s->identity[v.mv_size] = '\0';
        return SNE_OK;
    }
    if (mrc == 0)
        return sne_error_set(&s->err, SNE_ERR_CORRUPT, 0, "store %s: its identity is damaged",
                             s->dir);
    if (mrc != MDB_NOTFOUND)
        return store_fail(s, mrc, "cannot read its identity");
    if (!s->writable)
        return SNE_OK;
    uint8_t raw[STORE_ID_BYTES];
    ssize_t got;
    do
        got = getrandom(raw, sizeof(raw), 0);
    while (got < 0 && errno == EINTR);
    if (got != (ssize_t)sizeof(raw)) /* up to 256 bytes are never short */
        return sne_error_set(&s->err, SNE_ERR_IO, errno, "store %s: cannot draw its identity: %s",
                             s->dir, strerror(errno));
    sne_format_hex(s->identity, raw, sizeof(raw));
    v = (MDB_val){sizeof(s->identity) - 1, s->identity};
    mrc = mdb_put(txn, s->db_meta, &k, &v, 0);
    return mrc ? store_fail(s, mrc, "cannot record its identity") : SNE_OK;
}

static sne_err open_databases(sne_store *s, bool create)
{
    MDB_txn *txn;
    int mrc = mdb_txn_begin(s->env, NULL, s->writable ? 0 : MDB_RDONLY, &txn);
    if (mrc)
        return store_fail(s, mrc, "cannot begin a transaction");
    sne_err rc = open_named_databases(s, txn, create);
    if (!rc)
        rc = check_format(s, txn);
    if (!rc)
        rc = load_identity(s, txn);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    mrc = mdb_txn_commit(txn);
    return mrc ? store_fail(s, mrc, "cannot initialise") : SNE_OK;
}

/* The map size asked for: the option, else $SNESYNC_MAP_SIZE (bytes, or with a K, M or G
 * suffix), else 0 for "the default, smaller if the address space is short". */
static uint64_t map_size(const sne_store_options *o)
{
    if (o->map_size)
        return o->map_size;
    const char *env = getenv("SNESYNC_MAP_SIZE");
    char *end;
    if (!env || !*env)
        return 0;
    unsigned long long v = strtoull(env, &end, 10);
    int shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
    return v << shift;
}

/* Opens the LMDB environment. Without an explicit size, a map the address space cannot hold
 * (ulimit -v, valgrind) is retried at half the size, down to SMALLEST_MAP_SIZE: the map is only
 * address space, the file grows as data comes. */
static int open_environment(sne_store *s, const char *dir, uint64_t asked)
{
    uint64_t size = asked ? asked : DEFAULT_MAP_SIZE;
    for (;;) {
        int mrc = mdb_env_create(&s->env);
        if (!mrc)
            mrc = mdb_env_set_maxdbs(s->env, 8);
        if (!mrc)
            mrc = mdb_env_set_mapsize(s->env, size);
        /* NOMETASYNC: a system crash may lose the last batches but never the store's
         * integrity; re-running the ingest replays them (idempotence). A finished run is made
         * durable with a full sync (sne_store_run_finish). */
        if (!mrc)
            mrc = mdb_env_open(s->env, dir,
                               MDB_NOTLS | MDB_NOMETASYNC | (s->writable ? 0 : MDB_RDONLY), 0600);
        bool no_room = mrc == ENOMEM || mrc == EINVAL;
        if (!mrc || asked || !no_room || size <= SMALLEST_MAP_SIZE)
            return mrc;
        mdb_env_close(s->env);
        s->env = NULL;
        size /= 2;
    }
}

static void store_free(sne_store *s)
{
    sne_store_read_end(s);
    if (s->txn)
        mdb_txn_abort(s->txn);
    if (s->env)
        mdb_env_close(s->env);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    sne_frame_codec_free(&s->codec);
    sne_header_scratch_free(&s->old_scratch);
    sne_buf_free(&s->old_header);
    sne_buf_free(&s->new_header);
    for (int p = 0; p < BODY_PARTS; p++)
        sne_buf_free(&s->old_body[p]);
    sne_buf_free(&s->new_body);
    sne_buf_free(&s->group);
    sne_buf_free(&s->frame);
    sne_buf_free(&s->decoded);
    store_dict_forget_samples(s);
    free(s->merged);
    free(s->merged_source);
    free(s->planned);
    free(s->old_items);
    free(s->old_lens);
    free(s->run.locations);
    free(s);
}

sne_err sne_store_open(sne_store **out, const char *dir, const sne_store_options *opt,
                       sne_error *err)
{
    sne_store_options o = opt ? *opt : (sne_store_options){0};
    *out = NULL;
    sne_store *s = calloc(1, sizeof(*s));
    if (!s)
        return sne_error_set(err, SNE_ERR_NOMEM, 0, "out of memory");
    s->lock_fd = -1;
    s->writable = o.writable;
    /* A body holds at most one demand; a change group at most its old and new items. The
     * frames around them add zstd's worst-case expansion, below 1/64 + 64 bytes. */
    size_t max_demand = o.max_demand ? o.max_demand : DEFAULT_MAX_DEMAND;
    size_t max_group = 2 * max_demand + 64 * 1024;
    sne_buf_init(&s->old_header, 16u << 20);
    sne_buf_init(&s->new_header, 16u << 20);
    for (int p = 0; p < BODY_PARTS; p++)
        sne_buf_init(&s->old_body[p], max_demand);
    sne_buf_init(&s->new_body, max_demand);
    sne_buf_init(&s->group, max_group);
    sne_buf_init(&s->frame, max_group + max_group / 64 + 64);
    sne_buf_init(&s->decoded, max_group);
    sne_buf_init(&s->dict_samples, STORE_DICT_SAMPLE_BYTES);
    s->run.locations = calloc(SNE_MAX_LOCATIONS, sizeof(*s->run.locations));
    sne_err rc = s->run.locations
                     ? sne_frame_codec_init(&s->codec, o.zstd_level ? o.zstd_level : 3, max_group)
                     : SNE_ERR_NOMEM;
    if (rc) {
        sne_error_set(&s->err, rc, 0, "out of memory");
        goto out;
    }
    bool create = o.writable && o.create;
    char creating[sizeof(s->dir) + sizeof(STORE_CREATING_SUFFIX)];
    if ((rc = store_set_dir(s, dir)) ||
        (rc = store_find_dir(s, create, creating, sizeof(creating))))
        goto out;
    if (!creating[0] && !create && (rc = store_check_data_file(s)))
        goto out;
    const char *path = creating[0] ? creating : s->dir;
    if (s->writable && s->lock_fd < 0 && (rc = store_lock_writer(s, path)))
        goto out;
    int mrc = open_environment(s, path, map_size(&o));
    MDB_stat ms;
    if (!mrc)
        mrc = mdb_env_stat(s->env, &ms);
    if (mrc) {
        rc = store_fail(s, mrc, "cannot open the environment");
        goto out;
    }
    s->page_size = ms.ms_psize;
    s->max_node = ms.ms_psize / 2 - 64; /* LMDB's node limit, less its headers and our keys */
    rc = open_databases(s, create);
    if (!rc && s->writable && s->has_old_bodies)
        rc = store_migrate_bodies(s);
    if (!rc && creating[0])
        rc = store_publish(s, creating);
out:
    if (rc) {
        if (err)
            *err = s->err;
        store_free(s);
        return rc;
    }
    *out = s;
    return SNE_OK;
}

void sne_store_close(sne_store *s)
{
    if (s)
        store_free(s);
}

const sne_error *sne_store_error(const sne_store *s)
{
    return &s->err;
}

const char *sne_store_identity(const sne_store *s)
{
    return s->identity;
}

sne_err store_begin_read(sne_store *s, MDB_txn **txn)
{
    if (s->pinned) {
        *txn = s->pinned;
        return SNE_OK;
    }
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
    if (rc == MDB_MAP_RESIZED && !s->txn) { /* a writer grew the map since we opened it */
        rc = mdb_env_set_mapsize(s->env, 0);
        if (!rc)
            rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
    }
    return rc ? store_fail(s, rc, "cannot begin a read transaction") : SNE_OK;
}

void store_end_read(sne_store *s, MDB_txn *txn)
{
    if (txn != s->pinned)
        mdb_txn_abort(txn);
}

sne_err store_scan(sne_store *s, MDB_dbi db, const char *what, store_entry_fn fn, void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    sne_err rc = store_begin_read(s, &txn);
    if (rc)
        return rc;
    int mrc = mdb_cursor_open(txn, db, &c);
    for (mrc = mrc ? mrc : mdb_cursor_get(c, &k, &v, MDB_FIRST); mrc == 0 && !rc;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        rc = fn(ctx, &k, &v);
    if (!rc && mrc && mrc != MDB_NOTFOUND)
        rc = store_fail(s, mrc, what);
    mdb_cursor_close(c);
    store_end_read(s, txn);
    return rc;
}

sne_err sne_store_read_begin(sne_store *s)
{
    if (s->pinned || s->txn)
        return sne_error_set(&s->err, SNE_ERR_USAGE, 0,
                             "store %s: a read is pinned already, or a batch is open", s->dir);
    MDB_txn *txn;
    sne_err rc = store_begin_read(s, &txn);
    if (!rc)
        s->pinned = txn;
    return rc;
}

void sne_store_read_end(sne_store *s)
{
    if (s && s->pinned) {
        mdb_txn_abort(s->pinned);
        s->pinned = NULL;
    }
}
