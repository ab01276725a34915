/* sync.c: the sync job (sync.h): request, poll, download while ingesting, release. */
#include "sync.h"
#include "common/format.h"
#include "common/queue.h"
#include "model/geo.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCATIONS_MAX 2000

const char *sne_sync_phase_name(sne_sync_phase p)
{
    static const char *const names[] = {"posted",    "polling",  "downloading",
                                        "ingesting", "sweeping", "releasing"};
    return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "?";
}

void sne_sync_options_default(sne_sync_options *o)
{
    memset(o, 0, sizeof(*o));
    sne_fetch_options_default(&o->fetch);
    o->job = "sync";
}

/* --- the request --------------------------------------------------------------------------- */

typedef struct code6 {
    char c[6];
} code6;

static int cmp_code(const void *a, const void *b)
{
    return strcmp(((const code6 *)a)->c, ((const code6 *)b)->c);
}

/* Appends `"name":["a","b"]` from a comma-separated list, checked, sorted and deduplicated. */
static sne_err append_locations(sne_buf *b, const char *name, const char *list,
                                bool (*valid)(const char *, size_t), sne_error *err)
{
    code6 *codes = calloc(LOCATIONS_MAX, sizeof(*codes));
    size_t n = 0;
    sne_err rc = SNE_OK;
    if (!codes)
        return sne_error_set(err, SNE_ERR_NOMEM, 0, "out of memory");
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        const char *s = p;
        p += len + (p[len] == ',');
        while (len > 0 && *s == ' ')
            s++, len--;
        while (len > 0 && s[len - 1] == ' ')
            len--;
        if (len == 0)
            continue;
        if (!valid(s, len)) {
            rc = sne_error_set(err, SNE_ERR_USAGE, 0, "'%.*s' is not a valid code for --%s",
                               (int)(len > 12 ? 12 : len), s, name);
            goto out;
        }
        if (n == LOCATIONS_MAX) {
            rc = sne_error_set(err, SNE_ERR_USAGE, 0, "more than %d codes for --%s", LOCATIONS_MAX,
                               name);
            goto out;
        }
        memcpy(codes[n++].c, s, len);
    }
    if (n == 0) {
        rc = sne_error_set(err, SNE_ERR_USAGE, 0, "--%s lists no code", name);
        goto out;
    }
    qsort(codes, n, sizeof(*codes), cmp_code);
    rc = sne_buf_printf(b, ",\"%s\":[", name);
    for (size_t i = 0, k = 0; i < n && !rc; i++) {
        if (i > 0 && strcmp(codes[i].c, codes[i - 1].c) == 0)
            continue;
        rc = sne_buf_printf(b, "%s\"%s\"", k++ ? "," : "", codes[i].c);
    }
    if (!rc)
        rc = sne_buf_append_str(b, "]");
    if (rc)
        rc = sne_error_set(err, rc, 0, "request too large");
out:
    free(codes);
    return rc;
}

sne_err sne_sync_request_json(const sne_sync_options *o, sne_buf *out, sne_error *err)
{
    sne_err rc;
    sne_buf_reset(out);
    if ((o->entities & SNE_ENTITY_ALL) == 0 || (o->entities & ~SNE_ENTITY_ALL))
        return sne_error_set(err, SNE_ERR_USAGE, 0, "at least one entity is needed");
    if (o->departements && o->communes)
        return sne_error_set(err, SNE_ERR_USAGE, 0,
                             "departements and communes are exclusive (contract)");
    if (o->profondeur_drm && !(o->entities & (1u << SNE_ENTITY_DRM)))
        return sne_error_set(err, SNE_ERR_USAGE, 0, "the DRM depth needs the DRM entity");
    if (o->profondeur_drm < 0 || o->profondeur_drm > 3)
        return sne_error_set(err, SNE_ERR_USAGE, 0, "the DRM depth is 1, 2 or 3 months");
    rc = sne_buf_append_str(out, "{\"entites\":[");
    for (int e = 0, k = 0; e < SNE_ENTITY__COUNT && !rc; e++)
        if (o->entities & (1u << e))
            rc = sne_buf_printf(out, "%s\"%s\"", k++ ? "," : "",
                                sne_entity_info_of((sne_entity)e)->code);
    if (!rc)
        rc = sne_buf_printf(out, "],\"etatDemande\":\"%s\"", o->radiees ? "RADIEE" : "ACTIVE");
    if (rc)
        return sne_error_set(err, rc, 0, "request too large");
    if (o->departements &&
        (rc = append_locations(out, "departements", o->departements, sne_departement_valid, err)))
        return rc;
    if (o->communes && (rc = append_locations(out, "communes", o->communes, sne_commune_valid, err)))
        return rc;
    if (o->profondeur_drm)
        rc = sne_buf_printf(out, ",\"profondeurDrm\":%d", o->profondeur_drm);
    if (!rc)
        rc = sne_buf_append_str(out, "}");
    return rc ? sne_error_set(err, rc, 0, "request too large") : SNE_OK;
}

/* --- the note: the job's pending export (its layout: sne_sync_note, store/codec.h) ----------- */

static sne_err note_save(sne_store *s, const char *job, const sne_sync_note *nt, sne_error *err)
{
    sne_buf b;
    sne_buf_init(&b, SNE_NOTE_MAX);
    sne_err rc = sne_sync_note_encode(nt, &b);
    if (rc)
        sne_error_set(err, rc, 0, "cannot note export %s: %s", nt->numero,
                      rc == SNE_ERR_INVALID ? "incomplete, or a value on several lines"
                                            : "too large");
    else if ((rc = sne_store_note_put(s, job, b.data, b.len)))
        *err = *sne_store_error(s);
    sne_buf_free(&b);
    return rc;
}

static sne_err note_clear(sne_store *s, const char *job, sne_error *err)
{
    sne_err rc = sne_store_note_put(s, job, NULL, 0);
    if (rc)
        *err = *sne_store_error(s);
    return rc;
}

/* No control characters, so that the value fits on one note line. */
static bool one_line(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* --- files ------------------------------------------------------------------------------------ */

typedef struct job {
    sne_store *store;
    const sne_sync_options *o;
    sne_sync_summary *sum;
    sne_fetch *f;
    sne_sync_note nt;
    char dir[1024]; /* WORK/JOB */
    char request[SNE_SYNC_REQUEST_MAX];
    char replaced[512]; /* why the last export was dropped for a new one (ECHEC: the server's
                           erreur.code and message, at most 63 + 255 bytes, printable) */
    sne_error *err;
} job;

/* Adds a warning to the summary after the earlier ones, so that none is lost (a long list is
 * cut at the summary's size). */
static void warn(job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(job *j, const char *fmt, ...)
{
    char w[sizeof(j->sum->warning)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w, sizeof(w), fmt, ap);
    va_end(ap);
    size_t n = strlen(j->sum->warning);
    if (!sne_format(j->sum->warning + n, sizeof(j->sum->warning) - n, "%s%s", n ? "; " : "", w))
        sne_format_mark_cut(j->sum->warning + n, sizeof(j->sum->warning) - n);
}

/* Records why the pending export is dropped for a new one: a warning when a later export
 * succeeds, the explanation of the error when none does (post_export()). */
static void replacing(job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void replacing(job *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->replaced, sizeof(j->replaced), fmt, ap);
    va_end(ap);
    warn(j, "%s; a new one was requested", j->replaced);
}

static sne_err make_dir(const char *path, sne_error *err)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return sne_error_set(err, SNE_ERR_IO, errno, "cannot create %s: %s", path, strerror(errno));
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return sne_error_set(err, SNE_ERR_IO, errno, "%s is not a directory", path);
    return SNE_OK;
}

static void archive_path(const job *j, const char *numero, const char *suffix, char *out,
                         size_t cap)
{
    snprintf(out, cap, "%s/EXPORT_%s.tar.gz%s", j->dir, numero, suffix);
}

/* Keeps `keep` (a file name in the job's directory) and removes every other archive there. */
static void remove_other_archives(const job *j, const char *keep)
{
    DIR *d = opendir(j->dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "EXPORT_", 7) != 0 || (keep && strcmp(e->d_name, keep) == 0))
            continue;
        char p[2048];
        snprintf(p, sizeof(p), "%s/%s", j->dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}

/* --- progress ----------------------------------------------------------------------------------
 */

static void report(const job *j, sne_sync_progress *p)
{
    if (j->o->progress) {
        p->numero = j->nt.numero;
        j->o->progress(j->o->progress_ctx, p);
    }
}

/* --- download and ingest at once ------------------------------------------------------------- */

#define LANDED_MAX 64 /* news of the download waiting for the ingest's reader, at most */

/* The download appends the archive to a file that the ingest reads as it grows. How far the file
 * goes is `downloaded`; the news travels through `landed`, a queue of the offsets reached, which
 * the reader waits on. The download never waits for the reader (a transfer held up would be cut
 * by the fetch's low-speed limit), so an offset that finds the queue full is dropped: harmless,
 * since the reader, woken by those queued, reads `downloaded` itself, and it only waits on an
 * empty queue, which the next offset finds room in. The close ends the news. */
typedef struct feed {
    job *j;
    int fd;
    uint64_t size;               /* announced */
    uint64_t start;              /* on disk before this run's download */
    _Atomic uint64_t downloaded; /* bytes on disk: written by the download only */
    sne_queue *landed;           /* uint64_t: offsets reached; closed once the download is over */
    /* How the download ended: dl_err is written before dl_rc, and both before `landed` is
     * closed, so the reader may read them once it sees the close, and the job once dl_rc is
     * non-zero or the download thread joined. */
    _Atomic sne_err dl_rc;
    sne_error dl_err;
    /* The ingest's reader only. */
    uint64_t readable; /* bytes on disk the reader knows of */
    uint64_t read_off; /* its position */
    bool landed_over;  /* `landed` was closed: readable is final */
} feed;

static sne_err feed_sink(void *ctx, const void *data, size_t n)
{
    feed *fd = ctx;
    const char *p = data;
    uint64_t off = atomic_load(&fd->downloaded);
    size_t left = n;
    while (left > 0) {
        ssize_t w = pwrite(fd->fd, p, left, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return sne_error_set(&fd->dl_err, SNE_ERR_IO, errno,
                                 "cannot write the downloaded archive: %s",
                                 strerror(w < 0 ? errno : ENOSPC));
        p += w;
        left -= (size_t)w;
        off += (uint64_t)w;
    }
    atomic_store(&fd->downloaded, off);
    sne_queue_try_push(fd->landed, &off); /* full: the reader has news to wake it already */
    sne_sync_progress pr = {.phase = SNE_SYNC_DOWNLOADING,
                            .progression = -1,
                            .downloaded = off,
                            .total = fd->size,
                            .resumed_from = fd->start};
    report(fd->j, &pr);
    return SNE_OK;
}

static void *download_thread(void *arg)
{
    feed *fd = arg;
    job *j = fd->j;
    sne_err rc = sne_fetch_download(j->f, j->nt.numero, j->nt.url[0] ? j->nt.url : NULL, fd->start,
                                    fd->size, j->nt.sha256, feed_sink, fd, &fd->dl_err);
    if (!rc && fdatasync(fd->fd) != 0)
        rc = sne_error_set(&fd->dl_err, SNE_ERR_IO, errno, "cannot flush the archive: %s",
                           strerror(errno));
    atomic_store(&fd->dl_rc, rc);
    sne_queue_close(fd->landed);
    return NULL;
}

/* The ingest's byte source: the file on disk, up to what the download has written. */
static ptrdiff_t feed_read(void *ctx, void *buf, size_t n)
{
    feed *fd = ctx;
    while (fd->read_off >= fd->readable && !fd->landed_over) {
        uint64_t news[LANDED_MAX];
        size_t got;
        fd->landed_over = sne_queue_pop_n(fd->landed, news, LANDED_MAX, &got) != SNE_QUEUE_OK;
        fd->readable = atomic_load(&fd->downloaded); /* at least the latest news */
    }
    uint64_t avail = fd->readable - fd->read_off;
    if (avail == 0) {
        if (atomic_load(&fd->dl_rc)) {
            errno = EIO;
            return -1;
        }
        return 0;
    }
    if (n > avail)
        n = (size_t)avail;
    for (;;) {
        ssize_t got = pread(fd->fd, buf, n, (off_t)fd->read_off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (got == 0)
                errno = EIO;
            return -1;
        }
        fd->read_off += (uint64_t)got;
        return got;
    }
}

static void on_ingest_progress(void *ctx, const sne_ingest_progress *p)
{
    feed *fd = ctx;
    bool sweeping = strcmp(p->phase, "sweeping") == 0;
    sne_sync_progress pr = {.phase = sweeping ? SNE_SYNC_SWEEPING : SNE_SYNC_INGESTING,
                            .progression = -1,
                            .total = fd->size,
                            .resumed_from = fd->start,
                            .ingested_bytes = p->raw_bytes,
                            .demands = p->demands};
    pr.downloaded = atomic_load(&fd->downloaded);
    report(fd->j, &pr);
}

typedef enum dl_verdict {
    DL_DONE,   /* ingested */
    DL_GONE,   /* the export's file is gone on the server before we had it all: new export */
    DL_BAD,    /* bad data: release, keep the file aside, clear the note */
    DL_STALE,  /* older than the store's data: release, clear the note */
    DL_FAILED, /* anything else: keep the note, the next run resumes */
} dl_verdict;

static bool bad_data(sne_err rc)
{
    return rc == SNE_ERR_ARCHIVE || rc == SNE_ERR_XML || rc == SNE_ERR_INVALID ||
           rc == SNE_ERR_INCOMPLETE || rc == SNE_ERR_LIMIT;
}

static dl_verdict download_and_ingest(job *j, sne_err *out_rc)
{
    char path[1200];
    sne_error *err = j->err;
    archive_path(j, j->nt.numero, ".part", path, sizeof(path));
    feed fd = {.j = j, .fd = -1, .size = (uint64_t)j->nt.taille};
    dl_verdict v = DL_FAILED;
    bool thread = false;
    pthread_t tid;
    sne_err rc = sne_queue_new(&fd.landed, LANDED_MAX, sizeof(uint64_t));
    if (rc) {
        sne_error_set(err, rc, 0, "out of memory");
        goto out;
    }
    fd.fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    struct stat st;
    if (fd.fd < 0 || fstat(fd.fd, &st) != 0 || fchmod(fd.fd, 0600) != 0) {
        rc = sne_error_set(err, SNE_ERR_IO, errno, "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    fd.start = (uint64_t)st.st_size;
    if (fd.start > fd.size) { /* not this export's bytes: start over */
        if (ftruncate(fd.fd, 0) != 0) {
            rc = sne_error_set(err, SNE_ERR_IO, errno, "cannot truncate %s: %s", path,
                               strerror(errno));
            goto out;
        }
        fd.start = 0;
    }
    atomic_store(&fd.downloaded, fd.start);
    j->sum->resumed_from = fd.start;
    if (fd.start < fd.size) {
        if (pthread_create(&tid, NULL, download_thread, &fd) != 0) {
            rc = sne_error_set(err, SNE_ERR_NOMEM, 0, "cannot start the download thread");
            goto out;
        }
        thread = true;
    } else {
        sne_queue_close(fd.landed); /* all on disk already */
    }

    sne_ingest_options io;
    sne_ingest_options_default(&io);
    if (j->o->batch_demands)
        io.batch_demands = j->o->batch_demands;
    io.expect_sha256 = j->nt.sha256;
    io.expect_size = j->nt.taille;
    io.progress = on_ingest_progress;
    io.progress_ctx = &fd;
    rc = sne_ingest(j->store, feed_read, &fd, &io, &j->sum->ingest, err);
    bool cancelled = false;
    if (thread) {
        bool dl_failed_first = atomic_load(&fd.dl_rc) != SNE_OK;
        if (rc && !dl_failed_first) { /* the ingest failed: the rest of the bytes are moot */
            sne_fetch_cancel(j->f);
            cancelled = true;
        }
        pthread_join(tid, NULL);
        sne_fetch_reset_cancel(j->f);
    }
    j->sum->downloaded_bytes = atomic_load(&fd.downloaded) - fd.start;
    j->sum->archive_bytes = fd.size;
    sne_err dl_rc = atomic_load(&fd.dl_rc); /* final: the download thread is joined */
    if (dl_rc && !cancelled) {
        /* The download's own failure explains the ingest's (its source stopped). */
        rc = dl_rc;
        *err = fd.dl_err;
        if (rc == SNE_ERR_HTTP && (err->lib_code == 404 || err->lib_code == 410))
            v = DL_GONE;
        else
            v = bad_data(rc) ? DL_BAD : DL_FAILED;
        goto out;
    }
    if (!rc) {
        j->sum->ingested = true;
        v = DL_DONE;
    } else if (rc == SNE_ERR_STALE) {
        v = DL_STALE;
    } else if (bad_data(rc)) {
        v = DL_BAD;
    }
out:
    if (fd.fd >= 0)
        close(fd.fd);
    sne_queue_free(fd.landed, NULL);
    *out_rc = rc;
    return v;
}

/* --- the job ---------------------------------------------------------------------------------- */

/* DELETE, tolerating an export the server no longer knows. Errors become a warning. */
static bool release(job *j, const char *numero)
{
    sne_error e = {0};
    sne_err rc = sne_fetch_delete(j->f, numero, &e);
    if (!rc || (rc == SNE_ERR_HTTP && (e.lib_code == 404 || e.lib_code == 410)))
        return true;
    warn(j, "export %s not released: %s", numero, e.message);
    return false;
}

static sne_err post_export(job *j)
{
    sne_export_status st;
    double ra = 0;
    if (j->sum->exports_requested >= (j->o->max_exports ? j->o->max_exports : 3))
        return sne_error_set(j->err, SNE_ERR_HTTP, 0,
                             "%u exports requested in this run did not complete; giving up "
                             "(the last: %s)",
                             j->sum->exports_requested, j->replaced);
    sne_err rc = sne_fetch_post_export(j->f, j->request, &st, &ra, j->err);
    if (rc)
        return rc;
    j->sum->exports_requested++;
    memset(&j->nt, 0, sizeof(j->nt));
    j->nt.phase = SNE_NOTE_REQUESTED;
    j->nt.taille = -1;
    snprintf(j->nt.server, sizeof(j->nt.server), "%s", j->o->fetch.server);
    snprintf(j->nt.request, sizeof(j->nt.request), "%s", j->request);
    snprintf(j->nt.numero, sizeof(j->nt.numero), "%s", st.numero);
    snprintf(j->sum->numero, sizeof(j->sum->numero), "%s", st.numero);
    if ((rc = note_save(j->store, j->o->job, &j->nt, j->err)))
        return rc;
    sne_sync_progress pr = {.phase = SNE_SYNC_POSTED, .statut = st.statut, .progression = -1};
    report(j, &pr);
    /* The first poll waits as the 202 asked (the server counts from the POST). */
    sne_fetch_wait(j->f, ra > 0 ? ra : 1);
    return SNE_OK;
}

typedef enum poll_verdict { POLL_READY, POLL_REPLACE, POLL_ERROR } poll_verdict;

static poll_verdict poll_export(job *j, sne_err *out_rc)
{
    double start = sne_fetch_now(j->f);
    double max_wait = j->o->max_wait > 0 ? j->o->max_wait : 86400;
    for (;;) {
        sne_export_status st;
        double ra = 0;
        sne_error e = {0};
        sne_err rc = sne_fetch_status(j->f, j->nt.numero, &st, &ra, &e);
        if (rc == SNE_ERR_HTTP && (e.lib_code == 404 || e.lib_code == 410)) {
            replacing(j, "export %s is no longer known to the server (HTTP %d)", j->nt.numero,
                      e.lib_code); /* expired, released */
            return POLL_REPLACE;
        }
        if (rc) {
            *j->err = e;
            *out_rc = rc;
            return POLL_ERROR;
        }
        if (strcmp(st.numero, j->nt.numero) != 0) {
            *out_rc =
                sne_error_set(j->err, SNE_ERR_HTTP, 0, "GET /exports/%s answered about export %s",
                              j->nt.numero, st.numero);
            return POLL_ERROR;
        }
        j->sum->polls++;
        sne_sync_progress pr = {.phase = SNE_SYNC_POLLING,
                                .statut = st.statut,
                                .progression = st.progression,
                                .polls = j->sum->polls};
        report(j, &pr);
        switch (st.statut) {
        case SNE_STATUT_TERMINE:
            if (st.url[0] && !one_line(st.url))
                st.url[0] = '\0';
            j->nt.phase = SNE_NOTE_READY;
            j->nt.taille = st.taille;
            snprintf(j->nt.sha256, sizeof(j->nt.sha256), "%s", st.sha256);
            if (!sne_format(j->nt.url, sizeof(j->nt.url), "%s", st.url))
                j->nt.url[0] = '\0'; /* too long to note: the download takes the default path */
            snprintf(j->nt.date_export, sizeof(j->nt.date_export), "%s",
                     one_line(st.date_export) ? st.date_export : "");
            *out_rc = note_save(j->store, j->o->job, &j->nt, j->err);
            return *out_rc ? POLL_ERROR : POLL_READY;
        case SNE_STATUT_ECHEC: /* code and message: printable, bounded (status_json.h) */
            replacing(j, "export %s failed on the server (%s%s%s)", j->nt.numero,
                      st.erreur_code[0] ? st.erreur_code : "no code",
                      st.erreur_message[0] ? ": " : "", st.erreur_message);
            return POLL_REPLACE;
        case SNE_STATUT_EXPIRE:
            replacing(j, "export %s expired on the server before it was ready", j->nt.numero);
            return POLL_REPLACE;
        default:
            break;
        }
        double now = sne_fetch_now(j->f);
        if (now - start > max_wait) {
            *out_rc = sne_error_set(j->err, SNE_ERR_NETWORK, 0,
                                    "export %s still %s after %.0f s of polling; run again to "
                                    "resume it",
                                    j->nt.numero, sne_statut_name(st.statut), now - start);
            return POLL_ERROR;
        }
        if (sne_fetch_cancelled(j->f)) {
            *out_rc = sne_error_set(j->err, SNE_ERR_NETWORK, 0, "cancelled");
            return POLL_ERROR;
        }
        sne_fetch_wait(j->f, ra > 0 ? ra : 5);
    }
}

/* Forgets the pending export (after releasing it on the server when `del`). */
static sne_err drop_pending(job *j, bool del)
{
    char path[1200];
    if (del)
        release(j, j->nt.numero);
    archive_path(j, j->nt.numero, ".part", path, sizeof(path));
    unlink(path);
    memset(&j->nt, 0, sizeof(j->nt));
    return note_clear(j->store, j->o->job, j->err);
}

static sne_err finish(job *j)
{
    char part[1200], done[1200];
    sne_sync_progress pr = {.phase = SNE_SYNC_RELEASING, .progression = -1};
    report(j, &pr);
    j->sum->released = release(j, j->nt.numero);
    archive_path(j, j->nt.numero, ".part", part, sizeof(part));
    archive_path(j, j->nt.numero, "", done, sizeof(done));
    if (rename(part, done) == 0 || access(done, F_OK) == 0) {
        if (!sne_format(j->sum->archive_path, sizeof(j->sum->archive_path), "%s", done))
            j->sum->archive_path[0] = '\0'; /* never a cut path */
        remove_other_archives(j, strrchr(done, '/') + 1);
    }
    memset(&j->nt, 0, sizeof(j->nt));
    return note_clear(j->store, j->o->job, j->err);
}

static bool valid_job_name(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '-'))
            return false;
    return n >= 1 && n <= 32;
}

sne_err sne_sync_run(sne_store *s, const sne_sync_options *o, sne_sync_summary *sum, sne_error *err)
{
    job j = {.store = s, .o = o, .sum = sum, .err = err};
    sne_buf req, raw;
    sne_buf_init(&req, sizeof(j.request) - 1);
    sne_buf_init(&raw, SNE_NOTE_MAX);
    memset(sum, 0, sizeof(*sum));
    sne_err rc;
    if (!o->job || !valid_job_name(o->job)) {
        rc = sne_error_set(err, SNE_ERR_USAGE, 0, "bad job name");
        goto out;
    }
    if (!o->work_dir || !o->work_dir[0] || strlen(o->work_dir) > 900) {
        rc = sne_error_set(err, SNE_ERR_USAGE, 0, "a work directory is needed");
        goto out;
    }
    if ((rc = sne_sync_request_json(o, &req, err)))
        goto out;
    snprintf(j.request, sizeof(j.request), "%s", (const char *)req.data);
    if (!o->fetch.server || !one_line(o->fetch.server) || strlen(o->fetch.server) >= 1000) {
        rc = sne_error_set(err, SNE_ERR_USAGE, 0, "a server URL is needed");
        goto out;
    }
    if ((rc = sne_fetch_new(&j.f, &o->fetch, err))) /* refuses bad options before any mkdir */
        goto out;
    snprintf(j.dir, sizeof(j.dir), "%s/%s", o->work_dir, o->job);
    if ((rc = make_dir(o->work_dir, err)) || (rc = make_dir(j.dir, err)))
        goto out;
    double t0 = sne_fetch_now(j.f);

    rc = sne_store_note_get(s, o->job, &raw);
    if (rc == SNE_OK) {
        sne_sync_note_decode(&j.nt, raw.data, raw.len); /* a note it cannot read: phase none */
        if (j.nt.phase != SNE_NOTE_NONE &&
            (strcmp(j.nt.server, o->fetch.server) != 0 || strcmp(j.nt.request, j.request) != 0)) {
            /* Another request's export: release it, then start afresh. */
            warn(&j, "pending export %s was for another request; released", j.nt.numero);
            if (strcmp(j.nt.server, o->fetch.server) == 0)
                release(&j, j.nt.numero);
            if ((rc = drop_pending(&j, false)))
                goto out;
        } else if (j.nt.phase == SNE_NOTE_NONE) {
            if ((rc = note_clear(s, o->job, err)))
                goto out;
        } else {
            sum->resumed = true;
            snprintf(sum->numero, sizeof(sum->numero), "%s", j.nt.numero);
        }
    } else if (rc == SNE_ERR_NOTFOUND) {
        rc = SNE_OK;
    } else {
        *err = *sne_store_error(s);
        goto out;
    }

    for (;;) {
        if (j.nt.phase == SNE_NOTE_NONE && (rc = post_export(&j)))
            goto out;
        if (j.nt.phase == SNE_NOTE_REQUESTED) {
            poll_verdict pv = poll_export(&j, &rc);
            if (pv == POLL_ERROR)
                goto out;
            if (pv == POLL_REPLACE) {
                if ((rc = drop_pending(&j, true)))
                    goto out;
                continue;
            }
        }
        if (j.nt.phase == SNE_NOTE_READY) {
            snprintf(sum->numero, sizeof(sum->numero), "%s", j.nt.numero);
            double t_ready = sne_fetch_now(j.f);
            sum->seconds_waiting = t_ready - t0;
            dl_verdict dv = download_and_ingest(&j, &rc);
            sum->seconds_transfer = sne_fetch_now(j.f) - t_ready;
            if (dv == DL_GONE) {
                replacing(&j, "export %s expired before it was downloaded", j.nt.numero);
                if ((rc = drop_pending(&j, false)))
                    goto out;
                continue;
            }
            if (dv == DL_BAD || dv == DL_STALE) {
                char part[1200], bad[1200];
                archive_path(&j, j.nt.numero, ".part", part, sizeof(part));
                archive_path(&j, j.nt.numero, ".bad", bad, sizeof(bad));
                if (dv == DL_BAD && rename(part, bad) == 0)
                    if (!sne_format(sum->archive_path, sizeof(sum->archive_path), "%s", bad))
                        sum->archive_path[0] = '\0'; /* never a cut path */
                sne_error keep = *err;
                release(&j, j.nt.numero);
                unlink(part);
                if (note_clear(s, o->job, err) == SNE_OK)
                    *err = keep;
                goto out;
            }
            if (dv == DL_FAILED)
                goto out;
            j.nt.phase = SNE_NOTE_INGESTED;
            if ((rc = note_save(s, o->job, &j.nt, err)))
                goto out;
        }
        if (j.nt.phase == SNE_NOTE_INGESTED) {
            snprintf(sum->numero, sizeof(sum->numero), "%s", j.nt.numero);
            rc = finish(&j);
            break;
        }
    }
    sum->seconds = sne_fetch_now(j.f) - t0;
out:
    sne_fetch_free(j.f);
    sne_buf_free(&req);
    sne_buf_free(&raw);
    return rc;
}
