/* metrics.h: --metrics-file PATH of the scheduled commands (ingest, sync, drm-refresh, pg-apply):
 * the run's report (report.h) as a file in Prometheus' text format, for node_exporter's textfile
 * collector. Written on success and on failure, atomically: a temporary file in PATH's directory,
 * fsync, rename over PATH, so the collector never reads half a file. The metrics are listed in
 * README.md ("What to monitor"). */
#ifndef SNE_CLI_METRICS_H
#define SNE_CLI_METRICS_H

#include "report.h"

#include <stdbool.h>

/* The file's limit when the previous one is read back (the last success's instant): far above
 * the few hundred bytes this writes. */
enum { CLI_METRICS_PREVIOUS_MAX = 64 * 1024 };

/* Writes the metrics of the ended report `r` to `path`. A failed run carries the previous file's
 * snesync_run_last_success_timestamp_seconds of the same command over. False, said on stderr
 * (the path and the reason), when the file could not be written; PATH is then left as it was. */
bool cli_metrics_write(const char *path, const cli_report *r);

#endif
