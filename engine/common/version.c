/* version.c: the version of the tree, given by CMake's project(VERSION) and nowhere else. */
#include "snesync.h"

#ifndef SNESYNC_VERSION_STRING
#error "SNESYNC_VERSION_STRING is defined by the build (engine/CMakeLists.txt)"
#endif

const char *snesync_version(void)
{
    return SNESYNC_VERSION_STRING;
}
