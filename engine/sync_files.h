/* sync_files.h: the files of a sync job in its work directory WORK/JOB (sync.h): the archive
 * being downloaded (EXPORT_n.tar.gz.part), the one kept after a run (EXPORT_n.tar.gz), and a bad
 * one kept aside (EXPORT_n.tar.gz.bad). Nothing here allocates. */
#ifndef SNE_SYNC_FILES_H
#define SNE_SYNC_FILES_H

#include "common/error.h"

#include <stddef.h>

/* Bytes of an archive's path: the job's directory (SNE_SYNC_DIR_MAX) and the file's name. */
#define SNE_SYNC_DIR_MAX  1024
#define SNE_SYNC_PATH_MAX 1200

/* Creates the directory `path` (0700) unless it exists; SNE_ERR_IO when it cannot be made or is
 * not a directory. */
sne_err sne_sync_make_dir(const char *path, sne_error *err);

/* DIR/EXPORT_<numero>.tar.gz<suffix> into out (cap bytes, SNE_SYNC_PATH_MAX suffices for a
 * directory of at most SNE_SYNC_DIR_MAX bytes and a valid export number). */
void sne_sync_archive_path(const char *dir, const char *numero, const char *suffix, char *out,
                           size_t cap);

/* Removes every archive of the directory but `keep` (a file name in it, or NULL). Best effort:
 * a file that cannot be removed stays. */
void sne_sync_remove_other_archives(const char *dir, const char *keep);

#endif
