#include "kube/config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/base64.h"

#define MAX_FILE_SIZE (4 * 1024 * 1024)

static void set_err(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* ap is initialized by va_start above; clang-tidy 14's valist check reports it anyway. */
    if (err && err_size > 0)
        vsnprintf(err, err_size, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
    va_end(ap);
}

void ig_kube_config_free(struct ig_kube_config *config)
{
    if (!config)
        return;
    free(config->server);
    free(config->ca_file);
    free(config->ca_data);
    free(config->token);
    free(config->token_file);
    free(config->client_cert_file);
    free(config->client_key_file);
    free(config->client_cert_data);
    free(config->client_key_data);
    free(config->namespace);
    free(config->source);
    memset(config, 0, sizeof *config);
}

char *ig_kube_server_url(const char *host, const char *port)
{
    bool ipv6 = strchr(host, ':') != NULL && host[0] != '[';
    size_t size = strlen(host) + strlen(port) + 16;
    char *url = malloc(size);
    if (!url)
        return NULL;
    snprintf(url, size, ipv6 ? "https://[%s]:%s" : "https://%s:%s", host, port);
    return url;
}

/* Read a whole small file. Returns a malloc'd NUL-terminated buffer or NULL with errno set. */
static char *read_file(const char *path, size_t *length)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        goto fail;
    for (;;) {
        if (len + 1 >= cap) {
            if (cap >= MAX_FILE_SIZE) {
                errno = EFBIG;
                goto fail;
            }
            char *grown = realloc(buf, cap * 2);
            if (!grown)
                goto fail;
            buf = grown;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0) {
            if (ferror(f))
                goto fail;
            break;
        }
    }
    fclose(f);
    buf[len] = '\0';
    if (length)
        *length = len;
    return buf;
fail: {
    int saved = errno;
    free(buf);
    fclose(f);
    errno = saved;
    return NULL;
}
}

static char *trim_copy(const char *text)
{
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
        text++;
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\n' ||
                       text[len - 1] == '\r'))
        len--;
    return strndup(text, len);
}

static char *join_path(const char *dir, const char *file)
{
    size_t size = strlen(dir) + strlen(file) + 2;
    char *path = malloc(size);
    if (path)
        snprintf(path, size, "%s/%s", dir, file);
    return path;
}

int ig_kube_config_in_cluster(const char *sa_dir, struct ig_kube_config *out, char *err,
                              size_t err_size)
{
    memset(out, 0, sizeof *out);
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port)
        return 1;
    if (!sa_dir)
        sa_dir = IG_KUBE_SERVICEACCOUNT_DIR;

    char *ns_path = NULL;
    char *ns_text = NULL;
    out->server = ig_kube_server_url(host, port);
    out->token_file = join_path(sa_dir, "token");
    out->ca_file = join_path(sa_dir, "ca.crt");
    out->source = strdup("in-cluster");
    ns_path = join_path(sa_dir, "namespace");
    if (!out->server || !out->token_file || !out->ca_file || !out->source || !ns_path) {
        set_err(err, err_size, "out of memory while building the in-cluster configuration");
        goto fail;
    }
    /* The token is read on each use; check now that it is readable at all. */
    char *token = read_file(out->token_file, NULL);
    if (!token) {
        set_err(err, err_size,
                "cannot read the service-account token %s: %s; mount the service-account token "
                "or pass --kubeconfig",
                out->token_file, strerror(errno));
        goto fail;
    }
    free(token);
    FILE *ca = fopen(out->ca_file, "rb");
    if (!ca) {
        set_err(err, err_size, "cannot read the cluster CA %s: %s", out->ca_file, strerror(errno));
        goto fail;
    }
    fclose(ca);
    ns_text = read_file(ns_path, NULL);
    if (ns_text) {
        out->namespace = trim_copy(ns_text);
        if (!out->namespace) {
            set_err(err, err_size, "out of memory");
            goto fail;
        }
    }
    free(ns_text);
    free(ns_path);
    return 0;
fail:
    free(ns_text);
    free(ns_path);
    ig_kube_config_free(out);
    return -1;
}

/* ---- kubeconfig ------------------------------------------------------ */

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strlen(key) == k->data.scalar.length &&
            memcmp(k->data.scalar.value, key, k->data.scalar.length) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

/* The scalar's text (NUL-terminated by libyaml), or NULL when absent or not a scalar. */
static const char *map_scalar(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    yaml_node_t *node = map_get(doc, map, key);
    if (!node || node->type != YAML_SCALAR_NODE)
        return NULL;
    return (const char *)node->data.scalar.value;
}

/* Find {name: NAME, <field>: {...}} in a list such as clusters and return <field>. */
static yaml_node_t *named_entry(yaml_document_t *doc, yaml_node_t *root, const char *list,
                                const char *name, const char *field)
{
    yaml_node_t *seq = map_get(doc, root, list);
    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return NULL;
    for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top; i++) {
        yaml_node_t *entry = yaml_document_get_node(doc, *i);
        const char *entry_name = map_scalar(doc, entry, "name");
        if (entry_name && strcmp(entry_name, name) == 0)
            return map_get(doc, entry, field);
    }
    return NULL;
}

static char *resolve_path(const char *base_dir, const char *path)
{
    if (!base_dir || path[0] == '/')
        return strdup(path);
    return join_path(base_dir, path);
}

static bool decode_data(const char *text, unsigned char **out, size_t *length)
{
    *out = ig_base64_decode(text, strlen(text), length);
    return *out != NULL;
}

static bool is_true(const char *text)
{
    return text && (strcmp(text, "true") == 0 || strcmp(text, "True") == 0 ||
                    strcmp(text, "TRUE") == 0);
}

int ig_kube_config_parse_kubeconfig(const char *text, size_t length, const char *base_dir,
                                    const char *context_name, struct ig_kube_config *out,
                                    char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        set_err(err, err_size, "out of memory while parsing the kubeconfig");
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, length);
    if (!yaml_parser_load(&parser, &doc)) {
        set_err(err, err_size, "kubeconfig is not valid YAML: %s at line %zu",
                parser.problem ? parser.problem : "parse error", parser.problem_mark.line + 1);
        yaml_parser_delete(&parser);
        return -1;
    }
    int rc = -1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        set_err(err, err_size, "kubeconfig is empty or not a mapping");
        goto done;
    }
    if (!context_name)
        context_name = map_scalar(&doc, root, "current-context");
    if (!context_name || !*context_name) {
        set_err(err, err_size, "kubeconfig has no current-context; set one with "
                               "'kubectl config use-context'");
        goto done;
    }
    yaml_node_t *context = named_entry(&doc, root, "contexts", context_name, "context");
    if (!context) {
        set_err(err, err_size, "kubeconfig context \"%s\" not found", context_name);
        goto done;
    }
    const char *cluster_name = map_scalar(&doc, context, "cluster");
    const char *user_name = map_scalar(&doc, context, "user");
    const char *ns = map_scalar(&doc, context, "namespace");
    yaml_node_t *cluster = cluster_name ? named_entry(&doc, root, "clusters", cluster_name, "cluster")
                                        : NULL;
    if (!cluster) {
        set_err(err, err_size, "kubeconfig cluster \"%s\" of context \"%s\" not found",
                cluster_name ? cluster_name : "", context_name);
        goto done;
    }
    const char *server = map_scalar(&doc, cluster, "server");
    if (!server || strncmp(server, "https://", 8) != 0) {
        set_err(err, err_size, "kubeconfig cluster \"%s\" needs an https:// server, got \"%s\"",
                cluster_name, server ? server : "");
        goto done;
    }
    size_t server_len = strlen(server);
    while (server_len > 8 && server[server_len - 1] == '/')
        server_len--;
    out->server = strndup(server, server_len);
    if (!out->server)
        goto oom;

    const char *ca_file = map_scalar(&doc, cluster, "certificate-authority");
    const char *ca_data = map_scalar(&doc, cluster, "certificate-authority-data");
    out->insecure_skip_tls_verify = is_true(map_scalar(&doc, cluster, "insecure-skip-tls-verify"));
    if (ca_data && *ca_data) {
        if (!decode_data(ca_data, &out->ca_data, &out->ca_data_length)) {
            set_err(err, err_size, "certificate-authority-data of cluster \"%s\" is not valid "
                                   "base64", cluster_name);
            goto done;
        }
    } else if (ca_file && *ca_file) {
        if (!(out->ca_file = resolve_path(base_dir, ca_file)))
            goto oom;
    }

    yaml_node_t *user = user_name ? named_entry(&doc, root, "users", user_name, "user") : NULL;
    if (user_name && *user_name && !user) {
        set_err(err, err_size, "kubeconfig user \"%s\" of context \"%s\" not found", user_name,
                context_name);
        goto done;
    }
    if (user) {
        if (map_get(&doc, user, "exec") || map_get(&doc, user, "auth-provider")) {
            set_err(err, err_size, "kubeconfig user \"%s\" uses an exec or auth-provider plugin, "
                                   "which is not supported; use a token, a token file or a "
                                   "client certificate", user_name);
            goto done;
        }
        const char *token = map_scalar(&doc, user, "token");
        const char *token_file = map_scalar(&doc, user, "tokenFile");
        const char *cert = map_scalar(&doc, user, "client-certificate");
        const char *key = map_scalar(&doc, user, "client-key");
        const char *cert_data = map_scalar(&doc, user, "client-certificate-data");
        const char *key_data = map_scalar(&doc, user, "client-key-data");
        if (token && *token && !(out->token = strdup(token)))
            goto oom;
        if (token_file && *token_file && !(out->token_file = resolve_path(base_dir, token_file)))
            goto oom;
        if (cert_data && *cert_data &&
            !decode_data(cert_data, &out->client_cert_data, &out->client_cert_data_length)) {
            set_err(err, err_size, "client-certificate-data of user \"%s\" is not valid base64",
                    user_name);
            goto done;
        }
        if (key_data && *key_data &&
            !decode_data(key_data, &out->client_key_data, &out->client_key_data_length)) {
            set_err(err, err_size, "client-key-data of user \"%s\" is not valid base64", user_name);
            goto done;
        }
        if (!out->client_cert_data && cert && *cert &&
            !(out->client_cert_file = resolve_path(base_dir, cert)))
            goto oom;
        if (!out->client_key_data && key && *key && !(out->client_key_file = resolve_path(base_dir, key)))
            goto oom;
        bool has_cert = out->client_cert_data || out->client_cert_file;
        bool has_key = out->client_key_data || out->client_key_file;
        if (has_cert != has_key) {
            set_err(err, err_size, "kubeconfig user \"%s\" sets a client certificate without its "
                                   "key, or a key without its certificate", user_name);
            goto done;
        }
    }
    if (ns && *ns && !(out->namespace = strdup(ns)))
        goto oom;
    rc = 0;
    goto done;
oom:
    set_err(err, err_size, "out of memory while reading the kubeconfig");
done:
    if (rc != 0)
        ig_kube_config_free(out);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

int ig_kube_config_from_kubeconfig(const char *path, const char *context,
                                   struct ig_kube_config *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    size_t length;
    char *text = read_file(path, &length);
    if (!text) {
        set_err(err, err_size, "cannot read kubeconfig %s: %s", path, strerror(errno));
        return -1;
    }
    char *dir = strdup(path);
    if (!dir) {
        free(text);
        set_err(err, err_size, "out of memory");
        return -1;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else {
        dir[0] = '.';
        dir[1] = '\0';
    }
    int rc = ig_kube_config_parse_kubeconfig(text, length, slash == dir ? "/" : dir, context, out,
                                             err, err_size);
    free(dir);
    free(text);
    if (rc == 0 && !(out->source = strdup(path))) {
        ig_kube_config_free(out);
        set_err(err, err_size, "out of memory");
        return -1;
    }
    return rc;
}

int ig_kube_config_load(const char *kubeconfig, struct ig_kube_config *out, char *err,
                        size_t err_size)
{
    memset(out, 0, sizeof *out);
    if (kubeconfig && *kubeconfig)
        return ig_kube_config_from_kubeconfig(kubeconfig, NULL, out, err, err_size);

    const char *env = getenv("KUBECONFIG");
    if (env && *env) {
        /* KUBECONFIG is a colon-separated list; files are not merged here, the
         * first one that exists is used. */
        int rc = 1;
        const char *item = env;
        while (*item) {
            const char *end = strchr(item, ':');
            size_t len = end ? (size_t)(end - item) : strlen(item);
            char *path = strndup(item, len);
            if (!path) {
                set_err(err, err_size, "out of memory");
                return -1;
            }
            FILE *f = len > 0 ? fopen(path, "rb") : NULL;
            if (f) {
                fclose(f);
                rc = ig_kube_config_from_kubeconfig(path, NULL, out, err, err_size);
                free(path);
                break;
            }
            free(path);
            if (!end)
                break;
            item = end + 1;
        }
        if (rc != 1)
            return rc;
    }
    return ig_kube_config_in_cluster(NULL, out, err, err_size);
}
