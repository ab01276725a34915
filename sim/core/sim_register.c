/* sim_register.c: see sim_register.h. */
#include "sim_register.h"
#include "sim_util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Departments with a rough population weight (tens of thousands) and a commune count. The codes
 * are real, the commune numbering is synthetic (1..communes, contiguous). */
const sim_dept sim_depts[] = {
    {"01", 66, 390},  {"02", 53, 790},  {"03", 33, 317},  {"04", 17, 198},  {"05", 14, 162},
    {"06", 109, 163}, {"07", 33, 335},  {"08", 27, 449},  {"09", 15, 327},  {"10", 31, 431},
    {"11", 37, 433},  {"12", 28, 285},  {"13", 206, 119}, {"14", 70, 528},  {"15", 14, 246},
    {"16", 35, 363},  {"17", 66, 463},  {"18", 30, 287},  {"19", 24, 279},  {"2A", 16, 124},
    {"2B", 18, 236},  {"21", 53, 698},  {"22", 60, 348},  {"23", 12, 256},  {"24", 41, 503},
    {"25", 54, 571},  {"26", 52, 363},  {"27", 60, 585},  {"28", 43, 365},  {"29", 92, 277},
    {"30", 75, 351},  {"31", 142, 586}, {"32", 19, 461},  {"33", 165, 535}, {"34", 118, 342},
    {"35", 109, 333}, {"36", 22, 241},  {"37", 61, 272},  {"38", 128, 512}, {"39", 26, 494},
    {"40", 42, 327},  {"41", 33, 267},  {"42", 77, 323},  {"43", 23, 257},  {"44", 145, 207},
    {"45", 68, 325},  {"46", 17, 313},  {"47", 33, 319},  {"48", 8, 152},   {"49", 82, 177},
    {"50", 49, 446},  {"51", 57, 613},  {"52", 17, 426},  {"53", 31, 240},  {"54", 73, 591},
    {"55", 18, 499},  {"56", 76, 249},  {"57", 104, 725}, {"58", 20, 309},  {"59", 261, 648},
    {"60", 83, 679},  {"61", 28, 385},  {"62", 147, 890}, {"63", 66, 464},  {"64", 69, 546},
    {"65", 23, 469},  {"66", 48, 226},  {"67", 115, 514}, {"68", 77, 366},  {"69", 188, 267},
    {"70", 23, 539},  {"71", 55, 565},  {"72", 57, 354},  {"73", 44, 273},  {"74", 83, 279},
    {"75", 214, 20},  {"76", 125, 708}, {"77", 144, 507}, {"78", 145, 259}, {"79", 37, 256},
    {"80", 57, 772},  {"81", 39, 314},  {"82", 26, 195},  {"83", 108, 153}, {"84", 56, 151},
    {"85", 69, 257},  {"86", 44, 266},  {"87", 37, 195},  {"88", 36, 507},  {"89", 33, 423},
    {"90", 14, 101},  {"91", 130, 194}, {"92", 163, 36},  {"93", 167, 40},  {"94", 141, 47},
    {"95", 126, 184}, {"971", 38, 32},  {"972", 36, 34},  {"973", 29, 22},  {"974", 87, 24},
    {"975", 1, 2},    {"976", 30, 17},
};
const size_t sim_n_depts = sizeof sim_depts / sizeof sim_depts[0];

static uint32_t dept_cum[sizeof sim_depts / sizeof sim_depts[0]];
static uint32_t dept_total;
static pthread_once_t dept_once = PTHREAD_ONCE_INIT;

static void dept_init_once(void)
{
    uint32_t c = 0;
    for (size_t i = 0; i < sim_n_depts; i++) {
        c += sim_depts[i].weight;
        dept_cum[i] = c;
    }
    dept_total = c;
}

static void dept_init(void)
{
    pthread_once(&dept_once, dept_init_once);
}

int sim_dept_pick(uint32_t u)
{
    dept_init();
    uint32_t x = (uint32_t)(((uint64_t)u * dept_total) >> 32);
    size_t lo = 0, hi = sim_n_depts - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (dept_cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return (int)lo;
}

int sim_dept_find(const char *code)
{
    for (size_t i = 0; i < sim_n_depts; i++)
        if (strcmp(sim_depts[i].code, code) == 0)
            return (int)i;
    return -1;
}

void sim_commune_code(int di, int k, char out[6])
{
    const char *c = sim_depts[di].code;
    char t[32];
    k %= 1000;
    if (strcmp(c, "75") == 0) {
        snprintf(t, sizeof t, "751%02d", k % 100); /* arrondissements */
    } else if (c[2]) {
        snprintf(t, sizeof t, "%s%02d", c, k % 100);
    } else if (strcmp(c, "92") == 0 || strcmp(c, "93") == 0 || strcmp(c, "94") == 0) {
        snprintf(t, sizeof t, "%s%03d", c,
                 2 * k % 1000); /* sparse numbering, as in the inner suburbs */
    } else {
        snprintf(t, sizeof t, "%s%03d", c, k);
    }
    memcpy(out, t, 5);
    out[5] = 0;
}

int sim_commune_dept(const char *insee)
{
    char dep[4] = {insee[0], insee[1], 0, 0};
    if (insee[0] == '9' && insee[1] == '7')
        dep[2] = insee[2];
    return sim_dept_find(dep);
}

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

int sim_register_open(const char *dir, sim_register *r, int writable, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    snprintf(r->guichet, sizeof r->guichet, "G1226");
    r->writable = writable;
    if (read_meta(dir, r, err, errlen) != 0)
        return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/demands.bin", dir);
    struct stat st;
    if (stat(path, &st) != 0 || (uint64_t)st.st_size != (uint64_t)r->n * sizeof(sim_demand)) {
        snprintf(err, errlen, "%s: missing or not %zu records", path, r->n);
        goto fail;
    }
    if (writable) {
        r->cap = r->n + r->n / 8 + 1024;
        r->d = malloc(r->cap * sizeof *r->d);
        if (!r->d || (r->n && read_all(path, r->d, r->n * sizeof *r->d) != 0)) {
            snprintf(err, errlen, "%s: cannot load: %s", path, strerror(errno));
            goto fail;
        }
    } else if (r->n) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto fail;
        }
        r->maplen = r->n * sizeof(sim_demand);
        r->map = mmap(NULL, r->maplen, PROT_READ, MAP_SHARED, fd, 0);
        close(fd);
        if (r->map == MAP_FAILED) {
            r->map = NULL;
            snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
            goto fail;
        }
        r->d = r->map;
    }
    snprintf(path, sizeof path, "%s/journal.bin", dir);
    if (stat(path, &st) == 0) {
        if (st.st_size % sizeof(sim_jentry)) {
            snprintf(err, errlen, "%s: truncated", path);
            goto fail;
        }
        r->nj = (size_t)st.st_size / sizeof(sim_jentry);
        r->j = malloc(r->nj ? r->nj * sizeof *r->j : 1);
        if (!r->j || (r->nj && read_all(path, r->j, r->nj * sizeof *r->j) != 0)) {
            snprintf(err, errlen, "%s: cannot load", path);
            goto fail;
        }
        for (size_t k = 0; k < r->nj; k++)
            if (r->j[k].demand >= r->n || r->j[k].ent >= SIM_K__COUNT) {
                snprintf(err, errlen, "%s: corrupt entry %zu", path, k);
                goto fail;
            }
    }
    if (sim_register_index_journal(r) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    return 0;
fail:
    sim_register_close(r);
    return -1;
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
