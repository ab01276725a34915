/* test_unpack.c: the archive stage. Archives are built with libarchive's writer in temp files. */
#include "unpack/unpack.h"

#include "testlib.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- fixtures ---- */

typedef struct bytes {
    uint8_t *p;
    size_t len;
} bytes;

static char tmpdir[] = "/tmp/test_unpack_XXXXXX";
static int tmp_counter;

static char *tmp_path(void)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/f%d", tmpdir, tmp_counter++);
    return path;
}

static bytes read_file(const char *path)
{
    bytes b = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return b;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b.p = malloc(n > 0 ? (size_t)n : 1);
    b.len = fread(b.p, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        if (n)
            fwrite(p, 1, n, f);
        fclose(f);
    }
}

/* A pseudo-random printable payload (xorshift), so that it compresses only partly. */
static uint8_t *payload(size_t n, uint32_t seed)
{
    uint8_t *p = malloc(n ? n : 1);
    uint32_t x = seed ? seed : 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)("<abcdefghij klmnop/>\n0123456789"[x % 31]);
    }
    return p;
}

enum { KIND_FILE, KIND_DIR, KIND_SYMLINK };

typedef struct member {
    const char *name;
    int kind;
    const uint8_t *data;
    size_t len;
} member;

/* Writes members to a temp file; gzip levels: 0 = plain tar, 1 = gzip, 2 = gzip twice. */
static bytes build(const member *m, size_t count, int gzips)
{
    const char *path = tmp_path();
    struct archive *a = archive_write_new();
    for (int i = 0; i < gzips; i++)
        archive_write_add_filter_gzip(a);
    archive_write_set_format_pax_restricted(a);
    if (archive_write_open_filename(a, path) != ARCHIVE_OK)
        fprintf(stderr, "cannot write %s: %s\n", path, archive_error_string(a));
    for (size_t i = 0; i < count; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, m[i].name);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_mtime(e, 1700000000, 0);
        if (m[i].kind == KIND_DIR) {
            archive_entry_set_filetype(e, AE_IFDIR);
        } else if (m[i].kind == KIND_SYMLINK) {
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_symlink(e, "EXPORT_X_001.xml");
        } else {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_size(e, (la_int64_t)m[i].len);
        }
        archive_write_header(a, e);
        if (m[i].kind == KIND_FILE && m[i].len)
            archive_write_data(a, m[i].data, m[i].len);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    bytes b = read_file(path);
    unlink(path);
    return b;
}

static void sha256(const void *p, size_t n, uint8_t out[32])
{
    unsigned len = 0;
    EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

/* A read function over memory that returns at most `chunk` bytes a call, and can fail. */
typedef struct mem_src {
    const uint8_t *p;
    size_t len, pos, chunk;
    size_t fail_at; /* return -1 (EIO) once pos reaches this; 0 = never */
} mem_src;

static ptrdiff_t mem_read(void *ctx, void *buf, size_t n)
{
    mem_src *s = ctx;
    if (s->fail_at && s->pos >= s->fail_at) {
        errno = EIO;
        return -1;
    }
    size_t left = s->len - s->pos;
    if (n > left)
        n = left;
    if (s->chunk && n > s->chunk)
        n = s->chunk;
    memcpy(buf, s->p + s->pos, n);
    s->pos += n;
    return (ptrdiff_t)n;
}

static sne_err open_mem(sne_unpack **u, mem_src *s, const bytes *b, size_t chunk,
                        const sne_unpack_limits *lim, sne_error *err)
{
    memset(s, 0, sizeof(*s));
    s->p = b->p;
    s->len = b->len;
    s->chunk = chunk;
    return sne_unpack_open(u, mem_read, s, lim, err);
}

/* Reads every member; returns the final code of sne_unpack_next (or of a failed read). */
static sne_err drain_all(sne_unpack *u, int *members)
{
    const char *name;
    sne_err rc;
    static uint8_t buf[65536];
    *members = 0;
    while ((rc = sne_unpack_next(u, &name)) == SNE_OK) {
        (*members)++;
        ptrdiff_t n;
        while ((n = sne_unpack_read(u, buf, sizeof(buf))) > 0)
            ;
        if (n < 0)
            return sne_unpack_error(u)->code;
    }
    return rc;
}

/* ---- the standard archive ---- */

static uint8_t *big, *small, *readme;
static const size_t big_len = 700 * 1024 + 17, small_len = 3000, readme_len = 100;
static member std_members[7];
static const char *const std_files[] = {"export/EXPORT_X_001.xml", "export/LISEZMOI.txt",
                                        "export/EXPORT_X_002.xml", "empty.xml"};
static const uint8_t *std_data[4];
static size_t std_len[4];

static void std_init(void)
{
    big = payload(big_len, 7);
    small = payload(small_len, 11);
    readme = payload(readme_len, 13);
    std_data[0] = big, std_len[0] = big_len;
    std_data[1] = readme, std_len[1] = readme_len;
    std_data[2] = small, std_len[2] = small_len;
    std_data[3] = small, std_len[3] = 0;
    member m[7] = {
        {"export/", KIND_DIR, NULL, 0},
        {std_files[0], KIND_FILE, big, big_len},
        {std_files[1], KIND_FILE, readme, readme_len},
        {"export/link", KIND_SYMLINK, NULL, 0},
        {"export/sub/", KIND_DIR, NULL, 0},
        {std_files[2], KIND_FILE, small, small_len},
        {std_files[3], KIND_FILE, small, 0},
    };
    memcpy(std_members, m, sizeof(m));
}

/* Reads the whole archive through `u`, reading `step` bytes at a time, and checks every member. */
static void check_std_content(sne_unpack *u, size_t step)
{
    uint8_t *got = malloc(big_len);
    for (int i = 0; i < 4; i++) {
        const char *name = NULL;
        CHECK_EQ_INT(sne_unpack_next(u, &name), SNE_OK);
        CHECK_EQ_STR(name, std_files[i]);
        size_t len = 0;
        ptrdiff_t n;
        while (len < big_len &&
               (n = sne_unpack_read(u, got + len, step < big_len - len ? step : big_len - len)) > 0)
            len += (size_t)n;
        CHECK_EQ_INT(sne_unpack_read(u, got, 1), 0);
        CHECK_EQ_INT(len, std_len[i]);
        CHECK(len == std_len[i] && memcmp(got, std_data[i], len) == 0);
    }
    const char *name = "x";
    CHECK_EQ_INT(sne_unpack_next(u, &name), SNE_ERR_NOTFOUND);
    CHECK(name == NULL);
    CHECK_EQ_INT(sne_unpack_next(u, &name), SNE_ERR_NOTFOUND);
    free(got);
}

static void check_digest(const sne_unpack *u, const bytes *file)
{
    uint8_t want[32], got[32];
    uint64_t size = 0;
    sha256(file->p, file->len, want);
    CHECK_EQ_INT(sne_unpack_digest(u, got, &size), SNE_OK);
    CHECK(memcmp(want, got, 32) == 0);
    CHECK_EQ_INT(size, file->len);
    CHECK_EQ_INT(sne_unpack_raw_bytes(u), file->len);
}

static void test_members_in_order_fd(const bytes *arc)
{
    const char *path = tmp_path();
    write_file(path, arc->p, arc->len);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f)
        return;
    sne_unpack *u = NULL;
    sne_error err = {0};
    CHECK_EQ_INT(sne_unpack_open_fd(&u, fileno(f), NULL, &err), SNE_OK);
    if (u) {
        uint8_t d[32];
        CHECK_EQ_INT(sne_unpack_digest(u, d, NULL), SNE_ERR_USAGE); /* not before the end */
        check_std_content(u, 65536);
        check_digest(u, arc);
        CHECK_EQ_INT(sne_unpack_error(u)->code, SNE_OK);
        uint8_t b[4];
        CHECK_EQ_INT(sne_unpack_read(u, b, sizeof(b)), -1); /* no member after the end */
        CHECK_EQ_INT(sne_unpack_error(u)->code, SNE_ERR_USAGE);
    }
    sne_unpack_free(u);
    fclose(f);
    unlink(path);
}

static void test_one_byte_reads(const bytes *arc)
{
    sne_unpack *u = NULL;
    mem_src s;
    sne_error err = {0};
    CHECK_EQ_INT(open_mem(&u, &s, arc, 1, NULL, &err), SNE_OK);
    if (u) {
        check_std_content(u, 777);
        check_digest(u, arc);
    }
    sne_unpack_free(u);
}

static void test_trailing_bytes(const bytes *arc)
{
    bytes t = {malloc(arc->len + 5000), arc->len + 5000};
    memcpy(t.p, arc->p, arc->len);
    memset(t.p + arc->len, 0, 4000);
    uint8_t *junk = payload(1000, 3);
    memcpy(t.p + arc->len + 4000, junk, 1000);
    free(junk);
    sne_unpack *u = NULL;
    mem_src s;
    sne_error err = {0};
    CHECK_EQ_INT(open_mem(&u, &s, &t, 0, NULL, &err), SNE_OK);
    if (u) {
        check_std_content(u, 4096);
        check_digest(u, &t);
    }
    sne_unpack_free(u);
    free(t.p);
}

/* Every cut of the archive must end in SNE_ERR_ARCHIVE, at open or later, never in NOTFOUND. */
static void test_truncated(const bytes *arc)
{
    size_t cuts[] = {1,
                     5,
                     10,
                     30,
                     100,
                     arc->len / 3,
                     arc->len / 2,
                     arc->len - 100,
                     arc->len - 30,
                     arc->len - 9,
                     arc->len - 8,
                     arc->len - 5,
                     arc->len - 1};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        for (size_t chunk = 0; chunk <= 1; chunk++) {
            bytes t = {arc->p, cuts[i]};
            sne_unpack *u = NULL;
            mem_src s;
            sne_error err = {0};
            sne_err rc = open_mem(&u, &s, &t, chunk ? 3 : 0, NULL, &err);
            int members = 0;
            if (rc == SNE_OK) {
                rc = drain_all(u, &members);
                err = *sne_unpack_error(u);
                CHECK_EQ_INT(sne_unpack_next(u, &(const char *){NULL}), rc); /* sticky */
            }
            if (rc != SNE_ERR_ARCHIVE)
                fprintf(stderr, "cut at %zu: rc %d (%s)\n", cuts[i], (int)rc, err.message);
            else if (chunk == 0)
                printf("cut at %zu: %s (lib_code %d)\n", cuts[i], err.message, err.lib_code);
            CHECK_EQ_INT(rc, SNE_ERR_ARCHIVE);
            CHECK(err.message[0] != '\0');
            if (cuts[i] == arc->len / 2) /* inside the big member */
                CHECK(strstr(err.message, "member export/EXPORT_X_001.xml: ") == err.message);
            sne_unpack_free(u);
        }
    }
}

static void test_crc(const bytes *arc)
{
    bytes t = {malloc(arc->len), arc->len};
    memcpy(t.p, arc->p, arc->len);
    t.p[t.len - 8] ^= 0x01; /* first byte of the gzip CRC32 */
    sne_unpack *u = NULL;
    mem_src s;
    sne_error err = {0};
    CHECK_EQ_INT(open_mem(&u, &s, &t, 0, NULL, &err), SNE_OK);
    if (u) {
        int members = 0;
        CHECK_EQ_INT(drain_all(u, &members), SNE_ERR_ARCHIVE);
        CHECK_EQ_INT(members, 4);
        CHECK(strstr(sne_unpack_error(u)->message, "CRC error") != NULL);
        uint8_t d[32];
        CHECK_EQ_INT(sne_unpack_digest(u, d, NULL), SNE_ERR_USAGE);
    }
    sne_unpack_free(u);

    /* Damage in the middle of the compressed data: some error, never a clean end. */
    for (size_t at = 1000; at < t.len - 200; at += t.len / 7) {
        memcpy(t.p, arc->p, arc->len);
        t.p[at] ^= 0x20;
        CHECK_EQ_INT(open_mem(&u, &s, &t, 0, NULL, &err), SNE_OK);
        if (u) {
            int members = 0;
            sne_err rc = drain_all(u, &members);
            if (rc != SNE_ERR_ARCHIVE)
                fprintf(stderr, "flip at %zu: rc %d\n", at, (int)rc);
            CHECK_EQ_INT(rc, SNE_ERR_ARCHIVE);
        }
        sne_unpack_free(u);
    }
    free(t.p);
}

static void expect_refused_at_open(const void *p, size_t n, const char *what)
{
    bytes b = {(uint8_t *)p, n};
    sne_unpack *u = (sne_unpack *)&b; /* must be reset to NULL */
    mem_src s;
    sne_error err = {0};
    CHECK_EQ_INT(open_mem(&u, &s, &b, 0, NULL, &err), SNE_ERR_ARCHIVE);
    CHECK(u == NULL);
    if (!strstr(err.message, "not a gzip-compressed tar archive"))
        fprintf(stderr, "%s: %s\n", what, err.message);
    else
        printf("%s refused: %s\n", what, err.message);
    CHECK(strstr(err.message, "not a gzip-compressed tar archive") != NULL);
}

static void test_refused(void)
{
    member m[1] = {{"EXPORT_X_001.xml", KIND_FILE, (const uint8_t *)"<a/>", 4}};
    bytes plain = build(m, 1, 0);
    expect_refused_at_open(plain.p, plain.len, "plain tar");
    bytes twice = build(m, 1, 2);
    expect_refused_at_open(twice.p, twice.len, "gzip of gzip");
    static const uint8_t zip[] = "PK\x03\x04\x14\x00\x00\x00\x08\x00garbage garbage garbage";
    expect_refused_at_open(zip, sizeof(zip) - 1, "zip");
    static const char html[] = "<!DOCTYPE html><html><body>503 Service Unavailable</body></html>";
    expect_refused_at_open(html, sizeof(html) - 1, "html");
    expect_refused_at_open("", 0, "empty");

    /* An empty file through the fd variant. */
    const char *path = tmp_path();
    write_file(path, "", 0);
    FILE *f = fopen(path, "rb");
    sne_unpack *u = NULL;
    sne_error err = {0};
    CHECK_EQ_INT(sne_unpack_open_fd(&u, fileno(f), NULL, &err), SNE_ERR_ARCHIVE);
    CHECK(strstr(err.message, "empty") != NULL);
    fclose(f);
    unlink(path);

    /* A gzip that holds no tar. */
    struct archive *a = archive_write_new();
    archive_write_add_filter_gzip(a);
    archive_write_set_format_raw(a);
    path = tmp_path();
    archive_write_open_filename(a, path);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_filetype(e, AE_IFREG);
    archive_write_header(a, e);
    archive_write_data(a, html, sizeof(html) - 1);
    archive_entry_free(e);
    archive_write_close(a);
    archive_write_free(a);
    bytes gzhtml = read_file(path);
    unlink(path);
    expect_refused_at_open(gzhtml.p, gzhtml.len, "gzip of html");
    free(plain.p);
    free(twice.p);
    free(gzhtml.p);
}

/* 200 MB of zeros in one member, about 200 KB compressed. */
static void test_bomb(void)
{
    const size_t chunk = 1u << 20, count = 200;
    uint8_t *zeros = calloc(1, chunk);
    const char *path = tmp_path();
    struct archive *a = archive_write_new();
    archive_write_add_filter_gzip(a);
    archive_write_set_format_pax_restricted(a);
    archive_write_open_filename(a, path);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, "EXPORT_BOMB_001.xml");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)(chunk * count));
    archive_write_header(a, e);
    for (size_t i = 0; i < count; i++)
        archive_write_data(a, zeros, chunk);
    archive_entry_free(e);
    archive_write_close(a);
    archive_write_free(a);
    bytes bomb = read_file(path);
    unlink(path);
    printf("bomb: %zu compressed bytes for %zu\n", bomb.len, chunk * count);
    CHECK(bomb.len < 2u * 1024 * 1024);

    /* The member limit: refused from its header. */
    sne_unpack_limits lim = {.max_member_bytes = 1u << 20};
    sne_unpack *u = NULL;
    mem_src s;
    sne_error err = {0};
    clock_t t0 = clock();
    CHECK_EQ_INT(open_mem(&u, &s, &bomb, 0, &lim, &err), SNE_OK);
    if (u) {
        const char *name = NULL;
        CHECK_EQ_INT(sne_unpack_next(u, &name), SNE_ERR_LIMIT);
        CHECK_EQ_STR(sne_unpack_error(u)->message,
                     "member EXPORT_BOMB_001.xml: larger than the 1 MiB limit");
        CHECK(sne_unpack_raw_bytes(u) < bomb.len);
    }
    sne_unpack_free(u);

    /* The total limit, enforced on bytes actually decompressed. */
    lim = (sne_unpack_limits){.max_total_bytes = 4u << 20};
    CHECK_EQ_INT(open_mem(&u, &s, &bomb, 0, &lim, &err), SNE_OK);
    if (u) {
        const char *name = NULL;
        CHECK_EQ_INT(sne_unpack_next(u, &name), SNE_OK);
        ptrdiff_t n;
        size_t total = 0;
        while ((n = sne_unpack_read(u, zeros, chunk)) > 0)
            total += (size_t)n;
        CHECK_EQ_INT(n, -1);
        CHECK_EQ_INT(sne_unpack_error(u)->code, SNE_ERR_LIMIT);
        CHECK(strstr(sne_unpack_error(u)->message, "member EXPORT_BOMB_001.xml: ") != NULL);
        CHECK(total <= (4u << 20));
        CHECK(sne_unpack_raw_bytes(u) < bomb.len);
        CHECK_EQ_INT(sne_unpack_read(u, zeros, 1), -1); /* sticky */
    }
    sne_unpack_free(u);

    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("bomb checks: %.2f s of CPU\n", secs);
    CHECK(secs < 10.0);
    free(bomb.p);
    free(zeros);
}

static void test_max_members(const bytes *arc)
{
    /* The standard archive has 7 entries: 4 files, 2 directories, 1 symlink. */
    for (uint32_t max = 6; max <= 7; max++) {
        sne_unpack_limits lim = {.max_members = max};
        sne_unpack *u = NULL;
        mem_src s;
        sne_error err = {0};
        CHECK_EQ_INT(open_mem(&u, &s, arc, 0, &lim, &err), SNE_OK);
        if (u) {
            int members = 0;
            sne_err rc = drain_all(u, &members);
            CHECK_EQ_INT(rc, max == 7 ? SNE_ERR_NOTFOUND : SNE_ERR_LIMIT);
            CHECK_EQ_INT(members, max == 7 ? 4 : 3);
            if (max == 6)
                CHECK_EQ_STR(
                    sne_unpack_error(u)->message,
                    "after member export/EXPORT_X_002.xml: more than 6 entries (the limit)");
        }
        sne_unpack_free(u);
    }
}

/* A member exactly at the limit passes; one byte over is refused and named. */
static void test_member_limit_boundary(const bytes *arc)
{
    for (uint64_t max = big_len - 1; max <= big_len; max++) {
        sne_unpack_limits lim = {.max_member_bytes = max};
        sne_unpack *u = NULL;
        mem_src s;
        sne_error err = {0};
        CHECK_EQ_INT(open_mem(&u, &s, arc, 0, &lim, &err), SNE_OK);
        if (u) {
            int members = 0;
            CHECK_EQ_INT(drain_all(u, &members), max == big_len ? SNE_ERR_NOTFOUND : SNE_ERR_LIMIT);
            if (max < big_len)
                CHECK_EQ_STR(sne_unpack_error(u)->message,
                             "member export/EXPORT_X_001.xml: larger than the 716816 bytes limit");
        }
        sne_unpack_free(u);
    }
}

static void test_abandon(const bytes *arc)
{
    sne_unpack *u = NULL;
    mem_src s;
    sne_error err = {0};
    uint8_t buf[1000];
    CHECK_EQ_INT(open_mem(&u, &s, arc, 0, NULL, &err), SNE_OK);
    if (!u)
        return;
    const char *name = NULL;
    CHECK_EQ_INT(sne_unpack_next(u, &name), SNE_OK);
    CHECK_EQ_INT(sne_unpack_read(u, buf, sizeof(buf)), sizeof(buf));
    CHECK(memcmp(buf, big, sizeof(buf)) == 0);
    CHECK_EQ_INT(sne_unpack_next(u, &name), SNE_OK); /* the rest of the big member is skipped */
    CHECK_EQ_STR(name, std_files[1]);
    ptrdiff_t n = sne_unpack_read(u, buf, sizeof(buf));
    CHECK_EQ_INT(n, readme_len);
    CHECK(memcmp(buf, readme, readme_len) == 0);
    CHECK_EQ_INT(sne_unpack_next(u, &name), SNE_OK); /* not read at all */
    CHECK_EQ_STR(name, std_files[2]);
    CHECK_EQ_INT(sne_unpack_next(u, &name), SNE_OK);
    CHECK_EQ_STR(name, std_files[3]);
    CHECK_EQ_INT(sne_unpack_next(u, &name), SNE_ERR_NOTFOUND);
    check_digest(u, arc);
    sne_unpack_free(u);
}

static void test_io_error_and_usage(const bytes *arc)
{
    sne_unpack *u = NULL;
    mem_src s;
    sne_error err = {0};
    CHECK_EQ_INT(open_mem(&u, &s, arc, 4096, NULL, &err), SNE_OK);
    if (u) {
        uint8_t b[8];
        CHECK_EQ_INT(sne_unpack_read(u, b, sizeof(b)), -1); /* no member yet */
        CHECK_EQ_INT(sne_unpack_error(u)->code, SNE_ERR_USAGE);
        s.fail_at = arc->len / 2;
        int members = 0;
        CHECK_EQ_INT(drain_all(u, &members), SNE_ERR_IO);
        CHECK_EQ_INT(sne_unpack_error(u)->lib_code, EIO);
        CHECK(strstr(sne_unpack_error(u)->message, "cannot read the archive") != NULL);
    }
    sne_unpack_free(u);
    sne_unpack_free(NULL);
    CHECK_EQ_INT(sne_unpack_open(&u, NULL, NULL, NULL, &err), SNE_ERR_USAGE);
    CHECK_EQ_INT(sne_unpack_open_fd(&u, -1, NULL, &err), SNE_ERR_USAGE);
    CHECK(u == NULL);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    std_init();
    bytes arc = build(std_members, 7, 1);
    CHECK(arc.len > 1000);
    printf("standard archive: %zu bytes\n", arc.len);

    test_members_in_order_fd(&arc);
    test_one_byte_reads(&arc);
    test_trailing_bytes(&arc);
    test_truncated(&arc);
    test_crc(&arc);
    test_refused();
    test_max_members(&arc);
    test_member_limit_boundary(&arc);
    test_abandon(&arc);
    test_io_error_and_usage(&arc);
    test_bomb();

    free(arc.p);
    free(big);
    free(small);
    free(readme);
    rmdir(tmpdir);
    return TEST_SUMMARY();
}
