/* ingest.h: one export archive in, the store and its change log brought up to date. The options,
 * the summary and sne_ingest() are public (snesync.h); this is how the stages meet.
 *
 * The stages run in a stream, on three threads: raw archive bytes -> unpack (gzip tar, on
 * sne_readahead's thread) -> parser (SAX, canonical items, on the calling thread) -> store (hash
 * compare, batched LMDB writes, change records, on sne_applier's thread). Nothing is deleted until
 * the archive has been read to its end, every part 1..nombreParties has arrived exactly once with
 * a matching pied/nombreDemandes, and (when given) the size and sha256 match; then the sweep
 * deletes what the export's scope no longer holds. Killing the process at any point and running
 * the same ingest again yields the same store and change log (DESIGN-NOTES §4). */
#ifndef SNE_INGEST_H
#define SNE_INGEST_H

#include "parse/parser.h"
#include "snesync.h"
#include "store/store.h"
#include "unpack/unpack.h"

#endif
