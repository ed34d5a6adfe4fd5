#include <criterion/criterion.h>
#include <stdlib.h>

#include "kube/client.h"
#include "kube/internal.h"

Test(kube_paths, core_namespaced)
{
    char *path = ig_kube_resource_path(&IG_KUBE_SECRETS, "ns", "s1", NULL);
    cr_assert_str_eq(path, "/api/v1/namespaces/ns/secrets/s1");
    free(path);
}

Test(kube_paths, group_subresource)
{
    const struct ig_kube_resource es = {"external-secrets.io", "v1", "externalsecrets", true};
    char *path = ig_kube_resource_path(&es, "team", "db", "status");
    cr_assert_str_eq(path, "/apis/external-secrets.io/v1/namespaces/team/externalsecrets/db/status");
    free(path);
}

Test(kube_paths, all_namespaces_list)
{
    const struct ig_kube_resource es = {"external-secrets.io", "v1beta1", "externalsecrets", true};
    char *path = ig_kube_resource_path(&es, NULL, NULL, NULL);
    cr_assert_str_eq(path, "/apis/external-secrets.io/v1beta1/externalsecrets");
    free(path);
}

Test(kube_paths, cluster_scoped_ignores_namespace)
{
    const struct ig_kube_resource css = {"external-secrets.io", "v1", "clustersecretstores", false};
    char *path = ig_kube_resource_path(&css, "ignored", "store", NULL);
    cr_assert_str_eq(path, "/apis/external-secrets.io/v1/clustersecretstores/store");
    free(path);
}

Test(kube_paths, query_escape)
{
    char *escaped = ig_kube_query_escape("a=b,c d/é");
    cr_assert_str_eq(escaped, "a%3Db%2Cc%20d%2F%C3%A9");
    free(escaped);
}
