/* error.h: setting the detail a handle keeps about its last error (the enum and the detail
 * itself are public: snesync.h).
 *
 * Every function that can fail returns an sne_err (0 is success). Modules that own a handle keep
 * an sne_error alongside it: the code, the underlying library's own code (MDB rc, libarchive
 * errno, libxml2 error number, CURLcode), and a message that names where (member, line, demand
 * number) but never the personal data being processed. */
#ifndef SNE_ERROR_H
#define SNE_ERROR_H

#include "snesync.h" /* sne_err, sne_error, sne_strerror */

/* Records an error in `e` (which may be NULL) and returns `code`, so that callers can write
 * `return sne_error_set(e, SNE_ERR_IO, errno, "cannot open %s", path);`. */
sne_err sne_error_set(sne_error *e, sne_err code, int lib_code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefixes the message already held in `e` with more context ("member X: " + old message). */
void sne_error_prefix(sne_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void sne_error_clear(sne_error *e);

#endif
