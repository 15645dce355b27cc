// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The metrics endpoint's HTTP requests and answer heads: see http.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "metrics/http.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* RFC 9110's tchar: what a method or a header name is made of. */
static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static size_t token_length(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && is_tchar((unsigned char)s[i]))
		i++;
	return i;
}

/* The request line, without its line end: METHOD SP TARGET SP HTTP/d.d */
static enum http_result request_line(const char *s, size_t n, bool *head)
{
	size_t m = token_length(s, n), t = 0, path_len;
	const char *target, *version, *query;

	if (!m || m == n || s[m] != ' ')
		return HTTP_BAD_REQUEST;
	target = s + m + 1;
	while (m + 1 + t < n && target[t] > 0x20 && target[t] < 0x7f)
		t++;
	if (!t || m + 1 + t + 1 + 8 != n || target[t] != ' ')
		return HTTP_BAD_REQUEST;
	version = target + t + 1;
	if (memcmp(version, "HTTP/", 5) || version[5] < '0' || version[5] > '9' ||
	    version[6] != '.' || version[7] < '0' || version[7] > '9')
		return HTTP_BAD_REQUEST;
	if (version[5] != '1' || (version[7] != '0' && version[7] != '1'))
		return HTTP_BAD_VERSION;
	query = memchr(target, '?', t);
	path_len = query ? (size_t)(query - target) : t;
	if (path_len != 8 || memcmp(target, "/metrics", 8))
		return HTTP_NOT_FOUND;
	if (m == 3 && !memcmp(s, "GET", 3))
		return HTTP_SERVE;
	if (m == 4 && !memcmp(s, "HEAD", 4)) {
		*head = true;
		return HTTP_SERVE;
	}
	return HTTP_BAD_METHOD;
}

/* A header line, without its line end. */
static bool header_line(const char *s, size_t n)
{
	size_t m = token_length(s, n);

	if (!m || m == n || s[m] != ':')
		return false;
	for (size_t i = m + 1; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

enum http_result http_parse(const char *buf, size_t len, bool *head)
{
	enum http_result first = HTTP_INCOMPLETE;
	size_t pos = 0, lines = 0;

	*head = false;
	if (len > HTTP_REQUEST_MAX)
		return HTTP_TOO_LARGE;
	while (pos < len) {
		const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		size_t n;

		if (!nl) {
			/* A partial line: only what cannot come right later ends it now. */
			for (size_t i = 0; i < len - pos; i++)
				if (line[i] == '\0' || (line[i] == '\r' && i + 1 < len - pos))
					return HTTP_BAD_REQUEST;
			break;
		}
		n = (size_t)(nl - line);
		pos += n + 1;
		if (n && line[n - 1] == '\r')
			n--;
		if (memchr(line, '\r', n) || memchr(line, '\0', n))
			return HTTP_BAD_REQUEST;
		if (lines == 0) {
			first = request_line(line, n, head);
			/* A request line that is wrong is answered at once; the rest waits for the head. */
			if (first == HTTP_BAD_REQUEST || first == HTTP_BAD_VERSION)
				return first;
		} else if (n == 0) {
			return first;
		} else if (line[0] == ' ' || line[0] == '\t' || !header_line(line, n)) {
			return HTTP_BAD_REQUEST;
		} else if (lines > HTTP_HEADERS_MAX) {
			return HTTP_TOO_LARGE;
		}
		lines++;
	}
	return len == HTTP_REQUEST_MAX ? HTTP_TOO_LARGE : HTTP_INCOMPLETE;
}

static const char *status_line(enum http_result r)
{
	switch (r) {
	case HTTP_SERVE:
		return "200 OK";
	case HTTP_NOT_FOUND:
		return "404 Not Found";
	case HTTP_BAD_METHOD:
		return "405 Method Not Allowed";
	case HTTP_TOO_LARGE:
		return "431 Request Header Fields Too Large";
	case HTTP_BAD_VERSION:
		return "505 HTTP Version Not Supported";
	case HTTP_BAD_REQUEST:
	case HTTP_INCOMPLETE:
		break;
	}
	return "400 Bad Request";
}

const char *http_error_body(const enum http_result *result)
{
	if (!result)
		return "The metrics are not available right now.\n";
	switch (*result) {
	case HTTP_NOT_FOUND:
		return "Not found: the metrics are at /metrics.\n";
	case HTTP_BAD_METHOD:
		return "Only GET and HEAD are served.\n";
	case HTTP_TOO_LARGE:
		return "Request too large.\n";
	case HTTP_BAD_VERSION:
		return "Only HTTP/1.0 and HTTP/1.1 are served.\n";
	default:
		return "Bad request.\n";
	}
}

static int head_of(const char *status, const char *type, const char *extra, size_t body_len,
		   char *out, size_t outlen)
{
	int n = snprintf(out, outlen,
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
			 "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
			 status, type, body_len, extra);

	return n < 0 || (size_t)n >= outlen ? -ENOSPC : n;
}

int http_answer_head(enum http_result result, size_t body_len, char *out, size_t outlen)
{
	return head_of(status_line(result),
		       result == HTTP_SERVE ? CONTENT_TYPE : "text/plain; charset=utf-8",
		       result == HTTP_BAD_METHOD ? "Allow: GET, HEAD\r\n" : "", body_len, out,
		       outlen);
}

int http_unavailable_head(size_t body_len, char *out, size_t outlen)
{
	return head_of("503 Service Unavailable", "text/plain; charset=utf-8",
		       "Retry-After: 5\r\n", body_len, out, outlen);
}
