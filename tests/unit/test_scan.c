#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission/scan.h"

static cJSON *scan(const char *text)
{
    return ig_review_scan(text, strlen(text), NULL, NULL);
}

static char *scan_to_text(const char *text)
{
    cJSON *tree = scan(text);
    cr_assert_not_null(tree, "scan rejected %s", text);
    char *out = cJSON_PrintUnformatted(tree);
    cJSON_Delete(tree);
    return out;
}

/* RFC 8259 JSON texts; Go's encoding/json, which the apiserver uses, agrees
 * on every one. cJSON accepts a few of the invalid ones (such as "01"). */
static const char *const valid_texts[] = {
    "{}", "[]", "\"x\"", "0", "-0", "1.5e10", "-1E-2", "true", "false", "null", " { } ",
    "{\"a\":[1,2,{\"b\":null}]}", "[[[[[]]]]]", "\"\\u00e9\\n\\t\\\"\"", "[\"\\ud83d\\ude00\"]",
};
static const char *const invalid_texts[] = {
    "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "01", "1.", ".5", "-", "1e",
    "+1", "tru", "nul", "\"\\x\"", "\"\\u12G4\"", "\"unterminated", "[1 2]", "{\"a\":1 \"b\":2}",
    "\"tab\there\"", "{} {}", "[1]]",
};

Test(scan, accepts_valid_json)
{
    for (size_t i = 0; i < sizeof valid_texts / sizeof valid_texts[0]; i++) {
        cJSON *tree = scan(valid_texts[i]);
        cr_assert_not_null(tree, "rejected valid JSON %s", valid_texts[i]);
        cJSON_Delete(tree);
    }
}

Test(scan, rejects_invalid_json)
{
    for (size_t i = 0; i < sizeof invalid_texts / sizeof invalid_texts[0]; i++) {
        cJSON *tree = scan(invalid_texts[i]);
        cr_assert_null(tree, "accepted invalid JSON \"%s\"", invalid_texts[i]);
    }
}

Test(scan, prunes_unread_members)
{
    char *out = scan_to_text(
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"extra\":{\"x\":[1,2]},"
        "\"request\":{\"uid\":\"u\",\"options\":{\"a\":1},\"object\":{\"metadata\":{\"name\":\"n\","
        "\"managedFields\":[{\"f\":1}],\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":"
        "\"{}\",\"immutable-guard.io/rotation\":\"recreate\"}},\"spec\":{\"data\":[1],\"target\":"
        "{\"immutable\":true,\"name\":\"t\"}}}}}");
    cr_assert_str_eq(out, "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
                          "\"request\":{\"uid\":\"u\",\"object\":{\"metadata\":{\"name\":\"n\","
                          "\"annotations\":{\"immutable-guard.io/rotation\":\"recreate\"}},\"spec\":"
                          "{\"target\":{\"immutable\":true}}}}}");
    free(out);
}

Test(scan, prunes_request_kind)
{
    char *out = scan_to_text("{\"request\":{\"kind\":{\"group\":\"g\",\"version\":\"v\",\"kind\":\"K\",\"x\":[1]}}}");
    cr_assert_str_eq(out, "{\"request\":{\"kind\":{\"group\":\"g\",\"version\":\"v\",\"kind\":\"K\"}}}");
    free(out);
}

Test(scan, keeps_empty_parent_maps)
{
    char *out = scan_to_text("{\"request\":{\"object\":{\"metadata\":{\"annotations\":{\"a\":\"b\"}},"
                             "\"spec\":{\"externalSecretMetadata\":{\"labels\":{}}}}}}");
    cr_assert_str_eq(out, "{\"request\":{\"object\":{\"metadata\":{\"annotations\":{}},\"spec\":"
                          "{\"externalSecretMetadata\":{}}}}}");
    free(out);
}

Test(scan, array_in_place_of_object_stays_array)
{
    char *out = scan_to_text("{\"request\":{\"object\":[1,{\"a\":2}],\"oldObject\":null}}");
    cr_assert_str_eq(out, "{\"request\":{\"object\":[],\"oldObject\":null}}");
    free(out);
}

Test(scan, last_duplicate_member_wins)
{
    char *out = scan_to_text("{\"kind\":\"A\",\"kind\":\"AdmissionReview\"}");
    cr_assert_str_eq(out, "{\"kind\":\"AdmissionReview\"}");
    free(out);
}

Test(scan, decodes_escapes_in_keys_and_values)
{
    char *out = scan_to_text("{\"request\":{\"object\":{\"metadata\":{\"annotations\":"
                             "{\"immutable-guard.io\\/rotation\":\"re\\u0063reate\"}}}}}");
    cr_assert_str_eq(out, "{\"request\":{\"object\":{\"metadata\":{\"annotations\":"
                          "{\"immutable-guard.io/rotation\":\"recreate\"}}}}}");
    free(out);
}

Test(scan, surrogates_decode_to_utf8)
{
    cJSON *tree = scan("{\"kind\":\"\\ud83d\\ude00 \\ud800 x\"}");
    cr_assert_not_null(tree);
    cr_assert_str_eq(cJSON_GetObjectItem(tree, "kind")->valuestring, "\xf0\x9f\x98\x80 \xef\xbf\xbd x");
    cJSON_Delete(tree);
}

Test(scan, long_keys_and_numbers)
{
    char text[2048];
    char key[600];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    snprintf(text, sizeof text, "{\"%s\":1,\"request\":{\"dryRun\":true,\"%s\":%s}}", key, key,
             "12345678901234567890123456789012345678901234567890123456789012345678901234567890");
    char *out = scan_to_text(text);
    cr_assert_str_eq(out, "{\"request\":{\"dryRun\":true}}");
    free(out);
}

Test(scan, depth_limit)
{
    size_t depth = IG_SCAN_MAX_DEPTH + 1;
    char *text = malloc(2 * depth + 1);
    memset(text, '[', depth);
    memset(text + depth, ']', depth);
    text[2 * depth] = '\0';
    cr_assert_null(scan(text));
    text[depth - 1] = ' ';
    text[depth] = ' ';
    cJSON *tree = scan(text);
    cr_assert_not_null(tree, "depth %zu rejected", depth - 1);
    cJSON_Delete(tree);
    free(text);
}

Test(scan, error_offset_points_at_problem)
{
    size_t offset = 0;
    cr_assert_null(ig_review_scan("{\"a\":tru}", 9, &offset, NULL));
    cr_assert_eq(offset, 5);
    cr_assert_null(ig_review_scan("{} x", 4, &offset, NULL));
    cr_assert_eq(offset, 3);
}

Test(scan, length_bounds_the_input)
{
    cJSON *tree = ig_review_scan("{\"kind\":\"a\"}garbage", 12, NULL, NULL);
    cr_assert_not_null(tree);
    cJSON_Delete(tree);
}

Test(scan, nul_escape_decodes_to_replacement)
{
    cJSON *tree = scan("{\"kind\":\"recreate\\u0000evil\"}");
    cr_assert_not_null(tree);
    cr_assert_str_eq(cJSON_GetObjectItem(tree, "kind")->valuestring, "recreate\xef\xbf\xbd" "evil");
    cJSON_Delete(tree);
}

Test(scan, depth_limit_is_reported)
{
    char text[2 * (IG_SCAN_MAX_DEPTH + 1) + 1];
    bool too_deep = false;
    memset(text, '[', IG_SCAN_MAX_DEPTH + 1);
    memset(text + IG_SCAN_MAX_DEPTH + 1, ']', IG_SCAN_MAX_DEPTH + 1);
    text[sizeof text - 1] = '\0';
    cr_assert_null(ig_review_scan(text, strlen(text), NULL, &too_deep));
    cr_assert(too_deep);
    cr_assert_null(ig_review_scan("[1,]", 4, NULL, &too_deep));
    cr_assert_not(too_deep);
}

/* The same texts as the value of a member the scanner skips, which takes the
 * validate-only path. */
Test(scan, skipped_member_validates_like_kept)
{
    char text[256];
    for (size_t i = 0; i < sizeof valid_texts / sizeof valid_texts[0]; i++) {
        if (valid_texts[i][0] == ' ')
            continue;
        snprintf(text, sizeof text, "{\"unread\":%s,\"kind\":\"AdmissionReview\"}", valid_texts[i]);
        cJSON *tree = scan(text);
        cr_assert_not_null(tree, "rejected valid JSON %s", text);
        cJSON_Delete(tree);
    }
    for (size_t i = 0; i < sizeof invalid_texts / sizeof invalid_texts[0]; i++) {
        if (invalid_texts[i][0] == '\0' || invalid_texts[i][0] == ' ' ||
            strcmp(invalid_texts[i], "{} {}") == 0 || strcmp(invalid_texts[i], "[1]]") == 0)
            continue; /* not a value on its own, or valid up to the member's end */
        snprintf(text, sizeof text, "{\"unread\":%s}", invalid_texts[i]);
        cJSON *tree = scan(text);
        cr_assert_null(tree, "accepted invalid JSON %s", text);
    }
}

/* Escapes at every offset of a long skipped string, so that each falls at
 * every place in and across the scanner's 16-byte chunks. */
Test(scan, skipped_string_escapes_at_every_offset)
{
    static const struct {
        const char *escape;
        bool valid;
    } cases[] = {
        {"\\\"", true},  {"\\\\", true},    {"\\/", true},     {"\\n", true},
        {"\\u00e9", true}, {"\\uD83D", true}, {"\\x", false},    {"\\u12G4", false},
        {"\t", false},   {"\x01", false},   {"\\", false},
    };
    char text[256];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int offset = 0; offset < 48; offset++) {
            int used = snprintf(text, sizeof text, "{\"unread\":\"%.*s%s%s\"}", offset,
                                "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
                                cases[c].escape, "0123456789abcdefghijklmnopqrstuv");
            cr_assert_lt(used, (int)sizeof text);
            cJSON *tree = scan(text);
            if (cases[c].valid)
                cr_assert_not_null(tree, "rejected %s", text);
            else
                cr_assert_null(tree, "accepted %s", text);
            cJSON_Delete(tree);
        }
    }
}

/* An escaped backslash right before the closing quote ends the string there;
 * a lone backslash before it escapes the quote, so the string runs on. */
Test(scan, skipped_string_backslash_before_quote)
{
    for (int offset = 0; offset < 40; offset++) {
        char text[128];
        snprintf(text, sizeof text, "{\"unread\":\"%.*s\\\\\",\"kind\":\"x\"}", offset,
                 "abcdefghijklmnopqrstuvwxyzabcdefghijklmn");
        cJSON *tree = scan(text);
        cr_assert_not_null(tree, "rejected %s", text);
        cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(tree, "kind")->valuestring, "x");
        cJSON_Delete(tree);

        snprintf(text, sizeof text, "{\"unread\":\"%.*s\\\"}", offset,
                 "abcdefghijklmnopqrstuvwxyzabcdefghijklmn");
        tree = scan(text);
        cr_assert_null(tree, "accepted %s", text);
    }
}

/* An object kept whole with many members, some named twice or three times:
 * the last of each name wins and keeps its place, the others go. */
Test(scan, many_members_last_duplicate_wins)
{
    enum { MEMBERS = 20000 };
    size_t size = (size_t)MEMBERS * 24 + 256;
    char *text = malloc(size);
    cr_assert_not_null(text);
    size_t used = (size_t)snprintf(text, size, "{\"request\":{\"uid\":{");
    for (int i = 0; i < MEMBERS; i++) {
        /* Names k0 .. k9999, each twice; k7 a third time at the end. */
        used += (size_t)snprintf(text + used, size - used, "%s\"k%d\":%d", i ? "," : "",
                                 i % (MEMBERS / 2), i);
    }
    used += (size_t)snprintf(text + used, size - used, ",\"k7\":-1}}}");
    cr_assert_lt(used, size);

    cJSON *tree = scan(text);
    cr_assert_not_null(tree);
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(tree, "request"), "uid");
    cr_assert_eq(cJSON_GetArraySize(uid), MEMBERS / 2);
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(uid, "k0")->valueint, MEMBERS / 2);
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(uid, "k9999")->valueint, MEMBERS - 1);
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(uid, "k7")->valueint, -1);
    /* Survivors keep their order: k0's last copy comes first. */
    cr_assert_str_eq(uid->child->string, "k0");
    cJSON_Delete(tree);
    free(text);
}

/* Compact JSON takes a path that never looks for whitespace. The same
 * review with whitespace around every token must give the same tree. */
Test(scan, whitespace_around_every_token)
{
    static const char compact[] =
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
        "{\"uid\":\"u\",\"kind\":{\"group\":\"g\",\"kind\":\"k\"},\"options\":{\"a\":[1,{}],"
        "\"b\":[]},\"object\":{\"metadata\":{\"name\":\"n\",\"managedFields\":[{\"f:x\":{}}],"
        "\"annotations\":{\"immutable-guard.io/rotation\":\"recreate\"}},\"spec\":{\"target\":"
        "{\"immutable\":true},\"data\":[true,false,null,-1.5e3]}}}}";
    char spaced[2 * sizeof compact * 4];
    size_t used = 0;
    bool in_string = false;
    for (const char *p = compact; *p; p++) {
        bool structural = !in_string && strchr("{}[],:", *p) != NULL;
        if (structural)
            used += (size_t)snprintf(spaced + used, sizeof spaced - used, " \t\n\r");
        spaced[used++] = *p;
        if (structural)
            used += (size_t)snprintf(spaced + used, sizeof spaced - used, "\r\n ");
        if (*p == '"' && p[-1] != '\\')
            in_string = !in_string;
    }
    spaced[used] = '\0';

    char *expected = scan_to_text(compact);
    char *actual = scan_to_text(spaced);
    cr_assert_str_eq(actual, expected, "spaced input: %s", spaced);
    free(expected);
    free(actual);
}
