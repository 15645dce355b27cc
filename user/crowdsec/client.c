// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The crowdsec child (client.h): pulls /v1/decisions/stream, pushes
 * /v1/alerts, one libcurl easy handle reused so the connection stays open.
 * It blocks on its own requests (it is its own process); between them it
 * polls the parent's socket, so pushes are served while it waits to pull.
 * Secrets (bouncer key, password, token) go into request headers and
 * bodies only, never into a log line or a message.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "crowdsec/client.h"
#include "lib/sandbox.h"
#include "crowdsec/lapi.h"
#include "crowdsec/proto.h"
#include "spamd/privsep.h"

/* Backoff after a failed pull: from 1 s, doubling, to max(every, 60 s). */
#define BACKOFF_FIRST_MS    1000
#define BACKOFF_CAP_MIN_MS  60000
/*
 * The LAPI's stream (1.4.6) misses decisions committed while a pull runs
 * (rows created before the pull's time, visible after it): a bulk import
 * during a pull loses a few in every delta. So once the deltas have brought
 * changes and a delta comes back empty, the next pull asks for the whole
 * state again: at most every RESYNC_MIN_MS, or ten times as long as the
 * last whole state took, whichever is longer (the LAPI spends a tenth of
 * its time on it at most); and every RESYNC_MAX_MS anyway.
 */
#define RESYNC_MIN_MS       5000
/* An answer buffer larger than this is freed after its pull. */
#define ANSWER_KEEP         (1 << 20)
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define RESYNC_MAX_MS       3600000
#define CONNECT_TIMEOUT_MAX 5
#define USER_AGENT	    "greywall-bouncer/1"

struct answer {
	char *buf;
	size_t len, cap;
	uint64_t max;
	bool oversize;
};

struct child {
	int fd;
	struct cs_msg_config cfg;
	CURL *curl;
	struct answer answer;
	long http_status;
	char curl_error[CURL_ERROR_SIZE];
	/* Pull schedule, on CLOCK_MONOTONIC in milliseconds. */
	int64_t next_pull;
	int64_t backoff;
	bool startup;
	int64_t last_startup;	/* when the last startup pull succeeded */
	int64_t startup_ms;	/* how long it took */
	bool changed;		/* a delta since then brought decisions */
	/* Push: the login token and the batch being collected. */
	char token[LAPI_TOKEN_MAX];
	int64_t token_expire; /* unix seconds */
	struct cs_msg_alert *batch;
	size_t nbatch;
	uint64_t batch_seq;
};

/* The result of one request: 0, or a failure's kind and text. */
struct outcome {
	enum cs_err_kind kind;
	uint32_t http_status;
	char text[CS_TEXT_MAX];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends one message; false when the parent is gone. */
static bool send_msg(struct child *c, const void *msg, size_t len)
{
	ssize_t n;

	do
		n = send(c->fd, msg, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len;
}

static bool send_log(struct child *c, enum cs_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool send_log(struct child *c, enum cs_log_level level, const char *fmt, ...)
{
	struct cs_msg_log m = {.type = CS_MSG_LOG, .level = level};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m.text, sizeof(m.text), fmt, ap);
	va_end(ap);
	return send_msg(c, &m, sizeof(m));
}

static bool send_fail(struct child *c, enum cs_what what, const struct outcome *o, uint64_t seq)
{
	struct cs_msg_fail m = {
	    .type = CS_MSG_FAIL,
	    .what = what,
	    .kind = o->kind,
	    .http_status = o->http_status,
	    .seq = seq,
	};

	snprintf(m.text, sizeof(m.text), "%s", o->text);
	return send_msg(c, &m, sizeof(m));
}

static void fail(struct outcome *o, enum cs_err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct outcome *o, enum cs_err_kind kind, const char *fmt, ...)
{
	va_list ap;

	o->kind = kind;
	va_start(ap, fmt);
	vsnprintf(o->text, sizeof(o->text), fmt, ap);
	va_end(ap);
}

/* libcurl's write callback: keeps at most max bytes, aborts the transfer past them. */
static size_t answer_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct answer *a = userdata;
	size_t n = size * nmemb;

	if (n > a->max - a->len) {
		a->oversize = true;
		return 0;
	}
	if (a->len + n + 1 > a->cap) {
		size_t cap = a->cap ? a->cap : 16384;
		char *buf;

		while (cap < a->len + n + 1)
			cap *= 2;
		buf = realloc(a->buf, cap);
		if (!buf)
			return 0;
		a->buf = buf;
		a->cap = cap;
	}
	memcpy(a->buf + a->len, data, n);
	a->len += n;
	a->buf[a->len] = '\0';
	return n;
}

/* A header value must not end the header: printable ASCII, no space. */
static bool header_safe(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

static enum cs_err_kind curl_kind(CURLcode code, const struct answer *a)
{
	switch (code) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return CS_ERR_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return CS_ERR_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_USE_SSL_FAILED:
		return CS_ERR_TLS;
	case CURLE_FILESIZE_EXCEEDED:
		return CS_ERR_OVERSIZE;
	case CURLE_WRITE_ERROR:
		return a->oversize ? CS_ERR_OVERSIZE : CS_ERR_OTHER;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
		return CS_ERR_MALFORMED;
	default:
		return CS_ERR_OTHER;
	}
}

/*
 * One request on the reused handle: GET path, or POST body as JSON when
 * body is set; header (may be NULL) is one extra header line holding a
 * secret. Returns true with the answer in c->answer and a 2xx status;
 * false with *o filled.
 */
static bool request(struct child *c, const char *path, const char *header, const char *body,
		    size_t bodylen, struct outcome *o)
{
	struct curl_slist *headers, *h;
	char url[CS_URL_MAX + 64];
	long timeout = c->cfg.timeout ? (long)c->cfg.timeout : 10;
	CURLcode code;

	memset(o, 0, sizeof(*o));
	c->answer.len = 0;
	c->answer.oversize = false;
	c->answer.max = c->cfg.max_bytes;
	c->curl_error[0] = '\0';
	snprintf(url, sizeof(url), "%s%s", c->cfg.url, path);

	headers = curl_slist_append(NULL, "Accept: application/json");
	h = headers;
	/* "Expect:" keeps libcurl from waiting for a 100 Continue before a large body. */
	if (h && body)
		h = curl_slist_append(headers, "Content-Type: application/json");
	if (h && body)
		h = curl_slist_append(headers, "Expect:");
	if (h && header)
		h = curl_slist_append(headers, header);
	if (!h) {
		curl_slist_free_all(headers);
		fail(o, CS_ERR_OTHER, "out of memory");
		return false;
	}

	curl_easy_reset(c->curl); /* keeps the open connection */
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c->curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c->curl, CURLOPT_PROXY, "");
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT,
			 timeout < CONNECT_TIMEOUT_MAX ? timeout : (long)CONNECT_TIMEOUT_MAX);
	curl_easy_setopt(c->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_error);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, answer_write);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &c->answer);
	curl_easy_setopt(c->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->cfg.max_bytes);
	if (c->cfg.ca_file[0])
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->cfg.ca_file);
	if (body) {
		curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)bodylen);
	} else {
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	}

	code = curl_easy_perform(c->curl);
	curl_slist_free_all(headers);
	/* The error buffer and the URL name no secret: the key and token are headers. */
	if (code != CURLE_OK) {
		o->kind = curl_kind(code, &c->answer);
		if (o->kind == CS_ERR_OVERSIZE)
			fail(o, CS_ERR_OVERSIZE, "%s: answer larger than %llu bytes", path,
			     (unsigned long long)c->cfg.max_bytes);
		else
			fail(o, o->kind, "%s: %s", path,
			     c->curl_error[0] ? c->curl_error : curl_easy_strerror(code));
		return false;
	}
	c->http_status = 0;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->http_status);
	if (c->http_status < 200 || c->http_status > 299) {
		fail(o, c->http_status == 401 || c->http_status == 403 ? CS_ERR_AUTH : CS_ERR_HTTP,
		     "%s: HTTP status %ld", path, c->http_status);
		o->http_status =
		    c->http_status > 0 && c->http_status < 1000 ? (uint32_t)c->http_status : 0;
		return false;
	}
	return true;
}

/* One pull: the messages on success, a FAIL otherwise; false when the parent is gone. */
static bool pull(struct child *c)
{
	struct cs_msg_pull_begin begin = {.type = CS_MSG_PULL_BEGIN};
	char header[CS_SECRET_MAX + 32], reason[LAPI_REASON_MAX];
	struct lapi_stream stream;
	struct outcome o;
	int64_t start = now_ms(), every = (int64_t)c->cfg.every * 1000, cap;
	bool ok, startup = c->startup;

	if (!header_safe(c->cfg.bouncer_key)) {
		memset(&o, 0, sizeof(o));
		fail(&o, CS_ERR_AUTH, "the bouncer key is empty or holds a byte a header cannot");
		ok = false;
	} else {
		snprintf(header, sizeof(header), "X-Api-Key: %s", c->cfg.bouncer_key);
		ok = request(c,
			     startup ? "v1/decisions/stream?startup=true"
				     : "v1/decisions/stream?startup=false",
			     header, NULL, 0, &o);
		explicit_bzero(header, sizeof(header));
	}
	if (ok) {
		int ret = lapi_parse_stream(c->answer.buf ? c->answer.buf : "", c->answer.len,
					    &stream, reason, sizeof(reason));

		if (ret == -ENOMEM) {
			fail(&o, CS_ERR_OTHER, "decision stream: out of memory");
			ok = false;
		} else if (ret) {
			fail(&o, CS_ERR_MALFORMED, "decision stream rejected: %s", reason);
			ok = false;
		}
	}
	if (!ok) {
		cap = every > BACKOFF_CAP_MIN_MS ? every : BACKOFF_CAP_MIN_MS;
		c->backoff = c->backoff ? c->backoff * 2 : BACKOFF_FIRST_MS;
		if (c->backoff > cap)
			c->backoff = cap;
		c->next_pull = now_ms() + c->backoff;
		c->startup = true;
		return send_fail(c, CS_WHAT_PULL, &o, 0);
	}
	begin.startup = startup;
	begin.bytes = c->answer.len;
	ok = send_msg(c, &begin, sizeof(begin));
	for (size_t i = 0; ok && i < stream.ndecisions; i++)
		ok = send_msg(c, &stream.decisions[i], sizeof(stream.decisions[i]));
	stream.counts.startup = startup;
	stream.counts.millis = (uint64_t)(now_ms() - start);
	ok = ok && send_msg(c, &stream.counts, sizeof(stream.counts));
	c->backoff = 0;
	c->startup = false;
	if (startup) {
		c->last_startup = start;
		c->startup_ms = now_ms() - start;
		c->changed = false;
	} else if (stream.counts.added || stream.counts.deleted) {
		c->changed = true;
	} else if (c->changed &&
		   start - c->last_startup >= MAX(RESYNC_MIN_MS, 10 * c->startup_ms)) {
		c->startup = true;
	}
	if (start - c->last_startup >= RESYNC_MAX_MS)
		c->startup = true;
	lapi_stream_free(&stream);
	/*
	 * A whole state of 100,000 decisions is some 14 MB of text and ten
	 * times that of parsed JSON for a moment: hand it back to the system
	 * rather than hold the peak between pulls.
	 */
	if (c->answer.len > ANSWER_KEEP) {
		free(c->answer.buf);
		c->answer.buf = NULL;
		c->answer.len = c->answer.cap = 0;
		malloc_trim(0);
	}
	c->next_pull = now_ms() + (every > 0 ? every : 1000);
	return ok;
}

static bool login(struct child *c, struct outcome *o)
{
	char reason[LAPI_REASON_MAX];
	char *body;
	size_t len;
	bool ok;
	int ret;

	c->token[0] = '\0';
	if (lapi_build_login(c->cfg.machine, c->cfg.password, &body, &len)) {
		fail(o, CS_ERR_OTHER, "login: out of memory");
		return false;
	}
	ok = request(c, "v1/watchers/login", NULL, body, len, o);
	explicit_bzero(body, len);
	free(body);
	if (!ok)
		return false;
	ret = lapi_parse_login(c->answer.buf ? c->answer.buf : "", c->answer.len, c->token,
			       sizeof(c->token), &c->token_expire, reason, sizeof(reason));
	/* The answer held the token: it goes no further than c->token. */
	if (c->answer.buf)
		explicit_bzero(c->answer.buf, c->answer.len);
	if (ret) {
		c->token[0] = '\0';
		fail(o, CS_ERR_MALFORMED, "login answer rejected: %s", reason);
		return false;
	}
	return true;
}

/* POST the alerts with the token; 401 sets *unauthorized. */
static bool post_alerts(struct child *c, const char *body, size_t len, struct outcome *o,
			bool *unauthorized)
{
	char header[LAPI_TOKEN_MAX + 32];
	bool ok;

	snprintf(header, sizeof(header), "Authorization: Bearer %s", c->token);
	ok = request(c, "v1/alerts", header, body, len, o);
	explicit_bzero(header, sizeof(header));
	*unauthorized = !ok && o->http_status == 401;
	return ok;
}

/* Push the batch collected; answers PUSH_DONE or FAIL. False when the parent is gone. */
static bool push(struct child *c, uint64_t seq)
{
	struct cs_msg_seq done = {.type = CS_MSG_PUSH_DONE, .seq = seq};
	struct outcome o = {0};
	size_t n = 0, len;
	char *body = NULL;
	bool ok = true, unauthorized;

	/* An alert the LAPI could not take is dropped, not retried forever. */
	for (size_t i = 0; i < c->nbatch; i++) {
		struct cs_msg_alert *a = &c->batch[i];

		if (lapi_check_alert(a)) {
			if (!send_log(c, CS_LOG_WARNING,
				      "crowdsec: alert for \"%s\" (table %s) not pushed: invalid",
				      a->value, a->table))
				return false;
			continue;
		}
		c->batch[n++] = *a;
	}
	c->nbatch = 0;
	if (!c->cfg.push) {
		fail(&o, CS_ERR_OTHER, "push is not configured");
		return send_fail(c, CS_WHAT_PUSH, &o, seq);
	}
	if (n == 0)
		return send_msg(c, &done, sizeof(done));
	if (lapi_build_alerts(c->batch, n, &body, &len)) {
		fail(&o, CS_ERR_OTHER, "alerts: out of memory");
		return send_fail(c, CS_WHAT_PUSH, &o, seq);
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!c->token[0] ||
		    c->token_expire - CROWDSEC_TOKEN_MARGIN <= (int64_t)time(NULL)) {
			if (!login(c, &o)) {
				free(body);
				if (!send_fail(c, CS_WHAT_LOGIN, &o, seq))
					return false;
				return send_fail(c, CS_WHAT_PUSH, &o, seq);
			}
		}
		ok = post_alerts(c, body, len, &o, &unauthorized);
		if (ok || !unauthorized)
			break;
		/* The LAPI forgot the token (restarted with a new secret): log in again, once. */
		c->token[0] = '\0';
	}
	free(body);
	if (!ok)
		return send_fail(c, CS_WHAT_PUSH, &o, seq);
	done.count = (uint32_t)n;
	return send_msg(c, &done, sizeof(done));
}

static void apply_config(struct child *c, const struct cs_msg_config *cfg)
{
	explicit_bzero(&c->cfg, sizeof(c->cfg));
	c->cfg = *cfg;
	explicit_bzero(c->token, sizeof(c->token));
	c->token_expire = 0;
	c->startup = true;
	c->backoff = 0;
	c->next_pull = now_ms();
}

/*
 * One message from the parent. Returns 0 to go on, or an exit status
 * (CROWDSEC_EXIT_PROTO, CROWDSEC_EXIT_EOF when the parent is gone).
 */
static int handle(struct child *c, const void *buf, size_t len, bool *configured)
{
	int type = cs_msg_check(buf, len);

	if (type < 0)
		return CROWDSEC_EXIT_PROTO;
	if (!*configured && type != CS_MSG_CONFIG)
		return CROWDSEC_EXIT_PROTO;
	switch (type) {
	case CS_MSG_CONFIG:
		apply_config(c, buf);
		*configured = true;
		return 0;
	case CS_MSG_ALERT: {
		const struct cs_msg_alert *a = buf;

		if (c->nbatch >= CROWDSEC_BATCH_MAX || (c->nbatch && a->seq != c->batch_seq))
			return CROWDSEC_EXIT_PROTO;
		c->batch_seq = a->seq;
		c->batch[c->nbatch++] = *a;
		return 0;
	}
	case CS_MSG_ALERTS_END: {
		const struct cs_msg_seq *s = buf;

		if (s->count != c->nbatch || (c->nbatch && s->seq != c->batch_seq))
			return CROWDSEC_EXIT_PROTO;
		return push(c, s->seq) ? 0 : CROWDSEC_EXIT_EOF;
	}
	case CS_MSG_PULL_NOW:
		c->next_pull = now_ms();
		return 0;
	default:
		/* A message only the child sends. */
		return CROWDSEC_EXIT_PROTO;
	}
}

int crowdsec_child_main(int fd)
{
	struct child c = {.fd = fd};
	bool configured = false;
	int status = CROWDSEC_EXIT_FATAL;
	/* One byte more than the largest message, so a longer one shows as too long. */
	union {
		struct cs_msg_config config;
		char bytes[CS_MSG_MAX + 1];
	} buf;

	signal(SIGPIPE, SIG_IGN);
	c.batch = calloc(CROWDSEC_BATCH_MAX, sizeof(*c.batch));
	if (!c.batch || curl_global_init(CURL_GLOBAL_DEFAULT))
		goto out;
	c.curl = curl_easy_init();
	if (!c.curl)
		goto out;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t wait = -1;
		ssize_t n;
		int ret;

		if (configured && c.cfg.pull) {
			wait = c.next_pull - now_ms();
			if (wait <= 0) {
				if (!pull(&c)) {
					status = CROWDSEC_EXIT_EOF;
					goto out;
				}
				continue;
			}
		}
		ret = poll(&p, 1, wait > INT32_MAX ? INT32_MAX : (int)wait);
		if (ret < 0 && errno != EINTR)
			goto out;
		if (ret <= 0)
			continue;
		n = recv(fd, &buf, sizeof(buf), 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			status = n == 0 ? CROWDSEC_EXIT_EOF : CROWDSEC_EXIT_FATAL;
			goto out;
		}
		ret = handle(&c, &buf, (size_t)n, &configured);
		explicit_bzero(&buf, sizeof(buf));
		if (ret) {
			status = ret;
			goto out;
		}
	}
out:
	if (c.curl)
		curl_easy_cleanup(c.curl);
	explicit_bzero(&c.cfg, sizeof(c.cfg));
	explicit_bzero(c.token, sizeof(c.token));
	free(c.answer.buf);
	free(c.batch);
	return status;
}

int crowdsec_child_exec_main(int argc, char **argv)
{
	int fd = argc == 3 ? sandbox_parse_fd(argv[2]) : -1, type = 0, ret;
	socklen_t len = sizeof(type);

	/* The kernel named us after /proc/self/exe: "exe". */
	prctl(PR_SET_NAME, "greywalld", 0, 0, 0);
	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) || type != SOCK_SEQPACKET) {
		fprintf(stderr, "greywalld: %s is for greywalld's own use\n",
			CROWDSEC_CHILD_OPTION);
		return CROWDSEC_EXIT_USAGE;
	}
	if (geteuid() == 0) {
		ret = privsep_drop(CROWDSEC_CHILD_USER);
		if (ret) {
			fprintf(stderr, "greywalld: crowdsec child: cannot become %s: %s\n",
				CROWDSEC_CHILD_USER, strerror(-ret));
			return CROWDSEC_EXIT_USAGE;
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		fprintf(stderr, "greywalld: crowdsec child: no_new_privs: %s\n", strerror(errno));
		return CROWDSEC_EXIT_USAGE;
	}
	/* libcurl reads http_proxy, CURL_HOME, SSL_CERT_FILE ...: none of them here. */
	clearenv();
	return crowdsec_child_main(fd);
}
