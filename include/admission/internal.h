/* Helpers shared by the files of the admission module only. */
#ifndef IG_ADMISSION_INTERNAL_H
#define IG_ADMISSION_INTERNAL_H

#include "admission/review.h"
#include "common/base64.h"

/* Count one review in the metrics: requests by webhook and decision, and the
 * decision latency histogram. */
void ig_admission_count(enum ig_webhook webhook, enum ig_decision decision, double duration_us);

const char *ig_mutate_action_name(enum ig_mutate_action action);

#endif
