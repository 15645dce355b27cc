// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * libFuzzer harness for the metrics endpoint's request parser (http.h),
 * the one piece of the metrics child that reads what a scraper, or anyone
 * who reaches the port, sends. On every input:
 *
 * - http_parse() reads only the bytes it is given (ASan) and gives one of
 *   its results; HTTP_SERVE only to a request line of GET or HEAD
 *   /metrics, with *head set for HEAD alone.
 * - A result other than HTTP_INCOMPLETE is final: every longer input that
 *   begins with the same bytes, up to HTTP_REQUEST_MAX, gives it again
 *   (the server answers as soon as it knows).
 * - The answer's head fits its buffer for every result.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	char head[256];
	enum http_result r, whole;
	size_t cut;
	bool h;

	if (size > HTTP_REQUEST_MAX + 16)
		size = HTTP_REQUEST_MAX + 16;
	whole = http_parse(text, size, &h);
	if (whole > HTTP_BAD_VERSION)
		abort();
	if (whole == HTTP_SERVE) {
		bool get = size >= 13 && !memcmp(text, "GET /metrics", 12);
		bool is_head = size >= 14 && !memcmp(text, "HEAD /metrics", 13);

		if (!(get || is_head) || h != is_head)
			abort();
	}
	/* A prefix that already decided must have decided the same. */
	for (int i = 0; i < 8 && size; i++) {
		cut = (size_t)data[i % size] * 17 % (size + 1);
		if (cut > HTTP_REQUEST_MAX)
			continue;
		r = http_parse(text, cut, &h);
		if (r != HTTP_INCOMPLETE && size <= HTTP_REQUEST_MAX && r != whole)
			abort();
	}
	if (whole != HTTP_INCOMPLETE && http_answer_head(whole, 1 << 20, head, sizeof(head)) < 0)
		abort();
	return 0;
}
