/* sim_register.c: see sim_register.h. */
#include "sim_register.h"
#include "sim_util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int sim_drm_last_month(int64_t snapshot)
{
    return sim_month_of_day(sim_paris_day(snapshot)) - 1;
}

/* ---- files ---------------------------------------------------------------------------------- */

static int read_meta(const char *dir, sim_register *r, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/register.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s (not a register made by `snesync-sim generate`?)", path,
                 strerror(errno));
        return -1;
    }
    char line[512];
    int have_fmt = 0, have_snap = 0, have_n = 0, rc = -1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = 0;
        const char *k = line, *v = eq + 1;
        if (strcmp(k, "format") == 0) {
            if (strcmp(v, SIM_REGISTER_FORMAT) != 0) {
                snprintf(err, errlen, "%s: unsupported format '%s'", path, v);
                goto out;
            }
            have_fmt = 1;
        } else if (strcmp(k, "seed") == 0) {
            r->seed = strtoull(v, NULL, 10);
        } else if (strcmp(k, "snapshot") == 0) {
            if (sim_parse_iso(v, &r->snapshot) != 0) {
                snprintf(err, errlen, "%s: bad snapshot date", path);
                goto out;
            }
            have_snap = 1;
        } else if (strcmp(k, "demands") == 0) {
            r->n = (size_t)strtoull(v, NULL, 10);
            have_n = 1;
        } else if (strcmp(k, "guichet") == 0) {
            snprintf(r->guichet, sizeof r->guichet, "%s", v);
        }
    }
    if (!have_fmt || !have_snap || !have_n) {
        snprintf(err, errlen, "%s: incomplete register description", path);
        goto out;
    }
    rc = 0;
out:
    fclose(f);
    return rc;
}

static int cmp_jentry(const void *a, const void *b)
{
    const sim_jentry *x = a, *y = b;
    if (x->demand != y->demand)
        return x->demand < y->demand ? -1 : 1;
    if (x->ent != y->ent)
        return x->ent < y->ent ? -1 : 1;
    if (x->idx != y->idx)
        return x->idx < y->idx ? -1 : 1;
    return 0;
}

int sim_register_index_journal(sim_register *r)
{
    if (r->nj)
        qsort(r->j, r->nj, sizeof *r->j, cmp_jentry);
    free(r->jidx);
    r->jidx = calloc(r->n + 1, sizeof *r->jidx);
    if (!r->jidx)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i <= r->n; i++) {
        while (k < r->nj && r->j[k].demand < i)
            k++;
        r->jidx[i] = (uint32_t)k;
    }
    return 0;
}

static int read_all(const char *path, void *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < len) {
        ssize_t k = read(fd, (char *)buf + got, len - got);
        if (k <= 0) {
            close(fd);
            return -1;
        }
        got += (size_t)k;
    }
    close(fd);
    return 0;
}

/* demands.bin: mapped read-only, or loaded into owned memory (with room to grow) for writing. */
static int load_demands(const char *dir, sim_register *r, char *err, size_t errlen)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/demands.bin", dir);
    if (stat(path, &st) != 0 || (uint64_t)st.st_size != (uint64_t)r->n * sizeof(sim_demand)) {
        snprintf(err, errlen, "%s: missing or not %zu records", path, r->n);
        return -1;
    }
    if (r->writable) {
        r->cap = r->n + r->n / 8 + 1024;
        r->d = malloc(r->cap * sizeof *r->d);
        if (!r->d || (r->n && read_all(path, r->d, r->n * sizeof *r->d) != 0)) {
            snprintf(err, errlen, "%s: cannot load: %s", path, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (!r->n)
        return 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    r->maplen = r->n * sizeof(sim_demand);
    r->map = mmap(NULL, r->maplen, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (r->map == MAP_FAILED) {
        r->map = NULL;
        snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
        return -1;
    }
    r->d = r->map;
    return 0;
}

/* journal.bin (absent in a register just generated), checked entry by entry, then indexed. */
static int load_journal(const char *dir, sim_register *r, char *err, size_t errlen)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/journal.bin", dir);
    if (stat(path, &st) == 0) {
        if (st.st_size % sizeof(sim_jentry)) {
            snprintf(err, errlen, "%s: truncated", path);
            return -1;
        }
        r->nj = (size_t)st.st_size / sizeof(sim_jentry);
        r->j = malloc(r->nj ? r->nj * sizeof *r->j : 1);
        if (!r->j || (r->nj && read_all(path, r->j, r->nj * sizeof *r->j) != 0)) {
            snprintf(err, errlen, "%s: cannot load", path);
            return -1;
        }
        for (size_t k = 0; k < r->nj; k++)
            if (r->j[k].demand >= r->n || r->j[k].ent >= SIM_K__COUNT) {
                snprintf(err, errlen, "%s: corrupt entry %zu", path, k);
                return -1;
            }
    }
    if (sim_register_index_journal(r) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int sim_register_open(const char *dir, sim_register *r, int writable, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    snprintf(r->guichet, sizeof r->guichet, "G1226");
    r->writable = writable;
    if (read_meta(dir, r, err, errlen) != 0 || load_demands(dir, r, err, errlen) != 0 ||
        load_journal(dir, r, err, errlen) != 0) {
        sim_register_close(r);
        return -1;
    }
    return 0;
}

void sim_register_close(sim_register *r)
{
    if (!r)
        return;
    if (r->map)
        munmap(r->map, r->maplen);
    else
        free(r->d);
    free(r->j);
    free(r->jidx);
    memset(r, 0, sizeof *r);
}

static int write_file(const char *dir, const char *name, const void *p, size_t len, char *err,
                      size_t errlen)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t k = write(fd, (const char *)p + done, len - done);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            return -1;
        }
        done += (size_t)k;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int sim_register_save(const char *dir, const sim_register *r, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (write_file(dir, "demands.bin", r->d, r->n * sizeof *r->d, err, errlen) != 0)
        return -1;
    if (write_file(dir, "journal.bin", r->j, r->nj * sizeof *r->j, err, errlen) != 0)
        return -1;
    char meta[512], when[40];
    sim_fmt_paris(r->snapshot, 0, when);
    int len = snprintf(meta, sizeof meta,
                       "format=%s\nseed=%" PRIu64 "\nsnapshot=%s\ndemands=%zu\nguichet=%s\n",
                       SIM_REGISTER_FORMAT, r->seed, when, r->n, r->guichet);
    return write_file(dir, "register.txt", meta, (size_t)len, err, errlen);
}

void sim_register_view(const sim_register *r, size_t i, sim_view *v)
{
    v->d = &r->d[i];
    v->j = r->j + r->jidx[i];
    v->nj = r->jidx[i + 1] - r->jidx[i];
    v->drm_last = sim_drm_last_month(r->snapshot);
}
