/* A per-second cap on repeated log lines, for lines that a client can cause
 * at any rate (rejected requests, libmicrohttpd errors). Metrics still count
 * every event. */
#ifndef IG_TRANSPORT_LOG_LIMIT_H
#define IG_TRANSPORT_LOG_LIMIT_H

#include <stdbool.h>

struct ig_log_limit {
    int per_second;
    _Atomic long long second;
    _Atomic int lines;
    _Atomic long long dropped;
};

#define IG_LOG_LIMIT_INIT(n) {.per_second = (n)}

/* Return true when one more line may be logged in this second; otherwise
 * count the line as dropped and return false. Thread-safe. */
bool ig_log_limit_take(struct ig_log_limit *limit);

/* Return the number of lines dropped since the last call, and reset it. */
long long ig_log_limit_dropped(struct ig_log_limit *limit);

#endif
