/* follow.h: the incremental sync (contract sections 7 and 8): the movements (GDM) of the window
 * since the last one, and a unit read of every demand that moved, applied to the store.
 *
 * The window: from the end of the last window followed for the same scope (the note "follow"),
 * or, the first time, from the newest complete export applied for that scope (for each entity
 * asked, its newest export; the oldest of those), minus the overlap; to the server's `jusque`.
 * Its end is recorded (in the note, after the last read is committed) only when every demand of
 * the window is in the store: a run killed at any point is run again from the same start, and
 * the reads it repeats change nothing (a read of unchanged data logs nothing).
 *
 * The reads: each moved demand is read once (a demand moved twice is read once), up to
 * `parallel` at once, and applied in numUnique order (sne_store_apply_read): a demand read out
 * of the scope (RADIEE while the scope is ACTIVE, or the reverse; no sought commune in the
 * scope's departments or communes; 404) loses its entities. CERFA is always read (the sought
 * communes decide the scope) but changes only when the scope asks for it.
 *
 * Etiquette: one movements sequence per `min_interval` (an hour): a run within it calls nothing
 * and says so (sum->skipped). A store whose window starts more than 7 days back (the server
 * refuses it: 400), or that holds no complete export of the scope, gets SNE_ERR_BEHIND: a full
 * sync is needed, it is never resynchronised here.
 *
 * Its options, summary and entry point are public (snesync.h); this is how it works. */
#ifndef SNE_FOLLOW_H
#define SNE_FOLLOW_H

#include "snesync.h"

#define SNE_FOLLOW_MAX_MOVED (4u * 1000 * 1000) /* distinct demands in one window */

#endif
