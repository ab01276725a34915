/* pg.h: the PostgreSQL sink: a database kept equal to the store, exactly once, through libpq.
 * Everything a program calls, and the layout it finds in the database, is public (snesync.h, "the
 * PostgreSQL sink"); pg_internal.h says how the files of this folder share the work. */
#ifndef SNE_SINK_PG_H
#define SNE_SINK_PG_H

#include "../common/error.h"
#include "../store/store.h"
#include "snesync.h"

#endif
