/* datadir.h: where snesync finds the data files it ships (the export XSD), never through a
 * source-tree path, so that an installed tree can be moved or packaged. */
#ifndef SNE_CLI_DATADIR_H
#define SNE_CLI_DATADIR_H

#include <stdbool.h>
#include <stddef.h>

/* Writes to out (cap bytes) the path of the shipped data file `name`:
 *   - $SNESYNC_DATADIR/name when that variable is set (an override, for tests and unusual
 *     layouts: then it is the only place looked at);
 *   - else EXE/../share/snesync/name if it exists, EXE being the directory of the running binary
 *     (an installed tree moved elsewhere; the build tree stages the same layout);
 *   - else the install prefix's DATADIR/snesync/name, as configured at build time, whether it
 *     exists or not (so that the error that follows names where the file was expected).
 * Returns false only if the path does not fit in out. */
bool cli_data_path(const char *name, char *out, size_t cap);

#endif
