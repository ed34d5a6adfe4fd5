#include "common/json.h"

const cJSON *ig_json_member(const cJSON *object, const char *key)
{
    if (!object || !cJSON_IsObject(object))
        return NULL;
    return cJSON_GetObjectItemCaseSensitive(object, key);
}

const char *ig_json_string(const cJSON *object, const char *key)
{
    const cJSON *item = ig_json_member(object, key);
    return item && cJSON_IsString(item) ? item->valuestring : NULL;
}
