#include "transport/mhd_log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

#define MAX_LINES_PER_SECOND 20

static _Atomic long long window_second;
static _Atomic int lines_in_window;
static _Atomic long long dropped_lines;

/* Return false when this second's quota of warning lines is used up. */
static bool take_line_quota(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long second = (long long)now.tv_sec;
    long long window = atomic_load(&window_second);
    if (window != second && atomic_compare_exchange_strong(&window_second, &window, second))
        atomic_store(&lines_in_window, 0);
    if (atomic_fetch_add(&lines_in_window, 1) >= MAX_LINES_PER_SECOND) {
        atomic_fetch_add(&dropped_lines, 1);
        return false;
    }
    return true;
}

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
    if (!take_line_quota())
        return;
    ig_warn("libmicrohttpd reported an error", IG_F_STR("server", server),
            IG_F_STR("detail", text), IG_F_INT("dropped_before", atomic_exchange(&dropped_lines, 0)));
}
