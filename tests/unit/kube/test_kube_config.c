#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kube/config.h"

static int parse(const char *text, const char *context, struct ig_kube_config *cfg, char *err)
{
    return ig_kube_config_parse_kubeconfig(text, strlen(text), "/etc/kube", context, cfg, err, 256);
}

static const char two_contexts[] =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: prod\n"
    "clusters:\n"
    "- name: c1\n"
    "  cluster:\n"
    "    server: https://10.0.0.1:6443/\n"
    "    certificate-authority: ca.pem\n"
    "- name: c2\n"
    "  cluster:\n"
    "    server: https://[fd00::1]:443\n"
    "    certificate-authority-data: aGVsbG8=\n"
    "    insecure-skip-tls-verify: true\n"
    "users:\n"
    "- name: u1\n"
    "  user:\n"
    "    token: abc\n"
    "- name: u2\n"
    "  user:\n"
    "    tokenFile: /var/token\n"
    "    client-certificate: certs/c.pem\n"
    "    client-key: certs/k.pem\n"
    "contexts:\n"
    "- name: prod\n"
    "  context: {cluster: c1, user: u1, namespace: team-a}\n"
    "- name: dev\n"
    "  context:\n"
    "    cluster: c2\n"
    "    user: u2\n";

Test(kube_config, current_context)
{
    struct ig_kube_config cfg;
    char err[256] = "";
    cr_assert_eq(parse(two_contexts, NULL, &cfg, err), 0, "%s", err);
    cr_assert_str_eq(cfg.server, "https://10.0.0.1:6443");
    cr_assert_str_eq(cfg.ca_file, "/etc/kube/ca.pem");
    cr_assert_str_eq(cfg.token, "abc");
    cr_assert_null(cfg.token_file);
    cr_assert_str_eq(cfg.namespace, "team-a");
    cr_assert_not(cfg.insecure_skip_tls_verify);
    ig_kube_config_free(&cfg);
}

Test(kube_config, named_context)
{
    struct ig_kube_config cfg;
    char err[256] = "";
    cr_assert_eq(parse(two_contexts, "dev", &cfg, err), 0, "%s", err);
    cr_assert_str_eq(cfg.server, "https://[fd00::1]:443");
    cr_assert_eq(cfg.ca_data_length, 5);
    cr_assert_eq(memcmp(cfg.ca_data, "hello", 5), 0);
    cr_assert_null(cfg.ca_file);
    cr_assert(cfg.insecure_skip_tls_verify);
    cr_assert_str_eq(cfg.token_file, "/var/token");
    cr_assert_str_eq(cfg.client_cert_file, "/etc/kube/certs/c.pem");
    cr_assert_str_eq(cfg.client_key_file, "/etc/kube/certs/k.pem");
    cr_assert_null(cfg.namespace);
    ig_kube_config_free(&cfg);
}

Test(kube_config, missing_context)
{
    struct ig_kube_config cfg;
    char err[256] = "";
    cr_assert_eq(parse(two_contexts, "staging", &cfg, err), -1);
    cr_assert_not_null(strstr(err, "\"staging\" not found"));
}

Test(kube_config, rejects_plain_http)
{
    const char *text = "current-context: x\n"
                       "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:8080'}}]\n"
                       "contexts: [{name: x, context: {cluster: c}}]\n";
    struct ig_kube_config cfg;
    char err[256] = "";
    cr_assert_eq(parse(text, NULL, &cfg, err), -1);
    cr_assert_not_null(strstr(err, "https://"));
}

Test(kube_config, rejects_exec_plugin)
{
    const char *text = "current-context: x\n"
                       "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
                       "users: [{name: u, user: {exec: {command: aws}}}]\n"
                       "contexts: [{name: x, context: {cluster: c, user: u}}]\n";
    struct ig_kube_config cfg;
    char err[256] = "";
    cr_assert_eq(parse(text, NULL, &cfg, err), -1);
    cr_assert_not_null(strstr(err, "exec"));
}

Test(kube_config, rejects_bad_base64)
{
    const char *text = "current-context: x\n"
                       "clusters: [{name: c, cluster: {server: 'https://h', "
                       "certificate-authority-data: '%%%'}}]\n"
                       "contexts: [{name: x, context: {cluster: c}}]\n";
    struct ig_kube_config cfg;
    char err[256] = "";
    cr_assert_eq(parse(text, NULL, &cfg, err), -1);
    cr_assert_not_null(strstr(err, "base64"));
}

Test(kube_config, rejects_invalid_yaml)
{
    struct ig_kube_config cfg;
    char err[256] = "";
    cr_assert_eq(parse("clusters: [unclosed\n", NULL, &cfg, err), -1);
    cr_assert_not_null(strstr(err, "YAML"));
}

Test(kube_config, server_url_brackets_ipv6)
{
    char *v4 = ig_kube_server_url("10.96.0.1", "443");
    char *v6 = ig_kube_server_url("fd00:10:96::1", "443");
    cr_assert_str_eq(v4, "https://10.96.0.1:443");
    cr_assert_str_eq(v6, "https://[fd00:10:96::1]:443");
    free(v4);
    free(v6);
}

static char sa_dir[64];

static void make_sa_dir(void)
{
    snprintf(sa_dir, sizeof sa_dir, "/tmp/ig-sa-XXXXXX");
    cr_assert_not_null(mkdtemp(sa_dir));
    const char *files[][2] = {{"token", "tok\n"}, {"ca.crt", "pem"}, {"namespace", "ns-1\n"}};
    for (size_t i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", sa_dir, files[i][0]);
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        fputs(files[i][1], f);
        fclose(f);
    }
}

static void remove_sa_dir(void)
{
    const char *names[] = {"token", "ca.crt", "namespace"};
    for (size_t i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", sa_dir, names[i]);
        unlink(path);
    }
    rmdir(sa_dir);
}

Test(kube_config, in_cluster_files, .init = make_sa_dir, .fini = remove_sa_dir)
{
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
    struct ig_kube_config cfg;
    char err[256] = "";
    cr_assert_eq(ig_kube_config_in_cluster(sa_dir, &cfg, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(cfg.server, "https://[fd00::1]:6443");
    cr_assert_str_eq(cfg.namespace, "ns-1");
    cr_assert_not_null(strstr(cfg.token_file, "/token"));
    cr_assert_not_null(strstr(cfg.ca_file, "/ca.crt"));
    ig_kube_config_free(&cfg);
}

Test(kube_config, in_cluster_needs_env)
{
    unsetenv("KUBERNETES_SERVICE_HOST");
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    struct ig_kube_config cfg;
    char err[256] = "";
    cr_assert_eq(ig_kube_config_in_cluster("/nonexistent", &cfg, err, sizeof err), 1);
}

Test(kube_config, in_cluster_missing_token)
{
    setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    struct ig_kube_config cfg;
    char err[256] = "";
    cr_assert_eq(ig_kube_config_in_cluster("/nonexistent", &cfg, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "/nonexistent/token"));
}

Test(kube_config, load_reports_none)
{
    unsetenv("KUBECONFIG");
    unsetenv("KUBERNETES_SERVICE_HOST");
    struct ig_kube_config cfg;
    char err[256] = "";
    cr_assert_eq(ig_kube_config_load(NULL, &cfg, err, sizeof err), 1);
}
