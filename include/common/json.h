/* Small cJSON accessors that tolerate any input shape. */
#ifndef IG_COMMON_JSON_H
#define IG_COMMON_JSON_H

#include <cjson/cJSON.h>

/* Member key of object; NULL when object is NULL, not an object, or lacks it. */
const cJSON *ig_json_member(const cJSON *object, const char *key);

/* The string member key of object; NULL when absent or not a string. */
const char *ig_json_string(const cJSON *object, const char *key);

#endif
