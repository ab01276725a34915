#include "datadir.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SNESYNC_INSTALL_DATADIR
#error "SNESYNC_INSTALL_DATADIR must name the installed data directory (see engine/CMakeLists.txt)"
#endif

/* out = dir/name; false if it does not fit. */
static bool join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < cap;
}

/* out = EXE/../share/snesync for the running binary, or false if it cannot be known. */
static bool beside_binary(char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return false;
    *slash = '\0';
    int w = snprintf(out, cap, "%s/../share/snesync", exe);
    return w >= 0 && (size_t)w < cap;
}

bool cli_data_path(const char *name, char *out, size_t cap)
{
    const char *env = getenv("SNESYNC_DATADIR");
    if (env && *env)
        return join(out, cap, env, name);
    char dir[PATH_MAX + 32];
    if (beside_binary(dir, sizeof(dir)) && join(out, cap, dir, name) && access(out, R_OK) == 0)
        return true;
    return join(out, cap, SNESYNC_INSTALL_DATADIR, name);
}
