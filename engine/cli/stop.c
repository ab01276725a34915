/* stop.c: SIGTERM and SIGINT ask the running job to stop (stop.h). */
#include "stop.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t stop_signal; /* the signal received, 0 before one */
static struct sigaction previous[2];      /* SIGTERM's and SIGINT's before cli_stop_catch */
static bool caught;

static const int stop_signals[2] = {SIGTERM, SIGINT};

/* Notes the signal for the job to poll, and leaves the next SIGTERM or SIGINT to the default
 * action (signal() is async-signal-safe). */
static void on_stop_signal(int sig)
{
    stop_signal = sig;
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
}

bool cli_stop_catch(const char *command)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int i = 0; i < 2; i++)
        if (sigaction(stop_signals[i], &sa, &previous[i]) != 0) {
            fprintf(stderr, "snesync %s: cannot catch %s: %s\n", command, i ? "SIGINT" : "SIGTERM",
                    strerror(errno));
            while (i-- > 0)
                sigaction(stop_signals[i], &previous[i], NULL);
            return false;
        }
    caught = true;
    return true;
}

void cli_stop_release(void)
{
    if (!caught)
        return;
    for (int i = 0; i < 2; i++)
        sigaction(stop_signals[i], &previous[i], NULL);
    caught = false;
}

const volatile sig_atomic_t *cli_stop_flag(void)
{
    return &stop_signal;
}
