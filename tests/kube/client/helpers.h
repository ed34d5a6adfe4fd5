/* Shared set-up for the client tests: the stand-in API server is started by
 * tests/kube/run_client_tests.py, which passes its address and credentials in
 * STANDIN_URL, STANDIN_TOKEN, STANDIN_CA and STANDIN_CERTS. */
#ifndef IG_TEST_KUBE_HELPERS_H
#define IG_TEST_KUBE_HELPERS_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "kube/client.h"

const char *env_or_fail(const char *name);

/* Config with the admin token and the stand-in CA; free with ig_kube_config_free. */
void admin_config(struct ig_kube_config *config);
/* Client with the admin token and short retry delays. */
struct ig_kube_client *admin_client(void);

/* POST /_standin/<path> with a JSON body given as text. */
void control(const char *path, const char *json);
/* Every request logged so far (caller frees). */
cJSON *request_log(void);
/* Count logged requests whose method matches and whose path contains part
 * (query values in the log are separate). */
int count_requests(const cJSON *log, const char *method, const char *part, int status);

/* Create a namespace with a unique name; returns a static buffer. */
const char *fresh_namespace(const char *prefix);

/* Build a Secret object with one key (value given in plain text). */
cJSON *make_secret(const char *name, const char *key, const char *value, bool immutable);

/* Write text into dir/name; returns the full path (malloc'd). */
char *write_file(const char *dir, const char *name, const char *text);

double now_seconds(void);

#endif
