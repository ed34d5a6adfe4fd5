#include "policy/rule.h"

#include <string.h>

#include "common/json.h"
#include "policy/duration.h"

static const struct ig_policy_paths external_secret_paths = {
    .immutable = IG_ES_IMMUTABLE_PATH,
    .refresh_policy = IG_ES_REFRESH_POLICY_PATH,
    .annotations = IG_ES_ANNOTATIONS_PATH,
};

static const struct ig_policy_paths cluster_external_secret_paths = {
    .immutable = IG_CES_IMMUTABLE_PATH,
    .refresh_policy = IG_CES_REFRESH_POLICY_PATH,
    .annotations = IG_CES_ANNOTATIONS_PATH,
};

static bool is_checked_version(const char *version)
{
    return strcmp(version, "v1") == 0 || strcmp(version, "v1beta1") == 0 ||
           strcmp(version, "v1alpha1") == 0;
}

enum ig_es_kind ig_policy_kind(const char *group, const char *version, const char *kind)
{
    if (!group || !version || !kind)
        return IG_KIND_OTHER;
    if (strcmp(group, IG_ESO_GROUP) != 0 || !is_checked_version(version))
        return IG_KIND_OTHER;
    if (strcmp(kind, "ExternalSecret") == 0)
        return IG_KIND_EXTERNAL_SECRET;
    if (strcmp(kind, "ClusterExternalSecret") == 0)
        return IG_KIND_CLUSTER_EXTERNAL_SECRET;
    return IG_KIND_OTHER;
}

enum ig_es_kind ig_policy_kind_from_api_version(const char *api_version, const char *kind)
{
    if (!api_version)
        return IG_KIND_OTHER;
    const char *slash = strchr(api_version, '/');
    size_t group_length = strlen(IG_ESO_GROUP);
    if (!slash || (size_t)(slash - api_version) != group_length ||
        strncmp(api_version, IG_ESO_GROUP, group_length) != 0)
        return IG_KIND_OTHER;
    return ig_policy_kind(IG_ESO_GROUP, slash + 1, kind);
}

const char *ig_policy_kind_name(enum ig_es_kind kind)
{
    switch (kind) {
    case IG_KIND_EXTERNAL_SECRET: return "ExternalSecret";
    case IG_KIND_CLUSTER_EXTERNAL_SECRET: return "ClusterExternalSecret";
    case IG_KIND_OTHER: break;
    }
    return "other";
}

const struct ig_policy_paths *ig_policy_paths(enum ig_es_kind kind)
{
    return kind == IG_KIND_CLUSTER_EXTERNAL_SECRET ? &cluster_external_secret_paths
                                                   : &external_secret_paths;
}

const cJSON *ig_policy_spec(enum ig_es_kind kind, const cJSON *object)
{
    const cJSON *spec = ig_json_member(object, "spec");
    if (kind == IG_KIND_CLUSTER_EXTERNAL_SECRET)
        spec = ig_json_member(spec, "externalSecretSpec");
    return cJSON_IsObject(spec) ? spec : NULL;
}

static const cJSON *annotations_of(enum ig_es_kind kind, const cJSON *object)
{
    if (kind == IG_KIND_CLUSTER_EXTERNAL_SECRET)
        return ig_json_member(ig_json_member(ig_json_member(object, "spec"), "externalSecretMetadata"),
                             "annotations");
    return ig_json_member(ig_json_member(object, "metadata"), "annotations");
}

static const cJSON *rotation_item(enum ig_es_kind kind, const cJSON *object)
{
    return ig_json_member(annotations_of(kind, object), IG_ROTATION_ANNOTATION);
}

/* refreshInterval: a Go duration string, or a bare number when YAML delivered
 * one. Sets *zero when the interval is zero or negative (ESO then never
 * requeues on a timer). Returns false when the value cannot be read. */
static bool read_interval(const cJSON *interval, struct ig_policy_result *result, bool *zero)
{
    if (cJSON_IsString(interval)) {
        int64_t nanoseconds;
        result->interval_text = interval->valuestring;
        if (!ig_duration_parse(interval->valuestring, strlen(interval->valuestring), &nanoseconds))
            return false;
        *zero = nanoseconds <= 0;
        return true;
    }
    if (cJSON_IsNumber(interval)) {
        /* metav1.Duration only takes strings; a YAML integer 0 still means
         * "no timer" to the people who write it, any other number is invalid. */
        result->interval_is_number = true;
        result->interval_number = interval->valuedouble;
        if (interval->valuedouble != 0)
            return false;
        *zero = true;
        return true;
    }
    return false;
}

static void evaluate_refresh(const cJSON *spec, struct ig_policy_result *result)
{
    const cJSON *policy = ig_json_member(spec, "refreshPolicy");
    const cJSON *interval = ig_json_member(spec, "refreshInterval");
    const char *policy_text = cJSON_IsString(policy) ? policy->valuestring : NULL;

    result->refresh_policy = policy_text;
    result->expects_refresh = true;

    bool periodic = !policy || cJSON_IsNull(policy) ||
                    (policy_text && strcmp(policy_text, "Periodic") == 0);
    if (policy_text && strcmp(policy_text, "CreatedOnce") == 0) {
        result->refresh = IG_REFRESH_NONE_CREATED_ONCE;
        result->expects_refresh = false;
        return;
    }
    if (policy_text && strcmp(policy_text, "OnChange") == 0) {
        result->refresh = IG_REFRESH_ON_CHANGE;
        return;
    }
    if (!periodic) {
        result->refresh = IG_REFRESH_UNKNOWN_POLICY;
        return;
    }

    if (!interval || cJSON_IsNull(interval)) {
        result->refresh = IG_REFRESH_DEFAULT_INTERVAL;
        return;
    }
    bool zero = false;
    if (!read_interval(interval, result, &zero)) {
        result->refresh = IG_REFRESH_UNPARSABLE;
        return;
    }
    if (zero) {
        result->refresh = IG_REFRESH_NONE_ZERO_INTERVAL;
        result->expects_refresh = false;
        return;
    }
    result->refresh = IG_REFRESH_INTERVAL;
}

bool ig_policy_target_immutable(enum ig_es_kind kind, const cJSON *object)
{
    const cJSON *spec = ig_policy_spec(kind, object);
    return cJSON_IsTrue(ig_json_member(ig_json_member(spec, "target"), "immutable"));
}

void ig_policy_evaluate(enum ig_es_kind kind, const cJSON *object, struct ig_policy_result *result)
{
    memset(result, 0, sizeof *result);
    result->refresh = IG_REFRESH_DEFAULT_INTERVAL;
    if (kind == IG_KIND_OTHER)
        return;

    const cJSON *spec = ig_policy_spec(kind, object);
    result->immutable = ig_policy_target_immutable(kind, object);
    evaluate_refresh(spec, result);

    const cJSON *rotation = rotation_item(kind, object);
    if (rotation && !cJSON_IsNull(rotation)) {
        if (cJSON_IsString(rotation))
            result->rotation = rotation->valuestring;
        else
            result->rotation_not_string = true;
    }

    bool rotation_present = result->rotation || result->rotation_not_string;
    bool rotation_valid = result->rotation && strcmp(result->rotation, IG_ROTATION_RECREATE) == 0;
    if (rotation_present && !rotation_valid)
        result->violation = IG_VIOLATION_INVALID_ROTATION;
    else if (result->immutable && result->expects_refresh && !rotation_present)
        result->violation = IG_VIOLATION_MISSING_ROTATION;
}

/* Compare two optional members: both absent, or both present and equal. */
static bool same_item(const cJSON *a, const cJSON *b)
{
    if (!a || !b)
        return a == b;
    return cJSON_Compare(a, b, true);
}

bool ig_policy_fields_equal(enum ig_es_kind kind, const cJSON *a, const cJSON *b)
{
    const cJSON *spec_a = ig_policy_spec(kind, a);
    const cJSON *spec_b = ig_policy_spec(kind, b);
    return same_item(ig_json_member(ig_json_member(spec_a, "target"), "immutable"),
                     ig_json_member(ig_json_member(spec_b, "target"), "immutable")) &&
           same_item(ig_json_member(spec_a, "refreshPolicy"), ig_json_member(spec_b, "refreshPolicy")) &&
           same_item(ig_json_member(spec_a, "refreshInterval"),
                     ig_json_member(spec_b, "refreshInterval")) &&
           same_item(rotation_item(kind, a), rotation_item(kind, b));
}
