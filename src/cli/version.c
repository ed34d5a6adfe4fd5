#include <curl/curl.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <stdio.h>

#include "cli/commands.h"
#include "common/version.h"

int ig_cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("immutable-guard %s (commit %s)\n", IG_VERSION, IG_GIT_COMMIT);
    printf("libmicrohttpd %s, %s, libcurl %s\n", MHD_get_version(), OpenSSL_version(OPENSSL_VERSION),
           curl_version_info(CURLVERSION_NOW)->version);
    return 0;
}
