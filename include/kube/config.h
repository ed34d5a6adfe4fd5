/* Connection settings for the Kubernetes API, read from the in-cluster
 * service account or from a kubeconfig file. */
#ifndef IG_KUBE_CONFIG_H
#define IG_KUBE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define IG_KUBE_SERVICEACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct ig_kube_config {
    char *server; /* https://host:port, without a trailing slash */
    char *ca_file;
    unsigned char *ca_data; /* PEM bytes from certificate-authority-data */
    size_t ca_data_length;
    char *token;      /* a fixed bearer token */
    char *token_file; /* re-read periodically; wins over token when both are set */
    char *client_cert_file;
    char *client_key_file;
    unsigned char *client_cert_data;
    size_t client_cert_data_length;
    unsigned char *client_key_data;
    size_t client_key_data_length;
    bool insecure_skip_tls_verify;
    char *namespace; /* service-account namespace or the context's namespace; may be NULL */
    char *source;    /* "in-cluster" or the kubeconfig path, for logs */
};

/* Build https://host:port, putting an IPv6 host in brackets. Returns a malloc'd
 * string or NULL when out of memory. */
char *ig_kube_server_url(const char *host, const char *port);

/* In-cluster configuration from KUBERNETES_SERVICE_HOST/PORT and the token,
 * ca.crt and namespace files in sa_dir (NULL means IG_KUBE_SERVICEACCOUNT_DIR).
 * Returns 0 on success, 1 when the two variables are not set (not in a cluster),
 * -1 with a message in err when the configuration is unusable. */
int ig_kube_config_in_cluster(const char *sa_dir, struct ig_kube_config *out, char *err,
                              size_t err_size);

/* Parse a kubeconfig file with the named context (NULL: current-context).
 * Relative file paths are resolved against the kubeconfig's folder.
 * Returns 0, or -1 with a message in err. */
int ig_kube_config_from_kubeconfig(const char *path, const char *context,
                                   struct ig_kube_config *out, char *err, size_t err_size);

/* Same as ig_kube_config_from_kubeconfig, on text already in memory; base_dir
 * resolves relative paths (NULL keeps them as written). */
int ig_kube_config_parse_kubeconfig(const char *text, size_t length, const char *base_dir,
                                    const char *context, struct ig_kube_config *out, char *err,
                                    size_t err_size);

/* Resolve the configuration in the order controller-runtime uses: the path
 * given (--kubeconfig), then the first file of KUBECONFIG, then in-cluster.
 * Returns 0, 1 when none of them is available, or -1 with a message in err. */
int ig_kube_config_load(const char *kubeconfig, struct ig_kube_config *out, char *err,
                        size_t err_size);

void ig_kube_config_free(struct ig_kube_config *config);

#endif
