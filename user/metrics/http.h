/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The metrics endpoint's HTTP request parser and answer heads: a pure
 * module (no socket, clock or log), fuzzed by tests/fuzz/fuzz_http.c.
 *
 * A request is its head only: the request line and header lines up to an
 * empty line, within HTTP_REQUEST_MAX bytes. Lines end in CRLF or LF; a CR
 * anywhere else, a NUL or another control byte (tab aside, in header
 * values), an obsolete line folding, a header line without a colon right
 * after its name, or a request line that is not METHOD SP TARGET SP
 * HTTP/d.d is malformed. Header values are not looked at: the answer is
 * the same whatever they say, and the connection is closed after it, so a
 * body the client announces is never read. Only the path "/metrics" (with
 * any query) is served, to GET and HEAD.
 */
#ifndef __GREYWALL_METRICS_HTTP_H
#define __GREYWALL_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/* A request's head at most, in bytes. */
#define HTTP_REQUEST_MAX 4096
/* Header lines at most. */
#define HTTP_HEADERS_MAX 64

enum http_result {
	HTTP_INCOMPLETE,	/* no empty line yet, nothing wrong so far */
	HTTP_SERVE,		/* GET or HEAD /metrics: 200 */
	HTTP_NOT_FOUND,		/* another path: 404 */
	HTTP_BAD_METHOD,	/* /metrics with another method: 405 */
	HTTP_BAD_REQUEST,	/* malformed: 400 */
	HTTP_TOO_LARGE,		/* no end within HTTP_REQUEST_MAX, or too many headers: 431 */
	HTTP_BAD_VERSION,	/* HTTP/ but not 1.0 or 1.1: 505 */
};

/*
 * Look at the len bytes a client sent so far (len <= HTTP_REQUEST_MAX;
 * more is HTTP_TOO_LARGE). *head is set for a HEAD request. A result
 * other than HTTP_INCOMPLETE is final: more bytes cannot change it.
 */
enum http_result http_parse(const char *buf, size_t len, bool *head);

/*
 * The answer's head for result (not HTTP_INCOMPLETE), with a body of
 * body_len bytes (the text for HTTP_SERVE, http_error_body()'s otherwise),
 * into out. Returns its length, or -ENOSPC when out is too small (256
 * bytes suffice).
 */
int http_answer_head(enum http_result result, size_t body_len, char *out, size_t outlen);
/* The head of 503: the parent could not answer. */
int http_unavailable_head(size_t body_len, char *out, size_t outlen);
/* The short text body of an error answer (result not HTTP_SERVE), or of 503 for NULL. */
const char *http_error_body(const enum http_result *result);

#endif /* __GREYWALL_METRICS_HTTP_H */
