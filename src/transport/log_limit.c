#include "transport/log_limit.h"

#include <stdatomic.h>
#include <time.h>

bool ig_log_limit_take(struct ig_log_limit *limit)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long second = (long long)now.tv_sec;
    long long window = atomic_load(&limit->second);
    if (window != second && atomic_compare_exchange_strong(&limit->second, &window, second))
        atomic_store(&limit->lines, 0);
    if (atomic_fetch_add(&limit->lines, 1) >= limit->per_second) {
        atomic_fetch_add(&limit->dropped, 1);
        return false;
    }
    return true;
}

long long ig_log_limit_dropped(struct ig_log_limit *limit)
{
    return atomic_exchange(&limit->dropped, 0);
}
