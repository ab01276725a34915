#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const messages[SNE_ERR__COUNT] = {
    [SNE_OK] = "success",
    [SNE_ERR_NOMEM] = "out of memory",
    [SNE_ERR_LIMIT] = "limit exceeded",
    [SNE_ERR_IO] = "input/output error",
    [SNE_ERR_ARCHIVE] = "bad archive",
    [SNE_ERR_XML] = "malformed XML",
    [SNE_ERR_INVALID] = "export violates the contract",
    [SNE_ERR_INCOMPLETE] = "export is incomplete",
    [SNE_ERR_STALE] = "export is older than the stored data",
    [SNE_ERR_STORE] = "store error",
    [SNE_ERR_BUSY] = "store is busy",
    [SNE_ERR_USAGE] = "bad usage",
    [SNE_ERR_NOTFOUND] = "not found",
    [SNE_ERR_CORRUPT] = "store data is corrupt",
    [SNE_ERR_HTTP] = "server error",
    [SNE_ERR_NETWORK] = "network error",
    [SNE_ERR_RANGE] = "change log cursor out of range",
    [SNE_ERR_MISMATCH] = "the database and the store disagree",
    [SNE_ERR_DATABASE] = "database error",
    [SNE_ERR_BEHIND] = "too far behind to follow the movements",
};

const char *sne_strerror(sne_err code)
{
    if ((int)code < 0 || code >= SNE_ERR__COUNT || !messages[code])
        return "unknown error";
    return messages[code];
}

sne_err sne_error_set(sne_error *e, sne_err code, int lib_code, const char *fmt, ...)
{
    if (!e)
        return code;
    e->code = code;
    e->lib_code = lib_code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return code;
}

void sne_error_prefix(sne_error *e, const char *fmt, ...)
{
    if (!e || e->code == SNE_OK)
        return;
    char joined[sizeof(e->message)];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(joined, sizeof(joined), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(joined))
        return;
    /* Whatever does not fit is cut: a message is for a person, its start matters most. */
    size_t room = sizeof(joined) - (size_t)n - 1;
    size_t old = strnlen(e->message, sizeof(e->message) - 1);
    if (old > room)
        old = room;
    memcpy(joined + n, e->message, old);
    joined[(size_t)n + old] = '\0';
    memcpy(e->message, joined, sizeof(joined));
}

void sne_error_clear(sne_error *e)
{
    if (!e)
        return;
    e->code = SNE_OK;
    e->lib_code = 0;
    e->message[0] = '\0';
}
