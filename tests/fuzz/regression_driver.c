/* regression_driver.c: runs a fuzz target's LLVMFuzzerTestOneInput over files and directories
 * (zstd's regression_driver.c), so a committed corpus replays as an ordinary test in every build,
 * sanitizers included, without libFuzzer.
 *
 * usage: fuzz_<target>_replay PATH...   (a directory is replayed file by file, in name order)
 * Exits 0 when every input ran; a broken invariant aborts (FUZZ_CHECK), which fails the test. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, alloc = 0;
    for (;;) {
        if (len == alloc) {
            alloc = alloc ? alloc * 2 : 65536;
            uint8_t *nb = realloc(buf, alloc);
            if (!nb) {
                fprintf(stderr, "%s: out of memory\n", path);
                free(buf);
                fclose(f);
                return 1;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, alloc - len, f);
        len += n;
        if (n == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "%s: read error\n", path);
        free(buf);
        return 1;
    }
    fprintf(stderr, "replay %s (%zu bytes)\n", path, len);
    /* An exact-size copy, so ASan sees reads past the end of the input. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return 1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
    int failures = 0, files = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            failures++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            failures += run_file(argv[i]);
            files++;
            continue;
        }
        struct dirent **list = NULL;
        int n = scandir(argv[i], &list, NULL, by_name);
        if (n < 0) {
            perror(argv[i]);
            failures++;
            continue;
        }
        for (int k = 0; k < n; k++) {
            if (list[k]->d_name[0] != '.') {
                size_t plen = strlen(argv[i]) + strlen(list[k]->d_name) + 2;
                char *path = malloc(plen);
                if (!path) {
                    failures++;
                } else {
                    snprintf(path, plen, "%s/%s", argv[i], list[k]->d_name);
                    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                        failures += run_file(path);
                        files++;
                    }
                    free(path);
                }
            }
            free(list[k]);
        }
        free(list);
    }
    fprintf(stderr, "%d input(s) replayed, %d failure(s)\n", files, failures);
    if (files == 0) {
        fprintf(stderr, "no input found: an empty corpus proves nothing\n");
        return 1;
    }
    return failures ? 1 : 0;
}
