/* The retry loop against a closed loopback port: connection refused is a
 * transport error, retried within max_attempts and the retry budget. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "aws/client.h"
#include "common/log.h"

struct sleep_log {
    double delays[16];
    int count;
};

static double half_random(void *context)
{
    (void)context;
    return 0.5;
}

static void log_sleep(double seconds, void *context)
{
    struct sleep_log *log = context;
    if (log->count < 16)
        log->delays[log->count++] = seconds;
}

/* A loopback port with nothing listening: bind, read the port, close. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    socklen_t length = sizeof addr;
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&addr, &length), 0);
    close(fd);
    return ntohs(addr.sin_port);
}

static void init_client(struct ig_aws_client *client, struct sleep_log *log, int quota)
{
    char url[64];
    int n = snprintf(url, sizeof url, "http://127.0.0.1:%d", closed_port());
    cr_assert(n > 0 && (size_t)n < sizeof url);
    struct ig_aws_client_options options = {
        .region = "us-east-1",
        .endpoint_url = url,
        .http = {.connect_timeout_ms = 1000, .timeout_ms = 2000},
        .retry = {.max_attempts = 3, .quota_capacity = quota, .random = half_random, .sleep = log_sleep,
                  .context = log},
    };
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_eq(ig_aws_client_init(client, "sts", &options, &err), 0, "%s", err.message);
}

static void quiet_logs(void)
{
    ig_log_configure(IG_LOG_ERROR, IG_LOG_FORMAT_JSON);
}

TestSuite(aws_client, .init = quiet_logs);

static const struct ig_aws_call unsigned_call = {
    .operation = "Probe",
    .body = "Action=Probe",
    .body_length = 12,
    .unsigned_request = true,
};

Test(aws_client, host_header_keeps_port)
{
    struct sleep_log log = {0};
    struct ig_aws_client client;
    init_client(&client, &log, 0);
    cr_assert_not_null(strstr(client.host, "127.0.0.1:"));
    cr_assert_str_eq(client.path, "/");
    ig_aws_client_cleanup(&client);
}

Test(aws_client, transport_error_retried_to_max_attempts)
{
    struct sleep_log log = {0};
    struct ig_aws_client client;
    init_client(&client, &log, 0);
    struct ig_aws_http_response response;
    struct ig_aws_error err;
    cr_assert_eq(ig_aws_client_send(&client, NULL, &unsigned_call, &response, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_TRANSPORT);
    cr_assert_eq(err.attempts, 3);
    cr_assert_eq(log.count, 2);
    cr_assert_float_eq(log.delays[0], 0.05, 1e-9);
    cr_assert_float_eq(log.delays[1], 0.1, 1e-9);
    cr_assert_eq(client.retry.quota_available, 500 - 2 * 10);
    cr_assert_eq(ig_counter_value(client.retries), 2);
    cr_assert_eq(ig_counter_value(client.requests_failed), 1);
    cr_assert_eq(ig_counter_value(client.requests_succeeded), 0);
    ig_aws_client_cleanup(&client);
}

Test(aws_client, retry_budget_stops_retries)
{
    struct sleep_log log = {0};
    struct ig_aws_client client;
    init_client(&client, &log, 15);
    struct ig_aws_http_response response;
    struct ig_aws_error err;
    cr_assert_eq(ig_aws_client_send(&client, NULL, &unsigned_call, &response, &err), -1);
    cr_assert_eq(err.attempts, 2);
    cr_assert(err.quota_exhausted);
    cr_assert_eq(log.count, 1);
    ig_aws_client_cleanup(&client);
}

Test(aws_client, signed_call_needs_credentials)
{
    struct sleep_log log = {0};
    struct ig_aws_client client;
    init_client(&client, &log, 0);
    struct ig_aws_call call = unsigned_call;
    call.unsigned_request = false;
    struct ig_aws_http_response response;
    struct ig_aws_error err;
    cr_assert_eq(ig_aws_client_send(&client, NULL, &call, &response, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_CONFIG);
    cr_assert_eq(log.count, 0);
    ig_aws_client_cleanup(&client);
}

Test(aws_client, global_sts_signs_for_us_east_1)
{
    struct ig_aws_client_options options = {.region = "eu-west-1", .endpoint_url = "https://sts.amazonaws.com"};
    struct ig_aws_client client;
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_eq(ig_aws_client_init(&client, "sts", &options, &err), 0, "%s", err.message);
    cr_assert_str_eq(client.region, "eu-west-1");
    cr_assert_str_eq(client.signing_region, "us-east-1");
    ig_aws_client_cleanup(&client);
    options.endpoint_url = "https://sts.eu-west-1.amazonaws.com";
    cr_assert_eq(ig_aws_client_init(&client, "sts", &options, &err), 0, "%s", err.message);
    cr_assert_str_eq(client.signing_region, "eu-west-1");
    ig_aws_client_cleanup(&client);
}
