/* stop.h: a clean stop on SIGTERM and SIGINT for the jobs that run long (sync, drm-refresh,
 * follow). The first of these signals sets a flag that the engine checks at its safe points
 * (sne_sync_run_until, sne_follow_run_until): the job ends within a second or so, keeping what
 * the next run resumes, and the command exits with EXIT_SIGNALLED + the signal's number (130,
 * 143). A second signal (either) ends the process at once, as if no handler were there (the
 * kill -9 guarantees hold then too). */
#ifndef SNE_CLI_STOP_H
#define SNE_CLI_STOP_H

#include <signal.h>
#include <stdbool.h>

/* The statuses of a run stopped by a signal: this + its number (SIGINT 130, SIGTERM 143), the
 * shells' convention for a process ended by that signal. */
enum { EXIT_SIGNALLED = 128 };

/* Installs the handlers (once per process; cli_stop_release undoes it). False, said why, when
 * they cannot be installed. */
bool cli_stop_catch(const char *command);
void cli_stop_release(void);

/* The flag for sne_sync_run_until: the number of the signal received, 0 before one. */
const volatile sig_atomic_t *cli_stop_flag(void);

#endif
