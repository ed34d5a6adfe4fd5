/* SigV4 signer against the published header-signing vectors (aws-c-auth v4
 * suite and the classic AWS SigV4 test suite), read at run time from the
 * test data folder beside the repository. Every case run or skipped is
 * printed with the reason. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws/sigv4.h"
#include "aws/sts.h"

/* The vectors live beside the repository; make runs the tests from its root. */
#define VECTORS_DIR "../shared/testdata/sigv4"
#define MAX_HEADERS 32

/* snprintf that fails the test when the text does not fit. */
#define FORMAT(buffer, ...)                                                                                \
    do {                                                                                                   \
        int n_ = snprintf((buffer), sizeof(buffer), __VA_ARGS__);                                          \
        cr_assert(n_ >= 0 && (size_t)n_ < sizeof(buffer), "path too long");                                \
    } while (0)

/* Return the vector folder: relative to the working directory, or else
 * relative to the repository that contains this binary (build/VARIANT/tests/unit). */
static const char *vectors_dir(void)
{
    static char resolved[4096];
    struct stat st;
    if (stat(VECTORS_DIR, &st) == 0 && S_ISDIR(st.st_mode))
        return VECTORS_DIR;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return VECTORS_DIR;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return VECTORS_DIR;
    *slash = '\0';
    int written = snprintf(resolved, sizeof resolved, "%s/../../../%s", exe, VECTORS_DIR);
    if (written < 0 || (size_t)written >= sizeof resolved)
        return VECTORS_DIR;
    return resolved;
}

static const char *const secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/* A request parsed from request.txt / NAME.req. */
struct parsed_request {
    char *text; /* owns every string below */
    char *method;
    char *path;
    char *query;
    struct ig_sigv4_header headers[MAX_HEADERS];
    char *header_storage[MAX_HEADERS];
    size_t header_count;
    char *body;
    size_t body_length;
};

static char *read_file(const char *path, size_t *length)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&data, &size);
    char chunk[4096];
    size_t n;
    while (out && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, out);
    fclose(f);
    if (out)
        fclose(out);
    if (length)
        *length = size;
    return data;
}

static char *read_case_file(const char *dir, const char *name)
{
    char path[1024];
    FORMAT(path, "%s/%s", dir, name);
    return read_file(path, NULL);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Parse "METHOD target HTTP/1.1", header lines (a line starting with
 * whitespace continues the previous value) and the body after a blank line.
 * The target may contain raw spaces, so it ends at the last space. */
static bool parse_request(char *text, size_t length, struct parsed_request *out)
{
    memset(out, 0, sizeof *out);
    out->text = text;
    char *line_end = strchr(text, '\n');
    if (!line_end)
        line_end = text + length;
    *line_end = '\0';
    char *first_space = strchr(text, ' ');
    char *last_space = strrchr(text, ' ');
    if (!first_space || last_space == first_space)
        return false;
    *first_space = '\0';
    *last_space = '\0';
    out->method = text;
    out->path = first_space + 1;
    char *question = strchr(out->path, '?');
    if (question) {
        *question = '\0';
        out->query = question + 1;
    }
    char *p = line_end < text + length ? line_end + 1 : text + length;
    char *end = text + length;
    while (p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        if (eol == p) {
            out->body = p + 1 <= end ? p + 1 : end;
            out->body_length = (size_t)(end - out->body);
            break;
        }
        *eol = '\0';
        if ((*p == ' ' || *p == '\t') && out->header_count > 0) {
            /* Folded continuation: join with one space (trimmed later). */
            size_t i = out->header_count - 1;
            char *joined = NULL;
            if (asprintf(&joined, "%s %s", out->headers[i].value, p) < 0)
                return false;
            free(out->header_storage[i]);
            out->header_storage[i] = joined;
            out->headers[i].value = joined;
        } else {
            char *colon = strchr(p, ':');
            if (!colon || out->header_count >= MAX_HEADERS)
                return false;
            *colon = '\0';
            out->headers[out->header_count].name = p;
            out->headers[out->header_count].value = colon + 1;
            out->header_count++;
        }
        p = eol + 1;
    }
    return true;
}

static void free_request(struct parsed_request *request)
{
    for (size_t i = 0; i < MAX_HEADERS; i++)
        free(request->header_storage[i]);
    free(request->text);
}

/* Value of a header line "Name:value" in a signed-request file, or NULL. */
static char *find_header_line(const char *text, const char *name)
{
    size_t name_length = strlen(name);
    const char *p = text;
    while (p && *p) {
        if (strncasecmp(p, name, name_length) == 0 && p[name_length] == ':') {
            const char *value = p + name_length + 1;
            while (*value == ' ')
                value++;
            const char *eol = strchr(value, '\n');
            size_t length = eol ? (size_t)(eol - value) : strlen(value);
            return strndup(value, length);
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return NULL;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted sub-folder names of dir; returns the count. */
static size_t list_dirs(const char *dir, char ***names)
{
    DIR *d = opendir(dir);
    *names = NULL;
    if (!d)
        return 0;
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(d))) {
        if (entry->d_name[0] == '.')
            continue;
        char path[1024];
        FORMAT(path, "%s/%s", dir, entry->d_name);
        if (!is_dir(path))
            continue;
        *names = realloc(*names, (count + 1) * sizeof **names);
        (*names)[count++] = strdup(entry->d_name);
    }
    closedir(d);
    qsort(*names, count, sizeof **names, compare_names);
    return count;
}

static void free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

Test(sigv4, signing_key_matches_known_value)
{
    unsigned char key[32];
    cr_assert_eq(ig_sigv4_signing_key(secret_key, "20150830", "us-east-1", "iam", key), 0);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    /* Value from the AWS SigV4 documentation example (iam, 20150830). */
    cr_assert_str_eq(hex, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

Test(sigv4, key_cache_matches_fresh_derivation)
{
    struct ig_sigv4_header headers[] = {{"Host", "ssm.eu-west-1.amazonaws.com"}};
    struct ig_sigv4_request request = {.method = "POST", .path = "/", .headers = headers, .header_count = 1};
    struct ig_sigv4_params params = {
        .access_key_id = "AKIDEXAMPLE",
        .secret_access_key = secret_key,
        .region = "eu-west-1",
        .service = "ssm",
        .timestamp = 1440938160,
        .normalize_path = true,
    };
    struct ig_sigv4_result fresh, cached;
    struct ig_sigv4_key_cache cache = {0};
    cr_assert_eq(ig_sigv4_sign(&request, &params, &fresh), 0);
    params.key_cache = &cache;
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(ig_sigv4_sign(&request, &params, &cached), 0);
        cr_assert_str_eq(cached.signature, fresh.signature, "signature %d with the cache differs", i);
        ig_sigv4_result_free(&cached);
    }
    cr_assert(cache.valid);
    cr_assert_str_eq(cache.date, "20150830");

    /* Another secret, or the next day, must not reuse the cached key. */
    params.secret_access_key = "another-secret";
    cr_assert_eq(ig_sigv4_sign(&request, &params, &cached), 0);
    cr_assert_str_neq(cached.signature, fresh.signature);
    ig_sigv4_result_free(&cached);
    params.secret_access_key = secret_key;
    params.timestamp += 86400;
    cr_assert_eq(ig_sigv4_sign(&request, &params, &cached), 0);
    cr_assert_str_eq(cache.date, "20150831");
    params.key_cache = NULL;
    struct ig_sigv4_result next_day;
    cr_assert_eq(ig_sigv4_sign(&request, &params, &next_day), 0);
    cr_assert_str_eq(cached.signature, next_day.signature);
    ig_sigv4_result_free(&cached);
    ig_sigv4_result_free(&next_day);
    ig_sigv4_result_free(&fresh);
    ig_sigv4_key_cache_clear(&cache);
    cr_assert_not(cache.valid);
}

Test(sigv4, amz_date_format)
{
    char date[IG_SIGV4_AMZ_DATE_SIZE];
    cr_assert_eq(ig_sigv4_format_amz_date(1440938160, date), 0);
    cr_assert_str_eq(date, "20150830T123600Z");
}

Test(sigv4, aws_c_auth_v4_header_vectors)
{
    char root[512];
    FORMAT(root, "%s/aws-c-auth/v4", vectors_dir());
    cr_assert(is_dir(root), "SigV4 test vectors not found at %s (run from the repository root)", root);
    char **cases;
    size_t count = list_dirs(root, &cases);
    cr_assert_geq(count, 38, "expected at least 38 aws-c-auth v4 cases, found %zu", count);
    size_t ran = 0;
    for (size_t i = 0; i < count; i++) {
        char dir[1024];
        FORMAT(dir, "%s/%s", root, cases[i]);
        size_t request_length = 0;
        char request_path[1100];
        FORMAT(request_path, "%s/request.txt", dir);
        char *request_text = read_file(request_path, &request_length);
        char *context_text = read_case_file(dir, "context.json");
        char *expected_creq = read_case_file(dir, "header-canonical-request.txt");
        char *expected_sts = read_case_file(dir, "header-string-to-sign.txt");
        char *expected_signature = read_case_file(dir, "header-signature.txt");
        char *signed_request = read_case_file(dir, "header-signed-request.txt");
        cr_assert(request_text && context_text && expected_creq && expected_sts && expected_signature &&
                      signed_request,
                  "aws-c-auth/v4/%s: a vector file is missing", cases[i]);
        cJSON *context = cJSON_Parse(context_text);
        cr_assert_not_null(context, "aws-c-auth/v4/%s: context.json does not parse", cases[i]);
        const cJSON *credentials = cJSON_GetObjectItem(context, "credentials");
        const cJSON *token = cJSON_GetObjectItem(credentials, "token");
        time_t timestamp = 0;
        cr_assert_eq(ig_aws_parse_iso8601(cJSON_GetObjectItem(context, "timestamp")->valuestring, &timestamp), 0);

        struct parsed_request request;
        cr_assert(parse_request(request_text, request_length, &request), "aws-c-auth/v4/%s: request.txt does not parse",
                  cases[i]);
        struct ig_sigv4_request sig_request = {
            .method = request.method,
            .path = request.path,
            .query = request.query,
            .headers = request.headers,
            .header_count = request.header_count,
            .body = (const unsigned char *)request.body,
            .body_length = request.body_length,
        };
        struct ig_sigv4_params params = {
            .access_key_id = cJSON_GetObjectItem(credentials, "access_key_id")->valuestring,
            .secret_access_key = cJSON_GetObjectItem(credentials, "secret_access_key")->valuestring,
            .session_token = cJSON_IsString(token) ? token->valuestring : NULL,
            .region = cJSON_GetObjectItem(context, "region")->valuestring,
            .service = cJSON_GetObjectItem(context, "service")->valuestring,
            .timestamp = timestamp,
            .normalize_path = cJSON_IsTrue(cJSON_GetObjectItem(context, "normalize")),
            .omit_session_token = cJSON_IsTrue(cJSON_GetObjectItem(context, "omit_session_token")),
            .add_content_sha256 = cJSON_IsTrue(cJSON_GetObjectItem(context, "sign_body")),
        };
        struct ig_sigv4_result result;
        cr_assert_eq(ig_sigv4_sign(&sig_request, &params, &result), 0, "aws-c-auth/v4/%s: signing failed", cases[i]);
        cr_expect_str_eq(result.canonical_request, expected_creq, "aws-c-auth/v4/%s: canonical request differs",
                         cases[i]);
        cr_expect_str_eq(result.string_to_sign, expected_sts, "aws-c-auth/v4/%s: string to sign differs", cases[i]);
        cr_expect_str_eq(result.signature, expected_signature, "aws-c-auth/v4/%s: signature differs", cases[i]);
        char *expected_authorization = find_header_line(signed_request, "Authorization");
        cr_assert_not_null(expected_authorization);
        cr_expect_str_eq(result.authorization, expected_authorization, "aws-c-auth/v4/%s: Authorization differs",
                         cases[i]);
        char *expected_date = find_header_line(signed_request, "X-Amz-Date");
        cr_expect(expected_date && strcmp(result.amz_date, expected_date) == 0,
                  "aws-c-auth/v4/%s: X-Amz-Date differs", cases[i]);
        cr_expect_eq(result.add_security_token, params.session_token != NULL,
                     "aws-c-auth/v4/%s: X-Amz-Security-Token not requested", cases[i]);
        printf("sigv4 vector ran: aws-c-auth/v4/%s\n", cases[i]);
        ran++;
        free(expected_authorization);
        free(expected_date);
        ig_sigv4_result_free(&result);
        cJSON_Delete(context);
        free_request(&request);
        free(context_text);
        free(expected_creq);
        free(expected_sts);
        free(expected_signature);
        free(signed_request);
    }
    printf("sigv4 vectors skipped: aws-c-auth/v4/*/query-*.txt (presigned URLs; this client signs headers only)\n");
    printf("sigv4 vectors skipped: aws-c-auth/v4a (SigV4a uses ECDSA P-256; SSM and STS take SigV4)\n");
    printf("sigv4 aws-c-auth/v4: %zu header cases ran\n", ran);
    fflush(stdout);
    free_names(cases, count);
}

/* Classic suite: every case folder contains NAME.req, .creq, .sts, .authz and
 * .sreq, and the .req already contains X-Amz-Date. Folders nest one level. */
static void run_classic_case(const char *dir, const char *label, const char *name, size_t *ran)
{
    char file[512];
    size_t request_length = 0;
    char path[1400];
    FORMAT(path, "%s/%s.req", dir, name);
    char *request_text = read_file(path, &request_length);
    FORMAT(file, "%s.creq", name);
    char *expected_creq = read_case_file(dir, file);
    FORMAT(file, "%s.sts", name);
    char *expected_sts = read_case_file(dir, file);
    FORMAT(file, "%s.authz", name);
    char *expected_authz = read_case_file(dir, file);
    FORMAT(file, "%s.sreq", name);
    char *signed_request = read_case_file(dir, file);
    cr_assert(request_text && expected_creq && expected_sts && expected_authz && signed_request,
              "aws4_testsuite/%s: a vector file is missing", label);

    struct parsed_request request;
    cr_assert(parse_request(request_text, request_length, &request), "aws4_testsuite/%s: .req does not parse", label);
    /* A token that the signed request carries but the .req does not must be
     * added and signed by the signer (get-vanilla-with-session-token). */
    char *token = NULL;
    bool token_in_request = false;
    for (size_t i = 0; i < request.header_count; i++)
        token_in_request |= strcasecmp(request.headers[i].name, "X-Amz-Security-Token") == 0;
    if (!token_in_request)
        token = find_header_line(signed_request, "X-Amz-Security-Token");
    bool token_signed = token && strstr(expected_creq, "x-amz-security-token:") != NULL;

    struct ig_sigv4_request sig_request = {
        .method = request.method,
        .path = request.path,
        .query = request.query,
        .headers = request.headers,
        .header_count = request.header_count,
        .body = (const unsigned char *)request.body,
        .body_length = request.body_length,
    };
    struct ig_sigv4_params params = {
        .access_key_id = "AKIDEXAMPLE",
        .secret_access_key = secret_key,
        .session_token = token,
        .region = "us-east-1",
        .service = "service",
        .timestamp = 0,
        .normalize_path = true,
        .omit_session_token = token && !token_signed,
    };
    struct ig_sigv4_result result;
    cr_assert_eq(ig_sigv4_sign(&sig_request, &params, &result), 0, "aws4_testsuite/%s: signing failed", label);
    cr_expect_str_eq(result.canonical_request, expected_creq, "aws4_testsuite/%s: canonical request differs", label);
    cr_expect_str_eq(result.string_to_sign, expected_sts, "aws4_testsuite/%s: string to sign differs", label);
    cr_expect_str_eq(result.authorization, expected_authz, "aws4_testsuite/%s: Authorization differs", label);
    printf("sigv4 vector ran: aws4_testsuite/%s\n", label);
    (*ran)++;
    ig_sigv4_result_free(&result);
    free(token);
    free_request(&request);
    free(expected_creq);
    free(expected_sts);
    free(expected_authz);
    free(signed_request);
}

static bool has_case_files(const char *dir, const char *name)
{
    char path[1400];
    FORMAT(path, "%s/%s.req", dir, name);
    struct stat st;
    return stat(path, &st) == 0;
}

Test(sigv4, aws4_testsuite_vectors)
{
    char root[512];
    FORMAT(root, "%s/aws4_testsuite", vectors_dir());
    cr_assert(is_dir(root), "SigV4 test vectors not found at %s (run from the repository root)", root);
    char **top;
    size_t top_count = list_dirs(root, &top);
    size_t ran = 0;
    for (size_t i = 0; i < top_count; i++) {
        char dir[1024];
        FORMAT(dir, "%s/%s", root, top[i]);
        if (has_case_files(dir, top[i])) {
            run_classic_case(dir, top[i], top[i], &ran);
            continue;
        }
        char **nested;
        size_t nested_count = list_dirs(dir, &nested);
        for (size_t j = 0; j < nested_count; j++) {
            char sub[1400], label[600];
            FORMAT(sub, "%s/%s", dir, nested[j]);
            FORMAT(label, "%s/%s", top[i], nested[j]);
            if (has_case_files(sub, nested[j]))
                run_classic_case(sub, label, nested[j], &ran);
            else
                printf("sigv4 vector skipped: aws4_testsuite/%s (no %s.req)\n", label, nested[j]);
        }
        free_names(nested, nested_count);
    }
    printf("sigv4 aws4_testsuite: %zu cases ran\n", ran);
    fflush(stdout);
    cr_expect_geq(ran, 34, "expected 34 classic cases, ran %zu", ran);
    free_names(top, top_count);
}
