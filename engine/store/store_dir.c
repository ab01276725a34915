/* store_dir.c: the store's directory: the writer lock, and the creation of a new store in
 * DIR.creating, published under DIR once its databases are committed (store.h). */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define CREATE_ATTEMPTS 3 /* each retry follows another process that finished creating DIR */

/* Takes the writer lock of directory `dir`: the store's, or DIR.creating while it is made. */
sne_err store_lock_writer(sne_store *s, const char *dir)
{
    char path[sizeof(s->dir) + 32];
    snprintf(path, sizeof(path), "%s/writer.lock", dir);
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0)
        return sne_error_set(&s->err, SNE_ERR_IO, errno, "cannot open %s: %s", path,
                             strerror(errno));
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK)
            return sne_error_set(&s->err, SNE_ERR_BUSY, e,
                                 "store %s is being written by another snesync process", s->dir);
        return sne_error_set(&s->err, SNE_ERR_IO, e, "cannot lock %s: %s", path, strerror(e));
    }
    return SNE_OK;
}

/* fsync() of directory `path`, so that the entries made in it survive a system crash. Returns 0
 * or an errno. */
static int sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int rc = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return rc;
}

/* Keeps `dir` without its trailing slashes (DIR.creating is named after it). */
sne_err store_set_dir(sne_store *s, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n == 0 || n >= sizeof(s->dir))
        return sne_error_set(&s->err, SNE_ERR_USAGE, 0,
                             "the store's path is empty or longer than %zu bytes",
                             sizeof(s->dir) - 1);
    memcpy(s->dir, dir, n);
    s->dir[n] = '\0';
    return SNE_OK;
}

/* Locks DIR.creating (`creating`, made when missing) to build the store DIR in it: concurrent
 * creators meet on its writer lock, and all but one get SNE_ERR_BUSY. Returns with *again set
 * and no lock held when DIR.creating became DIR meanwhile (another creator finished): the caller
 * then looks at DIR again. */
static sne_err lock_creating(sne_store *s, const char *creating, bool *again)
{
    *again = false;
    if (mkdir(creating, 0700) != 0 && errno != EEXIST)
        return sne_error_set(&s->err, SNE_ERR_IO, errno,
                             "cannot create store %s: cannot make %s: %s", s->dir, creating,
                             strerror(errno));
    sne_err rc = store_lock_writer(s, creating);
    if (rc == SNE_ERR_IO && s->err.lib_code == ENOENT) { /* renamed before its lock was opened */
        sne_error_clear(&s->err);
        *again = true;
        return SNE_OK;
    }
    if (rc)
        return rc;
    /* The lock may be that of a DIR.creating renamed to DIR after its lock file was opened; and
     * DIR may have been made, from another DIR.creating, after this one was made. */
    char lock[sizeof(s->dir) + 32];
    snprintf(lock, sizeof(lock), "%s/writer.lock", creating);
    struct stat held, named, st;
    if (fstat(s->lock_fd, &held) != 0 || stat(lock, &named) != 0 || held.st_ino != named.st_ino ||
        held.st_dev != named.st_dev) {
        *again = true;
    } else if (stat(s->dir, &st) == 0) {
        unlink(lock); /* this DIR.creating was made after DIR was: it holds nothing else */
        rmdir(creating);
        *again = true;
    }
    if (*again) {
        close(s->lock_fd);
        s->lock_fd = -1;
    }
    return SNE_OK;
}

sne_err store_find_dir(sne_store *s, bool create, char *creating, size_t cap)
{
    for (int attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
        creating[0] = '\0';
        struct stat st;
        if (stat(s->dir, &st) == 0)
            return S_ISDIR(st.st_mode)
                       ? SNE_OK
                       : sne_error_set(&s->err, SNE_ERR_USAGE, 0, "%s is not a directory", s->dir);
        if (errno != ENOENT && errno != ENOTDIR)
            return sne_error_set(&s->err, SNE_ERR_IO, errno, "cannot open store %s: %s", s->dir,
                                 strerror(errno));
        if (!create)
            return sne_error_set(&s->err, SNE_ERR_NOTFOUND, errno, "no store at %s: %s", s->dir,
                                 strerror(errno));
        snprintf(creating, cap, "%s%s", s->dir, STORE_CREATING_SUFFIX);
        bool again;
        sne_err rc = lock_creating(s, creating, &again);
        if (rc || !again)
            return rc;
    }
    return sne_error_set(&s->err, SNE_ERR_BUSY, 0,
                         "store %s is being created by other snesync processes", s->dir);
}

/* An existing DIR holds a store only with its data file: an empty directory is no store to read
 * or prune (a creator makes the store in it). */
sne_err store_check_data_file(sne_store *s)
{
    char path[sizeof(s->dir) + 32];
    struct stat st;
    snprintf(path, sizeof(path), "%s/data.mdb", s->dir);
    if (stat(path, &st) == 0)
        return SNE_OK;
    if (errno == ENOENT)
        return sne_error_set(&s->err, SNE_ERR_NOTFOUND, ENOENT,
                             "no store at %s: the directory holds no data.mdb", s->dir);
    return sne_error_set(&s->err, SNE_ERR_IO, errno, "cannot open store %s: %s: %s", s->dir, path,
                         strerror(errno));
}

/* Makes the store built in `creating` durable, then gives it its name. The parent's sync after
 * the rename is best effort: were the rename lost in a system crash, DIR.creating would still be
 * there, whole, and the next creator would publish it again. */
sne_err store_publish(sne_store *s, const char *creating)
{
    int mrc = mdb_env_sync(s->env, 1); /* MDB_NOMETASYNC left the commit's meta page unsynced */
    if (mrc)
        return store_fail(s, mrc, "cannot flush the new store to disk");
    int e = sync_dir(creating);
    if (e)
        return sne_error_set(&s->err, SNE_ERR_IO, e, "cannot create store %s: cannot sync %s: %s",
                             s->dir, creating, strerror(e));
    if (rename(creating, s->dir) != 0)
        return sne_error_set(&s->err, SNE_ERR_IO, errno,
                             "cannot create store %s: cannot rename %s: %s", s->dir, creating,
                             strerror(errno));
    char parent[sizeof(s->dir)];
    const char *slash = strrchr(s->dir, '/');
    size_t n = slash ? (size_t)(slash - s->dir) : 0;
    snprintf(parent, sizeof(parent), "%.*s", (int)(n ? n : 1), slash ? s->dir : ".");
    (void)sync_dir(parent);
    return SNE_OK;
}
