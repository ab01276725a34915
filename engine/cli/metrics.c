/* metrics.c: the run's report as a Prometheus text-format file (metrics.h). */
#include "metrics.h"
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LAST_SUCCESS "snesync_run_last_success_timestamp_seconds"

/* Appends `value` as a label value: \, " and a line feed escaped (the text format's rules). */
static sne_err label_value(sne_buf *b, const char *value)
{
    sne_err rc = SNE_OK;
    for (const char *p = value; !rc && *p; p++) {
        if (*p == '\\')
            rc = sne_buf_append_str(b, "\\\\");
        else if (*p == '"')
            rc = sne_buf_append_str(b, "\\\"");
        else if (*p == '\n')
            rc = sne_buf_append_str(b, "\\n");
        else
            rc = sne_buf_append_byte(b, (uint8_t)*p);
    }
    return rc;
}

/* The label set {command="..."}, and `extra` (`op="create"`, or NULL) after it. */
static sne_err labels(sne_buf *b, const char *command, const char *extra)
{
    sne_err rc = sne_buf_append_str(b, "{command=\"");
    if (!rc)
        rc = label_value(b, command);
    if (!rc)
        rc = sne_buf_printf(b, "\"%s%s}", extra ? "," : "", extra ? extra : "");
    return rc;
}

/* HELP and TYPE of a gauge, once per metric name. */
static sne_err header(sne_buf *b, const char *name, const char *help)
{
    return sne_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* One sample: name{command="..."[,extra]} value. */
static sne_err sample(sne_buf *b, const char *name, const char *command, const char *extra,
                      const char *value)
{
    sne_err rc = sne_buf_append_str(b, name);
    if (!rc)
        rc = labels(b, command, extra);
    if (!rc)
        rc = sne_buf_printf(b, " %s\n", value);
    return rc;
}

/* A gauge of one sample: a count, or a number of seconds (%.15g: 1796041025.639, 0.054, 1). */
static sne_err gauge(sne_buf *b, const char *name, const char *help, const char *command, double v)
{
    char value[64];
    snprintf(value, sizeof(value), "%.15g", v);
    sne_err rc = header(b, name, help);
    return rc ? rc : sample(b, name, command, NULL, value);
}

static sne_err counted(sne_buf *b, const char *name, const char *help, const cli_report *r,
                       cli_fact f)
{
    if (!r->has[f])
        return SNE_OK;
    char value[32];
    snprintf(value, sizeof(value), "%" PRIu64, r->fact[f]);
    sne_err rc = header(b, name, help);
    return rc ? rc : sample(b, name, r->command, NULL, value);
}

/* An xs:dateTime (2026-11-24T02:00:00.000+01:00; Z or no zone: UTC) as Unix time; false when it
 * is not one. */
static bool parse_date_time(const char *s, double *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int used = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &used) != 6 ||
        used != 19)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const char *p = s + used;
    double fraction = 0;
    if (*p == '.') {
        char *end;
        fraction = strtod(p, &end);
        p = end;
    }
    long offset = 0;
    int hh, mm, n = 0;
    if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) == 2 && n == 5) {
        offset = (*p == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
        p += 6;
    } else if (*p == 'Z') {
        p++;
    }
    if (*p)
        return false;
    *out = (double)timegm(&tm) - (double)offset + fraction;
    return true;
}

/* The previous file's last success instant of `command`, or -1 when it holds none. */
static double previous_last_success(const char *path, const char *command)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    sne_buf want;
    sne_buf_init(&want, 1024);
    double found = -1;
    char line[1024];
    if (sne_buf_append_str(&want, LAST_SUCCESS) == SNE_OK && labels(&want, command, NULL) == SNE_OK)
        for (size_t read = 0; read < CLI_METRICS_PREVIOUS_MAX && fgets(line, sizeof(line), fp);
             read += strlen(line)) {
            if (strncmp(line, (const char *)want.data, want.len) != 0 || line[want.len] != ' ')
                continue;
            char *end;
            double v = strtod(line + want.len + 1, &end);
            if (end != line + want.len + 1 && v >= 0)
                found = v;
        }
    sne_buf_free(&want);
    fclose(fp);
    return found;
}

/* The whole file's text. */
static sne_err render(sne_buf *b, const cli_report *r, double last_success)
{
    const char *c = r->command;
    bool ok = r->exit_status == EXIT_OK;
    sne_err rc = gauge(b, "snesync_run_success", "1 if the last run succeeded, 0 if it failed.", c,
                       ok ? 1 : 0);
    if (!rc)
        rc = gauge(b, "snesync_run_exit_status", "The last run's exit status.", c, r->exit_status);
    if (!rc)
        rc = gauge(b, "snesync_run_end_timestamp_seconds", "When the last run ended (Unix time).",
                   c, r->ended);
    if (!rc)
        rc = gauge(b, "snesync_run_duration_seconds", "How long the last run took.", c,
                   r->ended - r->started);
    if (!rc && last_success >= 0)
        rc = gauge(b, LAST_SUCCESS, "When the last successful run ended (kept by failed runs).", c,
                   last_success);
    static const char *const ops[] = {"create", "update", "delete"};
    static const cli_fact op_facts[] = {CLI_FACT_CREATES, CLI_FACT_UPDATES, CLI_FACT_DELETES};
    if (!rc && r->has[CLI_FACT_CREATES])
        rc = header(b, "snesync_run_changes", "Changes the last run wrote, by operation.");
    for (size_t i = 0; !rc && r->has[CLI_FACT_CREATES] && i < 3; i++) {
        char op[32], value[32];
        snprintf(op, sizeof(op), "op=\"%s\"", ops[i]);
        snprintf(value, sizeof(value), "%" PRIu64, r->fact[op_facts[i]]);
        rc = sample(b, "snesync_run_changes", c, op, value);
    }
    static const struct {
        const char *name, *help;
        cli_fact fact;
    } counts[] = {
        {"snesync_run_demands", "Demands the last run read from the export.", CLI_FACT_DEMANDS},
        {"snesync_run_archive_bytes", "The size of the last run's export archive.",
         CLI_FACT_ARCHIVE_BYTES},
        {"snesync_run_downloaded_bytes", "Bytes the last run downloaded.",
         CLI_FACT_DOWNLOADED_BYTES},
        {"snesync_run_retries", "HTTP attempts the last run repeated after a transient failure.",
         CLI_FACT_RETRIES},
        {"snesync_store_last_seq", "The store's last change seq after the last run.",
         CLI_FACT_STORE_LAST_SEQ},
    };
    for (size_t i = 0; !rc && i < sizeof(counts) / sizeof(counts[0]); i++)
        rc = counted(b, counts[i].name, counts[i].help, r, counts[i].fact);
    double date;
    if (!rc && r->date_export[0] && parse_date_time(r->date_export, &date))
        rc = gauge(b, "snesync_export_date_timestamp_seconds",
                   "The dateExport of the last run's export (Unix time).", c, date);
    return rc;
}

/* Writes `b` to a new temporary file beside `path`, fsyncs it and renames it over `path`. */
static bool replace_file(const char *path, const sne_buf *b)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return false;
    }
    int fd = mkstemp(tmp);
    if (fd < 0)
        return false;
    /* node_exporter runs as a user of its own: the file is readable by all (no personal data) */
    bool ok =
        fchmod(fd, 0644) == 0 && write(fd, b->data, b->len) == (ssize_t)b->len && fsync(fd) == 0;
    int e = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        unlink(tmp);
        errno = e;
    }
    return ok;
}

bool cli_metrics_write(const char *path, const cli_report *r)
{
    bool ok = r->exit_status == EXIT_OK;
    double last_success = ok ? r->ended : previous_last_success(path, r->command);
    sne_buf b;
    sne_buf_init(&b, CLI_METRICS_PREVIOUS_MAX);
    errno = 0;
    bool written = render(&b, r, last_success) == SNE_OK && replace_file(path, &b);
    if (!written)
        fprintf(stderr, "snesync %s: cannot write the metrics file %s: %s\n", r->command, path,
                errno ? strerror(errno) : "too long");
    sne_buf_free(&b);
    return written;
}
