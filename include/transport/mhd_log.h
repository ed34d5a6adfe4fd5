/* Route libmicrohttpd's error messages to the structured log. */
#ifndef IG_TRANSPORT_MHD_LOG_H
#define IG_TRANSPORT_MHD_LOG_H

#include <stdarg.h>

/* Log one libmicrohttpd message (an MHD_LogCallback for
 * MHD_OPTION_EXTERNAL_LOGGER). cls names the server, "webhook" or "probe".
 * Logs at most 20 lines per second and reports how many it dropped. */
void ig_mhd_log(void *cls, const char *format, va_list args);

#endif
