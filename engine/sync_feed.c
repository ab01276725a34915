/* sync_feed.c: the download feeding the ingest (sync_feed.h): a thread that appends the archive
 * to a file, and the ingest's reader that follows it, meeting through a common/queue. */
#include "sync_feed.h"

#include "common/queue.h"
#include "common/thread.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LANDED_MAX 64 /* news of the download waiting for the ingest's reader, at most */

/* The download appends the archive to a file that the ingest reads as it grows. How far the file
 * goes is `downloaded`; the news travels through `landed`, a queue of the offsets reached, which
 * the reader waits on. The download never waits for the reader (a transfer held up would be cut
 * by the fetch's low-speed limit), so an offset that finds the queue full is dropped: harmless,
 * since the reader, woken by those queued, reads `downloaded` itself, and it only waits on an
 * empty queue, which the next offset finds room in. The close ends the news. */
typedef struct feed {
    const sne_sync_feed_job *job;
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

/* The progress callback of the job's options, if any, with the export's number. */
static void report(const feed *fd, sne_sync_progress *p)
{
    const sne_sync_options *o = fd->job->o;
    if (o->progress) {
        p->numero = fd->job->numero;
        o->progress(o->progress_ctx, p);
    }
}

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
    report(fd, &pr);
    return SNE_OK;
}

static void *download_thread(void *arg)
{
    sne_thread_name("sne-download");
    feed *fd = arg;
    const sne_sync_feed_job *job = fd->job;
    sne_err rc = sne_fetch_download(job->fetch, job->numero, job->url, fd->start, fd->size,
                                    job->sha256, feed_sink, fd, &fd->dl_err);
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
    if (sne_fetch_cancelled(fd->job->fetch)) { /* the job is stopping: the read fails */
        errno = ECANCELED;
        return -1;
    }
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
    report(fd, &pr);
}

/* Opens the .part file (0600) and finds where the download resumes: its size, unless it is
 * longer than the archive (not this export's bytes: started over). */
static sne_err open_part(feed *fd, const char *path, sne_error *err)
{
    struct stat st;
    fd->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd->fd < 0 || fstat(fd->fd, &st) != 0 || fchmod(fd->fd, 0600) != 0)
        return sne_error_set(err, SNE_ERR_IO, errno, "cannot open %s: %s", path, strerror(errno));
    fd->start = (uint64_t)st.st_size;
    if (fd->start > fd->size) {
        if (ftruncate(fd->fd, 0) != 0)
            return sne_error_set(err, SNE_ERR_IO, errno, "cannot truncate %s: %s", path,
                                 strerror(errno));
        fd->start = 0;
    }
    atomic_store(&fd->downloaded, fd->start);
    return SNE_OK;
}

/* Runs the ingest on the file as the download fills it. */
static sne_err ingest_feed(feed *fd, sne_sync_summary *sum, sne_error *err)
{
    const sne_sync_feed_job *job = fd->job;
    sne_ingest_options io;
    sne_ingest_options_default(&io);
    if (job->o->batch_demands)
        io.batch_demands = job->o->batch_demands;
    io.expect_sha256 = job->sha256;
    io.expect_size = (int64_t)job->size;
    io.progress = on_ingest_progress;
    io.progress_ctx = fd;
    return sne_ingest(job->store, feed_read, fd, &io, &sum->ingest, err);
}

sne_err sne_sync_feed_run(const sne_sync_feed_job *job, sne_sync_summary *sum,
                          bool *download_failed, sne_error *err)
{
    feed fd = {.job = job, .fd = -1, .size = job->size};
    bool thread = false, cancelled = false;
    pthread_t tid;
    *download_failed = false;
    sne_err rc = sne_queue_new(&fd.landed, LANDED_MAX, sizeof(uint64_t));
    if (rc) {
        sne_error_set(err, rc, 0, "out of memory");
        goto out;
    }
    if ((rc = open_part(&fd, job->path, err)))
        goto out;
    sum->resumed_from = fd.start;
    if (fd.start < fd.size) {
        if (pthread_create(&tid, NULL, download_thread, &fd) != 0) {
            rc = sne_error_set(err, SNE_ERR_NOMEM, 0, "cannot start the download thread");
            goto out;
        }
        thread = true;
    } else {
        sne_queue_close(fd.landed); /* all on disk already */
    }
    rc = ingest_feed(&fd, sum, err);
    if (thread) {
        bool dl_failed_first = atomic_load(&fd.dl_rc) != SNE_OK;
        if (rc && !dl_failed_first) { /* the ingest failed: the rest of the bytes are moot */
            sne_fetch_cancel(job->fetch);
            cancelled = true;
        }
        pthread_join(tid, NULL);
        sne_fetch_reset_cancel(job->fetch);
    }
    sum->downloaded_bytes = atomic_load(&fd.downloaded) - fd.start;
    sum->archive_bytes = fd.size;
    sne_err dl_rc = atomic_load(&fd.dl_rc); /* final: the download thread is joined */
    if (dl_rc && !cancelled) {
        /* The download's own failure explains the ingest's (its source stopped). */
        rc = dl_rc;
        *err = fd.dl_err;
        *download_failed = true;
    }
out:
    if (fd.fd >= 0)
        close(fd.fd);
    sne_queue_free(fd.landed, NULL);
    return rc;
}
