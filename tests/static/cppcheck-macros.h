/* Macro definitions that cppcheck needs but cannot see, because system
 * headers are not passed to it (parsing them would make the check slow and
 * report on code that is not ours). Same expansion as cJSON 1.7.15. */
#define cJSON_ArrayForEach(element, array) \
    for (element = (array != NULL) ? (array)->child : NULL; element != NULL; element = element->next)
