/* test_gunzip.c: the gzip layer of unpack (gunzip.h) on the inflate library this test is linked
 * with (SNESYNC_EXPECT_INFLATE names it, and it is checked): members, optional header fields,
 * trailing data, every cut of the input, checksums, not-gzip input, pieces of every size. */
#include "unpack/gunzip.h"

#include "gzip_fixture.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

typedef struct decoded {
    sne_gunzip_status status; /* the final one */
    uint8_t *out;             /* everything decoded (owned) */
    size_t len;
    char message[160];
} decoded;

/* Decodes `in` fed `piece` bytes at a time (0: all at once) into `cap`-byte buffers, then tells
 * the decoder the input ended, as unpack does. */
static decoded decode(const uint8_t *in, size_t in_len, size_t piece, size_t cap)
{
    decoded d = {SNE_GUNZIP_MORE, NULL, 0, ""};
    sne_gunzip *g = sne_gunzip_new();
    uint8_t *buf = malloc(cap);
    size_t out_cap = 1024;
    d.out = malloc(out_cap);
    size_t pos = 0, avail = 0;
    const uint8_t *p = in;
    while (d.status == SNE_GUNZIP_MORE) {
        if (avail == 0 && pos < in_len) {
            avail = piece && piece < in_len - pos ? piece : in_len - pos;
            p = in + pos;
            pos += avail;
        }
        size_t got = 0;
        d.status = avail == 0 ? sne_gunzip_end_of_input(g)
                              : sne_gunzip_step(g, &p, &avail, buf, cap, &got);
        if (d.len + got > out_cap) {
            out_cap = 2 * (d.len + got);
            d.out = realloc(d.out, out_cap);
        }
        memcpy(d.out + d.len, buf, got);
        d.len += got;
    }
    snprintf(d.message, sizeof(d.message), "%s", sne_gunzip_message(g));
    /* sticky */
    size_t got = 1, none = 0;
    CHECK_EQ_INT(sne_gunzip_step(g, &p, &none, buf, cap, &got), d.status);
    CHECK_EQ_INT(got, 0);
    CHECK_EQ_INT(sne_gunzip_end_of_input(g), d.status);
    sne_gunzip_free(g);
    free(buf);
    return d;
}

static void expect(const gz_bytes *gz, size_t piece, size_t cap, sne_gunzip_status status,
                   const uint8_t *want, size_t want_len, const char *what)
{
    decoded d = decode(gz->p, gz->len, piece, cap);
    if (d.status != status)
        fprintf(stderr, "%s (piece %zu, cap %zu): status %d (%s)\n", what, piece, cap,
                (int)d.status, d.message);
    CHECK_EQ_INT(d.status, status);
    if (status == SNE_GUNZIP_END) {
        CHECK_EQ_INT(d.len, want_len);
        CHECK(d.len == want_len && memcmp(d.out, want, want_len) == 0);
    }
    free(d.out);
}

static const size_t data_len = 300000;

static void test_members_and_pieces(const uint8_t *data)
{
    size_t pieces[] = {0, 1, 7, 4096, 65536};
    size_t caps[] = {1, 1000, 262144};
    size_t cuts[] = {100000, 100000, 250000}; /* an empty member in the middle */
    for (int fields = 0; fields <= 1; fields++) {
        for (size_t members = 0; members <= 3; members += 3) {
            gz_bytes gz = gz_members(data, data_len, cuts, members, fields);
            CHECK(gz.p != NULL);
            for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
                for (size_t j = 0; j < sizeof(caps) / sizeof(caps[0]); j++)
                    if (pieces[i] * caps[j] >= 7000 || caps[j] > 1) /* 1x1 is slow */
                        expect(&gz, pieces[i], caps[j], SNE_GUNZIP_END, data, data_len,
                               fields ? "members with header fields" : "members");
            free(gz.p);
        }
    }
}

/* Every cut of a two-member stream is truncated, except where a member has just ended. */
static void test_every_cut(const uint8_t *data)
{
    size_t cut = 3000;
    gz_bytes gz = gz_members(data, 5000, &cut, 1, 1);
    gz_bytes first = gz_members(data, 3000, NULL, 0, 1);
    int wrong = 0;
    for (size_t len = 0; len < gz.len; len++) {
        decoded d = decode(gz.p, len, 0, 4096);
        sne_gunzip_status want = SNE_GUNZIP_CORRUPT;
        if (len == 0)
            want = SNE_GUNZIP_NOT_GZIP;
        else if (len >= first.len && len <= first.len + 1)
            want = SNE_GUNZIP_END; /* the first member, then nothing or a lone magic byte */
        if (d.status != want && wrong++ < 5)
            fprintf(stderr, "cut at %zu of %zu: status %d, wanted %d\n", len, gz.len,
                    (int)d.status, (int)want);
        CHECK_EQ_INT(d.status, want);
        if (d.status == SNE_GUNZIP_CORRUPT)
            CHECK(strstr(d.message, "truncated") != NULL);
        if (d.status == SNE_GUNZIP_END)
            CHECK(d.len == 3000 && memcmp(d.out, data, 3000) == 0);
        free(d.out);
    }
    expect(&gz, 1, 1000, SNE_GUNZIP_END, data, 5000, "whole");
    free(gz.p);
    free(first.p);
}

static void test_trailing_data(const uint8_t *data)
{
    static const uint8_t tails[][4] = {{0, 0, 0, 0}, {0x1f, 0, 0, 0}, {'P', 'K', 3, 4}};
    gz_bytes gz = gz_members(data, 20000, NULL, 0, 0);
    size_t len = gz.len;
    gz.p = realloc(gz.p, len + 4);
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        memcpy(gz.p + len, tails[i], 4);
        gz.len = len + 4;
        expect(&gz, 0, 4096, SNE_GUNZIP_END, data, 20000, "trailing data");
        expect(&gz, 1, 4096, SNE_GUNZIP_END, data, 20000, "trailing data, byte by byte");
    }
    /* the magic, then a bad method: a member was meant, and it is invalid */
    memcpy(gz.p + len, "\x1f\x8b\x07\x00", 4);
    decoded d = decode(gz.p, gz.len, 0, 4096);
    CHECK_EQ_INT(d.status, SNE_GUNZIP_CORRUPT);
    CHECK(strstr(d.message, "header") != NULL);
    free(d.out);
    free(gz.p);
}

/* A flipped bit in either member's CRC or length, or in the compressed data, is an error. */
static void test_checks(const uint8_t *data)
{
    size_t cut = 40000;
    gz_bytes gz = gz_members(data, 60000, &cut, 1, 0);
    gz_bytes first = gz_members(data, cut, NULL, 0, 0);
    size_t trailers[] = {first.len - 8, first.len - 4, gz.len - 8, gz.len - 1};
    for (size_t i = 0; i < sizeof(trailers) / sizeof(trailers[0]); i++) {
        gz.p[trailers[i]] ^= 0x10;
        decoded d = decode(gz.p, gz.len, 0, 65536);
        CHECK_EQ_INT(d.status, SNE_GUNZIP_CORRUPT);
        CHECK(strstr(d.message, "CRC error") != NULL);
        free(d.out);
        gz.p[trailers[i]] ^= 0x10;
    }
    /* a block of the reserved type 3 (BFINAL 1, BTYPE 11) right after the header */
    gz.p[10] = 0x07;
    decoded d = decode(gz.p, gz.len, 0, 65536);
    CHECK_EQ_INT(d.status, SNE_GUNZIP_CORRUPT);
    CHECK(strstr(d.message, "invalid compressed data") != NULL);
    free(d.out);
    free(gz.p);
    free(first.p);
}

static void test_not_gzip(void)
{
    static const char *const inputs[] = {"PK\x03\x04 a zip", "<!DOCTYPE html>",
                                         "\x1f\x8b\x07\x00 a method that is not deflate",
                                         "\x1f\x8b\x08\x20 a reserved flag", "\x1f\x9d plain"};
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        decoded d = decode((const uint8_t *)inputs[i], strlen(inputs[i]), 0, 4096);
        CHECK_EQ_INT(d.status, SNE_GUNZIP_NOT_GZIP);
        free(d.out);
    }
    decoded d = decode((const uint8_t *)"", 0, 0, 4096);
    CHECK_EQ_INT(d.status, SNE_GUNZIP_NOT_GZIP);
    free(d.out);
}

int main(void)
{
    const char *want = getenv("SNESYNC_EXPECT_INFLATE");
    printf("inflate library: %s\n", sne_gunzip_backend());
    CHECK(want != NULL);
    if (want)
        CHECK_EQ_STR(sne_gunzip_backend(), want);
    uint8_t *data = payload(data_len, 5);
    test_members_and_pieces(data);
    test_every_cut(data);
    test_trailing_data(data);
    test_checks(data);
    test_not_gzip();
    free(data);
    return TEST_SUMMARY();
}
