/* report.h: what one run of a command did, told the same way by every command: the --json object
 * on standard output (on success and on failure) and the --metrics-file of the scheduled
 * commands (metrics.h). A command fills the facts it knows as it goes; the dispatcher
 * (snesync.c) starts the report before the command and writes it after the command returns, so
 * that a failure, wherever it happens, is reported with whatever was done before it.
 *
 * Nothing personal goes into a report: counts, sizes, seqs, export numbers and dates, and error
 * messages, which name places and never values (engine/README.md). */
#ifndef SNE_CLI_REPORT_H
#define SNE_CLI_REPORT_H

#include "snesync.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* The facts every command may have, in the order the JSON object gives them. */
typedef enum cli_fact {
    CLI_FACT_FIRST_SEQ,      /* the first seq this run wrote to the change log */
    CLI_FACT_LAST_SEQ,       /* the last seq this run wrote */
    CLI_FACT_STORE_LAST_SEQ, /* the store's last seq when the run ended */
    CLI_FACT_DEMANDS,        /* demands read from the export */
    CLI_FACT_CREATES,        /* changes written, by operation */
    CLI_FACT_UPDATES,
    CLI_FACT_DELETES,
    CLI_FACT_ARCHIVE_BYTES,    /* the export archive's size */
    CLI_FACT_DOWNLOADED_BYTES, /* fetched from the server by this run */
    CLI_FACT_RETRIES,          /* HTTP attempts repeated after a transient failure */
    CLI_FACT__COUNT
} cli_fact;

/* The limit of the command's own members (JSON text): far above what any command writes. */
enum { CLI_REPORT_MEMBERS_MAX = 64 * 1024, CLI_REPORT_ERROR_MAX = 512 };

typedef struct cli_report {
    const char *command;                /* static storage */
    double started, ended;              /* Unix time, seconds */
    double mono_started;                /* cli_now() at the start, for the duration */
    int exit_status;                    /* set by cli_report_end */
    char error[CLI_REPORT_ERROR_MAX];   /* the failure's message, "" before one is told */
    char numero[SNE_NUMERO_MAX + 1];    /* the export, "" if none */
    char date_export[SNE_DATE_MAX + 1]; /* its dateExport, "" if unknown */
    uint64_t fact[CLI_FACT__COUNT];
    bool has[CLI_FACT__COUNT];
    uint64_t seq_before; /* the store's last seq when the command opened it */
    bool seq_before_known;
    sne_buf members; /* the command's own members, each as ,"name":value (owned) */
    int depth;       /* objects opened with cli_report_open and not yet closed */
    bool overflow;   /* a member did not fit: the object says so ("truncated":true) */
} cli_report;

/* Starts the report of `command` now. cli_report_free releases it. */
void cli_report_begin(cli_report *r, const char *command);
void cli_report_free(cli_report *r);
/* Ends it with the command's exit status (the end instant is taken now). */
void cli_report_end(cli_report *r, int exit_status);

/* The message of a failure (the first one told is kept: it is the cause). */
void cli_report_error(cli_report *r, const char *message);

void cli_report_fact(cli_report *r, cli_fact f, uint64_t v);
/* The export the run worked on: its number and dateExport (either may be "" or NULL). */
void cli_report_export(cli_report *r, const char *numero, const char *date_export);
/* The counts of an ingest: demands and changes by operation. */
void cli_report_apply_stats(cli_report *r, const sne_apply_stats *st);
/* The store's change log before the command writes (after it is opened) and after (before it
 * is closed): the seqs this run produced, and the store's last seq. A failure to read the range
 * leaves the facts unset. */
void cli_report_seq_before(cli_report *r, sne_store *s);
void cli_report_seq_after(cli_report *r, sne_store *s);

/* The command's own members, after the common ones (names are literals, in camelCase). */
void cli_report_u64(cli_report *r, const char *name, uint64_t v);
void cli_report_bool(cli_report *r, const char *name, bool v);
void cli_report_seconds(cli_report *r, const char *name, double v);
void cli_report_str(cli_report *r, const char *name, const char *v); /* NULL or "": null */
/* A nested object: members told until cli_report_close go into it. */
void cli_report_open(cli_report *r, const char *name);
void cli_report_close(cli_report *r);

/* Writes the report as one JSON object and a newline to `out`. False when it could not be
 * written (the stream's error). */
bool cli_report_print_json(const cli_report *r, FILE *out);

#endif
