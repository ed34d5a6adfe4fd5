#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static char *captured;
static size_t captured_size;
static FILE *capture;

static void start_capture(void)
{
    capture = open_memstream(&captured, &captured_size);
    cr_assert_not_null(capture);
    ig_log_set_stream(capture);
    ig_log_configure(IG_LOG_INFO, IG_LOG_FORMAT_JSON);
}

static void stop_capture(void)
{
    ig_log_set_stream(NULL);
    fclose(capture);
    free(captured);
    captured = NULL;
}

TestSuite(log, .init = start_capture, .fini = stop_capture);

Test(log, json_line_has_stable_fields)
{
    ig_info("admission decision", IG_F_STR("uid", "abc"), IG_F_INT("duration_us", 42),
            IG_F_BOOL("dry_run", true), IG_F_STR("user", NULL));
    fflush(capture);
    cr_assert_eq(captured[captured_size - 1], '\n');
    cr_assert_null(strchr(captured, '\n') == captured + captured_size - 1 ? NULL : captured);

    cJSON *line = cJSON_Parse(captured);
    cr_assert_not_null(line);
    cr_assert_str_eq(cJSON_GetObjectItem(line, "level")->valuestring, "info");
    cr_assert_str_eq(cJSON_GetObjectItem(line, "msg")->valuestring, "admission decision");
    cr_assert_str_eq(cJSON_GetObjectItem(line, "uid")->valuestring, "abc");
    cr_assert_eq(cJSON_GetObjectItem(line, "duration_us")->valuedouble, 42);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(line, "dry_run")));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(line, "user")));
    const char *time_text = cJSON_GetObjectItem(line, "time")->valuestring;
    cr_assert_eq(strlen(time_text), 24, "time %s is not RFC 3339 with milliseconds", time_text);
    cr_assert_eq(time_text[23], 'Z');
    cJSON_Delete(line);
}

Test(log, level_filters_lines)
{
    ig_debug("hidden");
    fflush(capture);
    cr_assert_eq(captured_size, 0);
}

Test(log, message_with_newline_stays_one_line)
{
    ig_error("bad\nvalue", IG_F_STR("name", "x\ny"));
    fflush(capture);
    cr_assert_eq(strchr(captured, '\n'), captured + captured_size - 1);
}

Test(log, text_format_quotes_strings)
{
    ig_log_configure(IG_LOG_INFO, IG_LOG_FORMAT_TEXT);
    ig_warn("tls reload failed", IG_F_STR("path", "a b\nc"), IG_F_INT("code", 3));
    fflush(capture);
    cr_assert_not_null(strstr(captured, " warn  tls reload failed path=\"a b\\nc\" code=3\n"));
}

Test(log, parse_level_and_format)
{
    enum ig_log_level level;
    enum ig_log_format format;
    cr_assert(ig_log_parse_level("warn", &level));
    cr_assert_eq(level, IG_LOG_WARN);
    cr_assert_not(ig_log_parse_level("verbose", &level));
    cr_assert(ig_log_parse_format("text", &format));
    cr_assert_eq(format, IG_LOG_FORMAT_TEXT);
    cr_assert_not(ig_log_parse_format("xml", &format));
}

Test(log, async_lines_keep_order_and_arrive)
{
    cr_assert(ig_log_start_async());
    for (int i = 0; i < 5000; i++)
        ig_info("line", IG_F_INT("n", i));
    ig_log_stop_async();
    fflush(capture);

    int expected = 0;
    for (char *line = captured; line && *line; expected++) {
        char *newline = strchr(line, '\n');
        cr_assert_not_null(newline);
        *newline = '\0';
        cJSON *object = cJSON_Parse(line);
        cr_assert_not_null(object, "line %d is not JSON", expected);
        cr_assert_eq(cJSON_GetObjectItem(object, "n")->valueint, expected);
        cJSON_Delete(object);
        line = newline + 1;
    }
    cr_assert_eq(expected, 5000);
}

/* Parse the captured line and check that its uid was cut to 1024 bytes and
 * "...". The caller deletes the line. */
static cJSON *parse_line_with_cut_uid(void)
{
    cJSON *line = cJSON_Parse(captured);
    cr_assert_not_null(line);
    const char *uid = cJSON_GetObjectItem(line, "uid")->valuestring;
    cr_assert_eq(strlen(uid), 1024 + 3, "uid logged with %zu bytes", strlen(uid));
    cr_assert_str_eq(uid + 1024, "...");
    return line;
}

Test(log, client_strings_are_capped_and_valid_utf8)
{
    char *long_value = malloc(5000);
    cr_assert_not_null(long_value);
    memset(long_value, 'u', 4999);
    long_value[4999] = '\0';
    ig_info("admission decision", IG_F_STR("uid", long_value), IG_F_STR("name", "x\xff\xc3"));
    free(long_value);
    fflush(capture);

    cJSON *line = parse_line_with_cut_uid();
    cr_assert_str_eq(cJSON_GetObjectItem(line, "name")->valuestring, "x??");
    cJSON_Delete(line);
}

/* Values that print longer than their bytes (control characters become
 * \u00XX, quotes and backslashes two bytes) are cut by their printed size, so
 * thirteen such fields stay under 16 KiB in one line. */
Test(log, escaped_values_cut_by_printed_size)
{
    char controls[1025];
    memset(controls, '\x01', 1024);
    controls[1024] = '\0';
    char quotes[1025];
    memset(quotes, '"', 1024);
    quotes[1024] = '\0';
    ig_info("admission decision", IG_F_STR("uid", controls), IG_F_STR("name", quotes),
            IG_F_STR("user", "a\tb"), IG_F_STR("kind", controls), IG_F_STR("group", quotes),
            IG_F_STR("version", controls), IG_F_STR("namespace", quotes),
            IG_F_STR("operation", controls), IG_F_STR("reason", quotes),
            IG_F_STR("violation", controls), IG_F_STR("mode", quotes),
            IG_F_STR("webhook", controls), IG_F_STR("decision", quotes));
    fflush(capture);

    cr_assert_lt(strlen(captured), 16 * 1024, "the line has %zu bytes", strlen(captured));
    cJSON *line = cJSON_Parse(captured);
    cr_assert_not_null(line);
    const char *uid = cJSON_GetObjectItem(line, "uid")->valuestring;
    cr_assert_eq(strlen(uid), 1024 / 6 + 3, "uid kept %zu bytes", strlen(uid));
    cr_assert_eq(uid[0], '\x01', "control characters are escaped, not replaced");
    const char *name = cJSON_GetObjectItem(line, "name")->valuestring;
    cr_assert_eq(strlen(name), 1024 / 2 + 3, "name kept %zu bytes", strlen(name));
    cr_assert_str_eq(cJSON_GetObjectItem(line, "user")->valuestring, "a\tb");
    cJSON_Delete(line);
}

/* The checks for bytes that cannot be logged as they are read 16-byte chunks,
 * the last one overlapping, and shorter texts in overlapping pieces. An
 * invalid UTF-8 byte at any position of a value of any length must still be
 * replaced. */
Test(log, invalid_byte_found_at_every_position)
{
    char value[48];
    for (size_t length = 1; length < sizeof value; length++) {
        for (size_t bad = 0; bad < length; bad++) {
            memset(value, 'v', length);
            value[length] = '\0';
            value[bad] = (char)0xFF;
            fflush(capture);
            size_t before = captured_size;
            ig_info("admission decision", IG_F_STR("name", value));
            fflush(capture);

            cJSON *line = cJSON_Parse(captured + before);
            cr_assert_not_null(line, "length %zu, bad byte at %zu: the line is not JSON", length, bad);
            const char *logged = cJSON_GetObjectItem(line, "name")->valuestring;
            cr_assert_eq(strlen(logged), length);
            cr_assert_eq(logged[bad], '?', "length %zu: the byte at %zu was logged as 0x%02x", length,
                         bad, (unsigned char)logged[bad]);
            cJSON_Delete(line);
        }
    }
}

/* Lines with more fields than the stack tree has room for take the general
 * path and keep every field, in order. */
Test(log, fields_beyond_the_stack_tree_kept_in_order)
{
    static const char *const keys[] = {"f00", "f01", "f02", "f03", "f04", "f05", "f06", "f07",
                                       "f08", "f09", "f10", "f11", "f12", "f13", "f14", "f15",
                                       "f16", "f17", "f18", "f19", "f20", "f21", "f22", "f23",
                                       "f24", "f25", "f26", "f27", "f28", "f29"};
    struct ig_log_field fields[30];
    for (size_t i = 0; i < 30; i++)
        fields[i] = IG_F_INT(keys[i], (long long)i * 7);
    ig_log_fields(IG_LOG_INFO, "many fields", fields, 30);
    fflush(capture);

    cJSON *line = cJSON_Parse(captured);
    cr_assert_not_null(line);
    cr_assert_eq(cJSON_GetArraySize(line), 33);
    const cJSON *member = cJSON_GetObjectItem(line, "f00");
    for (size_t i = 0; i < 30; i++, member = member->next) {
        cr_assert_not_null(member);
        cr_assert_str_eq(member->string, keys[i]);
        cr_assert_eq(member->valueint, (int)i * 7);
    }
    cJSON_Delete(line);
}

/* A line longer than one value's limit, made of values under it, is checked
 * value by value and printed whole. */
Test(log, long_line_of_short_values_printed_whole)
{
    char value[601];
    memset(value, 'w', 600);
    value[600] = '\0';
    ig_info("admission decision", IG_F_STR("uid", value), IG_F_STR("name", value),
            IG_F_STR("user", value));
    fflush(capture);

    cJSON *line = cJSON_Parse(captured);
    cr_assert_not_null(line);
    cr_assert_str_eq(cJSON_GetObjectItem(line, "uid")->valuestring, value);
    cr_assert_str_eq(cJSON_GetObjectItem(line, "name")->valuestring, value);
    cr_assert_str_eq(cJSON_GetObjectItem(line, "user")->valuestring, value);
    cJSON_Delete(line);
}

/* Valid UTF-8 is logged as it is, also where it ends a short line. */
Test(log, valid_utf8_kept)
{
    ig_info("admission decision", IG_F_STR("name", "caf\xc3\xa9-\xe2\x82\xac"));
    fflush(capture);

    cJSON *line = cJSON_Parse(captured);
    cr_assert_not_null(line);
    cr_assert_str_eq(cJSON_GetObjectItem(line, "name")->valuestring, "caf\xc3\xa9-\xe2\x82\xac");
    cJSON_Delete(line);
}

/* A long value of plain ASCII is cut too, in a line that would fit the
 * printer's buffer whole. */
Test(log, long_ascii_value_cut)
{
    char value[2001];
    memset(value, 'a', 2000);
    value[2000] = '\0';
    ig_info("admission decision", IG_F_STR("uid", value));
    fflush(capture);

    cJSON_Delete(parse_line_with_cut_uid());
}
