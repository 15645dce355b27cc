// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The policy child, seen from the parent: sockets, fork and exec, the
 * socketpair protocol, batches of decisions, restarts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "child/child_process.h"
#include "daemon/daemon.h"
#include "lib/log.h"
#include "metrics/expo.h"
#include "policy/policy.h"
#include "spamd/tarpit.h"
#include "store/store.h"

#define STORE_TEXT "DEFER_IF_PERMIT 4.3.0 Greylisting is failing here, try again later"

/*
 * A unix socket: a stale one (nobody accepts on it) is removed, another
 * file is left alone; the socket is made root:group with the mode asked.
 */
static int listen_unix(const struct config_policy_listen *l, ino_t *inode)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	if (strlen(l->path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, l->path, strlen(l->path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (!lstat(l->path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			ret = -EEXIST;
			goto fail;
		}
		/* A socket someone still serves is theirs (another greywalld, postgrey). */
		if (!connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
			ret = -EADDRINUSE;
			goto fail;
		}
		close(fd);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (unlink(l->path) && errno != ENOENT) {
			ret = -errno;
			goto fail;
		}
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		ret = -errno;
		goto fail;
	}
	if (chown(l->path, 0, l->group ? l->gid : 0) || chmod(l->path, l->mode) ||
	    lstat(l->path, &st) || listen(fd, SOMAXCONN)) {
		ret = -errno;
		unlink(l->path);
		goto fail;
	}
	*inode = st.st_ino;
	return fd;
fail:
	close(fd);
	return ret;
}

/* How long the kernel holds a connection that has sent nothing (TCP_DEFER_ACCEPT). */
#define POLICY_DEFER_ACCEPT_S 10

static int listen_inet(const struct config_policy_listen *l)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_to_sockaddr(&l->addr, l->port, &ss);

	int fd = tarpit_listen((struct sockaddr *)&ss, len, false), secs = POLICY_DEFER_ACCEPT_S;

	/*
	 * Postfix writes its request as it connects: a connection is handed
	 * over with its request, and one that says nothing costs no
	 * descriptor while the kernel waits.
	 */
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof(secs));
	return fd;
}

static void listen_name(const struct config_policy_listen *l, char *buf, size_t len)
{
	char addr[ADDR_STRLEN];

	if (l->path) {
		snprintf(buf, len, "unix \"%s\"", l->path);
		return;
	}
	addr_format(&l->addr, addr, sizeof(addr));
	snprintf(buf, len, "%s port %u", addr, l->port);
}

static int open_listeners(struct daemon *d, char *err, size_t errlen)
{
	const struct config_policy *pol = d->cfg.policy;
	struct policy *p = d->policy;

	for (size_t i = 0; i < pol->nlisten && i < POLICY_LISTEN_MAX; i++) {
		const struct config_policy_listen *l = &pol->listen[i];
		ino_t inode = 0;
		int fd = l->path ? listen_unix(l, &inode) : listen_inet(l);
		char name[PATH_MAX + 16];

		if (fd < 0) {
			listen_name(l, name, sizeof(name));
			snprintf(err, errlen, "policy: listen %s: %s", name, strerror(-fd));
			return fd;
		}
		p->listeners[p->nlisteners] = fd;
		p->inodes[p->nlisteners] = inode;
		if (l->path && !(p->paths[p->nlisteners] = strdup(l->path))) {
			unlink(l->path);
			close(fd);
			snprintf(err, errlen, "policy: out of memory");
			return -ENOMEM;
		}
		p->nlisteners++;
	}
	return 0;
}

static void log_started(const struct policy *p)
{
	log_info("policy service started (pid %d, %zu sockets)", (int)p->child.pid, p->nlisteners);
}

static void close_listeners(struct policy *p)
{
	for (size_t i = 0; i < p->nlisteners; i++) {
		struct stat st;

		close(p->listeners[i]);
		/* Removed only while it is the socket we made: a successor's stays. */
		if (p->paths[i] && !lstat(p->paths[i], &st) && S_ISSOCK(st.st_mode) &&
		    st.st_ino == p->inodes[i])
			unlink(p->paths[i]);
		free(p->paths[i]);
		p->paths[i] = NULL;
	}
	p->nlisteners = 0;
}

int policy_attach(struct daemon *d, int fd, pid_t pid)
{
	return child_process_attach(&d->policy->child, d->epoll_fd, fd, pid);
}

/* Fork and exec the child with the sockets (child_process.h). */
static int start_child(struct daemon *d, char *err, size_t errlen)
{
	struct policy *p = d->policy;
	int ret = child_process_start(&p->child, d->epoll_fd, d->cfg.state_dir, p->listeners,
				      p->nlisteners, err, errlen);

	if (!ret)
		log_started(p);
	return ret;
}

int policy_start(struct daemon *d, char *err, size_t errlen)
{
	struct policy *p;
	int ret;

	if (!d->cfg.policy || d->policy)
		return 0;
	p = calloc(1, sizeof(*p));
	if (p)
		p->verdicts = calloc(POLICY_BATCH, sizeof(*p->verdicts));
	if (!p || !p->verdicts) {
		free(p);
		snprintf(err, errlen, "policy: out of memory");
		return -ENOMEM;
	}
	child_process_init(&p->child, "policy", POLICY_CHILD_OPTION);
	d->policy = p;
	ret = open_listeners(d, err, errlen);
	if (!ret)
		ret = start_child(d, err, errlen);
	if (ret)
		policy_stop(d);
	return ret;
}

void policy_stop(struct daemon *d)
{
	struct policy *p = d->policy;

	if (!p)
		return;
	child_process_stop(&p->child, d->epoll_fd);
	close_listeners(p);
	free(p->verdicts);
	free(p);
	d->policy = NULL;
}

static bool same_listen(const struct config_policy_listen *a, const struct config_policy_listen *b)
{
	if (a->path || b->path)
		return a->path && b->path && !strcmp(a->path, b->path) && a->mode == b->mode &&
		       !a->group == !b->group && (!a->group || a->gid == b->gid);
	return a->port == b->port && addr_equal(&a->addr, &b->addr);
}

bool policy_listen_changed(const struct daemon *d, const struct config *next)
{
	const struct config_policy *old = d->cfg.policy, *new = next->policy;

	if (!d->policy || !old || !new)
		return false;
	if (old->nlisten != new->nlisten)
		return true;
	for (size_t i = 0; i < old->nlisten; i++)
		if (!same_listen(&old->listen[i], &new->listen[i]))
			return true;
	return false;
}

int policy_reload(struct daemon *d, char *err, size_t errlen)
{
	if (!d->cfg.policy) {
		if (d->policy)
			log_info("policy service stopped: no policy block any more");
		policy_stop(d);
		return 0;
	}
	return policy_start(d, err, errlen);
}

bool policy_owns_fd(const struct daemon *d, int fd)
{
	return d->policy && fd >= 0 && fd == d->policy->child.fd;
}

/* The channel failed (-EPIPE: the child went away): restart it. */
static void child_failed(struct daemon *d, int err)
{
	struct policy *p = d->policy;

	if (err != -EPIPE) {
		log_err("policy: protocol error from the child (%s): restarting it",
			strerror(-err));
		p->counts.protocol_errors++;
	}
	child_process_restart(&p->child, d->epoll_fd);
}

/*
 * The batch's transaction failed (its commit, or SQLite gave it up): the
 * decisions since first were not recorded, and a pass said on them would
 * be one the store does not know. They become temporary failures.
 */
static void batch_failed(struct policy *p, size_t first, size_t n, int err)
{
	log_err("policy: committing %zu decisions: %s: answered as temporary failures", n - first,
		strerror(-err));
	p->counts.store_errors++;
	for (size_t i = first; i < n; i++) {
		if (p->verdicts[i].answer != POLICY_PASS)
			continue;
		p->verdicts[i].answer = POLICY_TEMPFAIL;
		snprintf(p->verdicts[i].action, sizeof(p->verdicts[i].action), "%s", STORE_TEXT);
	}
}

static void batch_end(struct daemon *d, bool *open, size_t first, size_t n)
{
	int ret;

	if (!*open)
		return;
	*open = false;
	ret = store_commit(d->store);
	if (ret)
		batch_failed(d->policy, first, n, ret);
}

/* Decide one POLICY into verdicts[n], inside the batch's transaction unless it may trap. */
static void decide_batched(struct daemon *d, const struct privsep_policy *req, size_t n,
			   bool *open, size_t *first)
{
	struct policy *p = d->policy;
	struct policy_verdict *v = &p->verdicts[n];

	if (policy_may_trap(d, req)) {
		/* A trap writes the tables, which run transactions of their own. */
		batch_end(d, open, *first, n);
	} else if (!*open && d->spamd && !store_begin(d->store)) {
		*open = true;
		*first = n;
	}
	v->req_id = req->req_id;
	v->answer = policy_decide(d, (int64_t)time(NULL), req, &p->instances, v->action,
				  sizeof(v->action));
	/* SQLite gave the whole transaction up: what it held is gone. */
	if (*open && sqlite3_get_autocommit(store_sqlite(d->store))) {
		*open = false;
		batch_failed(p, *first, n + 1, -EIO);
	}
}

static void send_verdicts(struct daemon *d, size_t n)
{
	struct policy *p = d->policy;
	int ret = 0;

	privsep_cork(&p->child.writer);
	for (size_t i = 0; i < n; i++) {
		struct privsep_msg m = { .type = PRIVSEP_VERDICT };

		p->counts.requests++;
		p->counts.answers[p->verdicts[i].answer]++;
		m.verdict.req_id = p->verdicts[i].req_id;
		m.verdict.action = p->verdicts[i].action;
		if (!ret)
			ret = privsep_send(&p->child.writer, &m);
		/* An action privsep refuses cannot reach Postfix as such: never a pass. */
		if (ret == -EMSGSIZE || ret == -EINVAL) {
			m.verdict.action = STORE_TEXT;
			ret = privsep_send(&p->child.writer, &m);
		}
	}
	if (!ret)
		ret = privsep_flush(&p->child.writer);
	if (ret && ret != -EAGAIN) {
		log_err("policy: the child does not read (%s): restarting it", strerror(-ret));
		child_failed(d, -EPIPE);
	}
}

void policy_read(struct daemon *d)
{
	struct policy *p = d->policy;
	struct privsep_msg msg;
	size_t n = 0, first = 0;
	bool open = false;
	int ret = 0;

	if (!p || p->child.fd < 0)
		return;
	p->child.paused = false;
	while (n < POLICY_BATCH && (ret = privsep_receive(&p->child.reader, &msg)) == 1) {
		if (msg.type == PRIVSEP_LOG) {
			log_tarpit_line(msg.log.priority, msg.log.text);
		} else if (msg.type == PRIVSEP_POLICY) {
			decide_batched(d, &msg.policy, n, &open, &first);
			n++;
		} else {
			ret = -EPROTO;
			break;
		}
	}
	batch_end(d, &open, first, n);
	/* The decisions stand even when the channel failed after them; a new child asks again. */
	if (n)
		send_verdicts(d, n);
	if (ret == 1 && p->child.fd >= 0)
		p->child.paused = true;
	if (ret < 0 && p->child.fd >= 0)
		child_failed(d, ret);
}

bool policy_pending(const struct daemon *d)
{
	return d->policy && d->policy->child.paused;
}

bool policy_reaped(struct daemon *d, pid_t pid, int status)
{
	return d->policy && child_process_reaped(&d->policy->child, d->epoll_fd, pid, status);
}

void policy_periodic(struct daemon *d, int64_t now)
{
	struct policy *p = d->policy;

	if (!p)
		return;
	if (p->child.fd >= 0)
		privsep_flush(&p->child.writer);
	if (child_process_periodic(&p->child, d->epoll_fd, now, d->cfg.state_dir, p->listeners,
				   p->nlisteners) > 0)
		log_started(p);
}

void policy_show(const struct daemon *d, FILE *out)
{
	const struct config_policy *pol = d->cfg.policy;
	const struct policy *p = d->policy;
	char name[PATH_MAX + 16];

	if (!pol || !p) {
		fprintf(out, "policy: not configured\n");
		return;
	}
	for (size_t i = 0; i < pol->nlisten; i++) {
		const struct config_policy_listen *l = &pol->listen[i];

		listen_name(l, name, sizeof(name));
		fprintf(out, "listen %s", name);
		if (l->path)
			fprintf(out, " mode %04o group %s", (unsigned int)l->mode,
				l->group ? l->group : "root");
		fprintf(out, "\n");
	}
	if (p->child.pid > 0 && p->child.fd >= 0)
		fprintf(out, "child: running (pid %d)\n", (int)p->child.pid);
	else
		fprintf(out, "child: not running (restarting)\n");
	fprintf(out, "requests: %llu\n", (unsigned long long)p->counts.requests);
	fprintf(out, "answers:");
	for (int i = 0; i < POLICY_ANSWERS; i++)
		fprintf(out, " %s %llu", policy_answer_names[i],
			(unsigned long long)p->counts.answers[i]);
	fprintf(out, "\nerrors: protocol %llu, store %llu, restarts %llu\n",
		(unsigned long long)p->counts.protocol_errors,
		(unsigned long long)p->counts.store_errors, (unsigned long long)p->child.restarts);
}

void policy_metrics(const struct daemon *d, struct expo *e)
{
	const struct policy *p = d->policy;

	if (!p)
		return;
	expo_family(e, "greywall_policy_requests_total", EXPO_COUNTER,
		    "Postfix policy requests the parent decided.");
	expo_sample(e, NULL, 0, p->counts.requests);
	expo_family(e, "greywall_policy_answers_total", EXPO_COUNTER,
		    "Answers to Postfix policy requests, by kind.");
	for (int i = 0; i < POLICY_ANSWERS; i++)
		expo_sample2(e, "answer", policy_answer_names[i], NULL, NULL, p->counts.answers[i]);
	expo_family(e, "greywall_policy_errors_total", EXPO_COUNTER,
		    "Policy service errors: the child's protocol, the store, child restarts.");
	expo_sample2(e, "kind", "protocol", NULL, NULL, p->counts.protocol_errors);
	expo_sample2(e, "kind", "store", NULL, NULL, p->counts.store_errors);
	expo_sample2(e, "kind", "restart", NULL, NULL, p->child.restarts);
}
