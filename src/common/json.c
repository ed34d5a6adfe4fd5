#include "common/json.h"

#include <limits.h>
#include <string.h>

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

/* Attach item to object under key, which is not copied. False, with item
 * freed, when item is NULL or cannot be attached. */
static bool attach(cJSON *object, const char *key, cJSON *item)
{
    if (!item)
        return false;
    if (!cJSON_AddItemToObjectCS(object, key, item)) {
        cJSON_Delete(item);
        return false;
    }
    return true;
}

bool ig_json_add_int(cJSON *object, const char *key, long long value)
{
    /* Digits are written from the end. The magnitude is unsigned, so that
     * LLONG_MIN does not overflow. */
    char digits[24];
    char *p = digits + sizeof digits;
    unsigned long long magnitude = value < 0 ? 0ULL - (unsigned long long)value
                                             : (unsigned long long)value;
    *--p = '\0';
    do {
        *--p = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude > 0);
    if (value < 0)
        *--p = '-';

    return attach(object, key, cJSON_CreateRaw(p));
}

bool ig_json_add_string_ref(cJSON *object, const char *key, const char *value)
{
    return attach(object, key, cJSON_CreateStringReference(value));
}

size_t ig_json_print_into(const cJSON *item, char *buffer, size_t size)
{
    if (size > INT_MAX)
        size = INT_MAX;
    if (size < 6 || !cJSON_PrintPreallocated((cJSON *)item, buffer, (int)size, 0))
        return 0;
    return strlen(buffer);
}
