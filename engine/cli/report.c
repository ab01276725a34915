/* report.c: the report of one run (report.h) and its JSON object. */
#include "report.h"
#include "cli.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

/* The JSON names of the facts, in cli_fact order. */
static const char *const fact_names[CLI_FACT__COUNT] = {
    [CLI_FACT_FIRST_SEQ] = "firstSeq",
    [CLI_FACT_LAST_SEQ] = "lastSeq",
    [CLI_FACT_STORE_LAST_SEQ] = "storeLastSeq",
    [CLI_FACT_DEMANDS] = "demands",
    [CLI_FACT_CREATES] = "creates",
    [CLI_FACT_UPDATES] = "updates",
    [CLI_FACT_DELETES] = "deletes",
    [CLI_FACT_ARCHIVE_BYTES] = "archiveBytes",
    [CLI_FACT_DOWNLOADED_BYTES] = "downloadedBytes",
    [CLI_FACT_RETRIES] = "retries",
};

static double unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_report_begin(cli_report *r, const char *command)
{
    memset(r, 0, sizeof(*r));
    r->command = command;
    r->started = unix_now();
    r->mono_started = cli_now();
    sne_buf_init(&r->members, CLI_REPORT_MEMBERS_MAX);
}

void cli_report_free(cli_report *r)
{
    sne_buf_free(&r->members);
}

void cli_report_end(cli_report *r, int exit_status)
{
    r->exit_status = exit_status;
    r->ended = r->started + (cli_now() - r->mono_started);
    if (exit_status != EXIT_OK && !r->error[0])
        cli_report_error(r, cli_status_meaning(exit_status));
}

void cli_report_error(cli_report *r, const char *message)
{
    if (!r->error[0] && message)
        snprintf(r->error, sizeof(r->error), "%s", message);
}

void cli_report_fact(cli_report *r, cli_fact f, uint64_t v)
{
    r->fact[f] = v;
    r->has[f] = true;
}

void cli_report_export(cli_report *r, const char *numero, const char *date_export)
{
    if (numero && *numero)
        snprintf(r->numero, sizeof(r->numero), "%s", numero);
    if (date_export && *date_export)
        snprintf(r->date_export, sizeof(r->date_export), "%s", date_export);
}

void cli_report_apply_stats(cli_report *r, const sne_apply_stats *st)
{
    cli_report_fact(r, CLI_FACT_DEMANDS, st->demands);
    cli_report_fact(r, CLI_FACT_CREATES, st->creates);
    cli_report_fact(r, CLI_FACT_UPDATES, st->updates);
    cli_report_fact(r, CLI_FACT_DELETES, st->deletes);
}

void cli_report_seq_before(cli_report *r, sne_store *s)
{
    uint64_t first, last;
    if (s && sne_store_seq_range(s, &first, &last) == SNE_OK) {
        r->seq_before = last;
        r->seq_before_known = true;
    }
}

void cli_report_seq_after(cli_report *r, sne_store *s)
{
    uint64_t first, last;
    if (!s || sne_store_seq_range(s, &first, &last) != SNE_OK)
        return;
    cli_report_fact(r, CLI_FACT_STORE_LAST_SEQ, last);
    if (r->seq_before_known && last > r->seq_before) {
        cli_report_fact(r, CLI_FACT_FIRST_SEQ, r->seq_before + 1);
        cli_report_fact(r, CLI_FACT_LAST_SEQ, last);
    }
}

/* --- the command's own members ---------------------------------------------------------------- */

/* Appends `,"name":` (no comma right after an opening brace) and the value `fmt` makes; a member
 * that does not fit is taken back whole, and nothing is appended after it. */
static void member(cli_report *r, const char *name, const char *fmt, ...) SNESYNC_PRINTF(3, 4);

static void member(cli_report *r, const char *name, const char *fmt, ...)
{
    sne_buf *b = &r->members;
    if (r->overflow)
        return;
    size_t before = b->len;
    bool first = b->len > 0 && b->data[b->len - 1] == '{';
    sne_err rc = first ? SNE_OK : sne_buf_append_byte(b, ',');
    if (!rc)
        rc = sne_buf_append_json_string(b, (const uint8_t *)name, strlen(name));
    if (!rc)
        rc = sne_buf_append_byte(b, ':');
    if (!rc && fmt) {
        char value[64];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(value, sizeof(value), fmt, ap);
        va_end(ap);
        rc = sne_buf_append_str(b, value);
    }
    if (rc) {
        r->overflow = true;
        b->len = before;
        if (b->data)
            b->data[before] = '\0';
    }
}

void cli_report_u64(cli_report *r, const char *name, uint64_t v)
{
    member(r, name, "%" PRIu64, v);
}

void cli_report_bool(cli_report *r, const char *name, bool v)
{
    member(r, name, "%s", v ? "true" : "false");
}

void cli_report_seconds(cli_report *r, const char *name, double v)
{
    member(r, name, "%.3f", isfinite(v) ? v : 0.0);
}

void cli_report_str(cli_report *r, const char *name, const char *v)
{
    if (!v || !*v) {
        member(r, name, "null");
        return;
    }
    size_t before = r->members.len;
    member(r, name, NULL);
    if (!r->overflow &&
        sne_buf_append_json_string(&r->members, (const uint8_t *)v, strlen(v)) != SNE_OK) {
        r->overflow = true;
        r->members.len = before;
        r->members.data[before] = '\0';
    }
}

void cli_report_open(cli_report *r, const char *name)
{
    member(r, name, "{");
    if (!r->overflow)
        r->depth++;
}

void cli_report_close(cli_report *r)
{
    if (r->overflow || r->depth == 0)
        return;
    if (sne_buf_append_byte(&r->members, '}') == SNE_OK)
        r->depth--;
    else
        r->overflow = true;
}

/* --- the JSON object -------------------------------------------------------------------------- */

/* An instant as ISO 8601 in UTC, to the millisecond: 2026-11-30T12:00:00.123Z. */
static void iso_utc(double t, char *out, size_t cap)
{
    time_t secs = (time_t)t; /* t > 0: the cast truncates towards the earlier second */
    int ms = (int)((t - (double)secs) * 1000.0);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03dZ", ms > 999 ? 999 : ms);
}

static sne_err json_str_or_null(sne_buf *b, const char *s)
{
    return s && *s ? sne_buf_append_json_string(b, (const uint8_t *)s, strlen(s))
                   : sne_buf_append_str(b, "null");
}

bool cli_report_print_json(const cli_report *r, FILE *out)
{
    char start[40], end[40];
    iso_utc(r->started, start, sizeof(start));
    iso_utc(r->ended, end, sizeof(end));
    sne_buf b;
    sne_buf_init(&b, CLI_REPORT_MEMBERS_MAX + 16 * 1024);
    sne_err rc =
        sne_buf_printf(&b, "{\"command\":\"%s\",\"ok\":%s,\"exitStatus\":%d,\"error\":", r->command,
                       r->exit_status == EXIT_OK ? "true" : "false", r->exit_status);
    if (!rc)
        rc = json_str_or_null(&b, r->error);
    if (!rc)
        rc = sne_buf_printf(&b,
                            ",\"start\":\"%s\",\"end\":\"%s\",\"seconds\":%.3f,\"export\":", start,
                            end, r->ended - r->started);
    if (!rc)
        rc = json_str_or_null(&b, r->numero);
    if (!rc)
        rc = sne_buf_append_str(&b, ",\"dateExport\":");
    if (!rc)
        rc = json_str_or_null(&b, r->date_export);
    for (int f = 0; !rc && f < CLI_FACT__COUNT; f++)
        rc = r->has[f] ? sne_buf_printf(&b, ",\"%s\":%" PRIu64, fact_names[f], r->fact[f])
                       : sne_buf_printf(&b, ",\"%s\":null", fact_names[f]);
    if (!rc && r->members.len)
        rc = sne_buf_append(&b, r->members.data, r->members.len);
    for (int d = 0; !rc && d < r->depth; d++)
        rc = sne_buf_append_byte(&b, '}');
    if (!rc && r->overflow)
        rc = sne_buf_append_str(&b, ",\"truncated\":true");
    if (!rc)
        rc = sne_buf_append_str(&b, "}\n");
    bool written = !rc && fwrite(b.data, 1, b.len, out) == b.len && fflush(out) == 0;
    sne_buf_free(&b);
    return written;
}
