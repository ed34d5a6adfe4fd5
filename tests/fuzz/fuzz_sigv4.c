/* libFuzzer target: the SigV4 canonicaliser and signer (ig_sigv4_sign).
 *
 * The input is split at '\n' into method, path, query, up to 8 header
 * "name:value" lines, and the rest as the body; byte 0 sets the signing
 * options. A successful signing must be deterministic, and its Authorization
 * value must name the signed headers and end with the signature. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/sigv4.h"

#define MAX_HEADERS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void expect(bool condition, const char *description)
{
    if (!condition) {
        fprintf(stderr, "sigv4 fuzz check failed: %s\n", description);
        abort();
    }
}

/* Cut the next '\n'-terminated line out of text (NUL bytes end it early). */
static char *next_line(char **cursor, char *end)
{
    char *start = *cursor;
    if (start >= end)
        return NULL;
    char *newline = memchr(start, '\n', (size_t)(end - start));
    if (!newline)
        return NULL;
    *newline = '\0';
    *cursor = newline + 1;
    return start;
}

static bool ends_with(const char *text, const char *suffix)
{
    size_t text_length = strlen(text);
    size_t suffix_length = strlen(suffix);
    return text_length >= suffix_length && strcmp(text + text_length - suffix_length, suffix) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t options = data[0];
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char *cursor = text;
    char *end = text + size - 1;

    struct ig_sigv4_header headers[MAX_HEADERS];
    struct ig_sigv4_request request = {0};
    request.method = next_line(&cursor, end);
    request.path = next_line(&cursor, end);
    request.query = next_line(&cursor, end);
    if (!request.method || !request.path || !request.query)
        goto out;
    if (!request.query[0])
        request.query = NULL;
    char *line;
    while (request.header_count < MAX_HEADERS && (line = next_line(&cursor, end)) && line[0]) {
        char *colon = strchr(line, ':');
        if (!colon)
            break;
        *colon = '\0';
        headers[request.header_count].name = line;
        headers[request.header_count].value = colon + 1;
        request.header_count++;
    }
    request.headers = headers;
    request.body = (const unsigned char *)cursor;
    request.body_length = (size_t)(end - cursor);

    struct ig_sigv4_params params = {
        .access_key_id = "AKIDEXAMPLE",
        .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        .session_token = (options & 1) ? "session-token" : NULL,
        .region = "us-east-1",
        .service = "ssm",
        .timestamp = 1440938160,
        .normalize_path = options & 2,
        .omit_session_token = options & 4,
        .add_content_sha256 = options & 8,
    };
    struct ig_sigv4_result first;
    struct ig_sigv4_result second;
    int status = ig_sigv4_sign(&request, &params, &first);
    expect(status == 0 || status == -1, "sign returns 0 or -1");
    if (status == 0) {
        expect(ig_sigv4_sign(&request, &params, &second) == 0, "signing again succeeds");
        expect(strcmp(first.authorization, second.authorization) == 0, "signing is deterministic");
        expect(strcmp(first.canonical_request, second.canonical_request) == 0,
               "the canonical request is deterministic");
        expect(strlen(first.signature) == 64, "the signature has 64 hex digits");
        expect(ends_with(first.authorization, first.signature), "Authorization ends with the signature");
        expect(strstr(first.authorization, first.signed_headers) != NULL,
               "Authorization names the signed headers");
        expect(strchr(first.authorization, '\n') == NULL, "Authorization is one line");
        ig_sigv4_result_free(&second);
        ig_sigv4_result_free(&first);
    }
out:
    free(text);
    return 0;
}
