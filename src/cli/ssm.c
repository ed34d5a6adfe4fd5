/* `immutable-guard ssm get ...`: read SSM parameters with the daemon's AWS
 * client, so that an operator can check access from inside the pod. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/credentials.h"
#include "aws/ssm.h"
#include "cli/commands.h"
#include "common/log.h"

enum { EXIT_OK = 0, EXIT_AWS_ERROR = 1, EXIT_USAGE = 2 };

#define MAX_ROLES 8
#define MASK "****"

static const char usage[] =
    "Usage: immutable-guard ssm get [OPTIONS] NAME...\n"
    "       immutable-guard ssm get [OPTIONS] --path PATH [--recursive]\n\n"
    "Reads SSM parameters (GetParameters, 10 names per call, or GetParametersByPath)\n"
    "with decryption and prints a JSON document shaped like the AWS CLI's\n"
    "get-parameters output. Values are masked unless --show-values is given.\n"
    "A NAME may carry a version or label selector: /app/key:3, /app/key:prod.\n\n"
    "Credentials: AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE, else\n"
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (optional AWS_SESSION_TOKEN).\n"
    "Instance metadata is never used.\n\n"
    "Options:\n"
    "  --region R               AWS region (default: AWS_REGION, then AWS_DEFAULT_REGION)\n"
    "  --role-arn ARN           assume this role on top of the credentials; repeat to\n"
    "                           chain roles in order (the last one reads SSM)\n"
    "  --external-id ID         ExternalId for the last --role-arn\n"
    "  --role-session-name N    session name for assumed roles (default immutable-guard-<time>)\n"
    "  --path PATH              read every parameter under PATH instead of NAMEs\n"
    "  --recursive              with --path, include all levels below PATH\n"
    "  --show-values            print parameter values in clear text\n"
    "  --endpoint-url URL       SSM endpoint (default: AWS_ENDPOINT_URL_SSM, AWS_SSM_ENDPOINT,\n"
    "                           AWS_ENDPOINT_URL, then https://ssm.REGION.amazonaws.com)\n"
    "  --sts-endpoint-url URL   STS endpoint (default: AWS_ENDPOINT_URL_STS, AWS_STS_ENDPOINT,\n"
    "                           AWS_ENDPOINT_URL, then the regional STS endpoint, or the\n"
    "                           global one when AWS_STS_REGIONAL_ENDPOINTS=legacy)\n"
    "  --connect-timeout MS     TCP and TLS connect timeout in milliseconds (default 3000)\n"
    "  --timeout MS             total time per HTTP attempt in milliseconds (default 10000)\n"
    "  --log-level LEVEL        debug, info, warn or error (default warn); logs go to\n"
    "                           standard error as JSON lines\n\n"
    "Exit status: 0 on success (names that do not exist are listed under\n"
    "InvalidParameters), 1 on an AWS error, printed as JSON on standard error,\n"
    "2 on a usage error.\n";

struct ssm_options {
    const char *region;
    const char *roles[MAX_ROLES];
    size_t role_count;
    const char *external_id;
    const char *session_name;
    const char *path;
    bool recursive;
    bool show_values;
    const char *endpoint_url;
    const char *sts_endpoint_url;
    long connect_timeout_ms;
    long timeout_ms;
    enum ig_log_level log_level;
};

static bool parse_milliseconds(const char *text, const char *option, long *out)
{
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 1 || value > 3600000) {
        fprintf(stderr, "immutable-guard ssm: %s '%s' is invalid; give milliseconds from 1 to 3600000\n", option,
                text);
        return false;
    }
    *out = value;
    return true;
}

static void print_error(const struct ig_aws_error *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *error = root ? cJSON_AddObjectToObject(root, "Error") : NULL;
    if (error) {
        cJSON_AddStringToObject(error, "Kind", ig_aws_error_kind_name(err->kind));
        cJSON_AddStringToObject(error, "Code", err->code);
        cJSON_AddStringToObject(error, "Message", err->message);
        cJSON_AddNumberToObject(error, "HttpStatus", (double)err->http_status);
        cJSON_AddNumberToObject(error, "Attempts", err->attempts);
        if (err->request_id[0])
            cJSON_AddStringToObject(error, "RequestId", err->request_id);
        if (err->quota_exhausted)
            cJSON_AddTrueToObject(error, "RetryBudgetExhausted");
    }
    char *text = root ? cJSON_Print(root) : NULL;
    if (text)
        fprintf(stderr, "%s\n", text);
    else
        fprintf(stderr, "immutable-guard ssm: %s: %s\n", ig_aws_error_kind_name(err->kind), err->message);
    free(text);
    cJSON_Delete(root);
}

/* Format epoch seconds the way AWS CLI v2 prints timestamps by default,
 * e.g. 2026-03-01T10:15:12.345000+00:00. */
static void format_timestamp(double epoch_seconds, char *out, size_t size)
{
    double whole = floor(epoch_seconds);
    time_t seconds = (time_t)whole;
    long micros = lround((epoch_seconds - whole) * 1e6);
    if (micros >= 1000000) {
        seconds++;
        micros -= 1000000;
    }
    struct tm tm;
    char date[32];
    if (!gmtime_r(&seconds, &tm) || strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(out, size, "%.6f", epoch_seconds);
        return;
    }
    snprintf(out, size, "%s.%06ld+00:00", date, micros);
}

/* Build the output document; values are masked unless show_values. */
static int print_parameters(const struct ig_ssm_parameter_list *list, bool show_values, bool by_path)
{
    int rc = -1;
    char *text = NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON *parameters = root ? cJSON_AddArrayToObject(root, "Parameters") : NULL;
    if (!parameters)
        goto cleanup;
    for (size_t i = 0; i < list->count; i++) {
        const struct ig_ssm_parameter *p = &list->items[i];
        char modified[64];
        format_timestamp(p->last_modified, modified, sizeof modified);
        cJSON *item = cJSON_CreateObject();
        if (!item || !cJSON_AddItemToArray(parameters, item)) {
            cJSON_Delete(item);
            goto cleanup;
        }
        if (!cJSON_AddStringToObject(item, "Name", p->name) || !cJSON_AddStringToObject(item, "Type", p->type) ||
            !cJSON_AddStringToObject(item, "Value", show_values ? p->value : MASK) ||
            !cJSON_AddNumberToObject(item, "Version", (double)p->version) ||
            (p->selector && !cJSON_AddStringToObject(item, "Selector", p->selector)) ||
            !cJSON_AddStringToObject(item, "LastModifiedDate", modified) ||
            (p->arn && !cJSON_AddStringToObject(item, "ARN", p->arn)) ||
            (p->data_type && !cJSON_AddStringToObject(item, "DataType", p->data_type)))
            goto cleanup;
    }
    if (!by_path) {
        cJSON *invalid = cJSON_AddArrayToObject(root, "InvalidParameters");
        if (!invalid)
            goto cleanup;
        for (size_t i = 0; i < list->invalid_count; i++) {
            cJSON *name = cJSON_CreateString(list->invalid[i]);
            if (!name || !cJSON_AddItemToArray(invalid, name)) {
                cJSON_Delete(name);
                goto cleanup;
            }
        }
    }
    text = cJSON_Print(root);
    if (!text)
        goto cleanup;
    printf("%s\n", text);
    rc = fflush(stdout) == 0 ? 0 : -1;
cleanup:
    if (text) {
        OPENSSL_cleanse(text, strlen(text));
        free(text);
    }
    if (root) {
        /* The tree contains the values when --show-values is given. */
        cJSON *item;
        cJSON_ArrayForEach(item, parameters)
        {
            cJSON *value = cJSON_GetObjectItemCaseSensitive(item, "Value");
            if (cJSON_IsString(value))
                OPENSSL_cleanse(value->valuestring, strlen(value->valuestring));
        }
        cJSON_Delete(root);
    }
    if (rc != 0)
        fprintf(stderr, "immutable-guard ssm: cannot write the result (out of memory or closed output)\n");
    return rc;
}

static int parse_options(int argc, char **argv, struct ssm_options *options)
{
    static const struct option long_options[] = {
        {"region", required_argument, NULL, 'r'},
        {"role-arn", required_argument, NULL, 'a'},
        {"external-id", required_argument, NULL, 'x'},
        {"role-session-name", required_argument, NULL, 'n'},
        {"path", required_argument, NULL, 'p'},
        {"recursive", no_argument, NULL, 'R'},
        {"show-values", no_argument, NULL, 'v'},
        {"endpoint-url", required_argument, NULL, 'e'},
        {"sts-endpoint-url", required_argument, NULL, 's'},
        {"connect-timeout", required_argument, NULL, 'c'},
        {"timeout", required_argument, NULL, 't'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    options->log_level = IG_LOG_WARN;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (c) {
        case 'r':
            options->region = optarg;
            break;
        case 'a':
            if (options->role_count >= MAX_ROLES) {
                fprintf(stderr, "immutable-guard ssm: at most %d --role-arn options\n", MAX_ROLES);
                return EXIT_USAGE;
            }
            options->roles[options->role_count++] = optarg;
            break;
        case 'x':
            options->external_id = optarg;
            break;
        case 'n':
            options->session_name = optarg;
            break;
        case 'p':
            options->path = optarg;
            break;
        case 'R':
            options->recursive = true;
            break;
        case 'v':
            options->show_values = true;
            break;
        case 'e':
            options->endpoint_url = optarg;
            break;
        case 's':
            options->sts_endpoint_url = optarg;
            break;
        case 'c':
            if (!parse_milliseconds(optarg, "--connect-timeout", &options->connect_timeout_ms))
                return EXIT_USAGE;
            break;
        case 't':
            if (!parse_milliseconds(optarg, "--timeout", &options->timeout_ms))
                return EXIT_USAGE;
            break;
        case 'l':
            if (!ig_log_parse_level(optarg, &options->log_level)) {
                fprintf(stderr, "immutable-guard ssm: --log-level '%s' is invalid; use debug, info, warn or error\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            return -1;
        default:
            fprintf(stderr, "immutable-guard ssm: unknown or incomplete option '%s'; see 'immutable-guard ssm --help'\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (options->external_id && options->role_count == 0) {
        fprintf(stderr, "immutable-guard ssm: --external-id needs --role-arn\n");
        return EXIT_USAGE;
    }
    if (options->recursive && !options->path) {
        fprintf(stderr, "immutable-guard ssm: --recursive needs --path\n");
        return EXIT_USAGE;
    }
    if (options->path && optind < argc) {
        fprintf(stderr, "immutable-guard ssm: give either --path or NAMEs, not both\n");
        return EXIT_USAGE;
    }
    if (!options->path && optind >= argc) {
        fprintf(stderr, "immutable-guard ssm: no parameter NAME given; see 'immutable-guard ssm --help'\n");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* Default chain, then each --role-arn on top of the previous credentials. */
static struct ig_aws_credential_provider *build_credentials(const struct ssm_options *options,
                                                            const struct ig_aws_client_options *sts_options,
                                                            struct ig_aws_error *err)
{
    struct ig_aws_credential_provider *provider = ig_aws_default_provider_new(sts_options, err);
    for (size_t i = 0; provider && i < options->role_count; i++) {
        struct ig_aws_assume_role_options role = {
            .role_arn = options->roles[i],
            .session_name = options->session_name,
            .external_id = i + 1 == options->role_count ? options->external_id : NULL,
        };
        provider = ig_aws_assume_role_provider_new(&role, provider, sts_options, err);
    }
    return provider;
}

static int run_get(int argc, char **argv)
{
    struct ssm_options options = {0};
    int parsed = parse_options(argc, argv, &options);
    if (parsed != EXIT_OK)
        return parsed < 0 ? EXIT_OK : parsed;
    ig_log_set_stream(stderr);
    ig_log_configure(options.log_level, IG_LOG_FORMAT_JSON);

    struct ig_aws_client_options sts_options = {
        .region = options.region,
        .endpoint_url = options.sts_endpoint_url,
        .http = {.connect_timeout_ms = options.connect_timeout_ms, .timeout_ms = options.timeout_ms},
    };
    struct ig_aws_client_options ssm_options = sts_options;
    ssm_options.endpoint_url = options.endpoint_url;

    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    struct ig_ssm_client client;
    struct ig_ssm_parameter_list list = {0};
    bool client_ready = false;
    int rc = EXIT_AWS_ERROR;
    struct ig_aws_credential_provider *credentials = build_credentials(&options, &sts_options, &err);
    if (!credentials)
        goto report;
    if (ig_ssm_client_init(&client, &ssm_options, credentials, &err) != 0)
        goto report;
    client_ready = true;
    int read_rc = options.path
                      ? ig_ssm_get_parameters_by_path(&client, options.path, options.recursive, &list, &err)
                      : ig_ssm_get_parameters(&client, (const char *const *)argv + optind, (size_t)(argc - optind),
                                              &list, &err);
    if (read_rc != 0)
        goto report;
    rc = print_parameters(&list, options.show_values, options.path != NULL) == 0 ? EXIT_OK : EXIT_AWS_ERROR;
    goto cleanup;
report:
    print_error(&err);
cleanup:
    ig_ssm_parameter_list_clear(&list);
    if (client_ready)
        ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(credentials);
    ig_log_set_stream(NULL);
    return rc;
}

int ig_cmd_ssm(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "get") != 0) {
        fprintf(stderr, "immutable-guard ssm: unknown action '%s'; the only action is 'get'\n", argv[1]);
        return EXIT_USAGE;
    }
    return run_get(argc - 1, argv + 1);
}
