/* End-to-end tests of `immutable-guard serve`: the real binary on a loopback
 * port with generated certificates, driven over TLS with libcurl.
 *
 * tests/e2e/run-transport.sh sets the environment:
 *   IG_E2E_SERVER    the immutable-guard binary under test.
 *   IG_E2E_WORK      a scratch folder with the certificate sets a/, b/ and cn-only/.
 *   IG_E2E_FIXTURES  tests/fixtures/admission, the review requests and expectations.
 *
 * Each test starts its own server on 127.0.0.1 port 0. It reads the bound
 * ports from the server's log. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REVIEW_UID "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"

static const char review_v1[] =
    "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
    "\"uid\":\"" REVIEW_UID "\","
    "\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"ConfigMap\"},"
    "\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"configmaps\"},"
    "\"requestKind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"ConfigMap\"},"
    "\"requestResource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"configmaps\"},"
    "\"name\":\"settings\",\"namespace\":\"team-a\",\"operation\":\"CREATE\","
    "\"userInfo\":{\"username\":\"alice\"},"
    "\"object\":{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
    "\"metadata\":{\"name\":\"settings\",\"namespace\":\"team-a\"},\"data\":{\"a\":\"b\"}},"
    "\"oldObject\":null,\"dryRun\":false,"
    "\"options\":{\"kind\":\"CreateOptions\",\"apiVersion\":\"meta.k8s.io/v1\"}}}";

/* ---------- environment and files ---------- */

static const char *env_or_fail(const char *name)
{
    const char *value = getenv(name);
    cr_assert(value && *value, "%s is not set; run the tests through tests/e2e/run-transport.sh",
              name);
    return value;
}

static char *read_text(const char *path, size_t *length)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return NULL;
    char *data = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&data, &size);
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, file)) > 0)
        fwrite(chunk, 1, got, out);
    fclose(file);
    fclose(out);
    if (length)
        *length = size;
    return data;
}

static void copy_file(const char *from, const char *to)
{
    size_t length = 0;
    char *data = read_text(from, &length);
    cr_assert_not_null(data, "cannot read %s", from);
    FILE *out = fopen(to, "wb");
    cr_assert_not_null(out, "cannot write %s", to);
    cr_assert_eq(fwrite(data, 1, length, out), length);
    fclose(out);
    free(data);
}

static void sleep_ms(long ms)
{
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&pause, &pause) != 0 && errno == EINTR)
        ;
}

static double now_s(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* A fresh folder under IG_E2E_WORK for one test. */
static void make_test_dir(const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/run-%s-%d", env_or_fail("IG_E2E_WORK"), name, (int)getpid());
    cr_assert(mkdir(out, 0700) == 0 || errno == EEXIST, "cannot create %s", out);
}

/* Lay out a key pair as kubelet mounts a Secret: DIR/..TIMESTAMP/{tls.crt,tls.key},
 * DIR/..data -> ..TIMESTAMP, DIR/tls.crt -> ..data/tls.crt. */
static void secret_mount_swap(const char *dir, const char *version, const char *cert_from,
                              const char *key_from)
{
    char path[1024];
    char target[1100];
    snprintf(path, sizeof path, "%s/..%s", dir, version);
    cr_assert_eq(mkdir(path, 0700), 0, "cannot create %s", path);
    snprintf(target, sizeof target, "%s/tls.crt", path);
    copy_file(cert_from, target);
    snprintf(target, sizeof target, "%s/tls.key", path);
    copy_file(key_from, target);

    char link_tmp[1024];
    char link_final[1024];
    snprintf(link_tmp, sizeof link_tmp, "%s/..data_tmp", dir);
    snprintf(link_final, sizeof link_final, "%s/..data", dir);
    snprintf(target, sizeof target, "..%s", version);
    unlink(link_tmp);
    cr_assert_eq(symlink(target, link_tmp), 0);
    cr_assert_eq(rename(link_tmp, link_final), 0, "atomic ..data swap failed");

    const char *names[] = {"tls.crt", "tls.key"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(target, sizeof target, "..data/%s", names[i]);
        struct stat info;
        if (lstat(path, &info) != 0)
            cr_assert_eq(symlink(target, path), 0);
    }
}

static void cert_set_path(const char *set, const char *file, char *out, size_t size)
{
    snprintf(out, size, "%s/%s/%s", env_or_fail("IG_E2E_WORK"), set, file);
}

/* ---------- the server process ---------- */

struct server {
    pid_t pid;
    unsigned port;
    unsigned probe_port;
    char log_path[1024];
    bool exited;
    int exit_status; /* waitpid status once exited */
};

static bool log_port(const char *log, const char *message, unsigned *port)
{
    char needle[128];
    snprintf(needle, sizeof needle, "\"msg\":\"%s\"", message);
    for (const char *line = log; line && *line;) {
        const char *end = strchr(line, '\n');
        if (!end)
            break; /* the last line may still be incomplete */
        if (memmem(line, (size_t)(end - line), needle, strlen(needle))) {
            cJSON *entry = cJSON_ParseWithLength(line, (size_t)(end - line));
            const cJSON *value = cJSON_GetObjectItemCaseSensitive(entry, "port");
            bool found = cJSON_IsNumber(value);
            if (found)
                *port = (unsigned)value->valuedouble;
            cJSON_Delete(entry);
            if (found)
                return true;
        }
        line = end + 1;
    }
    return false;
}

static char *server_log(const struct server *server)
{
    char *text = read_text(server->log_path, NULL);
    return text ? text : strdup("");
}

static bool log_contains(const struct server *server, const char *text)
{
    char *log = server_log(server);
    bool found = strstr(log, text) != NULL;
    free(log);
    return found;
}

/* Assert that the server logs text within 3 s: the log writer thread may not
 * have written the line yet. */
static void assert_logged_soon(const struct server *server, const char *text)
{
    double deadline = now_s() + 3;
    while (!log_contains(server, text) && now_s() < deadline)
        sleep_ms(50);
    char *log = server_log(server);
    cr_assert(strstr(log, text), "\"%s\" is not logged; the log:\n%s", text, log);
    free(log);
}

static bool reap(struct server *server, double timeout_s)
{
    double deadline = now_s() + timeout_s;
    while (!server->exited) {
        pid_t done = waitpid(server->pid, &server->exit_status, WNOHANG);
        if (done == server->pid) {
            server->exited = true;
            break;
        }
        if (now_s() > deadline)
            return false;
        sleep_ms(20);
    }
    return true;
}

/* Start the server with the given key pair and extra arguments (NULL-ended).
 * Returns false when it exited before listening (its log gives the reason). */
static bool try_start_server(struct server *server, const char *name, const char *cert,
                             const char *key, const char *const *extra)
{
    const char *binary = env_or_fail("IG_E2E_SERVER");
    memset(server, 0, sizeof *server);
    snprintf(server->log_path, sizeof server->log_path, "%s/%s-%d.log", env_or_fail("IG_E2E_WORK"),
             name, (int)getpid());

    const char *argv[40] = {binary, "serve", "--listen", "127.0.0.1:0", "--probe-listen",
                            "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key};
    size_t argc = 10;
    for (size_t i = 0; extra && extra[i] && argc < 38; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;

    pid_t parent = getpid();
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork failed");
    if (pid == 0) {
        /* The server dies with the test process, even if the test crashes. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(server->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0)
            _exit(127);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
        execv(binary, (char *const *)argv);
        _exit(127);
    }
    server->pid = pid;

    char pid_path[1024];
    snprintf(pid_path, sizeof pid_path, "%s/pids/%d", env_or_fail("IG_E2E_WORK"), (int)pid);
    FILE *pid_file = fopen(pid_path, "w");
    if (pid_file)
        fclose(pid_file);

    double deadline = now_s() + 15;
    while (now_s() < deadline) {
        char *log = server_log(server);
        bool ready = log_port(log, "webhook server listening", &server->port) &&
                     log_port(log, "probe server listening", &server->probe_port);
        free(log);
        if (ready)
            return true;
        if (reap(server, 0))
            return false;
        sleep_ms(20);
    }
    return false;
}

static void start_server(struct server *server, const char *name, const char *const *extra)
{
    char cert[1024];
    char key[1024];
    cert_set_path("a", "tls.crt", cert, sizeof cert);
    cert_set_path("a", "tls.key", key, sizeof key);
    bool started = try_start_server(server, name, cert, key, extra);
    if (!started) {
        char *log = server_log(server);
        cr_assert_fail("server did not start; its log:\n%s", log);
    }
}

/* SIGTERM the server and return its exit code (-1 when killed by a signal). */
static int stop_server(struct server *server)
{
    if (!server->exited)
        kill(server->pid, SIGTERM);
    if (!reap(server, 30)) {
        kill(server->pid, SIGKILL);
        reap(server, 5);
        cr_assert_fail("server did not stop within 30 s of SIGTERM");
    }
    char pid_path[1024];
    snprintf(pid_path, sizeof pid_path, "%s/pids/%d", env_or_fail("IG_E2E_WORK"), (int)server->pid);
    unlink(pid_path);
    if (WIFEXITED(server->exit_status))
        return WEXITSTATUS(server->exit_status);
    return -1;
}

static void stop_server_cleanly(struct server *server)
{
    int code = stop_server(server);
    if (code != 0) {
        char *log = server_log(server);
        int signal_number = WIFSIGNALED(server->exit_status) ? WTERMSIG(server->exit_status) : 0;
        cr_assert_fail("server exited with %d (signal %d) after SIGTERM; its log:\n%s", code,
                       signal_number, log);
    }
}

/* ---------- HTTP client ---------- */

struct reply {
    long status;
    char *body;
    size_t length;
    char content_type[128];
    char allow[64];
    char retry_after[32];
    long new_connections;
    CURLcode result;
};

static size_t on_body(char *data, size_t size, size_t count, void *user)
{
    struct reply *reply = user;
    size_t length = size * count;
    char *grown = realloc(reply->body, reply->length + length + 1);
    if (!grown)
        return 0;
    memcpy(grown + reply->length, data, length);
    reply->length += length;
    grown[reply->length] = '\0';
    reply->body = grown;
    return length;
}

static void copy_header_value(const char *line, size_t length, const char *name, char *out,
                              size_t size)
{
    size_t name_length = strlen(name);
    if (length <= name_length || strncasecmp(line, name, name_length) != 0)
        return;
    const char *value = line + name_length;
    size_t value_length = length - name_length;
    while (value_length > 0 && (*value == ' ' || *value == '\t')) {
        value++;
        value_length--;
    }
    while (value_length > 0 && (value[value_length - 1] == '\r' || value[value_length - 1] == '\n'))
        value_length--;
    if (value_length >= size)
        value_length = size - 1;
    memcpy(out, value, value_length);
    out[value_length] = '\0';
}

static size_t on_header(char *data, size_t size, size_t count, void *user)
{
    struct reply *reply = user;
    size_t length = size * count;
    copy_header_value(data, length, "Content-Type:", reply->content_type,
                      sizeof reply->content_type);
    copy_header_value(data, length, "Allow:", reply->allow, sizeof reply->allow);
    copy_header_value(data, length, "Retry-After:", reply->retry_after,
                      sizeof reply->retry_after);
    return length;
}

static void reply_free(struct reply *reply)
{
    free(reply->body);
    memset(reply, 0, sizeof *reply);
}

/* Set up a handle for one request; the handle keeps its connection cache. */
static struct curl_slist *prepare(CURL *curl, const char *ca_set, const char *url,
                                  const char *content_type, struct reply *reply)
{
    static char ca_path[1024];
    memset(reply, 0, sizeof *reply);
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, reply);
    if (ca_set) {
        cert_set_path(ca_set, "ca.crt", ca_path, sizeof ca_path);
        curl_easy_setopt(curl, CURLOPT_CAINFO, ca_path);
    }
    struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
    if (content_type) {
        char line[256];
        snprintf(line, sizeof line, "Content-Type: %s", content_type);
        headers = curl_slist_append(headers, line);
    } else {
        headers = curl_slist_append(headers, "Content-Type:");
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    return headers;
}

static void perform(CURL *curl, struct reply *reply, struct curl_slist *headers)
{
    reply->result = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply->status);
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &reply->new_connections);
    curl_slist_free_all(headers);
}

static void webhook_url(const struct server *server, const char *path, char *out, size_t size)
{
    snprintf(out, size, "https://127.0.0.1:%u%s", server->port, path);
}

static void post(CURL *curl, const char *ca_set, const struct server *server, const char *path,
                 const char *content_type, const char *body, size_t length, struct reply *reply)
{
    char url[256];
    webhook_url(server, path, url, sizeof url);
    struct curl_slist *headers = prepare(curl, ca_set, url, content_type, reply);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)length);
    perform(curl, reply, headers);
}

static void request_method(CURL *curl, const struct server *server, const char *method,
                           const char *path, struct reply *reply)
{
    char url[256];
    webhook_url(server, path, url, sizeof url);
    struct curl_slist *headers = prepare(curl, "a", url, NULL, reply);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    perform(curl, reply, headers);
}

static void probe_get(const struct server *server, const char *path, struct reply *reply)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", server->probe_port, path);
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = prepare(curl, NULL, url, NULL, reply);
    perform(curl, reply, headers);
    curl_easy_cleanup(curl);
}

/* Value of one metric series on /metrics, or -1 when absent. */
static double metric_value(const struct server *server, const char *series)
{
    struct reply reply;
    probe_get(server, "/metrics", &reply);
    double value = -1;
    size_t length = strlen(series);
    for (const char *line = reply.body; line && *line;) {
        const char *end = strchr(line, '\n');
        if (strncmp(line, series, length) == 0 && line[length] == ' ') {
            value = strtod(line + length + 1, NULL);
            break;
        }
        line = end ? end + 1 : NULL;
    }
    reply_free(&reply);
    return value;
}

/* Check a Kubernetes Status body: kind, status Failure, code and reason. */
static void assert_status_body(const struct reply *reply, long code, const char *reason)
{
    cr_assert_eq(reply->status, code, "HTTP status %ld, expected %ld; body: %s", reply->status,
                 code, reply->body ? reply->body : "");
    cr_assert_str_eq(reply->content_type, "application/json");
    cJSON *status = cJSON_Parse(reply->body ? reply->body : "");
    cr_assert_not_null(status, "body is not JSON: %s", reply->body ? reply->body : "");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(status, "kind")), "Status");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(status, "apiVersion")), "v1");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(status, "status")), "Failure");
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(status, "code")), (double)code);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(status, "reason")), reason);
    const char *message = cJSON_GetStringValue(cJSON_GetObjectItem(status, "message"));
    cr_assert(message && strlen(message) > 10, "message is missing or too short");
    cJSON_Delete(status);
}

static void assert_allowed_review(const struct reply *reply)
{
    cr_assert_eq(reply->result, CURLE_OK, "curl: %s", curl_easy_strerror(reply->result));
    cr_assert_eq(reply->status, 200, "HTTP %ld: %s", reply->status, reply->body ? reply->body : "");
    cJSON *review = cJSON_Parse(reply->body);
    cr_assert_not_null(review);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(review, "apiVersion")),
                     "admission.k8s.io/v1");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(review, "kind")), "AdmissionReview");
    const cJSON *response = cJSON_GetObjectItem(review, "response");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(response, "uid")), REVIEW_UID);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(response, "allowed")));
    cJSON_Delete(review);
}

static void init_curl(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

TestSuite(transport, .init = init_curl, .timeout = 120);

/* ---------- requests and bad input ---------- */

Test(transport, review_query_ignored)
{
    struct server server;
    start_server(&server, "query", NULL);
    CURL *curl = curl_easy_init();
    struct reply reply;

    post(curl, "a", &server, "/validate?timeout=10s", "application/json", review_v1,
         strlen(review_v1), &reply);
    assert_allowed_review(&reply);
    reply_free(&reply);

    post(curl, "a", &server, "/mutate?timeout=7s", "application/json; charset=utf-8", review_v1,
         strlen(review_v1), &reply);
    assert_allowed_review(&reply);
    reply_free(&reply);

    curl_easy_cleanup(curl);
    stop_server_cleanly(&server);
}

Test(transport, wrong_method_405)
{
    struct server server;
    start_server(&server, "method", NULL);
    CURL *curl = curl_easy_init();
    struct reply reply;

    const char *methods[] = {"GET", "PUT", "DELETE"};
    for (size_t i = 0; i < 3; i++) {
        request_method(curl, &server, methods[i], "/validate", &reply);
        assert_status_body(&reply, 405, "MethodNotAllowed");
        cr_assert_str_eq(reply.allow, "POST");
        reply_free(&reply);
    }
    curl_easy_cleanup(curl);
    cr_assert_eq(metric_value(&server, "immutable_guard_http_errors_total{code=\"405\"}"), 3);
    stop_server_cleanly(&server);
}

Test(transport, unknown_path_404)
{
    struct server server;
    start_server(&server, "path", NULL);
    CURL *curl = curl_easy_init();
    struct reply reply;

    /* Percent-encoded forms of the real paths are other paths. */
    const char *paths[] = {"/", "/validate/", "/healthz", "/mutate-x?timeout=10s",
                           "/%76alidate", "/mutat%65?timeout=10s", "/validate%2F"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        post(curl, "a", &server, paths[i], "application/json", review_v1, strlen(review_v1),
             &reply);
        assert_status_body(&reply, 404, "NotFound");
        reply_free(&reply);
    }
    curl_easy_cleanup(curl);
    stop_server_cleanly(&server);
}

Test(transport, content_type_415)
{
    struct server server;
    start_server(&server, "ctype", NULL);
    CURL *curl = curl_easy_init();
    struct reply reply;

    const char *types[] = {"text/plain", "application/jsonx", "application/x-yaml", NULL};
    for (size_t i = 0; i < 4; i++) {
        post(curl, "a", &server, "/validate", types[i], review_v1, strlen(review_v1), &reply);
        assert_status_body(&reply, 415, "UnsupportedMediaType");
        reply_free(&reply);
    }
    post(curl, "a", &server, "/validate", "Application/JSON ;charset=UTF-8", review_v1,
         strlen(review_v1), &reply);
    assert_allowed_review(&reply);
    reply_free(&reply);
    curl_easy_cleanup(curl);
    stop_server_cleanly(&server);
}

Test(transport, bad_bodies_400)
{
    struct server server;
    start_server(&server, "bad", NULL);
    CURL *curl = curl_easy_init();
    struct reply reply;

    const char *bodies[] = {
        "this is not JSON",
        "",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionRevie",
        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\"}}",
        "[1,2,3]",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}",
        "{\"apiVersion\":\"admission.k8s.io/v2\",\"kind\":\"AdmissionReview\",\"request\":"
        "{\"uid\":\"1\",\"operation\":\"CREATE\"}}",
    };
    size_t count = sizeof bodies / sizeof bodies[0];
    for (size_t i = 0; i < count; i++) {
        post(curl, "a", &server, "/validate", "application/json", bodies[i], strlen(bodies[i]),
             &reply);
        assert_status_body(&reply, 400, "BadRequest");
        cr_assert_null(strstr(reply.body, "\"allowed\":true"), "body %zu was allowed", i);
        reply_free(&reply);
    }
    curl_easy_cleanup(curl);
    stop_server_cleanly(&server);
}

Test(transport, unsupported_version_message)
{
    struct server server;
    start_server(&server, "version", NULL);
    CURL *curl = curl_easy_init();
    struct reply reply;
    const char *body = "{\"apiVersion\":\"admission.k8s.io/v2\",\"kind\":\"AdmissionReview\","
                       "\"request\":{\"uid\":\"1\",\"operation\":\"CREATE\"}}";
    post(curl, "a", &server, "/mutate", "application/json", body, strlen(body), &reply);
    assert_status_body(&reply, 400, "BadRequest");
    cr_assert_not_null(strstr(reply.body, "admission.k8s.io/v2"),
                       "the message does not name the version: %s", reply.body);
    reply_free(&reply);
    curl_easy_cleanup(curl);
    stop_server_cleanly(&server);
}

Test(transport, content_length_413)
{
    const char *const extra[] = {"--max-body-bytes", "4096", NULL};
    struct server server;
    start_server(&server, "length", extra);
    CURL *curl = curl_easy_init();
    struct reply reply;

    /* Below the server's 32 MiB drain allowance, so the reply always arrives. */
    size_t size = 16 * 1024 * 1024;
    char *big = malloc(size);
    cr_assert_not_null(big);
    memset(big, ' ', size);
    post(curl, "a", &server, "/validate", "application/json", big, size, &reply);
    assert_status_body(&reply, 413, "RequestEntityTooLarge");
    cr_assert_not_null(strstr(reply.body, "4096"), "the message does not give the limit");
    reply_free(&reply);

    /* Exactly at the limit is still read (and then judged as JSON). */
    post(curl, "a", &server, "/validate", "application/json", big, 4096, &reply);
    assert_status_body(&reply, 400, "BadRequest");
    reply_free(&reply);
    free(big);

    post(curl, "a", &server, "/validate", "application/json", review_v1, strlen(review_v1),
         &reply);
    assert_allowed_review(&reply);
    reply_free(&reply);
    curl_easy_cleanup(curl);
    cr_assert_eq(metric_value(&server, "immutable_guard_http_errors_total{code=\"413\"}"), 1);
    stop_server_cleanly(&server);
}

struct stream {
    size_t total;      /* bytes to offer */
    size_t sent;       /* bytes handed to curl */
};

static size_t read_stream(char *buffer, size_t size, size_t count, void *user)
{
    struct stream *stream = user;
    size_t room = size * count;
    size_t left = stream->total - stream->sent;
    size_t length = left < room ? left : room;
    memset(buffer, ' ', length);
    stream->sent += length;
    return length;
}

Test(transport, chunked_stream_413)
{
    const char *const extra[] = {"--max-body-bytes", "65536", NULL};
    struct server server;
    start_server(&server, "chunked", extra);
    CURL *curl = curl_easy_init();
    struct reply reply;
    char url[256];
    webhook_url(&server, "/validate", url, sizeof url);

    /* 1 GiB offered: the reply must come long before the client could send it. */
    struct stream stream = {.total = (size_t)1 << 30};
    struct curl_slist *headers = prepare(curl, "a", url, "application/json", &reply);
    headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_stream);
    curl_easy_setopt(curl, CURLOPT_READDATA, &stream);
    perform(curl, &reply, headers);

    assert_status_body(&reply, 413, "RequestEntityTooLarge");
    cr_assert_lt(stream.sent, (size_t)32 << 20, "the client sent %zu bytes before the reply",
                 stream.sent);
    reply_free(&reply);
    curl_easy_cleanup(curl);

    /* The server is still healthy. */
    curl = curl_easy_init();
    post(curl, "a", &server, "/validate", "application/json", review_v1, strlen(review_v1),
         &reply);
    assert_allowed_review(&reply);
    reply_free(&reply);
    curl_easy_cleanup(curl);
    stop_server_cleanly(&server);
}

Test(transport, chunked_under_limit)
{
    struct server server;
    start_server(&server, "chunked-ok", NULL);
    CURL *curl = curl_easy_init();
    struct reply reply;
    char url[256];
    webhook_url(&server, "/validate", url, sizeof url);

    struct curl_slist *headers = prepare(curl, "a", url, "application/json", &reply);
    headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, review_v1);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, -1L);
    perform(curl, &reply, headers);
    assert_allowed_review(&reply);
    reply_free(&reply);
    curl_easy_cleanup(curl);
    stop_server_cleanly(&server);
}

/* ---------- connections ---------- */

Test(transport, keep_alive_reuse)
{
    struct server server;
    start_server(&server, "keepalive", NULL);
    CURL *curl = curl_easy_init();
    struct reply reply;

    for (int i = 0; i < 5; i++) {
        post(curl, "a", &server, "/validate", "application/json", review_v1, strlen(review_v1),
             &reply);
        assert_allowed_review(&reply);
        cr_assert_eq(reply.new_connections, i == 0 ? 1 : 0, "request %d opened a connection", i);
        reply_free(&reply);
    }
    /* An error reply to a request without a body keeps the connection too. */
    request_method(curl, &server, "GET", "/nowhere", &reply);
    cr_assert_eq(reply.status, 404);
    cr_assert_eq(reply.new_connections, 0);
    reply_free(&reply);
    post(curl, "a", &server, "/validate", "application/json", review_v1, strlen(review_v1),
         &reply);
    assert_allowed_review(&reply);
    cr_assert_eq(reply.new_connections, 0, "the connection closed after the 404");
    reply_free(&reply);
    curl_easy_cleanup(curl);
    cr_assert_eq(metric_value(&server, "immutable_guard_connections_total"), 1);
    stop_server_cleanly(&server);
}

Test(transport, idle_timeout_closes)
{
    const char *const extra[] = {"--connection-timeout", "1", NULL};
    struct server server;
    start_server(&server, "idle", extra);
    CURL *curl = curl_easy_init();
    struct reply reply;

    post(curl, "a", &server, "/validate", "application/json", review_v1, strlen(review_v1),
         &reply);
    assert_allowed_review(&reply);
    reply_free(&reply);
    cr_assert_eq(metric_value(&server, "immutable_guard_connections_open"), 1);

    sleep_ms(3000);
    cr_assert_eq(metric_value(&server, "immutable_guard_connections_open"), 0,
                 "the idle connection is still open after 3 s with a 1 s timeout");
    post(curl, "a", &server, "/validate", "application/json", review_v1, strlen(review_v1),
         &reply);
    assert_allowed_review(&reply);
    cr_assert_eq(reply.new_connections, 1);
    reply_free(&reply);
    curl_easy_cleanup(curl);
    stop_server_cleanly(&server);
}

Test(transport, connection_limit)
{
    const char *const extra[] = {"--connection-limit", "2", "--threads", "1", NULL};
    struct server server;
    start_server(&server, "limit", extra);
    CURL *first = curl_easy_init();
    CURL *second = curl_easy_init();
    CURL *third = curl_easy_init();
    struct reply reply;

    post(first, "a", &server, "/validate", "application/json", review_v1, strlen(review_v1),
         &reply);
    assert_allowed_review(&reply);
    reply_free(&reply);
    post(second, "a", &server, "/validate", "application/json", review_v1, strlen(review_v1),
         &reply);
    assert_allowed_review(&reply);
    reply_free(&reply);

    post(third, "a", &server, "/validate", "application/json", review_v1, strlen(review_v1),
         &reply);
    cr_assert_neq(reply.result, CURLE_OK, "a third connection was served over a limit of 2");
    reply_free(&reply);

    curl_easy_cleanup(first);
    sleep_ms(300);
    post(third, "a", &server, "/validate", "application/json", review_v1, strlen(review_v1),
         &reply);
    assert_allowed_review(&reply);
    reply_free(&reply);
    curl_easy_cleanup(second);
    curl_easy_cleanup(third);
    stop_server_cleanly(&server);
}

static void post_small_review(const struct server *server);

struct connect_burst {
    unsigned port;
    int count;
    int fds[400];
};

static void *connect_burst_main(void *arg)
{
    struct connect_burst *burst = arg;
    for (int i = 0; i < burst->count; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in address = {.sin_family = AF_INET,
                                      .sin_port = htons((uint16_t)burst->port)};
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
            close(fd);
            fd = -1;
        }
        burst->fds[i] = fd;
    }
    return NULL;
}

/* Bursts of plain TCP connects from several threads, at two workers with a
 * small limit: exactly the limit stays open (none over it, none refused
 * below it), and after each burst closes, reviews are still served. Before,
 * a burst could take one worker past libmicrohttpd's own limit, which stopped
 * that worker for good. */
Test(transport, connection_limit_under_bursts)
{
    const char *const extra[] = {"--connection-limit", "40", "--threads", "2", NULL};
    struct server server;
    start_server(&server, "limit-burst", extra);
    enum { THREADS = 8 };
    static struct connect_burst bursts[THREADS];

    for (int round = 0; round < 3; round++) {
        pthread_t threads[THREADS];
        for (int t = 0; t < THREADS; t++) {
            bursts[t].port = server.port;
            bursts[t].count = 100;
            cr_assert_eq(pthread_create(&threads[t], NULL, connect_burst_main, &bursts[t]), 0);
        }
        for (int t = 0; t < THREADS; t++)
            pthread_join(threads[t], NULL);
        sleep_ms(1000);
        cr_assert_eq(metric_value(&server, "immutable_guard_connections_open"), 40,
                     "round %d: open connections after a burst of 800 connects", round);
        for (int t = 0; t < THREADS; t++) {
            for (int i = 0; i < bursts[t].count; i++) {
                if (bursts[t].fds[i] >= 0)
                    close(bursts[t].fds[i]);
            }
        }
        double deadline = now_s() + 10;
        while (now_s() < deadline && metric_value(&server, "immutable_guard_connections_open") != 0)
            sleep_ms(100);
        post_small_review(&server);
    }

    /* Forty connections one after another are all kept. */
    double rejected = metric_value(&server, "immutable_guard_connections_rejected_total");
    cr_assert_gt(rejected, 0, "the bursts never reached the limit");
    int fds[40];
    for (int i = 0; i < 40; i++) {
        struct connect_burst one = {.port = server.port, .count = 1};
        connect_burst_main(&one);
        fds[i] = one.fds[0];
        cr_assert_geq(fds[i], 0);
    }
    sleep_ms(1000);
    cr_assert_eq(metric_value(&server, "immutable_guard_connections_open"), 40);
    cr_assert_eq(metric_value(&server, "immutable_guard_connections_rejected_total"), rejected,
                 "a connection below the limit was refused");
    for (int i = 0; i < 40; i++)
        close(fds[i]);
    stop_server_cleanly(&server);
}

Test(transport, tls12_accepted)
{
    struct server server;
    start_server(&server, "tls12", NULL);
    CURL *curl = curl_easy_init();
    struct reply reply;
    char url[256];
    webhook_url(&server, "/validate", url, sizeof url);
    struct curl_slist *headers = prepare(curl, "a", url, "application/json", &reply);
    curl_easy_setopt(curl, CURLOPT_SSLVERSION,
                     (long)(CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, review_v1);
    perform(curl, &reply, headers);
    assert_allowed_review(&reply);
    reply_free(&reply);
    curl_easy_cleanup(curl);
    stop_server_cleanly(&server);
}

/* ---------- probes ---------- */

Test(transport, probes_and_metrics)
{
    struct server server;
    start_server(&server, "probes", NULL);
    struct reply reply;

    probe_get(&server, "/healthz", &reply);
    cr_assert_eq(reply.status, 200);
    cr_assert_str_eq(reply.body, "ok\n");
    reply_free(&reply);

    probe_get(&server, "/readyz", &reply);
    cr_assert_eq(reply.status, 200);
    reply_free(&reply);

    probe_get(&server, "/nothing", &reply);
    cr_assert_eq(reply.status, 404);
    reply_free(&reply);

    CURL *curl = curl_easy_init();
    post(curl, "a", &server, "/validate", "application/json", review_v1, strlen(review_v1),
         &reply);
    assert_allowed_review(&reply);
    reply_free(&reply);
    post(curl, "a", &server, "/nope", "application/json", review_v1, strlen(review_v1), &reply);
    reply_free(&reply);
    curl_easy_cleanup(curl);

    probe_get(&server, "/metrics", &reply);
    cr_assert_eq(reply.status, 200);
    cr_assert_str_eq(reply.content_type, "text/plain; version=0.0.4; charset=utf-8");
    cr_assert_not_null(strstr(reply.body, "# TYPE immutable_guard_build_info gauge\n"));
    cr_assert_not_null(strstr(reply.body, "immutable_guard_build_info{version=\""));
    cr_assert_not_null(strstr(reply.body, "immutable_guard_tls_reloads_total{result=\"success\"} 0"));
    cr_assert_not_null(strstr(reply.body, "immutable_guard_http_errors_total{code=\"404\"} 1"));
    cr_assert_not_null(strstr(reply.body, "immutable_guard_connections_total 1"));
    cr_assert_not_null(strstr(reply.body, "immutable_guard_admission_"),
                       "the admission metrics are missing");
    reply_free(&reply);

    CURL *poster = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/healthz", server.probe_port);
    struct curl_slist *headers = prepare(poster, NULL, url, "text/plain", &reply);
    curl_easy_setopt(poster, CURLOPT_POSTFIELDS, "x");
    perform(poster, &reply, headers);
    cr_assert_eq(reply.status, 405);
    reply_free(&reply);
    curl_easy_cleanup(poster);
    stop_server_cleanly(&server);
}

/* ---------- certificates ---------- */

static bool served_with_ca(const struct server *server, const char *ca_set)
{
    CURL *curl = curl_easy_init();
    struct reply reply;
    post(curl, ca_set, server, "/validate", "application/json", review_v1, strlen(review_v1),
         &reply);
    bool ok = reply.result == CURLE_OK && reply.status == 200;
    reply_free(&reply);
    curl_easy_cleanup(curl);
    return ok;
}

static bool wait_served_with_ca(const struct server *server, const char *ca_set, double seconds)
{
    double deadline = now_s() + seconds;
    while (now_s() < deadline) {
        if (served_with_ca(server, ca_set))
            return true;
        sleep_ms(200);
    }
    return false;
}

Test(transport, reload_symlink_swap)
{
    char dir[1024];
    char a_cert[1024], a_key[1024], b_cert[1024], b_key[1024], cert[1100], key[1100];
    make_test_dir("reload", dir, sizeof dir);
    cert_set_path("a", "tls.crt", a_cert, sizeof a_cert);
    cert_set_path("a", "tls.key", a_key, sizeof a_key);
    cert_set_path("b", "tls.crt", b_cert, sizeof b_cert);
    cert_set_path("b", "tls.key", b_key, sizeof b_key);
    secret_mount_swap(dir, "2026_12_04_01", a_cert, a_key);
    snprintf(cert, sizeof cert, "%s/tls.crt", dir);
    snprintf(key, sizeof key, "%s/tls.key", dir);

    struct server server;
    cr_assert(try_start_server(&server, "reload", cert, key, NULL), "server did not start");
    CURL *old_connection = curl_easy_init();
    struct reply reply;
    post(old_connection, "a", &server, "/validate", "application/json", review_v1, strlen(review_v1),
         &reply);
    assert_allowed_review(&reply);
    reply_free(&reply);
    cr_assert(!served_with_ca(&server, "b"), "CA b verified the first certificate");

    secret_mount_swap(dir, "2026_12_04_02", b_cert, b_key);
    cr_assert(wait_served_with_ca(&server, "b", 10), "the new certificate was not served");
    cr_assert(!served_with_ca(&server, "a"), "new connections still get the old certificate");

    /* The connection opened before the swap keeps working. */
    post(old_connection, "a", &server, "/validate", "application/json", review_v1, strlen(review_v1),
         &reply);
    assert_allowed_review(&reply);
    cr_assert_eq(reply.new_connections, 0, "the old connection was dropped");
    reply_free(&reply);
    curl_easy_cleanup(old_connection);

    cr_assert_eq(metric_value(&server, "immutable_guard_tls_reloads_total{result=\"success\"}"), 1);

    /* And back again, to free the first retired pair while the server runs. */
    secret_mount_swap(dir, "2026_12_04_03", a_cert, a_key);
    cr_assert(wait_served_with_ca(&server, "a", 10), "the third certificate was not served");
    stop_server_cleanly(&server);
    cr_assert(log_contains(&server, "\"msg\":\"TLS key pair reloaded\""));
}

Test(transport, reload_broken_keeps_old)
{
    char dir[1024];
    char a_cert[1024], a_key[1024], b_cert[1024], cn_cert[1024], cn_key[1024], cert[1100],
        key[1100], garbage[1100];
    make_test_dir("broken", dir, sizeof dir);
    cert_set_path("a", "tls.crt", a_cert, sizeof a_cert);
    cert_set_path("a", "tls.key", a_key, sizeof a_key);
    cert_set_path("b", "tls.crt", b_cert, sizeof b_cert);
    cert_set_path("cn-only", "tls.crt", cn_cert, sizeof cn_cert);
    cert_set_path("cn-only", "tls.key", cn_key, sizeof cn_key);
    secret_mount_swap(dir, "2026_12_04_01", a_cert, a_key);
    snprintf(cert, sizeof cert, "%s/tls.crt", dir);
    snprintf(key, sizeof key, "%s/tls.key", dir);

    struct server server;
    cr_assert(try_start_server(&server, "broken", cert, key, NULL), "server did not start");
    cr_assert(served_with_ca(&server, "a"));

    /* Certificate b with key a: they do not match. */
    secret_mount_swap(dir, "2026_12_04_02", b_cert, a_key);
    sleep_ms(2500);
    cr_assert(served_with_ca(&server, "a"), "a mismatched pair replaced the working one");
    cr_assert(!served_with_ca(&server, "b"));
    cr_assert_eq(metric_value(&server, "immutable_guard_tls_reloads_total{result=\"failure\"}"), 1);

    /* A certificate that is not PEM at all. */
    snprintf(garbage, sizeof garbage, "%s/garbage.crt", dir);
    FILE *file = fopen(garbage, "w");
    cr_assert_not_null(file);
    fputs("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", file);
    fclose(file);
    secret_mount_swap(dir, "2026_12_04_03", garbage, a_key);
    sleep_ms(2500);
    cr_assert(served_with_ca(&server, "a"));
    cr_assert_eq(metric_value(&server, "immutable_guard_tls_reloads_total{result=\"failure\"}"), 2);

    /* A certificate without a DNS subjectAltName. */
    secret_mount_swap(dir, "2026_12_04_04", cn_cert, cn_key);
    sleep_ms(2500);
    cr_assert(served_with_ca(&server, "a"));
    cr_assert_eq(metric_value(&server, "immutable_guard_tls_reloads_total{result=\"failure\"}"), 3);
    cr_assert_eq(metric_value(&server, "immutable_guard_tls_reloads_total{result=\"success\"}"), 0);
    stop_server_cleanly(&server);
    cr_assert(log_contains(&server, "does not match the certificate"));
    cr_assert(log_contains(&server, "no DNS subjectAltName"));
}

Test(transport, cn_only_refused)
{
    char cert[1024], key[1024];
    cert_set_path("cn-only", "tls.crt", cert, sizeof cert);
    cert_set_path("cn-only", "tls.key", key, sizeof key);
    struct server server;
    cr_assert(!try_start_server(&server, "cn-only", cert, key, NULL),
              "the server started with a CN-only certificate");
    cr_assert(reap(&server, 10));
    cr_assert(WIFEXITED(server.exit_status));
    cr_assert_eq(WEXITSTATUS(server.exit_status), 1);
    cr_assert(log_contains(&server, "no DNS subjectAltName"), "the log does not say why");
}

Test(transport, missing_key_refused)
{
    char cert[1024];
    cert_set_path("a", "tls.crt", cert, sizeof cert);
    struct server server;
    cr_assert(!try_start_server(&server, "no-key", cert, "/nonexistent/tls.key", NULL));
    cr_assert(reap(&server, 10));
    cr_assert_eq(WEXITSTATUS(server.exit_status), 1);
    cr_assert(log_contains(&server, "/nonexistent/tls.key"));
}

/* ---------- shutdown ---------- */

/* A request whose body stops halfway until the test releases it. */
struct slow_request {
    const struct server *server;
    size_t offset;
    atomic_bool release;
    atomic_bool half_sent;
    struct reply reply;
};

static size_t read_slow(char *buffer, size_t size, size_t count, void *user)
{
    struct slow_request *slow = user;
    size_t total = strlen(review_v1);
    size_t half = total / 2;
    if (slow->offset >= half && !atomic_load(&slow->release)) {
        atomic_store(&slow->half_sent, true);
        double deadline = now_s() + 20;
        while (!atomic_load(&slow->release) && now_s() < deadline)
            sleep_ms(5);
    }
    size_t end = atomic_load(&slow->release) ? total : half;
    size_t length = end - slow->offset;
    if (length > size * count)
        length = size * count;
    memcpy(buffer, review_v1 + slow->offset, length);
    slow->offset += length;
    return length;
}

static void *run_slow_request(void *arg)
{
    struct slow_request *slow = arg;
    CURL *curl = curl_easy_init();
    char url[256];
    webhook_url(slow->server, "/validate", url, sizeof url);
    struct curl_slist *headers = prepare(curl, "a", url, "application/json", &slow->reply);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(review_v1));
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_slow);
    curl_easy_setopt(curl, CURLOPT_READDATA, slow);
    perform(curl, &slow->reply, headers);
    curl_easy_cleanup(curl);
    return NULL;
}

Test(transport, sigterm_finishes_in_flight)
{
    struct server server;
    start_server(&server, "sigterm", NULL);
    enum { SLOW = 3 };
    struct slow_request slow[SLOW];
    pthread_t threads[SLOW];
    for (int i = 0; i < SLOW; i++) {
        memset(&slow[i], 0, sizeof slow[i]);
        slow[i].server = &server;
        cr_assert_eq(pthread_create(&threads[i], NULL, run_slow_request, &slow[i]), 0);
    }

    double deadline = now_s() + 10;
    while (metric_value(&server, "immutable_guard_requests_in_flight") < SLOW && now_s() < deadline)
        sleep_ms(20);
    cr_assert_eq(metric_value(&server, "immutable_guard_requests_in_flight"), SLOW);

    cr_assert_eq(kill(server.pid, SIGTERM), 0);
    sleep_ms(500);
    cr_assert(!reap(&server, 0), "the server exited with requests in flight");
    struct reply reply;
    probe_get(&server, "/readyz", &reply);
    cr_assert_eq(reply.status, 503, "readyz is %ld during shutdown", reply.status);
    reply_free(&reply);
    cr_assert(!served_with_ca(&server, "a"), "a new connection was accepted after SIGTERM");

    for (int i = 0; i < SLOW; i++)
        atomic_store(&slow[i].release, true);
    for (int i = 0; i < SLOW; i++) {
        pthread_join(threads[i], NULL);
        assert_allowed_review(&slow[i].reply);
        reply_free(&slow[i].reply);
    }
    stop_server_cleanly(&server);
    cr_assert(log_contains(&server, "\"msg\":\"immutable-guard stopped\""));
}

Test(transport, sigint_stops_idle)
{
    struct server server;
    start_server(&server, "sigint", NULL);
    CURL *curl = curl_easy_init();
    struct reply reply;
    post(curl, "a", &server, "/validate", "application/json", review_v1, strlen(review_v1),
         &reply);
    assert_allowed_review(&reply);
    reply_free(&reply);

    /* An idle keep-alive connection must not hold the shutdown up. */
    double started = now_s();
    cr_assert_eq(kill(server.pid, SIGINT), 0);
    cr_assert(reap(&server, 10));
    cr_assert_lt(now_s() - started, 5.0);
    cr_assert(WIFEXITED(server.exit_status));
    cr_assert_eq(WEXITSTATUS(server.exit_status), 0);
    curl_easy_cleanup(curl);
}

/* ---------- decisions on the seed manifests ---------- */

static char *fixture_text(const char *name, size_t *length)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", env_or_fail("IG_E2E_FIXTURES"), name);
    char *text = read_text(path, length);
    cr_assert_not_null(text, "cannot read the fixture %s", path);
    return text;
}

/* POST a fixture review and return the parsed response object (the caller
 * frees the whole review through *review). */
static const cJSON *review_fixture(const struct server *server, const char *path,
                                   const char *fixture, cJSON **review)
{
    size_t length = 0;
    char *body = fixture_text(fixture, &length);
    cJSON *request = cJSON_ParseWithLength(body, length);
    cr_assert_not_null(request);
    const char *uid = cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(request, "request"), "uid"));
    cr_assert_not_null(uid);

    CURL *curl = curl_easy_init();
    struct reply reply;
    post(curl, "a", server, path, "application/json", body, length, &reply);
    curl_easy_cleanup(curl);
    free(body);
    cr_assert_eq(reply.result, CURLE_OK);
    cr_assert_eq(reply.status, 200, "HTTP %ld: %s", reply.status, reply.body ? reply.body : "");
    cr_assert_str_eq(reply.content_type, "application/json");

    *review = cJSON_Parse(reply.body);
    reply_free(&reply);
    cr_assert_not_null(*review);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(*review, "apiVersion")),
                     cJSON_GetStringValue(cJSON_GetObjectItem(request, "apiVersion")));
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(*review, "kind")), "AdmissionReview");
    const cJSON *response = cJSON_GetObjectItem(*review, "response");
    cr_assert_not_null(response);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(response, "uid")), uid);
    cJSON_Delete(request);
    return response;
}

static size_t base64_decode(const char *text, unsigned char *out, size_t size)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned bits = 0;
    int count = 0;
    size_t used = 0;
    for (const char *p = text; *p && *p != '='; p++) {
        const char *found = strchr(alphabet, *p);
        cr_assert_not_null(found, "patch is not standard base64 at '%c'", *p);
        bits = (bits << 6) | (unsigned)(found - alphabet);
        count += 6;
        if (count >= 8) {
            count -= 8;
            cr_assert_lt(used, size);
            out[used++] = (unsigned char)((bits >> count) & 0xff);
        }
    }
    return used;
}

/* Have fast-json-patch on Node.js, an RFC 6902 implementation independent of
 * ours, apply the patches listed in the JSON-lines file (see apply-patches.mjs). */
static void assert_patches_apply(const char *patches_path, size_t patch_count)
{
    cr_assert_gt(patch_count, 0);
    char command[2048];
    snprintf(command, sizeof command, "node '%s' '%s' 2>&1", env_or_fail("IG_E2E_PATCH_TOOL"),
             patches_path);
    FILE *pipe = popen(command, "r");
    cr_assert_not_null(pipe);
    char output[8192];
    size_t got = fread(output, 1, sizeof output - 1, pipe);
    output[got] = '\0';
    int status = pclose(pipe);
    char summary[64];
    snprintf(summary, sizeof summary, "%zu passed, 0 failed", patch_count);
    cr_assert_not_null(strstr(output, summary), "expected \"%s\" from the patch check:\n%s",
                       summary, output);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "patch check failed:\n%s", output);
}

/* Write one line for apply-patches.mjs. */
static void record_patch(FILE *patches, const char *name, const char *action, const cJSON *object,
                         const char *patch)
{
    cJSON *entry = cJSON_CreateObject();
    cr_assert_not_null(entry);
    cJSON_AddStringToObject(entry, "name", name);
    cJSON_AddStringToObject(entry, "action", action);
    cJSON_AddItemToObject(entry, "object", cJSON_Duplicate(object, true));
    cJSON_AddStringToObject(entry, "patch", patch);
    char *line = cJSON_PrintUnformatted(entry);
    cr_assert_not_null(line);
    fprintf(patches, "%s\n", line);
    cJSON_free(line);
    cJSON_Delete(entry);
}

Test(transport, seed_review_allowed)
{
    struct server server;
    start_server(&server, "seed-allowed", NULL);
    cJSON *review = NULL;
    const cJSON *response = review_fixture(&server, "/validate?timeout=10s",
                                           "external-secret.create.json", &review);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(response, "allowed")));
    cr_assert_null(cJSON_GetObjectItem(response, "patch"));
    cJSON_Delete(review);
    stop_server_cleanly(&server);
}

Test(transport, seed_review_denied)
{
    struct server server;
    start_server(&server, "seed-denied", NULL);
    cJSON *review = NULL;
    const cJSON *response = review_fixture(&server, "/validate?timeout=10s",
                                           "external-secret-v2.create.json", &review);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(response, "allowed")));
    const cJSON *status = cJSON_GetObjectItem(response, "status");
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(status, "code")), 403);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(status, "reason")), "Forbidden");
    const char *message = cJSON_GetStringValue(cJSON_GetObjectItem(status, "message"));
    cr_assert_not_null(message);
    cr_assert_not_null(strstr(message, "default/my-app"), "message: %s", message);
    cr_assert_not_null(strstr(message, "immutable-guard.io/rotation: recreate"));
    cr_assert_null(cJSON_GetObjectItem(response, "patch"), "a validating reply carries a patch");
    cr_assert_null(cJSON_GetObjectItem(response, "patchType"));
    cJSON_Delete(review);
    /* Log lines are written by a thread of their own: read them after the stop. */
    stop_server_cleanly(&server);
    cr_assert(log_contains(&server, "\"decision\":\"denied\""));
}

Test(transport, seed_review_warned)
{
    const char *const extra[] = {"--mode", "warn", NULL};
    struct server server;
    start_server(&server, "seed-warned", extra);
    cJSON *review = NULL;
    const cJSON *response = review_fixture(&server, "/validate?timeout=10s",
                                           "external-secret-v2.create.json", &review);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(response, "allowed")));
    const cJSON *warnings = cJSON_GetObjectItem(response, "warnings");
    cr_assert(cJSON_IsArray(warnings));
    cr_assert_gt(cJSON_GetArraySize(warnings), 0);
    const cJSON *warning = NULL;
    cJSON_ArrayForEach(warning, warnings)
    {
        const char *text = cJSON_GetStringValue(warning);
        cr_assert_not_null(text);
        cr_assert_leq(strlen(text), 120, "warning longer than 120 bytes: %s", text);
        cr_assert_null(strchr(text, '\n'));
    }
    cr_assert_null(cJSON_GetObjectItem(response, "patch"));
    cJSON_Delete(review);
    /* Log lines are written by a thread of their own: read them after the stop. */
    stop_server_cleanly(&server);
    cr_assert(log_contains(&server, "\"decision\":\"warned\""));
}

Test(transport, seed_review_patched)
{
    struct server server;
    start_server(&server, "seed-patched", NULL);
    cJSON *review = NULL;
    const cJSON *response = review_fixture(&server, "/mutate?timeout=10s",
                                           "external-secret-v2.create.json", &review);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(response, "allowed")));
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(response, "patchType")), "JSONPatch");
    const char *encoded = cJSON_GetStringValue(cJSON_GetObjectItem(response, "patch"));
    cr_assert_not_null(encoded);
    unsigned char decoded[8192];
    size_t length = base64_decode(encoded, decoded, sizeof decoded);
    cJSON *patch = cJSON_ParseWithLength((const char *)decoded, length);
    cr_assert(cJSON_IsArray(patch), "the patch is not a JSON array: %.*s", (int)length, decoded);
    bool annotates = false;
    const cJSON *operation = NULL;
    cJSON_ArrayForEach(operation, patch)
    {
        const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(operation, "path"));
        cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(operation, "op")), "add");
        if (path && strcmp(path, "/metadata/annotations/immutable-guard.io~1rotation") == 0)
            annotates = strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(operation, "value")),
                               "recreate") == 0;
    }
    cr_assert(annotates, "no add of immutable-guard.io/rotation: recreate in %.*s", (int)length,
              decoded);
    cJSON_Delete(patch);

    size_t fixture_length = 0;
    char *fixture = fixture_text("external-secret-v2.create.json", &fixture_length);
    cJSON *request = cJSON_ParseWithLength(fixture, fixture_length);
    free(fixture);
    char patches_path[1024];
    snprintf(patches_path, sizeof patches_path, "%s/seed-patch-%d.jsonl",
             env_or_fail("IG_E2E_WORK"), (int)getpid());
    FILE *patches = fopen(patches_path, "w");
    cr_assert_not_null(patches);
    record_patch(patches, "external-secret-v2", "annotate",
                 cJSON_GetObjectItem(cJSON_GetObjectItem(request, "request"), "object"), encoded);
    fclose(patches);
    assert_patches_apply(patches_path, 1);
    cJSON_Delete(request);
    cJSON_Delete(review);
    /* Log lines are written by a thread of their own: read them after the stop. */
    stop_server_cleanly(&server);
    cr_assert(log_contains(&server, "\"decision\":\"patched\""));
}

/* ---------- configuration ---------- */

Test(transport, environment_configures)
{
    /* Criterion runs each test in a process of its own, so these stay local. */
    setenv("IG_MODE", "warn", 1);
    setenv("IG_MAX_BODY_BYTES", "4096", 1);
    struct server server;
    start_server(&server, "environment", NULL);

    cJSON *review = NULL;
    const cJSON *response = review_fixture(&server, "/validate?timeout=10s",
                                           "external-secret-v2.create.json", &review);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(response, "allowed")), "IG_MODE=warn was ignored");
    cJSON_Delete(review);

    char body[5000];
    memset(body, ' ', sizeof body);
    CURL *curl = curl_easy_init();
    struct reply reply;
    post(curl, "a", &server, "/validate", "application/json", body, sizeof body, &reply);
    assert_status_body(&reply, 413, "RequestEntityTooLarge");
    reply_free(&reply);
    curl_easy_cleanup(curl);

    /* A flag wins over its variable. */
    stop_server_cleanly(&server);
    const char *const extra[] = {"--mode", "enforce", NULL};
    start_server(&server, "environment-flag", extra);
    response = review_fixture(&server, "/validate", "external-secret-v2.create.json", &review);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(response, "allowed")), "--mode lost to IG_MODE");
    cJSON_Delete(review);
    stop_server_cleanly(&server);
}

/* Run `immutable-guard serve ARGS` to its end and return its exit code and output. */
static int run_serve(const char *const *args, char *output, size_t size)
{
    char command[2048];
    int used = snprintf(command, sizeof command, "'%s' serve", env_or_fail("IG_E2E_SERVER"));
    for (size_t i = 0; args[i]; i++)
        used += snprintf(command + used, sizeof command - (size_t)used, " '%s'", args[i]);
    snprintf(command + used, sizeof command - (size_t)used, " 2>&1");
    FILE *pipe = popen(command, "r");
    cr_assert_not_null(pipe);
    size_t length = fread(output, 1, size - 1, pipe);
    output[length] = '\0';
    int status = pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(transport, invalid_flags_exit_2)
{
    static const char *const cases[][5] = {
        {"--max-body-bytes", "8192", "--max-buffered-bytes", "4096", NULL},
        {"--max-buffered-bytes", "64MiB", NULL},
        {"--mode", "block", NULL},
        {"--mutate-action", "delete", NULL},
        {"--max-body-bytes", "12x", NULL},
        {"--connection-timeout", "0", NULL},
        {"--listen", "8443", NULL},
        {"--log-format", "xml", NULL},
        {"--leader-elect=maybe", NULL},
        {"--no-such-flag", NULL},
        {"extra-argument", NULL},
    };
    char output[4096];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int code = run_serve(cases[i], output, sizeof output);
        cr_assert_eq(code, 2, "%s exited with %d: %s", cases[i][0], code, output);
        cr_assert_not_null(strstr(output, "immutable-guard serve:"), "no message for %s: %s",
                           cases[i][0], output);
    }
}

Test(transport, help_documents_flags)
{
    static const char *const help_args[] = {"--help", NULL};
    char output[8192];
    cr_assert_eq(run_serve(help_args, output, sizeof output), 0);
    static const char *const flags[] = {
        "--listen=", "--probe-listen=", "--tls-cert=", "--tls-key=", "--mode=", "--mutate-action=",
        "--exempt-namespaces=", "--max-body-bytes=", "--max-buffered-bytes=", "--log-format=", "--log-level=",
        "--connection-timeout=", "--connection-limit=", "--threads=", "--kubeconfig=",
        "--leader-elect[", "--lease-name=", "--lease-namespace=",
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        cr_assert_not_null(strstr(output, flags[i]), "--help does not list %s", flags[i]);
    cr_assert_not_null(strstr(output, "(IG_LISTEN)"));
    cr_assert_not_null(strstr(output, "Default: :8443"));
    cr_assert_not_null(strstr(output, "Default: 7340032"));
}

Test(transport, rejection_logs_limited)
{
    struct server server;
    start_server(&server, "log-limit", NULL);
    CURL *curl = curl_easy_init();
    struct reply reply;
    enum { REQUESTS = 200 };
    for (int i = 0; i < REQUESTS; i++) {
        request_method(curl, &server, "GET", "/scan", &reply);
        cr_assert_eq(reply.status, 404);
        reply_free(&reply);
    }
    curl_easy_cleanup(curl);
    cr_assert_eq(metric_value(&server, "immutable_guard_http_errors_total{code=\"404\"}"), REQUESTS);
    stop_server_cleanly(&server);

    char *log = server_log(&server);
    int lines = 0;
    for (const char *p = log; (p = strstr(p, "\"msg\":\"request rejected\"")); p++)
        lines++;
    free(log);
    cr_assert_gt(lines, 0);
    cr_assert_lt(lines, REQUESTS, "every rejection was logged (%d lines)", lines);
}

Test(transport, expect_continue_413)
{
    const char *const extra[] = {"--max-body-bytes", "4096", NULL};
    struct server server;
    start_server(&server, "expect", extra);
    CURL *curl = curl_easy_init();
    struct reply reply;
    char url[256];
    webhook_url(&server, "/validate", url, sizeof url);

    size_t size = 8 * 1024 * 1024;
    char *big = malloc(size);
    cr_assert_not_null(big);
    memset(big, ' ', size);
    memset(&reply, 0, sizeof reply);
    curl_easy_reset(curl);
    char ca[1024];
    cert_set_path("a", "ca.crt", ca, sizeof ca);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CAINFO, ca);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply);
    /* Wait long for "100 Continue", so that an upload means the server asked for it. */
    curl_easy_setopt(curl, CURLOPT_EXPECT_100_TIMEOUT_MS, 10000L);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect: 100-continue");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, big);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)size);
    perform(curl, &reply, headers);

    assert_status_body(&reply, 413, "RequestEntityTooLarge");
    curl_off_t uploaded = -1;
    curl_easy_getinfo(curl, CURLINFO_SIZE_UPLOAD_T, &uploaded);
    cr_assert_eq(uploaded, 0, "the client sent %ld body bytes before the 413", (long)uploaded);
    reply_free(&reply);
    free(big);
    curl_easy_cleanup(curl);
    stop_server_cleanly(&server);
}

/* Run `openssl s_client` with one protocol version; return its exit code. */
static int handshake_with(const struct server *server, const char *version_flag)
{
    char ca[1024];
    char command[2048];
    cert_set_path("a", "ca.crt", ca, sizeof ca);
    /* SECLEVEL=0 lets the client offer TLS 1.1 at all; the server must refuse it. */
    snprintf(command, sizeof command,
             "openssl s_client -connect 127.0.0.1:%u %s -cipher 'DEFAULT@SECLEVEL=0' "
             "-CAfile '%s' -verify_return_error </dev/null >/dev/null 2>&1",
             server->port, version_flag, ca);
    int status = system(command);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(transport, tls_versions)
{
    struct server server;
    start_server(&server, "tls-versions", NULL);
    cr_assert_eq(handshake_with(&server, "-tls1_3"), 0, "TLS 1.3 failed");
    cr_assert_eq(handshake_with(&server, "-tls1_2"), 0, "TLS 1.2 failed");
    cr_assert_neq(handshake_with(&server, "-tls1_1"), 0, "TLS 1.1 was accepted");
    cr_assert_neq(handshake_with(&server, "-tls1"), 0, "TLS 1.0 was accepted");
    stop_server_cleanly(&server);
}

/* A valid review of about 1 MiB: a ConfigMap whose one value is that long. */
static char *large_review(size_t value_length)
{
    const char *marker = "\"a\":\"b\"";
    const char *at = strstr(review_v1, marker);
    cr_assert_not_null(at);
    size_t prefix = (size_t)(at - review_v1);
    size_t suffix = strlen(at + strlen(marker));
    char *text = malloc(prefix + value_length + suffix + 16);
    cr_assert_not_null(text);
    memcpy(text, review_v1, prefix);
    size_t used = prefix;
    memcpy(text + used, "\"a\":\"", 5);
    used += 5;
    memset(text + used, 'x', value_length);
    used += value_length;
    text[used++] = '"';
    memcpy(text + used, at + strlen(marker), suffix + 1);
    return text;
}

Test(transport, large_body_accepted)
{
    struct server server;
    start_server(&server, "large", NULL);
    char *body = large_review(1024 * 1024);
    CURL *curl = curl_easy_init();
    struct reply reply;

    post(curl, "a", &server, "/validate", "application/json", body, strlen(body), &reply);
    assert_allowed_review(&reply);
    reply_free(&reply);

    char url[256];
    webhook_url(&server, "/validate", url, sizeof url);
    struct curl_slist *headers = prepare(curl, "a", url, "application/json", &reply);
    headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, -1L);
    perform(curl, &reply, headers);
    assert_allowed_review(&reply);
    reply_free(&reply);

    curl_easy_cleanup(curl);
    free(body);
    stop_server_cleanly(&server);
}

/* ---------- the policy case table through the real server ---------- */

/* One server configuration and the expectation keys its replies are checked against. */
struct table_server {
    const char *name;
    const char *mode;
    const char *mutate_action;
    const char *validate_key; /* key in a case's "expect", or NULL */
    const char *mutate_key;
    struct server server;
    CURL *curl;
    FILE *patches; /* JSON lines for apply-patches.mjs */
    size_t *patch_count;
};

/* Check that a reply has the shape of the expected decision. */
static void assert_decision_shape(const char *case_name, const char *key, const char *decision,
                                  const cJSON *response)
{
    bool allowed = cJSON_IsTrue(cJSON_GetObjectItem(response, "allowed"));
    const cJSON *patch = cJSON_GetObjectItem(response, "patch");
    const cJSON *warnings = cJSON_GetObjectItem(response, "warnings");
    if (strcmp(decision, "denied") == 0) {
        cr_assert_not(allowed, "%s [%s]: not denied", case_name, key);
        const cJSON *status = cJSON_GetObjectItem(response, "status");
        cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(status, "code")), 403,
                     "%s [%s]: denial without code 403", case_name, key);
    } else {
        cr_assert(allowed, "%s [%s]: expected %s but not allowed", case_name, key, decision);
    }
    if (strcmp(decision, "patched") == 0) {
        cr_assert(cJSON_IsString(patch), "%s [%s]: no patch", case_name, key);
        cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(response, "patchType")),
                         "JSONPatch", "%s [%s]", case_name, key);
    } else {
        cr_assert_null(patch, "%s [%s]: unexpected patch", case_name, key);
    }
    if (strcmp(decision, "warned") == 0)
        cr_assert(cJSON_GetArraySize(warnings) > 0, "%s [%s]: no warnings", case_name, key);
}

static void assert_texts_in(const char *case_name, const cJSON *expected, const char *actual)
{
    const cJSON *text = NULL;
    cJSON_ArrayForEach(text, expected)
    {
        cr_assert_not_null(strstr(actual, cJSON_GetStringValue(text)), "%s: \"%s\" not in: %s",
                           case_name, cJSON_GetStringValue(text), actual);
    }
}

/* Send one case to one webhook of one server and check the reply. */
static void run_table_case(struct table_server *target, const cJSON *table_case, const char *path,
                           const char *key)
{
    const char *case_name = cJSON_GetStringValue(cJSON_GetObjectItem(table_case, "name"));
    const char *decision =
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(table_case, "expect"), key));
    cr_assert_not_null(decision, "%s: no expectation for %s", case_name, key);
    const cJSON *request = cJSON_GetObjectItem(table_case, "review");
    char *body = cJSON_PrintUnformatted(request);
    cr_assert_not_null(body);

    struct reply reply;
    post(target->curl, "a", &target->server, path, "application/json", body, strlen(body),
         &reply);
    free(body);
    cr_assert_eq(reply.result, CURLE_OK, "%s [%s]: %s", case_name, key,
                 curl_easy_strerror(reply.result));
    cr_assert_eq(reply.status, 200, "%s [%s]: HTTP %ld %s", case_name, key, reply.status,
                 reply.body ? reply.body : "");
    cJSON *review = cJSON_Parse(reply.body);
    cr_assert_not_null(review, "%s [%s]: reply is not JSON", case_name, key);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(review, "apiVersion")),
                     cJSON_GetStringValue(cJSON_GetObjectItem(request, "apiVersion")), "%s",
                     case_name);
    const cJSON *response = cJSON_GetObjectItem(review, "response");
    const char *uid = cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(request, "request"), "uid"));
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(response, "uid")), uid, "%s",
                     case_name);
    assert_decision_shape(case_name, key, decision, response);

    /* Keep each patch with its input for the independent RFC 6902 check. */
    const cJSON *patch = cJSON_GetObjectItem(response, "patch");
    if (cJSON_IsString(patch) && target->patches) {
        record_patch(target->patches, case_name, target->mutate_action,
                     cJSON_GetObjectItem(cJSON_GetObjectItem(request, "request"), "object"),
                     cJSON_GetStringValue(patch));
        (*target->patch_count)++;
    }

    const cJSON *message_texts = cJSON_GetObjectItem(table_case, "message_contains");
    if (message_texts && strcmp(decision, "denied") == 0) {
        const char *message = cJSON_GetStringValue(
            cJSON_GetObjectItem(cJSON_GetObjectItem(response, "status"), "message"));
        assert_texts_in(case_name, message_texts, message ? message : "");
    }
    const cJSON *warning_texts = cJSON_GetObjectItem(table_case, "warning_contains");
    if (warning_texts && strcmp(key, "validate:warn") == 0) {
        char joined[4096] = "";
        const cJSON *warning = NULL;
        cJSON_ArrayForEach(warning, cJSON_GetObjectItem(response, "warnings"))
        {
            size_t used = strlen(joined);
            snprintf(joined + used, sizeof joined - used, "%s\n", cJSON_GetStringValue(warning));
        }
        assert_texts_in(case_name, warning_texts, joined);
    }
    cJSON_Delete(review);
    reply_free(&reply);
}

/* The logged decision of (uid, webhook), or NULL. The caller frees it. */
static char *logged_decision(const char *log, const char *uid, const char *webhook)
{
    for (const char *line = log; line && *line;) {
        const char *end = strchr(line, '\n');
        if (!end)
            break;
        size_t length = (size_t)(end - line);
        /* Dry-run decisions log as "admission decision (dry run)". */
        static const char decision_line[] = "\"msg\":\"admission decision";
        if (memmem(line, length, uid, strlen(uid)) &&
            memmem(line, length, decision_line, sizeof decision_line - 1)) {
            cJSON *entry = cJSON_ParseWithLength(line, length);
            const char *entry_uid = cJSON_GetStringValue(cJSON_GetObjectItem(entry, "uid"));
            const char *entry_webhook = cJSON_GetStringValue(cJSON_GetObjectItem(entry, "webhook"));
            const char *decision = cJSON_GetStringValue(cJSON_GetObjectItem(entry, "decision"));
            char *found = NULL;
            if (entry_uid && entry_webhook && decision && strcmp(entry_uid, uid) == 0 &&
                strcmp(entry_webhook, webhook) == 0)
                found = strdup(decision);
            cJSON_Delete(entry);
            if (found)
                return found;
        }
        line = end + 1;
    }
    return NULL;
}

Test(transport, policy_table_end_to_end, .timeout = 300)
{
    size_t length = 0;
    char *text = fixture_text("policy-cases.json", &length);
    cJSON *table = cJSON_ParseWithLength(text, length);
    free(text);
    cr_assert_not_null(table);
    const cJSON *cases = cJSON_GetObjectItem(table, "cases");
    cr_assert_gt(cJSON_GetArraySize(cases), 30, "the case table is too small");

    char exempt[512] = "";
    const cJSON *name = NULL;
    cJSON_ArrayForEach(name, cJSON_GetObjectItem(table, "exempt_namespaces"))
    {
        size_t used = strlen(exempt);
        snprintf(exempt + used, sizeof exempt - used, "%s%s", used ? "," : "",
                 cJSON_GetStringValue(name));
    }

    char patches_path[1024];
    snprintf(patches_path, sizeof patches_path, "%s/patches-%d.jsonl", env_or_fail("IG_E2E_WORK"),
             (int)getpid());
    FILE *patches = fopen(patches_path, "w");
    cr_assert_not_null(patches);
    size_t patch_count = 0;

    struct table_server servers[] = {
        {"table-enforce", "enforce", "annotate", "validate:enforce", "mutate:annotate", {0}, NULL,
         patches, &patch_count},
        {"table-warn", "warn", "set-mutable", "validate:warn", "mutate:set-mutable", {0}, NULL,
         patches, &patch_count},
        {"table-audit", "audit", "annotate", "validate:audit", NULL, {0}, NULL, patches,
         &patch_count},
    };
    size_t server_count = sizeof servers / sizeof servers[0];
    for (size_t i = 0; i < server_count; i++) {
        const char *const extra[] = {"--mode", servers[i].mode, "--mutate-action",
                                     servers[i].mutate_action, "--exempt-namespaces", exempt,
                                     NULL};
        start_server(&servers[i].server, servers[i].name, extra);
        servers[i].curl = curl_easy_init();
    }

    const cJSON *table_case = NULL;
    cJSON_ArrayForEach(table_case, cases)
    {
        for (size_t i = 0; i < server_count; i++) {
            run_table_case(&servers[i], table_case, "/validate?timeout=10s",
                           servers[i].validate_key);
            if (servers[i].mutate_key)
                run_table_case(&servers[i], table_case, "/mutate?timeout=10s",
                               servers[i].mutate_key);
        }
    }

    /* Every decision is in the audit log, as expected. */
    for (size_t i = 0; i < server_count; i++) {
        curl_easy_cleanup(servers[i].curl);
        stop_server_cleanly(&servers[i].server);
        char *log = server_log(&servers[i].server);
        cJSON_ArrayForEach(table_case, cases)
        {
            const char *case_name = cJSON_GetStringValue(cJSON_GetObjectItem(table_case, "name"));
            const cJSON *expect = cJSON_GetObjectItem(table_case, "expect");
            const char *uid = cJSON_GetStringValue(cJSON_GetObjectItem(
                cJSON_GetObjectItem(cJSON_GetObjectItem(table_case, "review"), "request"),
                "uid"));
            const char *keys[] = {servers[i].validate_key, servers[i].mutate_key};
            const char *webhooks[] = {"validate", "mutate"};
            for (size_t k = 0; k < 2; k++) {
                if (!keys[k])
                    continue;
                char *decision = logged_decision(log, uid, webhooks[k]);
                cr_assert_not_null(decision, "%s [%s]: no audit line", case_name, keys[k]);
                cr_assert_str_eq(decision, cJSON_GetStringValue(cJSON_GetObjectItem(expect, keys[k])),
                                 "%s [%s]: logged decision", case_name, keys[k]);
                free(decision);
            }
        }
        free(log);
    }
    cJSON_Delete(table);

    fclose(patches);
    assert_patches_apply(patches_path, patch_count);
}

Test(transport, error_with_large_body)
{
    const char *const extra[] = {"--max-body-bytes", "4096", NULL};
    struct server server;
    start_server(&server, "error-large-body", extra);
    CURL *curl = curl_easy_init();
    struct reply reply;

    /* Under the limit, the body is read and dropped and the connection stays. */
    char small[2048];
    memset(small, ' ', sizeof small);
    post(curl, "a", &server, "/nope", "application/json", small, sizeof small, &reply);
    assert_status_body(&reply, 404, "NotFound");
    reply_free(&reply);
    post(curl, "a", &server, "/validate", "text/plain", small, sizeof small, &reply);
    assert_status_body(&reply, 415, "UnsupportedMediaType");
    cr_assert_eq(reply.new_connections, 0, "the connection closed after the 404");
    reply_free(&reply);

    /* Past the limit, the error goes out at once and the connection closes. */
    size_t size = 8 * 1024 * 1024;
    char *big = malloc(size);
    cr_assert_not_null(big);
    memset(big, ' ', size);
    post(curl, "a", &server, "/nope", "application/json", big, size, &reply);
    assert_status_body(&reply, 404, "NotFound");
    reply_free(&reply);
    free(big);

    curl_easy_cleanup(curl);
    cr_assert_eq(metric_value(&server, "immutable_guard_http_errors_total{code=\"404\"}"), 2);
    cr_assert_eq(metric_value(&server, "immutable_guard_http_errors_total{code=\"415\"}"), 1);
    stop_server_cleanly(&server);
}

Test(transport, exempt_namespaces_trimmed)
{
    /* The seed review is in namespace "default"; spaces and empty items are ignored. */
    const char *const extra[] = {"--exempt-namespaces", " kube-system , default ,,", NULL};
    struct server server;
    start_server(&server, "exempt", extra);
    cJSON *review = NULL;
    const cJSON *response = review_fixture(&server, "/validate?timeout=10s",
                                           "external-secret-v2.create.json", &review);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(response, "allowed")),
              "a violation in an exempt namespace was denied");
    cJSON_Delete(review);
    stop_server_cleanly(&server);

    const char *const other[] = {"--exempt-namespaces", "defaul,default-x", NULL};
    start_server(&server, "not-exempt", other);
    response = review_fixture(&server, "/validate", "external-secret-v2.create.json", &review);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(response, "allowed")),
              "a namespace matched by prefix only was exempt");
    cJSON_Delete(review);
    stop_server_cleanly(&server);
}

Test(transport, shutdown_grace_expires)
{
    const char *const extra[] = {"--shutdown-grace", "1", NULL};
    struct server server;
    start_server(&server, "grace", extra);
    struct slow_request slow;
    memset(&slow, 0, sizeof slow);
    slow.server = &server;
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, run_slow_request, &slow), 0);

    double deadline = now_s() + 10;
    while (metric_value(&server, "immutable_guard_requests_in_flight") < 1 && now_s() < deadline)
        sleep_ms(20);
    cr_assert_eq(metric_value(&server, "immutable_guard_requests_in_flight"), 1);

    /* The request never finishes its body: the server gives up after 1 s. */
    double started = now_s();
    cr_assert_eq(kill(server.pid, SIGTERM), 0);
    cr_assert(reap(&server, 10), "the server did not stop after its grace period");
    double stopped_after = now_s() - started;
    cr_assert_geq(stopped_after, 0.9, "stopped after %.2f s, before the grace period", stopped_after);
    cr_assert_lt(stopped_after, 5.0);
    cr_assert(WIFEXITED(server.exit_status));
    cr_assert_eq(WEXITSTATUS(server.exit_status), 0);

    atomic_store(&slow.release, true);
    pthread_join(thread, NULL);
    cr_assert_neq(slow.reply.result, CURLE_OK, "the cut request still got a reply");
    reply_free(&slow.reply);
    cr_assert(log_contains(&server, "shutdown grace period ended with requests still in flight"));
}

/* Hand curl the review 10 bytes at a time, 200 ms apart (about 18 s in all). */
struct trickle {
    size_t offset;
};

static size_t read_trickle(char *buffer, size_t size, size_t count, void *user)
{
    struct trickle *trickle = user;
    size_t total = strlen(review_v1);
    sleep_ms(200);
    size_t length = total - trickle->offset;
    if (length > 10)
        length = 10;
    if (length > size * count)
        length = size * count;
    memcpy(buffer, review_v1 + trickle->offset, length);
    trickle->offset += length;
    return length;
}

Test(transport, slow_body_cut)
{
    const char *const extra[] = {"--connection-timeout", "2", NULL};
    struct server server;
    start_server(&server, "slow-body", extra);
    CURL *curl = curl_easy_init();
    struct reply reply;
    char url[256];
    webhook_url(&server, "/validate", url, sizeof url);

    struct trickle trickle = {0};
    struct curl_slist *headers = prepare(curl, "a", url, "application/json", &reply);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(review_v1));
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_trickle);
    curl_easy_setopt(curl, CURLOPT_READDATA, &trickle);
    double started = now_s();
    perform(curl, &reply, headers);
    double took = now_s() - started;

    cr_assert_neq(reply.result, CURLE_OK, "a body trickled over 18 s was accepted");
    cr_assert_lt(took, 8.0, "the slow body held its connection for %.1f s", took);
    cr_assert_lt(trickle.offset, strlen(review_v1));
    reply_free(&reply);
    curl_easy_cleanup(curl);
    double slow_bodies = metric_value(&server, "immutable_guard_slow_bodies_total");
    cr_assert_eq(slow_bodies, 1, "slow bodies counted: %g", slow_bodies);

    /* A normal request is still served. */
    curl = curl_easy_init();
    post(curl, "a", &server, "/validate", "application/json", review_v1, strlen(review_v1),
         &reply);
    assert_allowed_review(&reply);
    reply_free(&reply);
    curl_easy_cleanup(curl);
    stop_server_cleanly(&server);
}

/* ---------- header deadline ---------- */

/* A TLS client on a raw socket, for requests that curl cannot send slowly
 * enough: headers one byte at a time. The server's certificate is not
 * verified; these tests are about timing, not trust. */
struct tls_client {
    int fd;
    gnutls_session_t session;
    gnutls_certificate_credentials_t credentials;
    bool closed; /* the server ended the connection */
};

/* Client transport that sleeps before every send after the first (the
 * ClientHello), so the server waits about pause_ms for the client's Finished. */
struct paced_transport {
    int fd;
    long pause_ms;
    unsigned sends;
};

static ssize_t paced_push(gnutls_transport_ptr_t context, const void *data, size_t length)
{
    struct paced_transport *transport = context;
    if (transport->sends++ > 0)
        sleep_ms(transport->pause_ms);
    return send(transport->fd, data, length, MSG_NOSIGNAL);
}

static ssize_t paced_pull(gnutls_transport_ptr_t context, void *data, size_t length)
{
    struct paced_transport *transport = context;
    return recv(transport->fd, data, length, 0);
}

/* Wait up to timeout_ms for data, as gnutls_handshake_set_timeout requires. */
static int paced_pull_timeout(gnutls_transport_ptr_t context, unsigned timeout_ms)
{
    struct paced_transport *transport = context;
    struct pollfd entry = {.fd = transport->fd, .events = POLLIN};
    return poll(&entry, 1, timeout_ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)timeout_ms);
}

/* Connect and complete the TLS handshake. With pacing, the client's sends go
 * through paced_push. */
static void tls_client_open_paced(const struct server *server, struct tls_client *client,
                                  struct paced_transport *pacing)
{
    memset(client, 0, sizeof *client);
    client->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(client->fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)server->port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(client->fd, (struct sockaddr *)&address, sizeof address), 0,
                 "connect to port %u: %s", server->port, strerror(errno));

    cr_assert_eq(gnutls_certificate_allocate_credentials(&client->credentials), GNUTLS_E_SUCCESS);
    cr_assert_eq(gnutls_init(&client->session, GNUTLS_CLIENT), GNUTLS_E_SUCCESS);
    cr_assert_eq(gnutls_set_default_priority(client->session), GNUTLS_E_SUCCESS);
    cr_assert_eq(gnutls_credentials_set(client->session, GNUTLS_CRD_CERTIFICATE,
                                        client->credentials),
                 GNUTLS_E_SUCCESS);
    if (pacing) {
        pacing->fd = client->fd;
        gnutls_transport_set_ptr(client->session, pacing);
        gnutls_transport_set_push_function(client->session, paced_push);
        gnutls_transport_set_pull_function(client->session, paced_pull);
        gnutls_transport_set_pull_timeout_function(client->session, paced_pull_timeout);
    } else {
        gnutls_transport_set_int(client->session, client->fd);
    }
    gnutls_handshake_set_timeout(client->session, 10000);
    int status;
    do {
        status = gnutls_handshake(client->session);
    } while (status < 0 && gnutls_error_is_fatal(status) == 0);
    cr_assert_eq(status, GNUTLS_E_SUCCESS, "TLS handshake failed: %s", gnutls_strerror(status));
}

/* CPU time (user + system) the process has used so far, in seconds. */
static double process_cpu_s(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    char *text = read_text(path, NULL);
    cr_assert_not_null(text, "cannot read %s", path);
    /* Fields after the command name, which is in parentheses: state is
     * field 3, utime field 14 and stime field 15. */
    const char *rest = strrchr(text, ')');
    cr_assert_not_null(rest);
    unsigned long long user_ticks = 0;
    unsigned long long system_ticks = 0;
    int matched = sscanf(rest + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                         &user_ticks, &system_ticks);
    free(text);
    cr_assert_eq(matched, 2, "cannot parse %s", path);
    return (double)(user_ticks + system_ticks) / (double)sysconf(_SC_CLK_TCK);
}

static void tls_client_open(const struct server *server, struct tls_client *client)
{
    tls_client_open_paced(server, client, NULL);
}

static void tls_client_close(struct tls_client *client)
{
    gnutls_deinit(client->session);
    gnutls_certificate_free_credentials(client->credentials);
    close(client->fd);
}

/* Send all of data; returns false once the server has closed the connection. */
static bool tls_client_send(struct tls_client *client, const char *data, size_t length)
{
    size_t sent = 0;
    while (sent < length) {
        ssize_t written = gnutls_record_send(client->session, data + sent, length - sent);
        if (written == GNUTLS_E_AGAIN || written == GNUTLS_E_INTERRUPTED)
            continue;
        if (written < 0) {
            client->closed = true;
            return false;
        }
        sent += (size_t)written;
    }
    return true;
}

/* Wait up to timeout_ms for the server to end the connection; returns true
 * when it did. Data from the server (a reply) does not count as the end. */
static bool tls_client_wait_closed(struct tls_client *client, int timeout_ms)
{
    if (client->closed)
        return true;
    struct pollfd entry = {.fd = client->fd, .events = POLLIN};
    if (gnutls_record_check_pending(client->session) == 0 && poll(&entry, 1, timeout_ms) <= 0)
        return false;
    char buffer[4096];
    ssize_t received = gnutls_record_recv(client->session, buffer, sizeof buffer);
    if (received == GNUTLS_E_AGAIN || received == GNUTLS_E_INTERRUPTED || received > 0)
        return false;
    client->closed = true;
    return true;
}

/* Read the reply's status line and headers; returns the status code or -1. */
static int tls_client_read_status(struct tls_client *client)
{
    char reply[8192];
    size_t length = 0;
    double deadline = now_s() + 10;
    while (length < sizeof reply - 1 && now_s() < deadline) {
        ssize_t received = gnutls_record_recv(client->session, reply + length,
                                              sizeof reply - 1 - length);
        if (received == GNUTLS_E_AGAIN || received == GNUTLS_E_INTERRUPTED)
            continue;
        if (received <= 0)
            break;
        length += (size_t)received;
        reply[length] = '\0';
        if (strstr(reply, "\r\n\r\n"))
            break;
    }
    reply[length] = '\0';
    int code = -1;
    if (sscanf(reply, "HTTP/1.1 %d", &code) != 1)
        return -1;
    return code;
}

/* The request line and headers of a valid review, for the trickling clients. */
static void review_request_head(char *out, size_t size)
{
    snprintf(out, size,
             "POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n",
             strlen(review_v1));
}

Test(transport, header_trickle_cut)
{
    signal(SIGPIPE, SIG_IGN);
    const char *const extra[] = {"--connection-timeout", "3", NULL};
    struct server server;
    start_server(&server, "header-trickle", extra);
    char head[512];
    review_request_head(head, sizeof head);

    double started = now_s();
    struct tls_client client;
    tls_client_open(&server, &client);
    size_t offset = 0;
    while (now_s() - started < 15 && offset < strlen(head)) {
        if (!tls_client_send(&client, head + offset, 1))
            break;
        offset++;
        if (tls_client_wait_closed(&client, 1000))
            break;
    }
    double took = now_s() - started;
    tls_client_close(&client);

    cr_assert(client.closed, "a client sending 1 header byte per second was still connected "
                             "after %.1f s with a 3 s timeout", took);
    cr_assert_geq(took, 2.5, "the connection was cut after %.1f s, before the 3 s timeout", took);
    cr_assert_leq(took, 6.0, "the connection was cut only after %.1f s with a 3 s timeout", took);
    cr_assert_lt(offset, strlen(head), "all header bytes were sent");
    cr_assert_eq(metric_value(&server, "immutable_guard_slow_requests_total"), 1);
    assert_logged_soon(&server, "request headers not complete within the connection timeout");

    /* A normal request is still served. */
    CURL *curl = curl_easy_init();
    struct reply reply;
    post(curl, "a", &server, "/validate", "application/json", review_v1, strlen(review_v1),
         &reply);
    assert_allowed_review(&reply);
    reply_free(&reply);
    curl_easy_cleanup(curl);
    stop_server_cleanly(&server);
}

/* A body byte every 2.5 s never lets libmicrohttpd's 3 s idle timeout fire,
 * and the body check at each byte would only see the limit passed at the
 * second byte, 5 s in. The body deadline cuts it at 3 s, checked once a
 * second. */
Test(transport, body_trickle_cut_at_timeout)
{
    signal(SIGPIPE, SIG_IGN);
    const char *const extra[] = {"--connection-timeout", "3", NULL};
    struct server server;
    start_server(&server, "body-trickle", extra);
    char head[512];
    review_request_head(head, sizeof head);

    struct tls_client client;
    tls_client_open(&server, &client);
    cr_assert(tls_client_send(&client, head, strlen(head)));
    cr_assert(tls_client_send(&client, review_v1, 10));
    double started = now_s();
    size_t offset = 10;
    while (now_s() - started < 12 && !tls_client_wait_closed(&client, 2500)) {
        if (!tls_client_send(&client, review_v1 + offset, 1))
            break;
        offset++;
    }
    double took = now_s() - started;
    tls_client_close(&client);

    cr_assert(client.closed, "a body trickling one byte every 2.5 s was still open after %.1f s",
              took);
    cr_assert_geq(took, 2.9, "the body was cut after %.1f s, before the 3 s timeout", took);
    cr_assert_leq(took, 4.6, "the body was cut only after %.1f s with a 3 s timeout", took);
    cr_assert_eq(metric_value(&server, "immutable_guard_slow_bodies_total"), 1);
    assert_logged_soon(&server, "request body not complete within the connection timeout");
    stop_server_cleanly(&server);
}

/* A TLS handshake whose ClientHello arrives one byte per second ends within
 * the timeout too. Both the header deadline (from accept) and
 * libmicrohttpd's own handshake timeout fire at about 3 s, so the test does
 * not check which one closed it. */
Test(transport, hello_trickle_cut)
{
    const char *const extra[] = {"--connection-timeout", "3", NULL};
    struct server server;
    start_server(&server, "hello-trickle", extra);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)server.port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    double started = now_s();
    cr_assert_eq(connect(fd, (struct sockaddr *)&address, sizeof address), 0, "connect: %s",
                 strerror(errno));

    /* A handshake record header that announces 512 bytes, then a byte a second. */
    static const unsigned char record_header[] = {0x16, 0x03, 0x01, 0x02, 0x00};
    cr_assert_eq(send(fd, record_header, sizeof record_header, MSG_NOSIGNAL),
                 (ssize_t)sizeof record_header);
    bool closed = false;
    while (!closed && now_s() - started < 15) {
        struct pollfd entry = {.fd = fd, .events = POLLIN};
        if (poll(&entry, 1, 1000) > 0) {
            char buffer[256];
            closed = recv(fd, buffer, sizeof buffer, 0) <= 0;
            continue;
        }
        static const unsigned char filler = 0x01;
        if (send(fd, &filler, 1, MSG_NOSIGNAL) != 1)
            closed = true;
    }
    double took = now_s() - started;
    close(fd);

    cr_assert(closed, "a ClientHello sent one byte per second was still open after %.1f s", took);
    cr_assert_geq(took, 2.5, "the connection was cut after %.1f s, before the 3 s timeout", took);
    cr_assert_leq(took, 6.0, "the connection was cut only after %.1f s with a 3 s timeout", took);
    stop_server_cleanly(&server);
}

/* Send a review on a raw TLS connection and return what the first
 * gnutls_record_recv() gives, which is at most one TLS record. */
static size_t first_record_of_reply(struct tls_client *client, const char *extra_header,
                                    const char *review, char *out, size_t size)
{
    char head[512];
    int length = snprintf(head, sizeof head,
                          "POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\n%s"
                          "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                          extra_header, strlen(review));
    cr_assert_lt(length, (int)sizeof head);
    cr_assert(tls_client_send(client, head, (size_t)length), "the server closed the connection");
    cr_assert(tls_client_send(client, review, strlen(review)), "the server closed the connection");
    ssize_t received;
    do {
        received = gnutls_record_recv(client->session, out, size - 1);
    } while (received == GNUTLS_E_AGAIN || received == GNUTLS_E_INTERRUPTED);
    cr_assert_gt(received, 0, "no reply: %s", gnutls_strerror((int)received));
    out[received] = '\0';
    return (size_t)received;
}

/* The reply's headers and body arrive in one TLS record, on keep-alive and
 * on Connection: close, so the client decrypts and reads once. The replies
 * are not held back either: a socket left with TCP_CORK set sends a reply
 * shorter than a segment only when Linux's 200 ms cork timer fires. */
Test(transport, reply_in_one_tls_record)
{
    struct server server;
    start_server(&server, "one-record", NULL);
    struct tls_client client;
    tls_client_open(&server, &client);
    char record[16384 + 1];
    int held_back = 0;
    enum { KEEP_ALIVE_REQUESTS = 10 };

    for (int i = 0; i < KEEP_ALIVE_REQUESTS; i++) {
        double started = now_s();
        size_t length = first_record_of_reply(&client, "", review_v1, record, sizeof record);
        if (now_s() - started >= 0.18)
            held_back++;
        const char *body = strstr(record, "\r\n\r\n");
        cr_assert_not_null(body, "request %d: the first record holds no complete header", i);
        body += 4;
        const char *declared = strstr(record, "Content-Length:");
        cr_assert_not_null(declared);
        unsigned long content_length = strtoul(declared + strlen("Content-Length:"), NULL, 10);
        cr_assert_eq((size_t)(record + length - body), content_length,
                     "request %d: the first record holds %zu of %lu body bytes", i,
                     (size_t)(record + length - body), content_length);
        cr_assert_not_null(strstr(body, "\"allowed\":true"));
    }
    /* One slow reply can come from the machine's load, but a corked socket
     * delays every reply. */
    cr_assert_leq(held_back, 2, "%d of %d keep-alive replies took 180 ms or more", held_back,
                  (int)KEEP_ALIVE_REQUESTS);

    size_t length = first_record_of_reply(&client, "Connection: close\r\n", review_v1, record,
                                          sizeof record);
    const char *body = strstr(record, "\r\n\r\n");
    cr_assert_not_null(body);
    cr_assert_not_null(strstr(body, "\"allowed\":true"), "reply before close: %.*s", (int)length,
                       record);
    cr_assert(tls_client_wait_closed(&client, 5000), "the connection stayed open after close");
    tls_client_close(&client);
    stop_server_cleanly(&server);
}

/* A reply too large to cork (a client's own 12,000-character uid makes one)
 * is sent the plain way, headers first, and still arrives whole. */
Test(transport, large_reply_not_corked)
{
    struct server server;
    start_server(&server, "large-reply", NULL);
    char uid[12001];
    memset(uid, 'u', sizeof uid - 1);
    uid[sizeof uid - 1] = '\0';
    cJSON *review = cJSON_Parse(review_v1);
    cr_assert_not_null(review);
    cJSON *request = cJSON_GetObjectItemCaseSensitive(review, "request");
    cJSON_ReplaceItemInObjectCaseSensitive(request, "uid", cJSON_CreateString(uid));
    char *body = cJSON_PrintUnformatted(review);
    cr_assert_not_null(body);

    struct tls_client client;
    tls_client_open(&server, &client);
    static char record[16384 + 1];
    size_t length = first_record_of_reply(&client, "", body, record, sizeof record);
    const char *end_of_headers = strstr(record, "\r\n\r\n");
    cr_assert_not_null(end_of_headers, "the first record holds no complete header");
    cr_assert_eq((size_t)(end_of_headers + 4 - record), length,
                 "the first record holds body bytes too: the large reply was corked");
    tls_client_close(&client);

    CURL *curl = curl_easy_init();
    struct reply reply;
    for (int i = 0; i < 2; i++) {
        post(curl, "a", &server, "/validate", "application/json", body, strlen(body), &reply);
        cr_assert_eq(reply.status, 200);
        cJSON *parsed = cJSON_Parse(reply.body);
        cr_assert_not_null(parsed, "reply is not JSON: %.200s", reply.body);
        const cJSON *response = cJSON_GetObjectItemCaseSensitive(parsed, "response");
        cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(response, "uid")->valuestring, uid);
        cJSON_Delete(parsed);
        reply_free(&reply);
    }
    curl_easy_cleanup(curl);
    cJSON_free(body);
    cJSON_Delete(review);
    stop_server_cleanly(&server);
}

/* A client that pipelines requests and never reads its replies fills the
 * socket buffers. The server then shuts that connection down instead of
 * waiting on it, and other clients are still served. */
Test(transport, pipelining_client_that_never_reads)
{
    struct server server;
    start_server(&server, "pipeline", NULL);
    struct tls_client client;
    tls_client_open(&server, &client);
    /* A short send timeout, so that a server which stopped reading without
     * closing fails the test instead of hanging it. */
    struct timeval send_timeout = {.tv_sec = 10};
    setsockopt(client.fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);

    char request[4096];
    int length = snprintf(request, sizeof request,
                          "POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                          strlen(review_v1), review_v1);
    cr_assert_lt(length, (int)sizeof request);
    int sent = 0;
    bool stalled = false;
    double deadline = now_s() + 30;
    while (sent < 200000 && now_s() < deadline && !client.closed && !stalled) {
        double started = now_s();
        ssize_t written;
        do {
            written = gnutls_record_send(client.session, request, (size_t)length);
            /* Only a send that waited out its timeout means the server
             * stopped reading; an interrupted one is retried. */
            stalled = written == GNUTLS_E_AGAIN && now_s() - started >= 9;
        } while ((written == GNUTLS_E_AGAIN || written == GNUTLS_E_INTERRUPTED) && !stalled);
        if (written < 0 && !stalled)
            client.closed = true;
        else if (written >= 0)
            sent++;
    }
    cr_assert_not(stalled, "the server stopped reading after %d requests without closing", sent);
    cr_assert(client.closed, "the server still read after %d unread replies", sent);
    cr_log_info("the server shut the connection down after %d pipelined requests", sent);

    post_small_review(&server);
    tls_client_close(&client);
    stop_server_cleanly(&server);
}

Test(transport, keep_alive_idle_not_cut)
{
    const char *const extra[] = {"--connection-timeout", "3", NULL};
    struct server server;
    start_server(&server, "keepalive-idle", extra);
    CURL *curl = curl_easy_init();
    struct reply reply;

    for (int i = 0; i < 3; i++) {
        if (i > 0)
            sleep_ms(2500);
        post(curl, "a", &server, "/validate", "application/json", review_v1, strlen(review_v1),
             &reply);
        assert_allowed_review(&reply);
        cr_assert_eq(reply.new_connections, i == 0 ? 1 : 0,
                     "request %d after 2.5 s idle opened a new connection", i);
        reply_free(&reply);
    }
    curl_easy_cleanup(curl);
    cr_assert_eq(metric_value(&server, "immutable_guard_connections_total"), 1);

    /* Idle past the timeout: the idle timeout closes the connection, not the
     * header deadline. */
    double deadline = now_s() + 8;
    while (now_s() < deadline && metric_value(&server, "immutable_guard_connections_open") != 0)
        sleep_ms(200);
    cr_assert_eq(metric_value(&server, "immutable_guard_connections_open"), 0);
    sleep_ms(2500);
    cr_assert_eq(metric_value(&server, "immutable_guard_slow_requests_total"), 0,
                 "the header deadline cut an idle keep-alive connection");
    stop_server_cleanly(&server);
}

Test(transport, slow_headers_within_timeout)
{
    const char *const extra[] = {"--connection-timeout", "3", NULL};
    struct server server;
    start_server(&server, "slow-headers-ok", extra);
    char head[512];
    review_request_head(head, sizeof head);

    struct tls_client client;
    tls_client_open(&server, &client);
    /* The headers in 4 pieces, 0.5 s apart, then the body: about 2 s in all. */
    size_t length = strlen(head);
    size_t piece = length / 4 + 1;
    for (size_t offset = 0; offset < length; offset += piece) {
        size_t part = length - offset < piece ? length - offset : piece;
        cr_assert(tls_client_send(&client, head + offset, part), "the server closed at byte %zu",
                  offset);
        sleep_ms(500);
    }
    cr_assert(tls_client_send(&client, review_v1, strlen(review_v1)));
    cr_assert_eq(tls_client_read_status(&client), 200);
    tls_client_close(&client);
    cr_assert_eq(metric_value(&server, "immutable_guard_slow_requests_total"), 0);
    stop_server_cleanly(&server);
}

#define TRICKLER_COUNT 20

Test(transport, tricklers_do_not_block)
{
    signal(SIGPIPE, SIG_IGN);
    const char *const extra[] = {"--connection-timeout", "4", "--threads", "2", NULL};
    struct server server;
    start_server(&server, "tricklers", extra);
    char head[512];
    review_request_head(head, sizeof head);

    struct tls_client tricklers[TRICKLER_COUNT];
    for (int i = 0; i < TRICKLER_COUNT; i++) {
        tls_client_open(&server, &tricklers[i]);
        cr_assert(tls_client_send(&tricklers[i], head, 1));
    }
    double started = now_s();
    cr_assert_eq(metric_value(&server, "immutable_guard_connections_open"), TRICKLER_COUNT);

    /* While the tricklers send one byte a second, a good client is served,
     * on a kept-alive connection and on new ones. */
    CURL *kept = curl_easy_init();
    size_t offset = 1;
    int served = 0;
    while (now_s() - started < 2.5) {
        for (int i = 0; i < TRICKLER_COUNT; i++)
            tls_client_send(&tricklers[i], head + offset, 1);
        offset++;
        for (int round = 0; round < 4; round++) {
            double request_started = now_s();
            struct reply reply;
            post(kept, "a", &server, "/validate", "application/json", review_v1,
                 strlen(review_v1), &reply);
            assert_allowed_review(&reply);
            reply_free(&reply);
            CURL *fresh = curl_easy_init();
            post(fresh, "a", &server, "/validate", "application/json", review_v1,
                 strlen(review_v1), &reply);
            assert_allowed_review(&reply);
            reply_free(&reply);
            curl_easy_cleanup(fresh);
            double took = now_s() - request_started;
            cr_assert_lt(took, 1.0, "two requests took %.2f s next to %d tricklers", took,
                         TRICKLER_COUNT);
            served += 2;
            sleep_ms(200);
        }
    }
    curl_easy_cleanup(kept);
    cr_assert_geq(served, 8);

    /* Every trickler is cut within the timeout plus a margin. */
    int closed = 0;
    while (now_s() - started < 4 + 4 && closed < TRICKLER_COUNT) {
        closed = 0;
        for (int i = 0; i < TRICKLER_COUNT; i++) {
            if (!tricklers[i].closed)
                tls_client_send(&tricklers[i], head + offset, 1);
            if (tls_client_wait_closed(&tricklers[i], 0))
                closed++;
        }
        offset++;
        sleep_ms(1000);
    }
    for (int i = 0; i < TRICKLER_COUNT; i++)
        tls_client_close(&tricklers[i]);
    cr_assert_eq(closed, TRICKLER_COUNT, "%d of %d tricklers were cut within 8 s", closed,
                 TRICKLER_COUNT);
    cr_assert_eq(metric_value(&server, "immutable_guard_slow_requests_total"), TRICKLER_COUNT);
    stop_server_cleanly(&server);
}

/* In epoll mode, libmicrohttpd 0.9.75 busy-polls while a TLS handshake waits
 * for the client: epoll_wait with timeout 0, then recv returning EAGAIN. A
 * slow client then costs server CPU for as long as it takes. 20 handshakes whose
 * client pauses 50 ms before each send after its ClientHello cost the epoll
 * build 1.9 s of CPU, and the poll build under 0.25 s. */
#define PACED_HANDSHAKES 20

Test(transport, handshake_wait_no_spin)
{
    struct server server;
    start_server(&server, "handshake-wait", NULL);
    double cpu_before = process_cpu_s(server.pid);

    for (int i = 0; i < PACED_HANDSHAKES; i++) {
        struct tls_client client;
        struct paced_transport pacing = {.pause_ms = 50};
        tls_client_open_paced(&server, &client, &pacing);
        tls_client_close(&client);
    }

    double cpu_used = process_cpu_s(server.pid) - cpu_before;
    cr_assert_lt(cpu_used, 0.25,
                 "the server used %.2f s of CPU for %d handshakes that each waited 50 ms for "
                 "the client: it busy-polls while waiting",
                 cpu_used, PACED_HANDSHAKES);
    stop_server_cleanly(&server);
}

/* Voluntary context switches so far of the server thread named name, or -1
 * when no thread has that name. */
static long thread_switches(pid_t pid, const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *tasks = opendir(path);
    cr_assert_not_null(tasks, "cannot open %s", path);
    long switches = -1;
    struct dirent *task;
    while (switches < 0 && (task = readdir(tasks)) != NULL) {
        if (task->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/%d/task/%.20s/comm", (int)pid, task->d_name);
        char *comm = read_text(path, NULL);
        bool match = comm && strncmp(comm, name, strlen(name)) == 0 && comm[strlen(name)] == '\n';
        free(comm);
        if (!match)
            continue;
        snprintf(path, sizeof path, "/proc/%d/task/%.20s/status", (int)pid, task->d_name);
        char *status = read_text(path, NULL);
        const char *field = status ? strstr(status, "\nvoluntary_ctxt_switches:") : NULL;
        if (field)
            switches = strtol(field + strlen("\nvoluntary_ctxt_switches:"), NULL, 10);
        free(status);
    }
    closedir(tasks);
    return switches;
}

/* The header deadline sweeper wakes once a second while connections are
 * open, not once per connection: a wake-up per connection costs CPU at low
 * load, when one client opens a connection per request. */
Test(transport, sweeper_wakes_rarely)
{
    struct server server;
    start_server(&server, "sweeper-wakes", NULL);
    long before = thread_switches(server.pid, "ig-deadlines");
    cr_assert_geq(before, 0, "the server has no thread named ig-deadlines");

    const int connections = 40;
    double started = now_s();
    for (int i = 0; i < connections; i++) {
        CURL *curl = curl_easy_init();
        struct reply reply;
        post(curl, "a", &server, "/validate", "application/json", review_v1, strlen(review_v1),
             &reply);
        assert_allowed_review(&reply);
        reply_free(&reply);
        curl_easy_cleanup(curl);
    }
    double took = now_s() - started;
    long wakes = thread_switches(server.pid, "ig-deadlines") - before;

    /* Per second at most the timed sweep and one wake-up by the first
     * connection after an idle check, with 4 to spare. */
    long limit = (long)took * 2 + 4;
    cr_assert_leq(wakes, limit, "the sweeper woke %ld times for %d connections in %.1f s",
                  wakes, connections, took);
    stop_server_cleanly(&server);
}

/* ---------- the cap on buffered request bodies ---------- */

/* Two bodies of this size fill the cap below; a small review still fits. */
#define CAPPED_BODY_SIZE (1024 * 1024)
#define SMALL_REVIEW_ROOM (64 * 1024)

static void start_capped_server(struct server *server, const char *name)
{
    static char body_limit[32];
    static char buffer_limit[32];
    snprintf(body_limit, sizeof body_limit, "%d", CAPPED_BODY_SIZE);
    snprintf(buffer_limit, sizeof buffer_limit, "%d", 2 * CAPPED_BODY_SIZE + SMALL_REVIEW_ROOM);
    const char *const extra[] = {"--max-body-bytes", body_limit, "--max-buffered-bytes",
                                 buffer_limit, NULL};
    start_server(server, name, extra);
}

/* Wait up to 10 s for the reserved-bytes gauge to reach value; returns the
 * last value read. */
static double wait_reserved(const struct server *server, double value)
{
    double seen = -1;
    double deadline = now_s() + 10;
    while (now_s() < deadline) {
        seen = metric_value(server, "immutable_guard_body_bytes_reserved");
        if (seen == value)
            break;
        sleep_ms(20);
    }
    return seen;
}

/* Open a connection and send the headers of a review of body_length bytes
 * and the first sent bytes of body. */
static void send_partial_review(const struct server *server, struct tls_client *client,
                                const char *body, size_t body_length, size_t sent)
{
    char head[512];
    snprintf(head, sizeof head,
             "POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n",
             body_length);
    tls_client_open(server, client);
    cr_assert(tls_client_send(client, head, strlen(head)), "the server closed the connection");
    cr_assert(tls_client_send(client, body, sent), "the server closed the connection");
}

static void post_small_review(const struct server *server)
{
    CURL *curl = curl_easy_init();
    struct reply reply;
    post(curl, "a", server, "/validate", "application/json", review_v1, strlen(review_v1),
         &reply);
    assert_allowed_review(&reply);
    reply_free(&reply);
    curl_easy_cleanup(curl);
}

Test(transport, buffer_cap_503)
{
    struct server server;
    start_capped_server(&server, "buffer-cap");
    char *body = large_review(CAPPED_BODY_SIZE - 1024);
    size_t length = strlen(body);
    post_small_review(&server);

    struct tls_client slow[2];
    for (size_t i = 0; i < 2; i++)
        send_partial_review(&server, &slow[i], body, length, length / 2);
    cr_assert_eq(wait_reserved(&server, 2.0 * (double)length), 2.0 * (double)length,
                 "the two slow bodies are not both reserved");
    post_small_review(&server);

    CURL *curl = curl_easy_init();
    struct reply reply;
    post(curl, "a", &server, "/validate", "application/json", body, length, &reply);
    assert_status_body(&reply, 503, "ServiceUnavailable");
    cr_assert_str_eq(reply.retry_after, "1");
    cr_assert_not_null(strstr(reply.body, "buffering too many large requests"),
                       "message: %s", reply.body);
    cr_assert_not_null(strstr(reply.body, "retry"), "message: %s", reply.body);
    reply_free(&reply);
    cr_assert_eq(metric_value(&server, "immutable_guard_body_buffer_rejections_total"), 1);
    cr_assert_eq(metric_value(&server, "immutable_guard_http_errors_total{code=\"503\"}"), 1);
    post_small_review(&server);

    /* Finishing the slow bodies returns their reservations. */
    for (size_t i = 0; i < 2; i++) {
        cr_assert(tls_client_send(&slow[i], body + length / 2, length - length / 2),
                  "the server closed slow connection %zu", i);
        cr_assert_eq(tls_client_read_status(&slow[i]), 200, "slow request %zu failed", i);
        tls_client_close(&slow[i]);
    }
    cr_assert_eq(wait_reserved(&server, 0), 0, "reservations were not returned");

    post(curl, "a", &server, "/validate", "application/json", body, length, &reply);
    assert_allowed_review(&reply);
    reply_free(&reply);
    curl_easy_cleanup(curl);
    free(body);
    cr_assert_eq(metric_value(&server, "immutable_guard_body_buffer_rejections_total"), 1);
    stop_server_cleanly(&server);
}

Test(transport, buffer_cap_abort_releases)
{
    struct server server;
    start_capped_server(&server, "buffer-abort");
    char *body = large_review(CAPPED_BODY_SIZE - 1024);
    size_t length = strlen(body);

    /* Two clients vanish mid-body. Leaked reservations would leave room for
     * no request of full size. */
    struct tls_client aborted[2];
    for (size_t i = 0; i < 2; i++)
        send_partial_review(&server, &aborted[i], body, length, length / 2);
    cr_assert_eq(wait_reserved(&server, 2.0 * (double)length), 2.0 * (double)length);
    for (size_t i = 0; i < 2; i++)
        tls_client_close(&aborted[i]);
    cr_assert_eq(wait_reserved(&server, 0), 0, "aborted requests kept their reservations");

    CURL *curl = curl_easy_init();
    struct reply reply;
    for (int i = 0; i < 2; i++) {
        post(curl, "a", &server, "/validate", "application/json", body, length, &reply);
        assert_allowed_review(&reply);
        reply_free(&reply);
    }
    curl_easy_cleanup(curl);
    free(body);
    post_small_review(&server);
    cr_assert_eq(metric_value(&server, "immutable_guard_body_buffer_rejections_total"), 0);
    stop_server_cleanly(&server);
}

Test(transport, buffer_cap_chunked_503)
{
    struct server server;
    start_capped_server(&server, "buffer-chunked");
    char *body = large_review(CAPPED_BODY_SIZE - 1024);
    size_t length = strlen(body);

    struct tls_client slow[2];
    for (size_t i = 0; i < 2; i++)
        send_partial_review(&server, &slow[i], body, length, 1024);
    cr_assert_eq(wait_reserved(&server, 2.0 * (double)length), 2.0 * (double)length);

    /* A chunked body reserves as it grows, so it passes the cap mid-body. */
    CURL *curl = curl_easy_init();
    struct reply reply;
    char url[256];
    webhook_url(&server, "/validate", url, sizeof url);
    struct curl_slist *headers = prepare(curl, "a", url, "application/json", &reply);
    headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, -1L);
    perform(curl, &reply, headers);
    assert_status_body(&reply, 503, "ServiceUnavailable");
    cr_assert_str_eq(reply.retry_after, "1");
    reply_free(&reply);
    cr_assert_eq(metric_value(&server, "immutable_guard_body_buffer_rejections_total"), 1);

    for (size_t i = 0; i < 2; i++)
        tls_client_close(&slow[i]);
    cr_assert_eq(wait_reserved(&server, 0), 0, "reservations were not returned");
    curl_easy_cleanup(curl);
    free(body);
    post_small_review(&server);
    stop_server_cleanly(&server);
}

Test(transport, buffer_cap_continue_503)
{
    struct server server;
    start_capped_server(&server, "buffer-continue");
    char *body = large_review(CAPPED_BODY_SIZE - 1024);
    size_t length = strlen(body);

    struct tls_client slow[2];
    for (size_t i = 0; i < 2; i++)
        send_partial_review(&server, &slow[i], body, length, 1024);
    cr_assert_eq(wait_reserved(&server, 2.0 * (double)length), 2.0 * (double)length);

    /* A client that waits for "100 Continue" gets the 503 before it sends the body. */
    CURL *curl = curl_easy_init();
    struct reply reply;
    char url[256];
    webhook_url(&server, "/validate", url, sizeof url);
    /* NOTE: under parallel load curl sometimes ends this transfer with no
     * reply ("Failed sending data to the peer"): it was still sending when
     * the server closed after its 503. One retry after a transport-level
     * failure keeps the check on the reply itself; a second failure still
     * fails the test and prints curl's error. */
    for (int attempt = 0; attempt < 2; attempt++) {
        struct curl_slist *headers = prepare(curl, "a", url, "application/json", &reply);
        headers = curl_slist_append(headers, "Expect: 100-continue");
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)length);
        perform(curl, &reply, headers);
        if (reply.status != 0)
            break;
        /* Criterion exits non-zero after any warning, so this is logged as info. */
        cr_log_info("attempt %d: no reply (%s)", attempt + 1, curl_easy_strerror(reply.result));
        if (attempt == 0)
            reply_free(&reply);
    }
    cr_assert_neq(reply.status, 0, "no reply: %s", curl_easy_strerror(reply.result));
    assert_status_body(&reply, 503, "ServiceUnavailable");
    cr_assert_str_eq(reply.retry_after, "1");
    reply_free(&reply);

    for (size_t i = 0; i < 2; i++)
        tls_client_close(&slow[i]);
    cr_assert_eq(wait_reserved(&server, 0), 0, "reservations were not returned");
    curl_easy_cleanup(curl);
    free(body);
    post_small_review(&server);
    stop_server_cleanly(&server);
}

Test(transport, buffer_cap_below_body_limit)
{
    /* Criterion runs each test in a process of its own, so this stays local. */
    setenv("IG_MAX_BUFFERED_BYTES", "4096", 1);
    static const char *const args[] = {"--max-body-bytes", "8192", NULL};
    char output[4096];
    int code = run_serve(args, output, sizeof output);
    cr_assert_eq(code, 2, "exited with %d: %s", code, output);
    cr_assert_not_null(strstr(output, "--max-buffered-bytes (4096) is smaller than "
                                      "--max-body-bytes (8192)"),
                       "message: %s", output);

    /* A cap equal to the body limit is allowed. */
    setenv("IG_MAX_BUFFERED_BYTES", "8192", 1);
    struct server server;
    start_server(&server, "buffer-equal", args);
    post_small_review(&server);
    stop_server_cleanly(&server);
}

/* Send a review whose headers carry `lines` extra header lines with a value
 * of `value_bytes` bytes each, and return the reply's status code. */
static int status_with_extra_headers(const struct server *server, int lines, size_t value_bytes)
{
    struct tls_client client;
    tls_client_open(server, &client);
    size_t head_size = (size_t)lines * (value_bytes + 16) + 512;
    char *head = malloc(head_size);
    cr_assert_not_null(head);
    size_t used = (size_t)snprintf(head, head_size, "POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (int i = 0; i < lines; i++) {
        used += (size_t)snprintf(head + used, head_size - used, "X-Pad-%d: ", i);
        memset(head + used, 'a', value_bytes);
        used += value_bytes;
        used += (size_t)snprintf(head + used, head_size - used, "\r\n");
    }
    used += (size_t)snprintf(head + used, head_size - used,
                             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                             strlen(review_v1));
    cr_assert_lt(used, head_size);
    int status = -1;
    if (tls_client_send(&client, head, used) && tls_client_send(&client, review_v1, strlen(review_v1)))
        status = tls_client_read_status(&client);
    free(head);
    tls_client_close(&client);
    return status;
}

/* The connection's 8 KiB memory pool bounds the request headers, as the
 * README states: about 7.5 KiB in all, or about 75 header lines. */
Test(transport, header_size_limits)
{
    struct server server;
    start_server(&server, "header-limits", NULL);

    cr_assert_eq(status_with_extra_headers(&server, 1, 6 * 1024), 200,
                 "a 6 KiB header was not accepted");
    cr_assert_eq(status_with_extra_headers(&server, 60, 8), 200,
                 "60 short header lines were not accepted");
    cr_assert_eq(status_with_extra_headers(&server, 1, 9 * 1024), 431,
                 "a 9 KiB header did not get 431");
    cr_assert_eq(status_with_extra_headers(&server, 100, 8), 431,
                 "100 header lines did not get 431");
    post_small_review(&server);
    stop_server_cleanly(&server);
}
