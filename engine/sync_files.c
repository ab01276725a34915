/* sync_files.c: a sync job's files in its work directory (sync_files.h). */
#include "sync_files.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARCHIVE_PREFIX "EXPORT_"

sne_err sne_sync_make_dir(const char *path, sne_error *err)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return sne_error_set(err, SNE_ERR_IO, errno, "cannot create %s: %s", path, strerror(errno));
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return sne_error_set(err, SNE_ERR_IO, errno, "%s is not a directory", path);
    return SNE_OK;
}

void sne_sync_archive_path(const char *dir, const char *numero, const char *suffix, char *out,
                           size_t cap)
{
    snprintf(out, cap, "%s/" ARCHIVE_PREFIX "%s.tar.gz%s", dir, numero, suffix);
}

void sne_sync_remove_other_archives(const char *dir, const char *keep)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, ARCHIVE_PREFIX, strlen(ARCHIVE_PREFIX)) != 0 ||
            (keep && strcmp(e->d_name, keep) == 0))
            continue;
        char p[SNE_SYNC_DIR_MAX + sizeof(e->d_name) + 1];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}
