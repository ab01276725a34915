/* sim_commands.c: see sim_commands.h. */
#include "sim_commands.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_export.h"
#include "sim_gen.h"
#include "core/sim_register.h"
#include "core/sim_util.h"

static const char *prog = "snesync-sim";

static double seconds_since(const struct timespec *t0, const struct timespec *t1)
{
    return (double)(t1->tv_sec - t0->tv_sec) + (double)(t1->tv_nsec - t0->tv_nsec) / 1e9;
}

static void usage_generate(FILE *f)
{
    fprintf(
        f,
        "usage: %s generate --demands N --seed S --out DIR [--date ISO]\n"
        "\n"
        "Makes a deterministic synthetic register of N demands in DIR (same N, seed and date:\n"
        "same bytes). The register is stored compactly (80 bytes a demand); exports render it.\n"
        "\n"
        "  --demands N   number of demands (ACTIVE and some RADIEE), up to 50000000\n"
        "  --seed S      unsigned 64-bit seed\n"
        "  --out DIR     output directory (created; existing register files are replaced)\n"
        "  --date ISO    snapshot instant, xs:dateTime or YYYY-MM-DD\n"
        "                (default " SIM_DEFAULT_SNAPSHOT ")\n",
        prog);
}

static void usage_evolve(FILE *f)
{
    fprintf(
        f,
        "usage: %s evolve --from DIR --out DIR2 --days D [--seed S]\n"
        "\n"
        "Writes into DIR2 the register of DIR, D days later: new demands, radiations, modified\n"
        "forms, events, scores, documents, DALO changes, and the monthly DRM rollover.\n"
        "DIR2/changes.tsv lists the item-level changes seen by a consumer of a national\n"
        "export of ACTIVE demands with all nine entities (op, numUnique, entity, key; sorted).\n"
        "DIR2/mouvements.tsv is DIR's, extended with the demands that moved (GDM feed).\n"
        "\n"
        "  --from DIR    the register to start from (left untouched)\n"
        "  --out DIR2    output directory (must differ from DIR)\n"
        "  --days D      1..3660\n"
        "  --seed S      seed of the changes (default: derived from the register and date)\n",
        prog);
}

static void usage_export(FILE *f)
{
    fprintf(
        f,
        "usage: %s export --data DIR --out FILE.tar.gz --entities LIST --etat ACTIVE|RADIEE\n"
        "                  [--departements 38,26 | --communes 38185,...] [--profondeur-drm 1..3]\n"
        "                  [--numero X] [--demands-per-part K]\n"
        "\n"
        "Writes one export archive (gzip tar, members EXPORT_{numero}_{partie:03}.xml, valid\n"
        "against export.xsd) for the register in DIR, and prints its size, sha256,\n"
        "nombreDemandes and dateExport.\n"
        "\n"
        "  --entities LIST       comma-separated subset of "
        "CERFA,DALO,EVT,CONT,ATTRIB,PRIO,COTA,PJ,DRM\n"
        "                        (or ALL)\n"
        "  --etat E              ACTIVE or RADIEE\n"
        "  --departements LIST   demands seeking housing in one of these departments\n"
        "  --communes LIST       demands seeking housing in one of these communes (INSEE)\n"
        "  --profondeur-drm N    DRM months, most recent first (default 3)\n"
        "  --numero X            numeroExport (default SIM + snapshot date)\n"
        "  --demands-per-part K  split into parts of at most K demands (default: one part)\n"
        "\n"
        "Environment: SNESYNC_SIM_GZIP_LEVEL=1..9 (default 6).\n",
        prog);
}

static int is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

static int parse_u64(const char *opt, const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!v || !*v || *v == '-') {
        fprintf(stderr, "%s: %s: expected a non-negative integer\n", prog, opt);
        return -1;
    }
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end) {
        fprintf(stderr, "%s: %s: '%s' is not a non-negative integer\n", prog, opt, v);
        return -1;
    }
    *out = x;
    return 0;
}

/* Fetches the value of option argv[*i]; NULL (with a message) when missing. */
static const char *optval(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value\n", prog, argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int sim_cmd_generate(int argc, char **argv)
{
    uint64_t n = 0, seed = 0;
    int have_n = 0, have_seed = 0;
    const char *out = NULL, *date = SIM_DEFAULT_SNAPSHOT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (is_help(a)) {
            usage_generate(stdout);
            return 0;
        } else if (strcmp(a, "--demands") == 0) {
            if (!(v = optval(argc, argv, &i)) || parse_u64(a, v, &n))
                return 2;
            have_n = 1;
        } else if (strcmp(a, "--seed") == 0) {
            if (!(v = optval(argc, argv, &i)) || parse_u64(a, v, &seed))
                return 2;
            have_seed = 1;
        } else if (strcmp(a, "--out") == 0) {
            if (!(out = optval(argc, argv, &i)))
                return 2;
        } else if (strcmp(a, "--date") == 0) {
            if (!(date = optval(argc, argv, &i)))
                return 2;
        } else {
            fprintf(stderr, "%s generate: unknown option '%s' (see --help)\n", prog, a);
            return 2;
        }
    }
    if (!have_n || !have_seed || !out) {
        fprintf(stderr, "%s generate: --demands, --seed and --out are required (see --help)\n",
                prog);
        return 2;
    }
    int64_t snap;
    if (sim_parse_iso(date, &snap) != 0) {
        fprintf(stderr, "%s generate: --date '%s': expected YYYY-MM-DD or an xs:dateTime\n", prog,
                date);
        return 2;
    }
    char err[512];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (sim_generate(out, n, seed, snap, err, sizeof err) != 0) {
        fprintf(stderr, "%s generate: %s\n", prog, err);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = seconds_since(&t0, &t1);
    char when[40];
    sim_fmt_paris(snap, 1, when);
    printf("demands\t%" PRIu64 "\nseed\t%" PRIu64 "\nsnapshot\t%s\nseconds\t%.2f\n", n, seed, when,
           s);
    return 0;
}

int sim_cmd_evolve(int argc, char **argv)
{
    uint64_t days = 0, seed = 0;
    const char *from = NULL, *out = NULL;
    int have_days = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (is_help(a)) {
            usage_evolve(stdout);
            return 0;
        } else if (strcmp(a, "--days") == 0) {
            if (!(v = optval(argc, argv, &i)) || parse_u64(a, v, &days))
                return 2;
            have_days = 1;
        } else if (strcmp(a, "--seed") == 0) {
            if (!(v = optval(argc, argv, &i)) || parse_u64(a, v, &seed))
                return 2;
        } else if (strcmp(a, "--from") == 0) {
            if (!(from = optval(argc, argv, &i)))
                return 2;
        } else if (strcmp(a, "--out") == 0) {
            if (!(out = optval(argc, argv, &i)))
                return 2;
        } else {
            fprintf(stderr, "%s evolve: unknown option '%s' (see --help)\n", prog, a);
            return 2;
        }
    }
    if (!from || !out || !have_days) {
        fprintf(stderr, "%s evolve: --from, --out and --days are required (see --help)\n", prog);
        return 2;
    }
    if (days < 1 || days > 3660) {
        fprintf(stderr, "%s evolve: --days must be 1..3660\n", prog);
        return 2;
    }
    char err[512];
    sim_evolve_stats st;
    if (sim_evolve(from, out, (int)days, seed, &st, err, sizeof err) != 0) {
        fprintf(stderr, "%s evolve: %s\n", prog, err);
        return 1;
    }
    printf("created\t%" PRIu64 "\nradiated\t%" PRIu64 "\nmodified\t%" PRIu64 "\nchanges\t%" PRIu64
           "\nmoved\t%" PRIu64 "\n",
           st.created, st.radiated, st.modified, st.changes, st.moved);
    return 0;
}

static int parse_entities(const char *v, unsigned *out)
{
    *out = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "ALL") == 0) {
            *out |= (1u << SIM_ENT__COUNT) - 1;
            continue;
        }
        int e = sim_entity_find(t);
        if (e >= 0)
            *out |= 1u << e;
        else {
            fprintf(stderr, "%s export: --entities: unknown entity '%s'\n", prog, t);
            return -1;
        }
    }
    if (!*out) {
        fprintf(stderr, "%s export: --entities: at least one entity\n", prog);
        return -1;
    }
    return 0;
}

static int parse_list(const char *opt, const char *v, char *dst, size_t width, size_t *n)
{
    char buf[8192];
    snprintf(buf, sizeof buf, "%s", v);
    *n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*n >= SIM_MAX_LOCATIONS) {
            fprintf(stderr, "%s export: %s: at most %d values\n", prog, opt, SIM_MAX_LOCATIONS);
            return -1;
        }
        if (strlen(t) >= width) {
            fprintf(stderr, "%s export: %s: '%s' is too long\n", prog, opt, t);
            return -1;
        }
        snprintf(dst + *n * width, width, "%s", t);
        ++*n;
    }
    if (!*n) {
        fprintf(stderr, "%s export: %s: empty list\n", prog, opt);
        return -1;
    }
    return 0;
}

/* The options of `export`. */
typedef struct export_args {
    sim_export_request req;
    const char *data, *out, *numero;
    int have_etat;
} export_args;

static int is_export_option(const char *a)
{
    static const char *const names[] = {"--data",           "--out",          "--entities",
                                        "--etat",           "--departements", "--communes",
                                        "--profondeur-drm", "--numero",       "--demands-per-part"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(a, names[i]) == 0)
            return 1;
    return 0;
}

static int parse_etat(const char *v, int *radiees)
{
    if (strcmp(v, "ACTIVE") == 0)
        *radiees = 0;
    else if (strcmp(v, "RADIEE") == 0)
        *radiees = 1;
    else {
        fprintf(stderr, "%s export: --etat: ACTIVE or RADIEE\n", prog);
        return -1;
    }
    return 0;
}

/* A number option of `export` (--profondeur-drm, --demands-per-part). */
static int export_number(export_args *x, const char *a, const char *v)
{
    uint64_t n;
    if (parse_u64(a, v, &n) != 0)
        return -1;
    if (strcmp(a, "--demands-per-part") == 0) {
        x->req.demands_per_part = (size_t)n;
        return 0;
    }
    if (n < 1 || n > 3) {
        fprintf(stderr, "%s export: --profondeur-drm: 1..3\n", prog);
        return -1;
    }
    x->req.profondeur_drm = (int)n;
    return 0;
}

/* Option a (one of is_export_option()) with value v; -1 on a bad value (with a message). */
static int export_option(export_args *x, const char *a, const char *v)
{
    if (strcmp(a, "--data") == 0)
        x->data = v;
    else if (strcmp(a, "--out") == 0)
        x->out = v;
    else if (strcmp(a, "--numero") == 0)
        x->numero = v;
    else if (strcmp(a, "--entities") == 0)
        return parse_entities(v, &x->req.entities);
    else if (strcmp(a, "--etat") == 0) {
        x->have_etat = 1;
        return parse_etat(v, &x->req.radiees);
    } else if (strcmp(a, "--departements") == 0)
        return parse_list(a, v, &x->req.departements[0][0], 4, &x->req.n_departements);
    else if (strcmp(a, "--communes") == 0)
        return parse_list(a, v, &x->req.communes[0][0], 6, &x->req.n_communes);
    else
        return export_number(x, a, v);
    return 0;
}

/* Returns 0, 1 after --help, -1 on a usage error (with a message). */
static int parse_export_args(int argc, char **argv, export_args *x)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (is_help(a)) {
            usage_export(stdout);
            return 1;
        }
        if (!is_export_option(a)) {
            fprintf(stderr, "%s export: unknown option '%s' (see --help)\n", prog, a);
            return -1;
        }
        if (!(v = optval(argc, argv, &i)) || export_option(x, a, v) != 0)
            return -1;
    }
    if (!x->data || !x->out || !x->req.entities || !x->have_etat) {
        fprintf(stderr,
                "%s export: --data, --out, --entities and --etat are required (see --help)\n",
                prog);
        return -1;
    }
    if (x->req.n_departements && x->req.n_communes) {
        fprintf(stderr, "%s export: --departements and --communes are exclusive\n", prog);
        return -1;
    }
    if (x->numero && strlen(x->numero) > 40) {
        fprintf(stderr, "%s export: --numero: at most 40 characters [0-9A-Za-z_-]\n", prog);
        return -1;
    }
    return 0;
}

/* numeroExport: --numero, else SIM and the register's snapshot day (SIMyyyymmdd). */
static int numero_export(const export_args *x, char out[41], char *err, size_t errlen)
{
    if (x->numero) {
        snprintf(out, 41, "%s", x->numero);
        return 0;
    }
    sim_register r;
    if (sim_register_open(x->data, &r, 0, err, errlen) != 0)
        return -1;
    char day[16];
    sim_fmt_day(sim_paris_day(r.snapshot), day);
    snprintf(out, 41, "SIM%.4s%.2s%.2s", day, day + 5, day + 8);
    sim_register_close(&r);
    return 0;
}

int sim_cmd_export(int argc, char **argv)
{
    export_args x;
    char err[512];
    memset(&x, 0, sizeof x);
    int rc = parse_export_args(argc, argv, &x);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (numero_export(&x, x.req.numero_export, err, sizeof err) != 0) {
        fprintf(stderr, "%s export: %s\n", prog, err);
        return 1;
    }
    sim_export_result res;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (sim_export_write(x.data, &x.req, x.out, &res, err, sizeof err) != 0) {
        fprintf(stderr, "%s export: %s\n", prog, err);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("size\t%" PRIu64 "\nsha256\t%s\nnombreDemandes\t%" PRIu64 "\ndateExport\t%s\n"
           "numeroExport\t%s\nseconds\t%.2f\n",
           res.size, res.sha256, res.nombre_demandes, res.date_export, x.req.numero_export,
           seconds_since(&t0, &t1));
    return 0;
}
