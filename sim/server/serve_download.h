/* serve_download.h: GET /v1.0/exports/{n}/fichier: the archive streamed from disk with Range
 * (single range: "bytes=N-", "bytes=N-M", "bytes=-S"; If-Range against the ETag), and the
 * file-body faults (cut, notgzip, longer, shorter, trickle). Memory per download: one 64 KiB block.
 */
#ifndef SIM_SERVE_DOWNLOAD_H
#define SIM_SERVE_DOWNLOAD_H

#include <microhttpd.h>

#include "serve_exports.h"
#include "serve_faults.h"
#include "serve_reply.h"

/* Queues exactly one reply on `ex`: 200, 206, 404, 409, 410, 416 or 500. */
enum MHD_Result serve_download(serve_exports *x, serve_faults *faults, serve_exchange *ex,
                               const char *id);

#endif
