/* sync.c: the sync job's state machine (sync.h): pick up a pending export, request, poll,
 * download while ingesting (sync_feed.c), release; the request is sync_request.c's, the files
 * sync_files.c's. */
#include "sync.h"
#include "common/format.h"
#include "sync_feed.h"
#include "sync_files.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

typedef struct job {
    sne_store *store;
    const sne_sync_options *o;
    sne_sync_summary *sum;
    sne_fetch *f;
    const volatile sig_atomic_t *stop; /* sne_sync_run_until's; NULL: never */
    sne_sync_note nt;
    char dir[SNE_SYNC_DIR_MAX]; /* WORK/JOB */
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

/* Whether the caller asked the job to stop; if so, the job's error says so: the pending export
 * (if any) stays noted for the next run. */
static bool stopping(job *j, sne_err *rc)
{
    if (!j->stop || !*j->stop)
        return false;
    if (j->nt.numero[0])
        *rc = sne_error_set(j->err, SNE_ERR_NETWORK, 0,
                            "stopped by a signal; the next run resumes export %s", j->nt.numero);
    else
        *rc = sne_error_set(j->err, SNE_ERR_NETWORK, 0, "stopped by a signal");
    return true;
}

/* --- progress ------------------------------------------------------------------------------- */

static void report(const job *j, sne_sync_progress *p)
{
    if (j->o->progress) {
        p->numero = j->nt.numero;
        j->o->progress(j->o->progress_ctx, p);
    }
}

/* --- download and ingest at once ------------------------------------------------------------- */

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

/* Downloads and ingests the ready export (sync_feed.h), and what comes of it. */
static dl_verdict download_and_ingest(job *j, sne_err *out_rc)
{
    char path[SNE_SYNC_PATH_MAX];
    bool download_failed;
    sne_sync_archive_path(j->dir, j->nt.numero, ".part", path, sizeof(path));
    sne_sync_feed_job feed = {.fetch = j->f,
                              .store = j->store,
                              .path = path,
                              .numero = j->nt.numero,
                              .url = j->nt.url[0] ? j->nt.url : NULL,
                              .sha256 = j->nt.sha256,
                              .size = (uint64_t)j->nt.taille,
                              .o = j->o};
    sne_err rc = sne_sync_feed_run(&feed, j->sum, &download_failed, j->err);
    *out_rc = rc;
    if (rc && stopping(j, out_rc)) /* cut by the stop: whatever the stage said, it resumes */
        return DL_FAILED;
    if (download_failed) {
        if (rc == SNE_ERR_HTTP && (j->err->lib_code == 404 || j->err->lib_code == 410))
            return DL_GONE;
        return bad_data(rc) ? DL_BAD : DL_FAILED;
    }
    if (!rc) {
        j->sum->ingested = true;
        return DL_DONE;
    }
    if (rc == SNE_ERR_STALE)
        return DL_STALE;
    return bad_data(rc) ? DL_BAD : DL_FAILED;
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

/* The export is TERMINE: its size, sha256, file path and date go into the note (phase ready). */
static sne_err note_ready(job *j, const sne_export_status *st)
{
    j->nt.phase = SNE_NOTE_READY;
    j->nt.taille = st->taille;
    snprintf(j->nt.sha256, sizeof(j->nt.sha256), "%s", st->sha256);
    if (!one_line(st->url) || !sne_format(j->nt.url, sizeof(j->nt.url), "%s", st->url))
        j->nt.url[0] = '\0'; /* not a line, or too long to note: the download's default path */
    snprintf(j->nt.date_export, sizeof(j->nt.date_export), "%s",
             one_line(st->date_export) ? st->date_export : "");
    return note_save(j->store, j->o->job, &j->nt, j->err);
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
            *out_rc = note_ready(j, &st);
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
    char path[SNE_SYNC_PATH_MAX];
    if (del)
        release(j, j->nt.numero);
    sne_sync_archive_path(j->dir, j->nt.numero, ".part", path, sizeof(path));
    unlink(path);
    memset(&j->nt, 0, sizeof(j->nt));
    return note_clear(j->store, j->o->job, j->err);
}

static sne_err finish(job *j)
{
    char part[SNE_SYNC_PATH_MAX], done[SNE_SYNC_PATH_MAX];
    sne_sync_progress pr = {.phase = SNE_SYNC_RELEASING, .progression = -1};
    report(j, &pr);
    j->sum->released = release(j, j->nt.numero);
    sne_err rc;
    if (!j->sum->released && stopping(j, &rc)) /* the DELETE cut: the next run releases it */
        return rc;
    sne_sync_archive_path(j->dir, j->nt.numero, ".part", part, sizeof(part));
    sne_sync_archive_path(j->dir, j->nt.numero, "", done, sizeof(done));
    if (rename(part, done) == 0 || access(done, F_OK) == 0) {
        if (!sne_format(j->sum->archive_path, sizeof(j->sum->archive_path), "%s", done))
            j->sum->archive_path[0] = '\0'; /* never a cut path */
        sne_sync_remove_other_archives(j->dir, strrchr(done, '/') + 1);
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

/* The job's names: a job name that can name a note and a directory, a work directory. */
static sne_err check_job(const sne_sync_options *o, sne_error *err)
{
    if (!o->job || !valid_job_name(o->job))
        return sne_error_set(err, SNE_ERR_USAGE, 0, "bad job name");
    if (!o->work_dir || !o->work_dir[0] || strlen(o->work_dir) > 900)
        return sne_error_set(err, SNE_ERR_USAGE, 0, "a work directory is needed");
    return SNE_OK;
}

/* Reads the job's note (into `raw`): a pending export of the same server and request is picked
 * up; another request's is released and forgotten; a note that says nothing is cleared. */
static sne_err pick_up_pending(job *j, sne_buf *raw)
{
    const sne_sync_options *o = j->o;
    sne_err rc = sne_store_note_get(j->store, o->job, raw);
    if (rc == SNE_ERR_NOTFOUND)
        return SNE_OK;
    if (rc) {
        *j->err = *sne_store_error(j->store);
        return rc;
    }
    sne_sync_note_decode(&j->nt, raw->data, raw->len); /* a note it cannot read: phase none */
    if (j->nt.phase == SNE_NOTE_NONE)
        return note_clear(j->store, o->job, j->err);
    if (strcmp(j->nt.server, o->fetch.server) != 0 || strcmp(j->nt.request, j->request) != 0) {
        /* Another request's export: release it, then start afresh. */
        warn(j, "pending export %s was for another request; released", j->nt.numero);
        if (strcmp(j->nt.server, o->fetch.server) == 0)
            release(j, j->nt.numero);
        return drop_pending(j, false);
    }
    j->sum->resumed = true;
    snprintf(j->sum->numero, sizeof(j->sum->numero), "%s", j->nt.numero);
    return SNE_OK;
}

/* After a bad or stale archive: the export is released and the note cleared, so that the next
 * run asks for a fresh export; a bad archive is kept aside as .bad for inspection. The ingest's
 * error stays the job's. */
static void give_up_archive(job *j, bool bad_archive)
{
    char part[SNE_SYNC_PATH_MAX], bad[SNE_SYNC_PATH_MAX];
    sne_sync_archive_path(j->dir, j->nt.numero, ".part", part, sizeof(part));
    sne_sync_archive_path(j->dir, j->nt.numero, ".bad", bad, sizeof(bad));
    if (bad_archive && rename(part, bad) == 0)
        if (!sne_format(j->sum->archive_path, sizeof(j->sum->archive_path), "%s", bad))
            j->sum->archive_path[0] = '\0'; /* never a cut path */
    sne_error keep = *j->err;
    release(j, j->nt.numero);
    unlink(part);
    if (note_clear(j->store, j->o->job, j->err) == SNE_OK)
        *j->err = keep;
}

sne_err sne_sync_run(sne_store *s, const sne_sync_options *o, sne_sync_summary *sum, sne_error *err)
{
    return sne_sync_run_until(s, o, NULL, sum, err);
}

sne_err sne_sync_run_until(sne_store *s, const sne_sync_options *o,
                           const volatile sig_atomic_t *stop, sne_sync_summary *sum, sne_error *err)
{
    job j = {.store = s, .o = o, .sum = sum, .stop = stop, .err = err};
    sne_buf req, raw;
    sne_buf_init(&req, sizeof(j.request) - 1);
    sne_buf_init(&raw, SNE_NOTE_MAX);
    memset(sum, 0, sizeof(*sum));
    sne_err rc;
    if ((rc = check_job(o, err)))
        goto out;
    if ((rc = sne_sync_request_json(o, &req, err)))
        goto out;
    snprintf(j.request, sizeof(j.request), "%s", (const char *)req.data);
    if (!o->fetch.server || !one_line(o->fetch.server) || strlen(o->fetch.server) >= 1000) {
        rc = sne_error_set(err, SNE_ERR_USAGE, 0, "a server URL is needed");
        goto out;
    }
    if ((rc = sne_fetch_new(&j.f, &o->fetch, err))) /* refuses bad options before any mkdir */
        goto out;
    sne_fetch_set_stop(j.f, stop);
    snprintf(j.dir, sizeof(j.dir), "%s/%s", o->work_dir, o->job);
    if ((rc = sne_sync_make_dir(o->work_dir, err)) || (rc = sne_sync_make_dir(j.dir, err)))
        goto out;
    double t0 = sne_fetch_now(j.f);

    if ((rc = pick_up_pending(&j, &raw)))
        goto out;

    for (;;) {
        if (stopping(&j, &rc)) /* between two phases: the note holds where to resume */
            goto out;
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
                give_up_archive(&j, dv == DL_BAD);
                goto out;
            }
            if (dv == DL_FAILED)
                goto out;
            j.nt.phase = SNE_NOTE_INGESTED;
            if ((rc = note_save(s, o->job, &j.nt, err)))
                goto out;
        }
        if (stopping(&j, &rc)) /* the release is the next run's */
            goto out;
        if (j.nt.phase == SNE_NOTE_INGESTED) {
            snprintf(sum->numero, sizeof(sum->numero), "%s", j.nt.numero);
            rc = finish(&j);
            break;
        }
    }
    sum->seconds = sne_fetch_now(j.f) - t0;
out:
    if (rc)
        stopping(&j, &rc); /* a request or a wait cut by the stop: said so */
    /* every request of the run: the download thread's too, joined by now */
    if (j.f)
        sum->retries = sne_fetch_retries(j.f);
    sne_fetch_free(j.f);
    sne_buf_free(&req);
    sne_buf_free(&raw);
    return rc;
}
