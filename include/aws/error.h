/* Typed result of an AWS call, shared by the SSM and STS clients. */
#ifndef IG_AWS_ERROR_H
#define IG_AWS_ERROR_H

#include <stdbool.h>
#include <stddef.h>

enum ig_aws_error_kind {
    IG_AWS_OK = 0,
    IG_AWS_ERR_NOT_FOUND,           /* ParameterNotFound, ParameterVersionNotFound */
    IG_AWS_ERR_ACCESS_DENIED,       /* AccessDenied(Exception), IDPRejectedClaim */
    IG_AWS_ERR_THROTTLED,           /* ThrottlingException and the SDKs' other throttling codes, HTTP 429 */
    IG_AWS_ERR_CREDENTIALS,         /* expired, unknown or invalid keys or tokens */
    IG_AWS_ERR_SIGNATURE,           /* signature mismatch or clock skew */
    IG_AWS_ERR_SERVER,              /* HTTP 5xx and transient server codes */
    IG_AWS_ERR_TRANSPORT,           /* connection failed, reset or truncated reply */
    IG_AWS_ERR_TIMEOUT,             /* connect or total timeout */
    IG_AWS_ERR_INVALID_REQUEST,     /* any other 4xx, e.g. ValidationException, InvalidKeyId */
    IG_AWS_ERR_INVALID_RESPONSE,    /* a 2xx reply that does not parse */
    IG_AWS_ERR_CONFIG,              /* missing region, credentials or a bad option */
    IG_AWS_ERR_INTERNAL,            /* out of memory */
};

struct ig_aws_error {
    enum ig_aws_error_kind kind;
    long http_status;   /* 0 when no reply arrived */
    char code[128];     /* service error code without namespace, e.g. "ThrottlingException" */
    char message[256];  /* service or local message, cut before any echoed canonical request */
    char request_id[96];
    int attempts;       /* HTTP attempts made for the call */
    bool expired_token; /* ExpiredToken(Exception): refresh the credentials, then retry once */
    bool quota_exhausted; /* the client-side retry budget stopped a retry */
};

/* Stable snake_case name of a kind, e.g. "access_denied". */
const char *ig_aws_error_kind_name(enum ig_aws_error_kind kind);

/* Reset err to IG_AWS_OK with empty strings. */
void ig_aws_error_clear(struct ig_aws_error *err);

/* Set kind and a printf-style local message. */
void ig_aws_error_set(struct ig_aws_error *err, enum ig_aws_error_kind kind, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Map a service error code (already stripped of "namespace#" and ":suffix")
 * and the HTTP status to a kind. Sets err->kind, err->code and err->expired_token. */
void ig_aws_error_classify(struct ig_aws_error *err, const char *code, long http_status);

/* Copy a service message into err->message, cut before the text that echoes
 * the canonical request or string to sign (it can contain a session token). */
void ig_aws_error_set_message(struct ig_aws_error *err, const char *message);

/* Strip a "namespace#" prefix and a ":suffix" from a raw error code into out. */
void ig_aws_error_normalize_code(const char *raw, char *out, size_t size);

/* Parse a JSON 1.1 error body (__type, message or Message) or a Query XML
 * error body (Error/Code, Error/Message) into err. error_type_header is the
 * X-Amzn-ErrorType header value or NULL. When present, it wins over the body. */
void ig_aws_error_parse_body(struct ig_aws_error *err, long http_status, const char *error_type_header,
                             const char *body, size_t length);

#endif
