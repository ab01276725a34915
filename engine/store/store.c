#include "store_internal.h"

#include "../common/format.h"
#include "../model/geo.h"

#include <errno.h>
#define ZDICT_STATIC_LINKING_ONLY /* fastCover parameters */
#include <zdict.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define STORE_FORMAT       2 /* 2: DRM items in a body of their own */
#define DEFAULT_MAP_SIZE   (64ull << 30)
#define SMALLEST_MAP_SIZE  (256ull << 20) /* the last try when address space is short */
#define MAP_HEADROOM       (256ull << 20) /* room kept free in the map before each batch */
#define DISK_FULL_MARGIN   (4u << 20) /* less free space after a failed write: the disk is full */
#define DEFAULT_MAX_DEMAND (64u << 20)
#define CREATING_SUFFIX    ".creating" /* a new store DIR is built as DIR.creating */
#define CREATE_ATTEMPTS    3 /* each retry follows another process that finished creating DIR */

static const char KEY_FORMAT[] = "format";
static const char KEY_SEQ[] = "seq";
static const char KEY_COUNTS[] = "counts";
static const char KEY_RUN[] = "run";
static const char KEY_DICT[] = "dict";
static const char KEY_IDENTITY[] = "identity";

/* The dictionary: trained on the first DICT_SAMPLES demand bodies (at most DICT_SAMPLE_BYTES). */
#define DICT_SIZE         (64 * 1024)
#define DICT_SAMPLES      1000
#define DICT_SAMPLE_BYTES (8u << 20)

static MDB_val cstr_val(const char *s)
{
    return (MDB_val){strlen(s), (void *)s};
}

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

static uint64_t get_u64_meta(MDB_txn *txn, MDB_dbi db, const char *key)
{
    MDB_val k = cstr_val(key), v;
    if (mdb_get(txn, db, &k, &v) != 0 || v.mv_size != 8)
        return 0;
    return sne_get_u64le(v.mv_data);
}

static int put_u64_meta(MDB_txn *txn, MDB_dbi db, const char *key, uint64_t value)
{
    uint8_t le[8];
    sne_put_u64le(le, value);
    MDB_val k = cstr_val(key), v = {8, le};
    return mdb_put(txn, db, &k, &v, 0);
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
    s->seq = get_u64_meta(s->txn, s->db_meta, KEY_SEQ);
    MDB_val k = cstr_val(KEY_COUNTS), v;
    memset(s->counts, 0, sizeof(s->counts));
    if (mdb_get(s->txn, s->db_meta, &k, &v) == 0 && v.mv_size == sizeof(s->counts)) {
        for (int e = 0; e < SNE_ENTITY__COUNT; e++)
            s->counts[e] = sne_get_u64le((const uint8_t *)v.mv_data + 8 * e);
    }
    return SNE_OK;
}

sne_err sne_store_commit(sne_store *s)
{
    if (!s->txn)
        return SNE_OK;
    uint8_t counts[sizeof(s->counts)];
    for (int e = 0; e < SNE_ENTITY__COUNT; e++)
        sne_put_u64le(counts + 8 * e, s->counts[e]);
    MDB_val k = cstr_val(KEY_COUNTS), v = {sizeof(counts), counts};
    int rc = put_u64_meta(s->txn, s->db_meta, KEY_SEQ, s->seq);
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

sne_err store_sample_for_dictionary(sne_store *s, const sne_buf *content)
{
    if (s->codec.cdict || s->dict_failed)
        return SNE_OK;
    if (!s->sample_sizes && !(s->sample_sizes = malloc(DICT_SAMPLES * sizeof(size_t))))
        return sne_error_set(&s->err, SNE_ERR_NOMEM, 0, "out of memory");
    if (sne_buf_append(&s->dict_samples, content->data, content->len) == SNE_OK)
        s->sample_sizes[s->n_samples++] = content->len;
    if (s->n_samples < DICT_SAMPLES && s->dict_samples.len + 64 * 1024 < DICT_SAMPLE_BYTES)
        return SNE_OK;
    uint8_t *dict = malloc(DICT_SIZE);
    /* Fixed fastCover parameters: the optimising search of ZDICT_trainFromBuffer costs seconds
     * for a gain of a few percent. */
    ZDICT_fastCover_params_t params = {
        .k = 512, .d = 8, .f = 20, .steps = 0, .nbThreads = 1, .splitPoint = 1.0, .accel = 1};
    params.zParams.compressionLevel = s->codec.level;
    size_t n =
        dict ? ZDICT_trainFromBuffer_fastCover(dict, DICT_SIZE, s->dict_samples.data,
                                               s->sample_sizes, (unsigned)s->n_samples, params)
             : 0;
    sne_err rc = SNE_OK;
    if (!dict || ZDICT_isError(n) || sne_frame_codec_load_dict(&s->codec, dict, n) != SNE_OK) {
        s->dict_failed = true; /* plain zstd still works; only the ratio suffers */
    } else {
        MDB_val k = cstr_val(KEY_DICT), v = {n, dict};
        int mrc = mdb_put(s->txn, s->db_meta, &k, &v, 0);
        if (mrc)
            rc = store_fail(s, mrc, "cannot record the dictionary");
    }
    free(dict);
    sne_buf_free(&s->dict_samples);
    free(s->sample_sizes);
    s->sample_sizes = NULL;
    s->n_samples = 0;
    return rc;
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

/* Takes the writer lock of directory `dir`: the store's, or DIR.creating while it is made. */
static sne_err take_writer_lock(sne_store *s, const char *dir)
{
    char path[sizeof(s->dir) + 32];
    snprintf(path, sizeof(path), "%s/writer.lock", dir);
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0)
        return sne_error_set(&s->err, SNE_ERR_IO, errno, "cannot open %s: %s", path,
                             strerror(errno));
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK)
            return sne_error_set(&s->err, SNE_ERR_BUSY, e,
                                 "store %s is being written by another snesync process", s->dir);
        return sne_error_set(&s->err, SNE_ERR_IO, e, "cannot lock %s: %s", path, strerror(e));
    }
    return SNE_OK;
}

/* fsync() of directory `path`, so that the entries made in it survive a system crash. Returns 0
 * or an errno. */
static int sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int rc = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return rc;
}

/* Keeps `dir` without its trailing slashes (DIR.creating is named after it). */
static sne_err set_store_dir(sne_store *s, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n == 0 || n >= sizeof(s->dir))
        return sne_error_set(&s->err, SNE_ERR_USAGE, 0,
                             "the store's path is empty or longer than %zu bytes",
                             sizeof(s->dir) - 1);
    memcpy(s->dir, dir, n);
    s->dir[n] = '\0';
    return SNE_OK;
}

/* Locks DIR.creating (`creating`, made when missing) to build the store DIR in it: concurrent
 * creators meet on its writer lock, and all but one get SNE_ERR_BUSY. Returns with *again set
 * and no lock held when DIR.creating became DIR meanwhile (another creator finished): the caller
 * then looks at DIR again. */
static sne_err lock_creating(sne_store *s, const char *creating, bool *again)
{
    *again = false;
    if (mkdir(creating, 0700) != 0 && errno != EEXIST)
        return sne_error_set(&s->err, SNE_ERR_IO, errno,
                             "cannot create store %s: cannot make %s: %s", s->dir, creating,
                             strerror(errno));
    sne_err rc = take_writer_lock(s, creating);
    if (rc == SNE_ERR_IO && s->err.lib_code == ENOENT) { /* renamed before its lock was opened */
        sne_error_clear(&s->err);
        *again = true;
        return SNE_OK;
    }
    if (rc)
        return rc;
    /* The lock may be that of a DIR.creating renamed to DIR after its lock file was opened; and
     * DIR may have been made, from another DIR.creating, after this one was made. */
    char lock[sizeof(s->dir) + 32];
    snprintf(lock, sizeof(lock), "%s/writer.lock", creating);
    struct stat held, named, st;
    if (fstat(s->lock_fd, &held) != 0 || stat(lock, &named) != 0 || held.st_ino != named.st_ino ||
        held.st_dev != named.st_dev) {
        *again = true;
    } else if (stat(s->dir, &st) == 0) {
        unlink(lock); /* this DIR.creating was made after DIR was: it holds nothing else */
        rmdir(creating);
        *again = true;
    }
    if (*again) {
        close(s->lock_fd);
        s->lock_fd = -1;
    }
    return SNE_OK;
}

/* Finds the directory to open the store in: DIR when it exists. When it does not and `create`,
 * DIR.creating, locked, named in `creating` (publish_new_store() renames it to DIR once its
 * databases are committed); `creating` is "" otherwise. */
static sne_err find_store(sne_store *s, bool create, char *creating, size_t cap)
{
    for (int attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
        creating[0] = '\0';
        struct stat st;
        if (stat(s->dir, &st) == 0)
            return S_ISDIR(st.st_mode)
                       ? SNE_OK
                       : sne_error_set(&s->err, SNE_ERR_USAGE, 0, "%s is not a directory", s->dir);
        if (errno != ENOENT && errno != ENOTDIR)
            return sne_error_set(&s->err, SNE_ERR_IO, errno, "cannot open store %s: %s", s->dir,
                                 strerror(errno));
        if (!create)
            return sne_error_set(&s->err, SNE_ERR_NOTFOUND, errno, "no store at %s: %s", s->dir,
                                 strerror(errno));
        snprintf(creating, cap, "%s%s", s->dir, CREATING_SUFFIX);
        bool again;
        sne_err rc = lock_creating(s, creating, &again);
        if (rc || !again)
            return rc;
    }
    return sne_error_set(&s->err, SNE_ERR_BUSY, 0,
                         "store %s is being created by other snesync processes", s->dir);
}

/* An existing DIR holds a store only with its data file: an empty directory is no store to read
 * or prune (a creator makes the store in it). */
static sne_err check_data_file(sne_store *s)
{
    char path[sizeof(s->dir) + 32];
    struct stat st;
    snprintf(path, sizeof(path), "%s/data.mdb", s->dir);
    if (stat(path, &st) == 0)
        return SNE_OK;
    if (errno == ENOENT)
        return sne_error_set(&s->err, SNE_ERR_NOTFOUND, ENOENT,
                             "no store at %s: the directory holds no data.mdb", s->dir);
    return sne_error_set(&s->err, SNE_ERR_IO, errno, "cannot open store %s: %s: %s", s->dir, path,
                         strerror(errno));
}

/* Makes the store built in `creating` durable, then gives it its name. The parent's sync after
 * the rename is best effort: were the rename lost in a system crash, DIR.creating would still be
 * there, whole, and the next creator would publish it again. */
static sne_err publish_new_store(sne_store *s, const char *creating)
{
    int mrc = mdb_env_sync(s->env, 1); /* MDB_NOMETASYNC left the commit's meta page unsynced */
    if (mrc)
        return store_fail(s, mrc, "cannot flush the new store to disk");
    int e = sync_dir(creating);
    if (e)
        return sne_error_set(&s->err, SNE_ERR_IO, e, "cannot create store %s: cannot sync %s: %s",
                             s->dir, creating, strerror(e));
    if (rename(creating, s->dir) != 0)
        return sne_error_set(&s->err, SNE_ERR_IO, errno,
                             "cannot create store %s: cannot rename %s: %s", s->dir, creating,
                             strerror(errno));
    char parent[sizeof(s->dir)];
    const char *slash = strrchr(s->dir, '/');
    size_t n = slash ? (size_t)(slash - s->dir) : 0;
    snprintf(parent, sizeof(parent), "%.*s", (int)(n ? n : 1), slash ? s->dir : ".");
    (void)sync_dir(parent);
    return SNE_OK;
}

/* Opens the databases (creating them when `create`) in a new environment. */
static sne_err open_named_databases(sne_store *s, MDB_txn *txn, bool create)
{
    struct {
        const char *name;
        MDB_dbi *dbi;
    } dbs[] = {{"demand", &s->db_demand},      {"body", &s->db_body[BODY_MAIN]},
               {"drm", &s->db_body[BODY_DRM]}, {"change", &s->db_change},
               {"seen", &s->db_seen},          {"scope", &s->db_scope},
               {"meta", &s->db_meta}};
    int rc = 0;
    for (size_t i = 0; !rc && i < sizeof(dbs) / sizeof(dbs[0]); i++)
        rc = mdb_dbi_open(txn, dbs[i].name, create ? MDB_CREATE : 0, dbs[i].dbi);
    if (rc == MDB_NOTFOUND)
        return sne_error_set(&s->err, SNE_ERR_NOTFOUND, rc, "%s is not a snesync store", s->dir);
    return rc ? store_fail(s, rc, "cannot open its databases") : SNE_OK;
}

/* Checks the store's format (recording it in a new store) and loads its dictionary. */
static sne_err check_format(sne_store *s, MDB_txn *txn)
{
    uint64_t format = get_u64_meta(txn, s->db_meta, KEY_FORMAT);
    if (format == 0 && s->writable) {
        int rc = put_u64_meta(txn, s->db_meta, KEY_FORMAT, STORE_FORMAT);
        if (rc)
            return store_fail(s, rc, "cannot initialise");
    } else if (format != STORE_FORMAT) {
        return sne_error_set(&s->err, SNE_ERR_CORRUPT, 0,
                             "store %s has format %llu, this snesync reads format %d: "
                             "initialise a new store from a full export",
                             s->dir, (unsigned long long)format, STORE_FORMAT);
    }
    MDB_val dk = cstr_val(KEY_DICT), dv;
    if (mdb_get(txn, s->db_meta, &dk, &dv) == 0 &&
        sne_frame_codec_load_dict(&s->codec, dv.mv_data, dv.mv_size) != SNE_OK)
        return sne_error_set(&s->err, SNE_ERR_CORRUPT, 0, "store %s: its dictionary is damaged",
                             s->dir);
    return SNE_OK;
}

/* Reads the store's identity; a writer gives one to a store that has none (a new store, or one
 * made before identities existed). */
static sne_err load_identity(sne_store *s, MDB_txn *txn)
{
    MDB_val k = cstr_val(KEY_IDENTITY), v;
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
    sne_buf_free(&s->dict_samples);
    free(s->sample_sizes);
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
    sne_buf_init(&s->dict_samples, DICT_SAMPLE_BYTES);
    s->run.locations = calloc(SNE_MAX_LOCATIONS, sizeof(*s->run.locations));
    sne_err rc = s->run.locations
                     ? sne_frame_codec_init(&s->codec, o.zstd_level ? o.zstd_level : 3, max_group)
                     : SNE_ERR_NOMEM;
    if (rc) {
        sne_error_set(&s->err, rc, 0, "out of memory");
        goto out;
    }
    bool create = o.writable && o.create;
    char creating[sizeof(s->dir) + sizeof(CREATING_SUFFIX)];
    if ((rc = set_store_dir(s, dir)) || (rc = find_store(s, create, creating, sizeof(creating))))
        goto out;
    if (!creating[0] && !create && (rc = check_data_file(s)))
        goto out;
    const char *path = creating[0] ? creating : s->dir;
    if (s->writable && s->lock_fd < 0 && (rc = take_writer_lock(s, path)))
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
    if (!rc && creating[0])
        rc = publish_new_store(s, creating);
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

/* ---- runs and scopes ---- */

/* The run record: state, etat, location kind (1 byte each) | attempt, date_ms (u64) | entities,
 * location count (u32) | numero | dateExport | locations | profondeurDrm (1 byte) and
 * dernierePeriodeDrm (u32). A record written before the DRM window was kept ends after the
 * locations: it reads as an export without a window. */
#define RUN_WINDOW_SIZE 5

static sne_err encode_run(const sne_run *r, sne_buf *b)
{
    uint8_t fixed[8 + 8 + 4 + 4];
    sne_put_u64le(fixed, r->attempt);
    sne_put_u64le(fixed + 8, (uint64_t)r->date_ms);
    uint32_t ents = r->entities, nloc = (uint32_t)r->n_locations;
    memcpy(fixed + 16, &ents, 4);
    memcpy(fixed + 20, &nloc, 4);
    sne_buf_reset(b);
    uint8_t head[3] = {(uint8_t)r->state, r->radiees, (uint8_t)r->location};
    sne_err rc = sne_buf_append(b, head, 3);
    if (!rc)
        rc = sne_buf_append(b, fixed, sizeof(fixed));
    if (!rc)
        rc = sne_buf_append(b, r->numero, sizeof(r->numero));
    if (!rc)
        rc = sne_buf_append(b, r->date_export, sizeof(r->date_export));
    if (!rc)
        rc = sne_buf_append(b, r->locations, r->n_locations * sizeof(r->locations[0]));
    uint8_t window[RUN_WINDOW_SIZE] = {(uint8_t)r->profondeur_drm};
    uint32_t last = r->derniere_periode_drm;
    memcpy(window + 1, &last, 4);
    if (!rc)
        rc = sne_buf_append(b, window, sizeof(window));
    return rc;
}

static bool decode_run(const uint8_t *v, size_t n, sne_run *r)
{
    size_t fixed = 3 + 24 + sizeof(r->numero) + sizeof(r->date_export);
    if (n < fixed)
        return false;
    uint32_t ents, nloc, last = 0;
    memcpy(&ents, v + 19, 4);
    memcpy(&nloc, v + 23, 4);
    size_t end = fixed + (size_t)nloc * sizeof(r->locations[0]);
    bool window = n == end + RUN_WINDOW_SIZE;
    if (nloc > SNE_MAX_LOCATIONS || (n != end && !window))
        return false;
    if (window)
        memcpy(&last, v + end + 1, 4);
    r->profondeur_drm = window ? v[end] : 0;
    r->derniere_periode_drm = last;
    r->state = (run_state)v[0];
    r->radiees = v[1];
    r->location = (sne_location_kind)v[2];
    r->attempt = sne_get_u64le(v + 3);
    r->date_ms = (int64_t)sne_get_u64le(v + 11);
    r->entities = ents;
    r->n_locations = nloc;
    memcpy(r->numero, v + 27, sizeof(r->numero));
    memcpy(r->date_export, v + 27 + sizeof(r->numero), sizeof(r->date_export));
    memcpy(r->locations, v + fixed, nloc * sizeof(r->locations[0]));
    r->numero[sizeof(r->numero) - 1] = '\0';
    r->date_export[sizeof(r->date_export) - 1] = '\0';
    return true;
}

static sne_err load_run(sne_store *s, MDB_txn *txn, sne_run *r)
{
    MDB_val k = cstr_val(KEY_RUN), v;
    int rc = mdb_get(txn, s->db_meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        r->state = RUN_NONE;
        r->attempt = 0;
        return SNE_OK;
    }
    if (rc)
        return store_fail(s, rc, "cannot read the run record");
    if (!decode_run(v.mv_data, v.mv_size, r))
        return sne_error_set(&s->err, SNE_ERR_CORRUPT, 0, "store %s: damaged run record", s->dir);
    return SNE_OK;
}

static sne_err save_run(sne_store *s)
{
    sne_err rc = encode_run(&s->run, &s->new_header);
    if (rc)
        return sne_error_set(&s->err, rc, 0, "cannot encode the run record");
    MDB_val k = cstr_val(KEY_RUN), v = {s->new_header.len, s->new_header.data};
    int mrc = mdb_put(s->txn, s->db_meta, &k, &v, 0);
    return mrc ? store_fail(s, mrc, "cannot write the run record") : SNE_OK;
}

/* Scope units are "*" (everywhere), "D<department>" or "C<commune>". */
static bool units_overlap(const char *a, const char *b)
{
    if (a[0] == '*' || b[0] == '*' || strcmp(a, b) == 0)
        return true;
    if (a[0] == 'C' && b[0] == 'D') {
        const char *t = a;
        a = b;
        b = t;
    }
    if (a[0] == 'D' && b[0] == 'C') {
        size_t n = sne_commune_department_len(b + 1);
        return strlen(a + 1) == n && memcmp(a + 1, b + 1, n) == 0;
    }
    return false;
}

/* The i-th scope unit of the run ("*" when it has no location filter). */
static void run_unit(const sne_run *r, size_t i, char unit[10])
{
    if (r->location == SNE_LOCATION_ALL)
        snprintf(unit, 10, "*");
    else
        snprintf(unit, 10, "%c%s", r->location == SNE_LOCATION_DEPARTEMENTS ? 'D' : 'C',
                 r->locations[i]);
}

static size_t run_unit_count(const sne_run *r)
{
    return r->location == SNE_LOCATION_ALL ? 1 : r->n_locations;
}

/* Scope values: u64 date_ms | numero (SNE_NUMERO_MAX + 1 bytes) | dateExport (SNE_DATE_MAX + 1
 * bytes), both NUL-padded. */
#define SCOPE_NUMERO_OFF 8
#define SCOPE_DATE_OFF   (SCOPE_NUMERO_OFF + SNE_NUMERO_MAX + 1)
#define SCOPE_VALUE_SIZE (SCOPE_DATE_OFF + SNE_DATE_MAX + 1)

static sne_err check_stale(sne_store *s, const sne_run *r)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_cursor_open(s->txn, s->db_scope, &c);
    if (rc)
        return store_fail(s, rc, "cannot read scopes");
    sne_err result = SNE_OK;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && !result;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        char key[64];
        if (k.mv_size >= sizeof(key) || v.mv_size != SCOPE_VALUE_SIZE)
            continue;
        memcpy(key, k.mv_data, k.mv_size);
        key[k.mv_size] = '\0';
        char *entity = strchr(key, '|');
        char *unit = entity ? strchr(entity + 1, '|') : NULL;
        if (!unit || key[0] != (r->radiees ? 'R' : 'A'))
            continue;
        *unit++ = '\0';
        entity++;
        int e = sne_entity_by_code(entity, strlen(entity));
        int64_t held = (int64_t)sne_get_u64le(v.mv_data);
        if (e < 0 || !(r->entities & (1u << e)) || held <= r->date_ms)
            continue;
        for (size_t i = 0; i < run_unit_count(r); i++) {
            char mine[10];
            run_unit(r, i, mine);
            if (units_overlap(mine, unit)) {
                const char *held_date = (const char *)v.mv_data + SCOPE_DATE_OFF;
                result = sne_error_set(&s->err, SNE_ERR_STALE, 0,
                                       "export %s of %s is older than the data held for scope "
                                       "%s|%s|%s (export of %s); --force applies it anyway",
                                       r->numero, r->date_export, r->radiees ? "RADIEE" : "ACTIVE",
                                       entity, unit, held_date);
                break;
            }
        }
    }
    mdb_cursor_close(c);
    return result;
}

sne_err sne_store_run_begin(sne_store *s, const sne_export_header *h, bool force, bool *resumed)
{
    sne_err rc = sne_store_commit(s);
    if (!rc)
        rc = store_begin_batch(s);
    if (rc)
        return rc;
    sne_run *r = &s->run;
    if ((rc = load_run(s, s->txn, r)))
        return rc;
    *resumed = r->state == RUN_STARTED && strcmp(r->numero, h->numero) == 0 &&
               strcmp(r->date_export, h->date_export) == 0;
    if (!*resumed) {
        /* A different export, or none unfinished: the seen set starts empty. */
        int mrc = mdb_drop(s->txn, s->db_seen, 0);
        if (mrc)
            return store_fail(s, mrc, "cannot clear the seen set");
        snprintf(r->numero, sizeof(r->numero), "%s", h->numero);
        snprintf(r->date_export, sizeof(r->date_export), "%s", h->date_export);
        r->date_ms = h->date_export_ms;
        r->entities = h->entities;
        r->radiees = h->radiees;
        r->location = h->location;
        r->n_locations = h->n_locations;
        r->profondeur_drm = h->profondeur_drm;
        r->derniere_periode_drm = h->derniere_periode_drm;
        if (h->n_locations)
            memcpy(r->locations, h->locations, h->n_locations * sizeof(r->locations[0]));
    }
    r->state = RUN_STARTED;
    r->attempt++;
    if (!force && (rc = check_stale(s, r))) {
        mdb_txn_abort(s->txn);
        s->txn = NULL;
        return rc;
    }
    if ((rc = save_run(s)))
        return rc;
    return sne_store_commit(s);
}

sne_err sne_store_run_finish(sne_store *s)
{
    sne_err rc = store_begin_batch(s);
    if (rc)
        return rc;
    const sne_run *r = &s->run;
    uint8_t value[SCOPE_VALUE_SIZE] = {0};
    sne_put_u64le(value, (uint64_t)r->date_ms);
    memcpy(value + SCOPE_NUMERO_OFF, r->numero, sizeof(r->numero));
    memcpy(value + SCOPE_DATE_OFF, r->date_export, sizeof(r->date_export));
    for (int e = 0; e < SNE_ENTITY__COUNT; e++) {
        if (!(r->entities & (1u << e)))
            continue;
        for (size_t i = 0; i < run_unit_count(r); i++) {
            char unit[10], key[64];
            run_unit(r, i, unit);
            int n = snprintf(key, sizeof(key), "%c|%s|%s", r->radiees ? 'R' : 'A',
                             sne_entity_info_of((sne_entity)e)->code, unit);
            MDB_val k = {(size_t)n, key}, old, v = {sizeof(value), value};
            if (mdb_get(s->txn, s->db_scope, &k, &old) == 0 && old.mv_size == SCOPE_VALUE_SIZE &&
                (int64_t)sne_get_u64le(old.mv_data) > r->date_ms)
                continue; /* a forced older export does not hide newer data */
            int mrc = mdb_put(s->txn, s->db_scope, &k, &v, 0);
            if (mrc)
                return store_fail(s, mrc, "cannot record the scope");
        }
    }
    int mrc = mdb_drop(s->txn, s->db_seen, 0);
    if (mrc)
        return store_fail(s, mrc, "cannot clear the seen set");
    s->run.state = RUN_DONE;
    if ((rc = save_run(s)) || (rc = sne_store_commit(s)))
        return rc;
    mrc = mdb_env_sync(s->env, 1);
    return mrc ? store_fail(s, mrc, "cannot flush the store to disk") : SNE_OK;
}

bool store_in_run_scope(const sne_store *s, const sne_header *h)
{
    const sne_run *r = &s->run;
    if (h->radiee != r->radiees)
        return false;
    if (r->location == SNE_LOCATION_ALL)
        return true;
    for (size_t c = 0; c < h->n_communes; c++) {
        const char *commune = h->communes + c * SNE_COMMUNE_LEN;
        size_t n =
            r->location == SNE_LOCATION_COMMUNES ? SNE_COMMUNE_LEN : sne_commune_department_len(commune);
        for (size_t i = 0; i < r->n_locations; i++)
            if (strlen(r->locations[i]) == n && memcmp(r->locations[i], commune, n) == 0)
                return true;
    }
    return false;
}

/* ---- readers ---- */

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

/* Positions `c` on the group that holds change `seq`, or the first group after it. */
static int seek_group(MDB_cursor *c, uint64_t seq, MDB_val *k, MDB_val *v)
{
    uint8_t key[8];
    sne_put_u64be(key, seq);
    *k = (MDB_val){8, key};
    int rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
    if (rc == 0 && k->mv_size == 8 && sne_get_u64be(k->mv_data) == seq)
        return 0;
    /* The group before may span `seq`: it starts earlier. */
    int prev = rc == 0 ? mdb_cursor_get(c, k, v, MDB_PREV) : mdb_cursor_get(c, k, v, MDB_LAST);
    if (prev != 0)
        return rc == 0 ? mdb_cursor_get(c, k, v, MDB_FIRST) : rc;
    return 0;
}

/* The change log's extent in `txn` (see sne_store_seq_range). The last seq is kept in meta; the
 * first held is the key of the first group, since a prune deletes from the start and keeps a
 * group it cuts through under the seq of its first remaining change. */
static sne_err seq_range(sne_store *s, MDB_txn *txn, uint64_t *first, uint64_t *last)
{
    MDB_cursor *c;
    MDB_val k, v;
    *last = get_u64_meta(txn, s->db_meta, KEY_SEQ);
    *first = *last + 1;
    int mrc = mdb_cursor_open(txn, s->db_change, &c);
    if (!mrc) {
        mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
        mdb_cursor_close(c);
    }
    if (mrc == MDB_NOTFOUND)
        return SNE_OK;
    if (mrc)
        return store_fail(s, mrc, "cannot read the change log");
    if (k.mv_size != 8)
        return sne_error_set(&s->err, SNE_ERR_CORRUPT, 0, "store %s: the change log is damaged",
                             s->dir);
    *first = sne_get_u64be(k.mv_data);
    return SNE_OK;
}

sne_err sne_store_seq_range(sne_store *s, uint64_t *first, uint64_t *last)
{
    MDB_txn *txn;
    sne_err rc = store_begin_read(s, &txn);
    if (rc)
        return rc;
    rc = seq_range(s, txn, first, last);
    store_end_read(s, txn);
    return rc;
}

/* A consumer's cursor `since` is valid from the first seq held - 1 to the last: below, changes it
 * has not applied were pruned; past the last, the store is not the one it read. */
static sne_err check_cursor(sne_store *s, MDB_txn *txn, uint64_t since)
{
    uint64_t first, last;
    sne_err rc = seq_range(s, txn, &first, &last);
    if (rc)
        return rc;
    if (since < first - 1)
        return sne_error_set(&s->err, SNE_ERR_RANGE, 0,
                             "change log cursor %llu is out of range: the changes up to %llu "
                             "were pruned (the first held is %llu); a consumer at %llu missed "
                             "changes %llu to %llu and must be reloaded from the store's demands",
                             (unsigned long long)since, (unsigned long long)(first - 1),
                             (unsigned long long)first, (unsigned long long)since,
                             (unsigned long long)(since + 1), (unsigned long long)(first - 1));
    if (since > last)
        return sne_error_set(&s->err, SNE_ERR_RANGE, 0,
                             "change log cursor %llu is past the last seq %llu of store %s "
                             "(identity %s): the store was rebuilt or replaced since the "
                             "consumer read it; reload the consumer from the store's demands",
                             (unsigned long long)since, (unsigned long long)last, s->dir,
                             s->identity[0] ? s->identity : "not yet given");
    return SNE_OK;
}

sne_err sne_store_changes(sne_store *s, uint64_t since, uint64_t limit, sne_change_fn fn, void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    sne_err rc = store_begin_read(s, &txn);
    if (rc)
        return rc;
    if ((rc = check_cursor(s, txn, since))) {
        store_end_read(s, txn);
        return rc;
    }
    MDB_val k, v;
    int mrc = mdb_cursor_open(txn, s->db_change, &c);
    uint64_t emitted = 0;
    for (mrc = mrc ? mrc : seek_group(c, since + 1, &k, &v);
         mrc == 0 && !rc && (!limit || emitted < limit);
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint64_t seq = k.mv_size == 8 ? sne_get_u64be(k.mv_data) : 0;
        sne_group_reader g;
        sne_change_entry e;
        if ((rc = sne_frame_decode(&s->codec, v.mv_data, v.mv_size, &s->decoded)) ||
            (rc = sne_group_open(&g, s->decoded.data, s->decoded.len))) {
            sne_error_set(&s->err, rc, 0, "store %s: change %llu does not decode", s->dir,
                          (unsigned long long)seq);
            break;
        }
        int more = 0;
        for (; !rc && (!limit || emitted < limit) && (more = sne_group_next(&g, &e)) == 1; seq++) {
            if (seq <= since)
                continue;
            sne_change ch = {seq,       e.op,         e.entity,     g.num_unique,  e.key,
                             e.key_len, g.numero,     g.numero_len, g.date_export, g.date_len,
                             e.before,  e.before_len, e.after,      e.after_len};
            rc = fn(ctx, &ch);
            emitted++;
        }
        if (!rc && more < 0)
            rc = sne_error_set(&s->err, SNE_ERR_CORRUPT, 0, "store %s: change %llu is damaged",
                               s->dir, (unsigned long long)seq);
    }
    if (!rc && mrc && mrc != MDB_NOTFOUND)
        rc = store_fail(s, mrc, "cannot read the change log");
    mdb_cursor_close(c);
    store_end_read(s, txn);
    return rc;
}

/* Rewrites the group at the cursor, which starts at `first`, without its changes up to `upto`:
 * the rest is stored under the seq of its first remaining change. */
static sne_err trim_group(sne_store *s, MDB_cursor *c, const MDB_val *v, uint64_t first,
                          uint64_t upto, uint64_t *pruned)
{
    sne_group_reader g;
    sne_change_entry e;
    sne_err rc = sne_frame_decode(&s->codec, v->mv_data, v->mv_size, &s->decoded);
    if (!rc)
        rc = sne_group_open(&g, s->decoded.data, s->decoded.len);
    if (!rc)
        rc = sne_group_begin(&s->group, g.num_unique, g.numero, g.numero_len, g.date_export,
                             g.date_len);
    uint64_t seq = first;
    int more = 0;
    while (!rc && (more = sne_group_next(&g, &e)) == 1) {
        if (seq++ > upto)
            rc = sne_group_add(&s->group, &e);
    }
    if (!rc && more < 0)
        rc = SNE_ERR_CORRUPT;
    if (rc)
        return sne_error_set(&s->err, rc, 0, "store %s: change %llu does not decode", s->dir,
                             (unsigned long long)first);
    int mrc = mdb_cursor_del(c, 0);
    if (mrc)
        return store_fail(s, mrc, "cannot prune the change log");
    *pruned += upto + 1 - first;
    uint8_t key[8];
    sne_put_u64be(key, upto + 1);
    rc = sne_frame_encode(&s->codec, s->group.data, s->group.len, &s->frame);
    if (rc)
        return sne_error_set(&s->err, rc, 0, "cannot encode the change log");
    MDB_val k = {8, key}, nv = {s->frame.len, s->frame.data};
    mrc = mdb_put(s->txn, s->db_change, &k, &nv, 0);
    return mrc ? store_fail(s, mrc, "cannot prune the change log") : SNE_OK;
}

sne_err sne_store_prune(sne_store *s, uint64_t upto, uint64_t *pruned)
{
    *pruned = 0;
    for (;;) {
        sne_err rc = store_begin_batch(s);
        if (rc)
            return rc;
        MDB_cursor *c;
        MDB_val k, v, nk, nv;
        int mrc = mdb_cursor_open(s->txn, s->db_change, &c);
        size_t batch = 0;
        bool more = true;
        while (!rc && !mrc && batch < 10000 && (mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST)) == 0) {
            uint64_t first = sne_get_u64be(k.mv_data);
            if (first > upto) {
                more = false;
                break;
            }
            /* The group ends where the next begins, or at the last seq given out. */
            int nrc = mdb_cursor_get(c, &nk, &nv, MDB_NEXT);
            if (nrc && nrc != MDB_NOTFOUND) {
                mrc = nrc;
                break;
            }
            uint64_t last = nrc == 0 ? sne_get_u64be(nk.mv_data) - 1 : s->seq;
            if ((mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST)))
                break;
            if (last <= upto) {
                if (!(mrc = mdb_cursor_del(c, 0)))
                    *pruned += last - first + 1;
            } else {
                rc = trim_group(s, c, &v, first, upto, pruned);
                more = false;
                break;
            }
            batch++;
        }
        mdb_cursor_close(c);
        if (rc)
            return rc;
        if (mrc == MDB_NOTFOUND) {
            mrc = 0;
            more = false;
        }
        if (mrc)
            return store_fail(s, mrc, "cannot prune the change log");
        if ((rc = sne_store_commit(s)))
            return rc;
        if (!more)
            return SNE_OK;
    }
}

/* Calls fn for each item of body `part` of the demand whose header is `h`. */
static sne_err read_body(sne_store *s, MDB_txn *txn, const char *num, const sne_header *h,
                         body_part part, sne_item_fn fn, void *ctx)
{
    size_t first, end;
    body_part_range(h->items, h->n_items, part, &first, &end);
    if (first == end)
        return SNE_OK;
    MDB_val k = {SNE_NUM_UNIQUE_LEN, (void *)num}, bv;
    const uint8_t **items = NULL;
    size_t *lens = NULL;
    sne_err rc = SNE_OK;
    int mrc = mdb_get(txn, s->db_body[part], &k, &bv);
    if (mrc == MDB_NOTFOUND)
        rc = sne_error_set(&s->err, SNE_ERR_CORRUPT, 0, "demand %s: its items are missing", num);
    else if (mrc)
        rc = store_fail(s, mrc, "cannot read a demand's items");
    else if (!(items = malloc((end - first) * sizeof(*items))) ||
             !(lens = malloc((end - first) * sizeof(*lens))))
        rc = sne_error_set(&s->err, SNE_ERR_NOMEM, 0, "out of memory");
    else if ((rc = sne_frame_decode(&s->codec, bv.mv_data, bv.mv_size, &s->decoded)) ||
             (rc = sne_body_split(s->decoded.data, s->decoded.len, end - first, items, lens)))
        sne_error_set(&s->err, rc, 0, "demand %s: its items do not decode", num);
    for (size_t i = first; !rc && i < end; i++) {
        const sne_item_ref *ref = &h->items[i];
        sne_stored_item it = {ref->entity, ref->key, ref->key_len, items[i - first],
                              lens[i - first]};
        rc = fn(ctx, &it);
    }
    free(items);
    free(lens);
    return rc;
}

sne_err sne_store_read_demand(sne_store *s, const char *num, sne_item_fn fn, void *ctx)
{
    if (strlen(num) != SNE_NUM_UNIQUE_LEN)
        return sne_error_set(&s->err, SNE_ERR_NOTFOUND, 0, "not a demand number");
    MDB_txn *txn;
    sne_err rc = store_begin_read(s, &txn);
    if (rc)
        return rc;
    MDB_val k = {SNE_NUM_UNIQUE_LEN, (void *)num}, v;
    sne_header h = {0};
    int mrc = mdb_get(txn, s->db_demand, &k, &v);
    if (mrc == MDB_NOTFOUND)
        rc = sne_error_set(&s->err, SNE_ERR_NOTFOUND, 0, "demand %s is not in the store", num);
    else if (mrc)
        rc = store_fail(s, mrc, "cannot read a demand");
    else if ((rc = sne_header_decode(v.mv_data, v.mv_size, &s->old_scratch, &h)))
        sne_error_set(&s->err, rc, 0, "store %s: demand %s has a damaged header", s->dir, num);
    for (int part = 0; !rc && part < BODY_PARTS; part++)
        rc = read_body(s, txn, num, &h, (body_part)part, fn, ctx);
    store_end_read(s, txn);
    return rc;
}

#define NOTE_MAX (64 * 1024)

static size_t note_key(char *key, size_t size, const char *name)
{
    int n = snprintf(key, size, "note:%s", name);
    return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

sne_err sne_store_note_put(sne_store *s, const char *name, const void *value, size_t n)
{
    char key[128];
    size_t klen = note_key(key, sizeof(key), name);
    if (!klen || n > NOTE_MAX || s->txn)
        return sne_error_set(&s->err, SNE_ERR_USAGE, 0, "bad note %s", name);
    sne_err rc = store_begin_batch(s);
    if (rc)
        return rc;
    MDB_val k = {klen, key}, v = {n, (void *)value};
    int mrc =
        value ? mdb_put(s->txn, s->db_meta, &k, &v, 0) : mdb_del(s->txn, s->db_meta, &k, NULL);
    if (mrc && !(mrc == MDB_NOTFOUND && !value))
        return store_fail(s, mrc, "cannot write a note");
    return sne_store_commit(s);
}

sne_err sne_store_note_get(sne_store *s, const char *name, sne_buf *out)
{
    char key[128];
    size_t klen = note_key(key, sizeof(key), name);
    if (!klen)
        return sne_error_set(&s->err, SNE_ERR_USAGE, 0, "bad note name");
    MDB_txn *txn;
    sne_err rc = store_begin_read(s, &txn);
    if (rc)
        return rc;
    MDB_val k = {klen, key}, v;
    int mrc = mdb_get(txn, s->db_meta, &k, &v);
    sne_buf_reset(out);
    if (mrc == MDB_NOTFOUND)
        rc = SNE_ERR_NOTFOUND;
    else if (mrc)
        rc = store_fail(s, mrc, "cannot read a note");
    else if ((rc = sne_buf_append(out, v.mv_data, v.mv_size)))
        sne_error_set(&s->err, rc, 0, "note %s too large", name);
    store_end_read(s, txn);
    return rc;
}

sne_err sne_store_stats_get(sne_store *s, sne_store_stats *st)
{
    memset(st, 0, sizeof(*st));
    MDB_txn *txn;
    sne_err rc = store_begin_read(s, &txn);
    if (rc)
        return rc;
    MDB_stat ms;
    if (mdb_stat(txn, s->db_demand, &ms) == 0)
        st->demands = ms.ms_entries;
    if ((rc = seq_range(s, txn, &st->first_seq, &st->last_seq))) {
        store_end_read(s, txn);
        return rc;
    }
    st->changes = st->last_seq + 1 - st->first_seq;
    MDB_val k = cstr_val(KEY_COUNTS), v;
    if (mdb_get(txn, s->db_meta, &k, &v) == 0 && v.mv_size == sizeof(st->items))
        for (int e = 0; e < SNE_ENTITY__COUNT; e++)
            st->items[e] = sne_get_u64le((const uint8_t *)v.mv_data + 8 * e);
    sne_run run = {.locations = NULL};
    char(*locations)[SNE_LOCATION_CODE_MAX + 1] = calloc(SNE_MAX_LOCATIONS, sizeof(*locations));
    run.locations = locations;
    if (locations && load_run(s, txn, &run) == SNE_OK && run.state == RUN_STARTED) {
        st->run_open = true;
        snprintf(st->run_export, sizeof(st->run_export), "%s", run.numero);
    }
    free(locations);
    store_end_read(s, txn);
    MDB_envinfo info;
    if (mdb_env_info(s->env, &info) == 0)
        st->map_size = info.me_mapsize;
    char path[4200];
    struct stat fs;
    snprintf(path, sizeof(path), "%s/data.mdb", s->dir);
    if (stat(path, &fs) == 0)
        st->file_bytes = (uint64_t)fs.st_size;
    return SNE_OK;
}

sne_err sne_store_scopes(sne_store *s, sne_scope_fn fn, void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    sne_err rc = store_begin_read(s, &txn);
    if (rc)
        return rc;
    MDB_val k, v;
    int mrc = mdb_cursor_open(txn, s->db_scope, &c);
    for (mrc = mrc ? mrc : mdb_cursor_get(c, &k, &v, MDB_FIRST); mrc == 0 && !rc;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        char scope[64], numero[SNE_NUMERO_MAX + 1], date[SNE_DATE_MAX + 1];
        if (k.mv_size >= sizeof(scope) || v.mv_size != SCOPE_VALUE_SIZE)
            continue;
        memcpy(scope, k.mv_data, k.mv_size);
        scope[k.mv_size] = '\0';
        memcpy(numero, (const char *)v.mv_data + SCOPE_NUMERO_OFF, sizeof(numero));
        memcpy(date, (const char *)v.mv_data + SCOPE_DATE_OFF, sizeof(date));
        numero[sizeof(numero) - 1] = date[sizeof(date) - 1] = '\0';
        rc = fn(ctx, scope, numero, date);
    }
    mdb_cursor_close(c);
    store_end_read(s, txn);
    return rc;
}
