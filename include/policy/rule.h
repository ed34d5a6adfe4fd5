/* The immutable-guard rule.
 *
 * An ExternalSecret spec S (for a ClusterExternalSecret, spec.externalSecretSpec)
 * violates when S.target.immutable is true, S still expects refreshes, and no
 * rotation policy is declared in the annotation immutable-guard.io/rotation.
 * The annotation is read from metadata.annotations of an ExternalSecret and
 * from spec.externalSecretMetadata.annotations of a ClusterExternalSecret,
 * which External Secrets Operator copies onto the ExternalSecrets it generates.
 * An annotation with a value other than "recreate" is a violation of its own,
 * whatever the target. */
#ifndef IG_POLICY_RULE_H
#define IG_POLICY_RULE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define IG_ROTATION_ANNOTATION "immutable-guard.io/rotation"
#define IG_ROTATION_RECREATE "recreate"
#define IG_ESO_GROUP "external-secrets.io"

enum ig_es_kind {
    IG_KIND_OTHER,
    IG_KIND_EXTERNAL_SECRET,
    IG_KIND_CLUSTER_EXTERNAL_SECRET,
};

enum ig_violation {
    IG_VIOLATION_NONE,
    IG_VIOLATION_MISSING_ROTATION, /* immutable, refreshing, no annotation */
    IG_VIOLATION_INVALID_ROTATION, /* annotation present with an unknown value */
};

/* Reason the spec expects refreshes, or does not. */
enum ig_refresh {
    IG_REFRESH_DEFAULT_INTERVAL, /* refreshInterval absent: ESO's default, 1h */
    IG_REFRESH_INTERVAL,         /* a positive refreshInterval */
    IG_REFRESH_UNPARSABLE,       /* refreshInterval not a Go duration: counted as refreshing */
    IG_REFRESH_ON_CHANGE,        /* refreshPolicy OnChange */
    IG_REFRESH_UNKNOWN_POLICY,   /* a refreshPolicy ESO does not define: counted as refreshing */
    IG_REFRESH_NONE_CREATED_ONCE,
    IG_REFRESH_NONE_ZERO_INTERVAL, /* zero or negative interval, policy absent or Periodic */
};

struct ig_policy_result {
    enum ig_violation violation;
    bool immutable;
    bool expects_refresh;
    enum ig_refresh refresh;
    /* Borrowed from the evaluated object; valid while it lives. NULL when absent. */
    const char *interval_text;  /* refreshInterval as written, when it is a string */
    double interval_number;     /* refreshInterval when YAML delivered a bare number */
    bool interval_is_number;
    const char *refresh_policy; /* refreshPolicy string */
    const char *rotation;       /* annotation value; NULL when absent */
    bool rotation_not_string;   /* annotation present but not a string */
    /* Set by the caller for an UPDATE whose oldObject's target is already
     * immutable: ESO has then created an immutable Secret, which Kubernetes
     * never lets become mutable again, so "set immutable: false" alone no
     * longer fixes anything. */
    bool target_was_immutable;
};

/* Classify an object by API group, version and kind. ExternalSecret and
 * ClusterExternalSecret of external-secrets.io v1, v1beta1 and v1alpha1 are
 * checked; everything else is IG_KIND_OTHER. */
enum ig_es_kind ig_policy_kind(const char *group, const char *version, const char *kind);
/* Same, from a manifest's apiVersion ("external-secrets.io/v1") and kind. */
enum ig_es_kind ig_policy_kind_from_api_version(const char *api_version, const char *kind);
const char *ig_policy_kind_name(enum ig_es_kind kind);

/* Evaluate the rule on a whole object (with metadata and spec). */
void ig_policy_evaluate(enum ig_es_kind kind, const cJSON *object, struct ig_policy_result *result);

/* True when the object's target (spec.target, or spec.externalSecretSpec.target)
 * has immutable: true. */
bool ig_policy_target_immutable(enum ig_es_kind kind, const cJSON *object);

/* True when the fields the rule reads (target.immutable, refreshPolicy,
 * refreshInterval and the rotation annotation) are identical in both objects,
 * absence included. */
bool ig_policy_fields_equal(enum ig_es_kind kind, const cJSON *a, const cJSON *b);

/* The spec the rule reads: spec, or spec.externalSecretSpec. NULL when absent. */
const cJSON *ig_policy_spec(enum ig_es_kind kind, const cJSON *object);

/* The paths of struct ig_policy_paths, as literals for text joined at
 * compile time. */
#define IG_ES_IMMUTABLE_PATH "spec.target.immutable"
#define IG_ES_REFRESH_POLICY_PATH "spec.refreshPolicy"
#define IG_ES_ANNOTATIONS_PATH "metadata.annotations"
#define IG_CES_IMMUTABLE_PATH "spec.externalSecretSpec.target.immutable"
#define IG_CES_REFRESH_POLICY_PATH "spec.externalSecretSpec.refreshPolicy"
#define IG_CES_ANNOTATIONS_PATH "spec.externalSecretMetadata.annotations"

/* Object paths used in messages and patches, for this kind. */
struct ig_policy_paths {
    const char *immutable;      /* "spec.target.immutable" */
    const char *refresh_policy; /* "spec.refreshPolicy" */
    const char *annotations;    /* "metadata.annotations" */
};
const struct ig_policy_paths *ig_policy_paths(enum ig_es_kind kind);

#endif
