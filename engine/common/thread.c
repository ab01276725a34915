/* thread.c: pthread_setname_np, a GNU extension, kept to this file. */
#define _GNU_SOURCE
#include "thread.h"

#include <pthread.h>

void sne_thread_name(const char *name)
{
    /* Only observability: a name that cannot be set (too long, no /proc) changes nothing. */
    (void)pthread_setname_np(pthread_self(), name);
}
