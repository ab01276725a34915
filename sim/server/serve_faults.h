/* serve_faults.h: the fault plan of `snesync-sim serve` (grammar in serve.h).
 *
 * A plan is an ordered list of rules parsed once at start-up; serve_faults_take() is then called
 * at each event (a request of some kind, or a new export) and returns the fault to inject, if any.
 * Thread-safe. */
#ifndef SIM_SERVE_FAULTS_H
#define SIM_SERVE_FAULTS_H

#include <stddef.h>
#include <stdint.h>

typedef enum serve_point {
    SERVE_PT_POST,
    SERVE_PT_STATUS,
    SERVE_PT_FILE,
    SERVE_PT_DELETE,
    SERVE_PT_GDM,
    SERVE_PT_EXPORT,
    SERVE_PT_DEMANDE, /* a unit read, GET /v1.0/demandes/{numUnique} */
    SERVE_PT__COUNT
} serve_point;

typedef enum serve_fault_action {
    SERVE_FA_NONE,
    SERVE_FA_CODE,     /* arg: HTTP status; arg2: Retry-After seconds, 0 for the default */
    SERVE_FA_DELAY,    /* arg: milliseconds */
    SERVE_FA_CUT,      /* arg: bytes of body sent before the connection is closed (file, gdm,
                          demande) */
    SERVE_FA_NOTGZIP,  /* no arg */
    SERVE_FA_ECHEC,    /* arg: 0, or the length of a hostile erreur.message (at most
                          SERVE_ECHEC_MESSAGE_MAX) */
    SERVE_FA_SLOW,     /* arg: extra seconds of generation */
    SERVE_FA_TRUNCATE, /* arg: bytes kept, 0 for half */
    SERVE_FA_BADSHA,   /* no arg */
    SERVE_FA_LONGER,   /* arg: Content-Length announces this many bytes more than sent (0: 1) */
    SERVE_FA_SHORTER,  /* arg: Content-Length (and the body) this many bytes short (0: half) */
    SERVE_FA_TRICKLE,  /* arg: milliseconds between two bytes of the body (0: 1000) */
    SERVE_FA_HTML,     /* no arg: 200 text/html (a proxy's page) instead of the answer */
} serve_fault_action;

/* The longest hostile erreur.message of echec@N: once JSON-escaped (6 bytes per control
 * character) it still fits the status answer's 8 KiB. */
#define SERVE_ECHEC_MESSAGE_MAX 1024

/* Masks for serve_faults_take(). */
#define SERVE_FM(a) (1u << (a))
#define SERVE_FM_ARRIVAL                                                                           \
    (SERVE_FM(SERVE_FA_CODE) | SERVE_FM(SERVE_FA_DELAY) | SERVE_FM(SERVE_FA_HTML))
#define SERVE_FM_BODY                                                                              \
    (SERVE_FM(SERVE_FA_CUT) | SERVE_FM(SERVE_FA_NOTGZIP) | SERVE_FM(SERVE_FA_LONGER) |             \
     SERVE_FM(SERVE_FA_SHORTER) | SERVE_FM(SERVE_FA_TRICKLE))
#define SERVE_FM_EXPORT                                                                            \
    (SERVE_FM(SERVE_FA_ECHEC) | SERVE_FM(SERVE_FA_SLOW) | SERVE_FM(SERVE_FA_TRUNCATE) |            \
     SERVE_FM(SERVE_FA_BADSHA))

typedef struct serve_fault {
    serve_fault_action action;
    uint64_t arg;
    uint64_t arg2;
} serve_fault;

typedef struct serve_faults serve_faults;

/* An empty plan; NULL when out of memory. */
serve_faults *serve_faults_new(void);
void serve_faults_free(serve_faults *f);
/* Appends the rules of `spec`. Returns 0, or -1 with a message in err (the plan is unchanged). */
int serve_faults_parse(serve_faults *f, const char *spec, char *err, size_t errlen);
/* Appends the rules of file `path`: one SPEC per line, blank lines and '#' comments ignored. */
int serve_faults_load(serve_faults *f, const char *path, char *err, size_t errlen);
/* An event at `pt` for the actions in `mask`: every rule of that point whose action is in the
 * mask counts it; the first one that is due fires (its count decreases) and is returned.
 * Returns {SERVE_FA_NONE} when none is due. `f` may be NULL. */
serve_fault serve_faults_take(serve_faults *f, serve_point pt, unsigned mask);
/* "post", "status", ... for logs. */
const char *serve_point_name(serve_point pt);
const char *serve_fault_name(serve_fault_action a);

#endif
