/* Test helper: decide one AdmissionReview read from standard input, exactly as
 * the server does, and print {"http_status":N,"decision":"...","reply":{...}}.
 *
 *   review-tool validate enforce|warn|audit  < review.json
 *   review-tool mutate annotate|set-mutable  < review.json */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission/review.h"
#include "common/log.h"

int main(int argc, char **argv)
{
    struct ig_admission_config config = {0};
    enum ig_webhook webhook;

    if (argc != 3) {
        fprintf(stderr, "usage: review-tool validate|mutate MODE_OR_ACTION < review.json\n");
        return 2;
    }
    if (strcmp(argv[1], "validate") == 0 && ig_mode_parse(argv[2], &config.mode)) {
        webhook = IG_WEBHOOK_VALIDATE;
    } else if (strcmp(argv[1], "mutate") == 0 && ig_mutate_action_parse(argv[2], &config.mutate_action)) {
        webhook = IG_WEBHOOK_MUTATE;
    } else {
        fprintf(stderr, "review-tool: invalid webhook \"%s\" or mode \"%s\"\n", argv[1], argv[2]);
        return 2;
    }

    size_t capacity = 1 << 16, length = 0;
    char *body = malloc(capacity);
    size_t got;
    while (body && (got = fread(body + length, 1, capacity - length, stdin)) > 0) {
        length += got;
        if (length == capacity) {
            capacity *= 2;
            char *grown = realloc(body, capacity);
            if (!grown) {
                free(body);
                body = NULL;
            }
            body = grown;
        }
    }
    if (!body) {
        fprintf(stderr, "review-tool: out of memory\n");
        return 1;
    }

    /* Decision logs go to standard error so that standard output stays one JSON document. */
    ig_log_set_stream(stderr);
    struct ig_admission_outcome outcome;
    if (!ig_admission_handle(webhook, body, length, &config, &outcome)) {
        fprintf(stderr, "review-tool: out of memory\n");
        free(body);
        return 1;
    }

    cJSON *result = cJSON_CreateObject();
    cJSON *reply = cJSON_ParseWithLength(outcome.body, outcome.body_length);
    int status = 1;
    if (result && reply && cJSON_AddNumberToObject(result, "http_status", outcome.http_status) &&
        cJSON_AddStringToObject(result, "decision", ig_decision_name(outcome.decision))) {
        cJSON_AddItemToObject(result, "reply", reply);
        reply = NULL;
        char *text = cJSON_PrintUnformatted(result);
        if (text) {
            puts(text);
            cJSON_free(text);
            status = 0;
        }
    }
    cJSON_Delete(reply);
    cJSON_Delete(result);
    ig_admission_outcome_free(&outcome);
    free(body);
    return status;
}
