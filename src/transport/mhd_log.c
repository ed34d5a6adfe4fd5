#include "transport/mhd_log.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "transport/log_limit.h"

static struct ig_log_limit mhd_log_limit = IG_LOG_LIMIT_INIT(20);

void ig_mhd_log(void *cls, const char *format, va_list args)
{
    const char *server = cls ? (const char *)cls : "";
    char text[512];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    vsnprintf(text, sizeof text, format, args);
#pragma GCC diagnostic pop
    size_t length = strlen(text);
    while (length > 0 && (text[length - 1] == '\n' || text[length - 1] == '\r'))
        text[--length] = '\0';

    /* The webhook closes a connection on purpose after an early 413 (and
     * logs that itself), which MHD reports as an application error. */
    static const char closed_on_request[] = "Application reported internal error";
    if (strncmp(text, closed_on_request, sizeof closed_on_request - 1) == 0) {
        ig_debug("libmicrohttpd closed a connection at the handler's request",
                 IG_F_STR("server", server), IG_F_STR("detail", text));
        return;
    }
    if (!ig_log_limit_take(&mhd_log_limit))
        return;
    ig_warn("libmicrohttpd reported an error", IG_F_STR("server", server),
            IG_F_STR("detail", text),
            IG_F_INT("dropped_before", ig_log_limit_dropped(&mhd_log_limit)));
}
