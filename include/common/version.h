#ifndef IG_COMMON_VERSION_H
#define IG_COMMON_VERSION_H

/* IG_VERSION and IG_GIT_COMMIT are set by the Makefile. */
#ifndef IG_VERSION
#define IG_VERSION "0.0.0-dev"
#endif
#ifndef IG_GIT_COMMIT
#define IG_GIT_COMMIT "unknown"
#endif

#endif
