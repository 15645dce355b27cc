// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The CrowdSec client in greywalld's event loop (crowdsec.h): the child's
 * life, the decisions it pulls applied to the pull table, their ends, and
 * the push queue. Everything the child says is checked again here.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crowdsec/client.h"
#include "crowdsec/crowdsec.h"
#include "crowdsec/cs_store.h"
#include "crowdsec/proto.h"
#include "daemon/daemon.h"
#include "lib/addrmap.h"
#include "lib/idmap.h"
#include "lib/log.h"
#include "metrics/expo.h"

/* Messages applied a wakeup at most: a startup pull of 100,000 decisions never holds the loop. */
#define READ_BUDGET 2048
/* Origins told apart in `crowdsec show`; more are counted as "other". */
#define ORIGINS_MAX 15
/* Seconds a decision's end may seem to move between pulls (rounding) without being one. */
#define UNTIL_SLACK 5
/* The push backoff's longest wait, seconds. */
#define PUSH_BACKOFF_MAX 60

struct cs_decision_rec {
	struct addr_prefix p;
	uint8_t origin;		/* index into origins[], ORIGINS_MAX = other */
	uint8_t scope;		/* enum cs_scope */
	uint32_t gen;		/* the startup pull that last saw it */
	int64_t until;
};

/* An address the pull table holds for CrowdSec: its live decisions and their latest end. */
struct cs_held {
	int64_t until;
	uint32_t n;
};

struct cs_push_item {
	struct addr_prefix p;
	int64_t evidence_id;
	int64_t when;
	int table;
};

struct crowdsec {
	pid_t pid;
	int fd;			/* the socket to the child; -1 */
	int64_t restart_at;	/* when to start a child again; 0 = not waiting */
	bool reading_pull;	/* between PULL_BEGIN and PULL_END */
	bool pull_startup;
	bool pending;		/* the last read stopped at its budget */
	bool dirty;		/* table changes not committed yet */
	uint32_t gen;
	struct cs_store *store;
	struct idmap decisions;	/* id -> struct cs_decision_rec */
	struct addrmap held;	/* prefix -> struct cs_held */
	int64_t next_expiry;	/* earliest end held; 0 = none */
	char origins[ORIGINS_MAX][CS_ORIGIN_MAX];
	unsigned int norigins;

	/* Pull state, for `crowdsec show`. */
	bool connected;
	bool failing;		/* pulls failed since the last that succeeded */
	int64_t last_pull, last_ok;
	uint64_t last_millis, last_bytes, pulls_ok, pulls_failed, pulls_whole;
	int64_t last_whole;
	uint64_t added, deleted, expired, ignored_type, ignored_scope, refused, rejected, too_wide;
	uint64_t errors[CS_ERR_KINDS];
	char last_error[CS_TEXT_MAX + 64];
	int64_t last_error_at;

	/* Push state. */
	struct cs_push_item *queue;	/* a ring of capacity push_queue */
	size_t qhead, qlen, qcap;
	struct cs_push_item inflight[CROWDSEC_PUSH_BATCH];
	int64_t inflight_until[CROWDSEC_PUSH_BATCH];
	size_t ninflight;
	uint64_t seq;
	int64_t push_next_at;
	unsigned int push_backoff;
	struct addrmap pushed;		/* prefix -> int64_t: CrowdSec holds it from us until */
	uint64_t pushed_ok, push_batches, push_failed, push_dropped, push_skipped;
	int64_t last_push;
};

static struct crowdsec *cs_of(const struct daemon *d)
{
	return d->crowdsec;
}

static const struct config_crowdsec *cfg_of(const struct daemon *d)
{
	return d->cfg.crowdsec;
}

/* The pull table's index now (reloads may move it), or -1. */
static int pull_table(const struct daemon *d)
{
	const struct config_crowdsec *c = cfg_of(d);

	if (!c || c->table < 0 || !c->bouncer_key_file)
		return -1;
	return tables_find(&d->tables, d->cfg.tables[c->table].name);
}

static void note_error(struct crowdsec *cs, int64_t now, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void note_error(struct crowdsec *cs, int64_t now, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cs->last_error, sizeof(cs->last_error), fmt, ap);
	va_end(ap);
	cs->last_error_at = now;
}

/* Open the tables' change group: the store writes below join its transaction. */
static void begin(struct daemon *d)
{
	if (!tables_begin(&d->tables))
		d->crowdsec->dirty = true;
}

/* ---- the child ---- */

/*
 * A secret from a file: its first line, without the line end; refused when
 * empty or too long. A file others may read is used, with a warning.
 */
static int read_secret(const char *path, char *out, size_t size, char *err, size_t errlen)
{
	struct stat st;
	ssize_t n;
	char *nl;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		snprintf(err, errlen, "crowdsec: %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & S_IROTH))
		log_warn("crowdsec: %s is readable by everyone: it holds a secret", path);
	n = read(fd, out, size);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "crowdsec: %s: %s", path, strerror(errno));
		return -EIO;
	}
	if ((size_t)n == size) {
		snprintf(err, errlen, "crowdsec: %s: longer than %zu bytes", path, size - 1);
		return -E2BIG;
	}
	out[n] = '\0';
	nl = strpbrk(out, "\r\n");
	if (nl)
		*nl = '\0';
	if (!out[0] || strpbrk(out, " \t")) {
		snprintf(err, errlen, "crowdsec: %s: empty, or blanks in the secret", path);
		return -EINVAL;
	}
	return 0;
}

static int build_config(const struct daemon *d, struct cs_msg_config *m, char *err, size_t errlen)
{
	const struct config_crowdsec *c = cfg_of(d);
	int ret = 0;

	memset(m, 0, sizeof(*m));
	m->type = CS_MSG_CONFIG;
	m->every = c->every;
	m->timeout = c->timeout;
	m->max_bytes = c->max_bytes;
	snprintf(m->url, sizeof(m->url), "%s", c->url);
	if (c->ca_file)
		snprintf(m->ca_file, sizeof(m->ca_file), "%s", c->ca_file);
	if (c->bouncer_key_file) {
		m->pull = 1;
		ret = read_secret(c->bouncer_key_file, m->bouncer_key, sizeof(m->bouncer_key), err,
				  errlen);
	}
	if (!ret && c->machine) {
		m->push = 1;
		snprintf(m->machine, sizeof(m->machine), "%s", c->machine);
		ret = read_secret(c->password_file, m->password, sizeof(m->password), err, errlen);
	}
	return ret;
}

/* The child process: only the socket, then a fresh image (client.c drops to the user greywall). */
static void __attribute__((noreturn)) exec_child(int sock, char **argv)
{
	sigset_t none;
	int max = (int)sysconf(_SC_OPEN_MAX);

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	for (int fd = 3; fd < (max > 0 ? max : 1024); fd++)
		if (fd != sock)
			close(fd);
	fcntl(sock, F_SETFD, 0);
	execv("/proc/self/exe", argv);
	_exit(127);
}

static void drop_child_io(struct daemon *d)
{
	struct crowdsec *cs = cs_of(d);

	if (cs->fd < 0)
		return;
	if (d->epoll_fd >= 0)
		epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, cs->fd, NULL);
	close(cs->fd);
	cs->fd = -1;
	cs->pending = false;
	cs->connected = false;
	cs->reading_pull = false;
}

/* A batch that was out when the child went: back to the queue's head, in order. */
static void requeue_inflight(struct crowdsec *cs)
{
	for (size_t i = cs->ninflight; i-- > 0;) {
		if (cs->qlen == cs->qcap)
			break;
		cs->qhead = (cs->qhead + cs->qcap - 1) % cs->qcap;
		cs->queue[cs->qhead] = cs->inflight[i];
		cs->qlen++;
	}
	cs->ninflight = 0;
}

int crowdsec_attach(struct daemon *d, int fd, pid_t pid, char *err, size_t errlen)
{
	struct crowdsec *cs = cs_of(d);
	struct epoll_event ev = { .events = EPOLLIN };
	struct cs_msg_config m;
	int ret = build_config(d, &m, err, errlen);

	if (ret)
		goto out;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	cs->pid = pid;
	cs->fd = fd;
	cs->restart_at = 0;
	if (send(cs->fd, &m, sizeof(m), MSG_DONTWAIT | MSG_NOSIGNAL) != sizeof(m)) {
		ret = -errno;
		snprintf(err, errlen, "crowdsec: sending the settings: %s", strerror(errno));
		cs->fd = -1;
		cs->pid = 0;
		goto out;
	}
	if (d->epoll_fd >= 0) {
		ev.data.fd = cs->fd;
		epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, cs->fd, &ev);
	}
	log_info("crowdsec: client started (pid %d) for %s%s%s", (int)pid, m.url,
		 m.pull ? ", pulling" : "", m.push ? ", pushing" : "");
out:
	explicit_bzero(&m, sizeof(m));
	return ret;
}

static int start_child(struct daemon *d, char *err, size_t errlen)
{
	char fdarg[16];
	char *argv[] = { "greywalld", CROWDSEC_CHILD_OPTION, fdarg, NULL };
	int sv[2], ret;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		ret = -errno;
		snprintf(err, errlen, "crowdsec: socketpair: %s", strerror(errno));
		return ret;
	}
	snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		snprintf(err, errlen, "crowdsec: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	if (pid == 0) {
		close(sv[0]);
		exec_child(sv[1], argv);
	}
	close(sv[1]);
	ret = crowdsec_attach(d, sv[0], pid, err, errlen);
	if (ret) {
		close(sv[0]);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	return ret;
}

static void stop_child(struct daemon *d)
{
	struct crowdsec *cs = cs_of(d);

	drop_child_io(d);
	requeue_inflight(cs);
	if (cs->pid > 0) {
		kill(cs->pid, SIGTERM);
		waitpid(cs->pid, NULL, 0);
		cs->pid = 0;
	}
}

bool crowdsec_reaped(struct daemon *d, pid_t pid, int status)
{
	struct crowdsec *cs = cs_of(d);

	if (!cs || pid != cs->pid || pid <= 0)
		return false;
	if (WIFSIGNALED(status))
		log_err("crowdsec: client ended by signal %d; started again in %d s",
			WTERMSIG(status), CROWDSEC_RESTART_DELAY);
	else
		log_err("crowdsec: client exited with status %d; started again in %d s",
			WEXITSTATUS(status), CROWDSEC_RESTART_DELAY);
	cs->pid = 0;
	drop_child_io(d);
	requeue_inflight(cs);
	cs->restart_at = (int64_t)time(NULL) + CROWDSEC_RESTART_DELAY;
	return true;
}

/* The child broke the protocol: end it; it starts again after the delay. */
static void child_failed(struct daemon *d, const char *why)
{
	struct crowdsec *cs = cs_of(d);

	log_err("crowdsec: client protocol error (%s): restarting it", why);
	if (cs->pid > 0)
		kill(cs->pid, SIGTERM);
	drop_child_io(d);
	requeue_inflight(cs);
}

/* ---- decisions ---- */

static uint8_t origin_index(struct crowdsec *cs, const char *origin)
{
	for (unsigned int i = 0; i < cs->norigins; i++)
		if (!strcmp(cs->origins[i], origin))
			return (uint8_t)i;
	if (cs->norigins == ORIGINS_MAX)
		return ORIGINS_MAX;
	snprintf(cs->origins[cs->norigins], CS_ORIGIN_MAX, "%s", origin);
	return (uint8_t)cs->norigins++;
}

static void note_until(struct crowdsec *cs, int64_t until)
{
	if (!cs->next_expiry || until < cs->next_expiry)
		cs->next_expiry = until;
}

/*
 * p has no live decision any more: out of the pull table, unless a local
 * writer holds the entry (its evidence is not CrowdSec's).
 */
static void release(struct daemon *d, const struct addr_prefix *p, const char *action,
		    int64_t *evidence, const char *why, int64_t now)
{
	struct crowdsec *cs = cs_of(d);
	int idx = pull_table(d);
	const struct entry_meta *m;

	addrmap_delete(&cs->held, p);
	if (idx < 0)
		return;
	m = tables_entry(&d->tables, idx, p);
	if (!m || !tables_evidence_is_crowdsec(&d->tables, m->evidence_id))
		return;
	if (!*evidence) {
		*evidence = tables_evidence(&d->tables, "crowdsec", why, now);
		if (*evidence < 0)
			*evidence = 0;
	}
	if (tables_delete(&d->tables, idx, p, action, *evidence, now) > 0)
		cs->dirty = true;
}

/* Forget decision id; its address leaves the table when no other decision holds it. */
static void decision_drop(struct daemon *d, int64_t id, const char *action, int64_t *evidence,
			  const char *why, int64_t now)
{
	struct crowdsec *cs = cs_of(d);
	struct cs_decision_rec *r = idmap_get(&cs->decisions, id);
	struct addr_prefix p;
	struct cs_held *h;

	if (!r)
		return;
	p = r->p;
	idmap_delete(&cs->decisions, id);
	cs_store_decision_delete(cs->store, id);
	h = addrmap_get(&cs->held, &p);
	if (h && h->n > 1) {
		h->n--;
		return;
	}
	release(d, &p, action, evidence, why, now);
}

/* Parse and check what the child says a decision is about. */
static int decision_prefix(const struct cs_msg_decision *m, struct addr_prefix *p)
{
	/*
	 * Scope Ip may hold a network: cscli decisions import gives every
	 * line of a file scope Ip, ranges too, and CrowdSec's bouncers take
	 * it as the range it names.
	 */
	if (addr_parse(m->value, p))
		return -EINVAL;
	/* A typo in cscli (or a LAPI gone wrong) must not cut the gateway off the Internet. */
	if (p->plen < (p->family == AF_INET ? CROWDSEC_WIDEST4 : CROWDSEC_WIDEST6))
		return -E2BIG;
	return 0;
}

static void decision_new(struct daemon *d, const struct cs_msg_decision *m, int64_t now)
{
	struct crowdsec *cs = cs_of(d);
	int idx = pull_table(d);
	struct cs_decision_rec *r;
	char detail[sizeof(((struct evidence *)0)->detail)];
	struct addr_prefix p;
	struct cs_held *h;
	int64_t evidence, until;
	int created, ret;

	ret = decision_prefix(m, &p);
	if (ret == -E2BIG) {
		if (!cs->too_wide++)
			log_err("crowdsec: decision %" PRId64 " bans %s: wider than /%d (IPv4) or /%d"
				" (IPv6), refused", m->id, m->value, CROWDSEC_WIDEST4, CROWDSEC_WIDEST6);
		return;
	}
	if (ret || m->duration > INT32_MAX) {
		cs->rejected++;
		return;
	}
	if (m->duration <= 0 || idx < 0)
		return;
	until = now + m->duration;
	r = idmap_get(&cs->decisions, m->id);
	if (r) {
		/* Seen before (a startup pull again): the same address, maybe a new end. */
		r->gen = cs->gen;
		if (!addr_equal(&r->p, &p))
			return;
		/*
		 * A whole-state pull says the same end again, give or take the
		 * rounding of "seconds left": written only when it moved.
		 */
		if (until > r->until + UNTIL_SLACK || until < r->until - UNTIL_SLACK) {
			r->until = until;
			cs_store_decision_put(cs->store, m->id, &r->p, until, m->origin, r->scope);
		}
		h = addrmap_get(&cs->held, &p);
		if (h && until > h->until)
			h->until = until;
		note_until(cs, until);
		if (!tables_entry(&d->tables, idx, &p) && h) {
			/* The table's own timeout took it meanwhile: the decision still holds. */
			evidence = tables_crowdsec_evidence(&d->tables, "decision restored", now);
			if (evidence > 0 && tables_add(&d->tables, idx, &p, evidence, now) >= 0)
				cs->dirty = true;
		}
		return;
	}
	/*
	 * Decisions are bounded by the table's limits, so are the records of
	 * them: many decisions on one address must not grow them past that.
	 */
	if (cs->decisions.count >= (size_t)d->tables.limit_hosts + d->tables.limit_prefixes) {
		cs->refused++;
		return;
	}
	snprintf(detail, sizeof(detail), "%s %s (decision %" PRId64 ")", m->origin, m->scenario,
		 m->id);
	evidence = tables_crowdsec_evidence(&d->tables, detail, now);
	if (evidence < 0) {
		note_error(cs, now, "recording evidence: %s", strerror((int)-evidence));
		return;
	}
	ret = tables_add(&d->tables, idx, &p, evidence, now);
	if (ret == -ENOSPC) {
		cs->refused++;
		return;
	}
	if (ret < 0) {
		note_error(cs, now, "adding %s: %s", m->value, strerror(-ret));
		return;
	}
	cs->dirty = true;
	r = idmap_put(&cs->decisions, m->id, &created);
	h = addrmap_put(&cs->held, &p, &created);
	if (!r || !h) {
		note_error(cs, now, "out of memory");
		return;
	}
	r->p = p;
	r->until = until;
	r->gen = cs->gen;
	r->scope = m->scope;
	r->origin = origin_index(cs, m->origin);
	h->n++;
	if (until > h->until)
		h->until = until;
	note_until(cs, until);
	cs->added++;
	cs_store_decision_put(cs->store, m->id, &p, until, r->origin < cs->norigins ?
			      cs->origins[r->origin] : m->origin, m->scope);
}

static void decision_deleted(struct daemon *d, const struct cs_msg_decision *m, int64_t now)
{
	struct crowdsec *cs = cs_of(d);
	struct addr_prefix p;
	char why[CS_SCENARIO_MAX + 64];
	int64_t evidence = 0;

	if (decision_prefix(m, &p)) {
		cs->rejected++;
		return;
	}
	/* Our own decision gone from CrowdSec: a later addition may push it again. */
	if (!strncmp(m->scenario, "greywall/", 9) && addrmap_get(&cs->pushed, &p)) {
		addrmap_delete(&cs->pushed, &p);
		cs_store_pushed_delete(cs->store, &p);
	}
	if (!idmap_get(&cs->decisions, m->id))
		return;
	snprintf(why, sizeof(why), "decision %" PRId64 " deleted (%s %s)", m->id, m->origin,
		 m->scenario);
	decision_drop(d, m->id, "delete", &evidence, why, now);
	cs->deleted++;
}

/*
 * The end of a startup pull: the LAPI's whole state has arrived. What it
 * no longer has goes, and so do the pull table's CrowdSec entries no held
 * decision covers (their records were lost).
 */
static void startup_reconcile(struct daemon *d, int64_t now)
{
	struct crowdsec *cs = cs_of(d);
	int idx = pull_table(d);
	struct addr_list gone = { 0 };
	int64_t *ids = NULL, evidence = 0, id;
	size_t nids = 0, cap = 0;
	void *value;

	for (size_t pos = 0; idmap_next(&cs->decisions, &pos, &id, &value);) {
		const struct cs_decision_rec *r = value;

		if (r->gen == cs->gen)
			continue;
		if (nids == cap) {
			int64_t *more = realloc(ids, (cap ? cap * 2 : 64) * sizeof(*ids));

			if (!more)
				break;
			ids = more;
			cap = cap ? cap * 2 : 64;
		}
		ids[nids++] = id;
	}
	for (size_t i = 0; i < nids; i++)
		decision_drop(d, ids[i], "delete", &evidence, "no longer a decision of the LAPI", now);
	cs->deleted += nids;
	free(ids);
	if (idx < 0)
		return;
	for (size_t pos = 0;;) {
		const struct addr_prefix *key;
		const struct entry_meta *m;

		if (!addrmap_next(&d->tables.table[idx].entries, &pos, &key, &value))
			break;
		m = value;
		if (tables_evidence_is_crowdsec(&d->tables, m->evidence_id) &&
		    !addrmap_get(&cs->held, key))
			addr_list_push(&gone, key);
	}
	for (size_t i = 0; i < gone.n; i++)
		release(d, &gone.items[i], "delete", &evidence, "no longer a decision of the LAPI",
			now);
	addr_list_free(&gone);
}

static void expire_due(struct daemon *d, int64_t now)
{
	struct crowdsec *cs = cs_of(d);
	int64_t *ids = NULL, evidence = 0, next = 0, id;
	size_t nids = 0, cap = 0;
	void *value;

	if (!cs->next_expiry || now < cs->next_expiry)
		return;
	for (size_t pos = 0; idmap_next(&cs->decisions, &pos, &id, &value);) {
		const struct cs_decision_rec *r = value;

		if (r->until > now) {
			if (!next || r->until < next)
				next = r->until;
			continue;
		}
		if (nids == cap) {
			int64_t *more = realloc(ids, (cap ? cap * 2 : 64) * sizeof(*ids));

			if (!more) {
				next = now + 1;
				break;
			}
			ids = more;
			cap = cap ? cap * 2 : 64;
		}
		ids[nids++] = id;
	}
	cs->next_expiry = next;
	if (nids)
		begin(d);
	for (size_t i = 0; i < nids; i++)
		decision_drop(d, ids[i], "expire", &evidence, "decision ended", now);
	cs->expired += nids;
	free(ids);
}

/* ---- push ---- */

static void on_table_add(void *ctx, int idx, const struct addr_prefix *p, int64_t evidence_id,
			 int64_t now)
{
	struct daemon *d = ctx;
	struct crowdsec *cs = cs_of(d);
	const struct config_crowdsec *c = cfg_of(d);
	struct cs_push_item *it;
	int cfg_idx;

	if (!cs || !c || !c->machine || !cs->qcap)
		return;
	cfg_idx = config_table_index(&d->cfg, d->tables.table[idx].name);
	if (cfg_idx < 0 || !(c->push_tables & (1ULL << cfg_idx)))
		return;
	if (cs->qlen == cs->qcap) {
		if (!cs->push_dropped++)
			log_err("crowdsec: the push queue is full (%zu): additions are not pushed"
				" until the LAPI takes them", cs->qcap);
		return;
	}
	it = &cs->queue[(cs->qhead + cs->qlen) % cs->qcap];
	it->p = *p;
	it->table = idx;
	it->evidence_id = evidence_id;
	it->when = now;
	cs->qlen++;
}

/* The scenario a push carries: greywall/<why>, from the evidence's source. */
static void scenario_of(const struct evidence *ev, char *out, size_t size)
{
	const char *why = ev->source;

	if (!strcmp(ev->source, "log"))
		why = strstr(ev->detail, ": trap user ") ? "log-trap-user" : "log-failures";
	else if (!strcmp(ev->source, "import") || !strcmp(ev->source, "config"))
		why = "list";
	snprintf(out, size, "greywall/%s", why);
}

/*
 * Make an alert of a queued addition, or say why not: it left the table,
 * it is no longer a local writer's, CrowdSec holds it from us already, or
 * its time in the table is over.
 */
static bool make_alert(struct daemon *d, const struct cs_push_item *it, uint64_t seq, int64_t now,
		       struct cs_msg_alert *a)
{
	struct crowdsec *cs = cs_of(d);
	const struct table *tb = &d->tables.table[it->table];
	const struct entry_meta *m = tables_entry(&d->tables, it->table, &it->p);
	const int64_t *until = addrmap_get(&cs->pushed, &it->p);
	struct evidence ev;
	int64_t duration;

	if (!m || tables_evidence_is_crowdsec(&d->tables, m->evidence_id) ||
	    tables_evidence_is_peer(&d->tables, m->evidence_id))
		return false;
	if (until && *until > now)
		return false;
	/*
	 * CrowdSec ends a decision at the alert's stop_at (when the entry
	 * was added) plus its duration: the table's whole timeout, so both
	 * end together, even for an addition pushed late.
	 */
	duration = tb->timeout ? (int64_t)tb->timeout : (int64_t)cfg_of(d)->push_duration;
	if (m->added + duration <= now)
		return false;
	if (!d->store || store_evidence_get(d->store, m->evidence_id, &ev)) {
		memset(&ev, 0, sizeof(ev));
		snprintf(ev.source, sizeof(ev.source), "%s", "manual");
	}
	memset(a, 0, sizeof(*a));
	a->type = CS_MSG_ALERT;
	a->scope = addr_is_host(&it->p) ? CS_SCOPE_IP : CS_SCOPE_RANGE;
	a->seq = seq;
	a->duration = duration;
	a->when = m->added;
	scenario_of(&ev, a->scenario, sizeof(a->scenario));
	addr_format(&it->p, a->value, sizeof(a->value));
	snprintf(a->table, sizeof(a->table), "%s", tb->name);
	/* Cut where it must be: CrowdSec shows the evidence, greywallctl why all of it. */
	if (snprintf(a->evidence, sizeof(a->evidence), "%.31s: %s", ev.source, ev.detail) < 0)
		a->evidence[0] = '\0';
	return true;
}

static bool in_batch(const struct crowdsec *cs, const struct addr_prefix *p)
{
	for (size_t i = 0; i < cs->ninflight; i++)
		if (addr_equal(&cs->inflight[i].p, p))
			return true;
	return false;
}

static void push_batch(struct daemon *d, int64_t now)
{
	struct crowdsec *cs = cs_of(d);
	struct cs_msg_seq end = { .type = CS_MSG_ALERTS_END };
	struct cs_msg_alert a;
	uint64_t seq = cs->seq + 1;

	if (cs->fd < 0 || cs->ninflight || !cs->qlen || now < cs->push_next_at)
		return;
	while (cs->qlen && cs->ninflight < CROWDSEC_PUSH_BATCH) {
		struct cs_push_item it = cs->queue[cs->qhead];

		if (in_batch(cs, &it.p) || !make_alert(d, &it, seq, now, &a)) {
			cs->push_skipped++;
		} else if (send(cs->fd, &a, sizeof(a), MSG_DONTWAIT | MSG_NOSIGNAL) !=
			   sizeof(a)) {
			/* The child is busy (a long pull): the rest waits for the next second. */
			break;
		} else {
			cs->inflight_until[cs->ninflight] = a.when + a.duration;
			cs->inflight[cs->ninflight++] = it;
		}
		cs->qhead = (cs->qhead + 1) % cs->qcap;
		cs->qlen--;
	}
	if (!cs->ninflight)
		return;
	end.seq = seq;
	end.count = (uint32_t)cs->ninflight;
	if (send(cs->fd, &end, sizeof(end), MSG_DONTWAIT | MSG_NOSIGNAL) != sizeof(end)) {
		/* The child has the alerts but not the end: it takes them with the next end. */
		requeue_inflight(cs);
		child_failed(d, "its socket is full");
		return;
	}
	cs->seq = seq;
}

static void push_done(struct daemon *d, const struct cs_msg_seq *m, int64_t now)
{
	struct crowdsec *cs = cs_of(d);

	if (!cs->ninflight || m->seq != cs->seq || m->count != cs->ninflight) {
		child_failed(d, "an answer to a push batch it was not sent");
		return;
	}
	begin(d);
	for (size_t i = 0; i < cs->ninflight; i++) {
		int created;
		int64_t *until = addrmap_put(&cs->pushed, &cs->inflight[i].p, &created);

		if (until)
			*until = cs->inflight_until[i];
		cs_store_pushed_put(cs->store, &cs->inflight[i].p, cs->inflight_until[i]);
	}
	cs->pushed_ok += cs->ninflight;
	cs->push_batches++;
	cs->ninflight = 0;
	cs->push_backoff = 0;
	cs->push_next_at = 0;
	cs->last_push = now;
}

static void push_failed(struct crowdsec *cs, int64_t now)
{
	requeue_inflight(cs);
	cs->push_failed++;
	cs->push_backoff = cs->push_backoff ? cs->push_backoff * 2 : 1;
	if (cs->push_backoff > PUSH_BACKOFF_MAX)
		cs->push_backoff = PUSH_BACKOFF_MAX;
	cs->push_next_at = now + cs->push_backoff;
}

/* Forget what CrowdSec held from us once its decision has ended. */
static void pushed_expire(struct daemon *d, int64_t now)
{
	struct crowdsec *cs = cs_of(d);
	struct addr_list gone = { 0 };
	const struct addr_prefix *key;
	void *value;

	for (size_t pos = 0; addrmap_next(&cs->pushed, &pos, &key, &value);)
		if (*(int64_t *)value <= now)
			addr_list_push(&gone, key);
	if (gone.n)
		begin(d);
	for (size_t i = 0; i < gone.n; i++) {
		addrmap_delete(&cs->pushed, &gone.items[i]);
		cs_store_pushed_delete(cs->store, &gone.items[i]);
	}
	addr_list_free(&gone);
}

/* ---- messages ---- */

static void on_fail(struct daemon *d, const struct cs_msg_fail *m, int64_t now)
{
	struct crowdsec *cs = cs_of(d);
	static const char *const what[] = { "", "pull", "login", "push" };

	cs->errors[m->kind]++;
	note_error(cs, now, "%s: %s", what[m->what], m->text);
	if (m->what == CS_WHAT_PULL) {
		/* Logged when the LAPI goes away and for each new kind, not at every retry. */
		if (cs->connected || cs->pulls_failed == 0 || cs->errors[m->kind] == 1)
			log_err("crowdsec: pull failed: %s", m->text);
		cs->pulls_failed++;
		cs->connected = false;
		cs->reading_pull = false;
		cs->failing = true;
	} else {
		if (cs->push_failed == 0)
			log_err("crowdsec: %s failed: %s", what[m->what], m->text);
		if (m->what == CS_WHAT_PUSH && cs->ninflight && m->seq == cs->seq)
			push_failed(cs, now);
		else if (m->what == CS_WHAT_LOGIN && cs->ninflight)
			push_failed(cs, now);
	}
}

static void on_log(const struct cs_msg_log *m)
{
	switch (m->level) {
	case CS_LOG_ERR:
		log_err("crowdsec: %s", m->text);
		break;
	case CS_LOG_WARNING:
		log_warn("crowdsec: %s", m->text);
		break;
	case CS_LOG_INFO:
		log_info("crowdsec: %s", m->text);
		break;
	default:
		log_debug("crowdsec: %s", m->text);
	}
}

/* One message from the child. Returns 0, or -EPROTO to end it. */
static int handle(struct daemon *d, const void *buf, size_t len, int64_t now)
{
	struct crowdsec *cs = cs_of(d);
	int type = cs_msg_check(buf, len);

	switch (type) {
	case CS_MSG_PULL_BEGIN: {
		const struct cs_msg_pull_begin *m = buf;

		cs->reading_pull = true;
		cs->pull_startup = m->startup != 0;
		cs->last_bytes = m->bytes;
		if (cs->pull_startup)
			cs->gen++;
		return 0;
	}
	case CS_MSG_DECISION: {
		const struct cs_msg_decision *m = buf;

		if (!cs->reading_pull)
			return -EPROTO;
		/* The store's writes below join the tables' transaction. */
		begin(d);
		if (m->deleted)
			decision_deleted(d, m, now);
		else
			decision_new(d, m, now);
		return 0;
	}
	case CS_MSG_PULL_END: {
		const struct cs_msg_pull_end *m = buf;

		if (!cs->reading_pull || (m->startup != 0) != cs->pull_startup)
			return -EPROTO;
		if (cs->pull_startup) {
			begin(d);
			startup_reconcile(d, now);
			cs->pulls_whole++;
			cs->last_whole = now;
		}
		cs->reading_pull = false;
		cs->connected = true;
		if (cs->failing)
			log_info("crowdsec: pulls succeed again");
		cs->failing = false;
		cs->last_pull = cs->last_ok = now;
		cs->last_millis = m->millis;
		cs->ignored_type += m->ignored_type;
		cs->ignored_scope += m->ignored_scope;
		cs->pulls_ok++;
		return 0;
	}
	case CS_MSG_FAIL:
		on_fail(d, buf, now);
		return 0;
	case CS_MSG_PUSH_DONE:
		push_done(d, buf, now);
		return 0;
	case CS_MSG_LOG:
		on_log(buf);
		return 0;
	default:
		return -EPROTO;
	}
}

static void commit(struct daemon *d)
{
	struct crowdsec *cs = cs_of(d);
	int ret;

	if (!cs->dirty)
		return;
	cs->dirty = false;
	ret = tables_commit(&d->tables);
	if (ret)
		log_err("crowdsec: applying decisions: %s", strerror(-ret));
}

void crowdsec_read(struct daemon *d)
{
	struct crowdsec *cs = cs_of(d);
	int64_t now = (int64_t)time(NULL);
	unsigned char buf[CS_MSG_MAX + 1];
	int n;

	if (!cs || cs->fd < 0)
		return;
	cs->pending = false;
	for (n = 0; n < READ_BUDGET; n++) {
		ssize_t len = recv(cs->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (len == 0) {
			drop_child_io(d);
			break;
		}
		if (len < 0) {
			if (errno != EAGAIN && errno != EINTR)
				drop_child_io(d);
			break;
		}
		if (handle(d, buf, (size_t)len, now)) {
			child_failed(d, "a message it may not send");
			break;
		}
	}
	if (n == READ_BUDGET)
		cs->pending = true;
	commit(d);
}

bool crowdsec_pending(const struct daemon *d)
{
	return d->crowdsec && d->crowdsec->pending;
}

int crowdsec_fd(const struct daemon *d)
{
	return d->crowdsec ? d->crowdsec->fd : -1;
}

/* ---- life ---- */

static int load_decision(void *ctx, int64_t id, const struct addr_prefix *p, int64_t until,
			 const char *origin, int scope)
{
	struct daemon *d = ctx;
	struct crowdsec *cs = cs_of(d);
	struct cs_decision_rec *r;
	struct cs_held *h;
	int created;

	r = idmap_put(&cs->decisions, id, &created);
	h = addrmap_put(&cs->held, p, &created);
	if (!r || !h)
		return -ENOMEM;
	r->p = *p;
	r->until = until;
	r->scope = (uint8_t)scope;
	r->origin = origin_index(cs, origin);
	h->n++;
	if (until > h->until)
		h->until = until;
	note_until(cs, until);
	return 0;
}

static int load_pushed(void *ctx, const struct addr_prefix *p, int64_t until)
{
	struct crowdsec *cs = ctx;
	int created;
	int64_t *v = addrmap_put(&cs->pushed, p, &created);

	if (!v)
		return -ENOMEM;
	*v = until;
	return 0;
}

static int load_queued(void *ctx, const struct addr_prefix *p, const char *table,
		       int64_t evidence_id, int64_t added)
{
	struct daemon *d = ctx;
	struct crowdsec *cs = cs_of(d);
	int idx = tables_find(&d->tables, table);
	struct cs_push_item *it;

	if (idx < 0 || cs->qlen == cs->qcap)
		return 0;
	it = &cs->queue[(cs->qhead + cs->qlen) % cs->qcap];
	it->p = *p;
	it->table = idx;
	it->evidence_id = evidence_id;
	it->when = added;
	cs->qlen++;
	return 0;
}

/* The queue (and a batch out) into the store, for the next start. */
static void save_queue(struct daemon *d)
{
	struct crowdsec *cs = cs_of(d);

	requeue_inflight(cs);
	if (!cs->store || !cs->qlen)
		return;
	begin(d);
	for (size_t i = 0; i < cs->qlen; i++) {
		const struct cs_push_item *it = &cs->queue[(cs->qhead + i) % cs->qcap];

		cs_store_queue_put(cs->store, (int64_t)i, &it->p, d->tables.table[it->table].name,
				   it->evidence_id, it->when);
	}
	log_info("crowdsec: %zu additions not pushed yet kept for the next start", cs->qlen);
}

static int queue_size(struct crowdsec *cs, const struct config_crowdsec *c)
{
	size_t want = c && c->machine ? c->push_queue : 0;
	struct cs_push_item *q;

	if (want == cs->qcap)
		return 0;
	/* Keep what waits, in order, as far as the new size holds it. */
	q = want ? calloc(want, sizeof(*q)) : NULL;
	if (want && !q)
		return -ENOMEM;
	for (size_t i = 0; i < cs->qlen && i < want; i++)
		q[i] = cs->queue[(cs->qhead + i) % cs->qcap];
	if (cs->qlen > want)
		cs->push_dropped += cs->qlen - want;
	cs->qlen = cs->qlen < want ? cs->qlen : want;
	cs->qhead = 0;
	free(cs->queue);
	cs->queue = q;
	cs->qcap = want;
	return 0;
}

int crowdsec_open(struct daemon *d, char *err, size_t errlen)
{
	struct crowdsec *cs;
	int ret;

	if (!d->cfg.crowdsec)
		return 0;
	cs = d->crowdsec = calloc(1, sizeof(*cs));
	if (!cs) {
		snprintf(err, errlen, "crowdsec: out of memory");
		return -ENOMEM;
	}
	cs->fd = -1;
	idmap_init(&cs->decisions, sizeof(struct cs_decision_rec));
	ret = addrmap_init(&cs->held, sizeof(struct cs_held));
	if (!ret)
		ret = addrmap_init(&cs->pushed, sizeof(int64_t));
	if (!ret)
		ret = queue_size(cs, d->cfg.crowdsec);
	if (!ret && d->store) {
		ret = cs_store_open(d->store, &cs->store);
		if (!ret)
			ret = cs_store_decisions(cs->store, load_decision, d);
		if (!ret)
			ret = cs_store_pushed(cs->store, load_pushed, cs);
		if (!ret && cs->qcap) {
			begin(d);
			ret = cs_store_queue_take(cs->store, load_queued, d);
		}
	}
	if (ret) {
		snprintf(err, errlen, "crowdsec: its state in the store: %s", strerror(-ret));
		return ret;
	}
	d->tables.on_add = on_table_add;
	d->tables.on_add_ctx = d;
	/* Decisions that ended while greywalld was down go now. */
	expire_due(d, (int64_t)time(NULL));
	commit(d);
	return 0;
}

int crowdsec_start(struct daemon *d, char *err, size_t errlen)
{
	int ret = crowdsec_open(d, err, errlen);

	return ret || !d->crowdsec ? ret : start_child(d, err, errlen);
}

void crowdsec_periodic(struct daemon *d, int64_t now)
{
	struct crowdsec *cs = cs_of(d);
	char err[512];

	if (!cs)
		return;
	if (cs->restart_at && now >= cs->restart_at && d->cfg.crowdsec) {
		cs->restart_at = 0;
		if (start_child(d, err, sizeof(err))) {
			log_err("%s", err);
			cs->restart_at = now + CROWDSEC_RESTART_DELAY;
		}
	}
	expire_due(d, now);
	commit(d);
	if (d->cfg.crowdsec && d->cfg.crowdsec->machine) {
		if (now % 60 == 0)
			pushed_expire(d, now);
		push_batch(d, now);
	}
}

int crowdsec_reload(struct daemon *d, char *err, size_t errlen)
{
	struct crowdsec *cs = cs_of(d);
	int ret;

	if (!cs)
		return crowdsec_start(d, err, errlen);
	if (!d->cfg.crowdsec) {
		stop_child(d);
		d->tables.on_add = NULL;
		queue_size(cs, NULL);
		log_info("crowdsec: client stopped (no crowdsec block)");
		return 0;
	}
	ret = queue_size(cs, d->cfg.crowdsec);
	if (ret) {
		snprintf(err, errlen, "crowdsec: push queue: %s", strerror(-ret));
		return ret;
	}
	d->tables.on_add = on_table_add;
	d->tables.on_add_ctx = d;
	/* Settings and secrets (a new key in the same file) are read again. */
	stop_child(d);
	return start_child(d, err, errlen);
}

void crowdsec_close(struct daemon *d)
{
	struct crowdsec *cs = cs_of(d);

	if (!cs)
		return;
	stop_child(d);
	save_queue(d);
	commit(d);
	d->tables.on_add = NULL;
	cs_store_close(cs->store);
	idmap_free(&cs->decisions);
	addrmap_free(&cs->held);
	addrmap_free(&cs->pushed);
	free(cs->queue);
	free(cs);
	d->crowdsec = NULL;
}

int crowdsec_pull_now(struct daemon *d)
{
	struct crowdsec *cs = cs_of(d);
	struct cs_msg_seq m = { .type = CS_MSG_PULL_NOW };

	if (!cs || !d->cfg.crowdsec || !d->cfg.crowdsec->bouncer_key_file)
		return -ENOENT;
	if (cs->fd < 0)
		return -ENOTCONN;
	if (send(cs->fd, &m, sizeof(m), MSG_DONTWAIT | MSG_NOSIGNAL) != sizeof(m))
		return -errno;
	return 0;
}

/* ---- show ---- */

static void print_time(FILE *out, const char *what, int64_t t, int64_t now)
{
	char buf[32];
	struct tm tm;
	time_t tt = (time_t)t;

	if (!t) {
		fprintf(out, "%s never", what);
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(out, "%s %s (%" PRId64 " s ago)", what, buf, now - t);
}

void crowdsec_show(struct daemon *d, FILE *out)
{
	struct crowdsec *cs = cs_of(d);
	const struct config_crowdsec *c = cfg_of(d);
	static const char *const kinds[CS_ERR_KINDS] = {
	    [CS_ERR_CONNECT] = "connect", [CS_ERR_TIMEOUT] = "timeout", [CS_ERR_TLS] = "tls",
	    [CS_ERR_HTTP] = "http",	  [CS_ERR_AUTH] = "auth",	[CS_ERR_OVERSIZE] = "oversize",
	    [CS_ERR_MALFORMED] = "malformed", [CS_ERR_OTHER] = "other",
	};
	uint64_t by[ORIGINS_MAX + 1][3] = { { 0 } };
	int64_t now = (int64_t)time(NULL), id;
	void *value;
	int idx;

	if (!cs || !c) {
		fprintf(out, "crowdsec: not configured\n");
		return;
	}
	fprintf(out, "crowdsec: %s, client %s\n", c->url,
		cs->fd >= 0 ? "running" : "not running (started again shortly)");
	idx = pull_table(d);
	if (idx >= 0) {
		fprintf(out, "pull: table <%s> every %" PRIu32 "s: %s; ", d->tables.table[idx].name,
			c->every, cs->connected ? "connected" : "not connected");
		print_time(out, "last pull", cs->last_ok, now);
		fprintf(out, ", %" PRIu64 " ms, %" PRIu64 " bytes\n", cs->last_millis,
			cs->last_bytes);
		fprintf(out, "  pulls: %" PRIu64 " ok (%" PRIu64 " of the whole state, ", cs->pulls_ok,
			cs->pulls_whole);
		print_time(out, "the last", cs->last_whole, now);
		fprintf(out, "), %" PRIu64 " failed\n", cs->pulls_failed);
		for (size_t pos = 0; idmap_next(&cs->decisions, &pos, &id, &value);) {
			const struct cs_decision_rec *r = value;

			by[r->origin][r->scope == CS_SCOPE_RANGE]++;
			by[r->origin][2]++;
		}
		fprintf(out, "  decisions held: %zu on %zu addresses and networks\n",
			cs->decisions.count, cs->held.count);
		for (unsigned int i = 0; i <= ORIGINS_MAX; i++) {
			if (!by[i][2])
				continue;
			fprintf(out, "    origin %s: %" PRIu64 " (Ip %" PRIu64 ", Range %" PRIu64 ")\n",
				i < cs->norigins ? cs->origins[i] : "other", by[i][2], by[i][0],
				by[i][1]);
		}
		fprintf(out,
			"  decisions: %" PRIu64 " added, %" PRIu64 " deleted, %" PRIu64
			" expired; ignored: %" PRIu64 " not ban, %" PRIu64
			" not Ip or Range; refused: %" PRIu64 " table full, %" PRIu64
			" bad value, %" PRIu64 " too wide\n",
			cs->added, cs->deleted, cs->expired, cs->ignored_type, cs->ignored_scope,
			cs->refused, cs->rejected, cs->too_wide);
	}
	if (c->machine) {
		fprintf(out, "push: machine %s, tables", c->machine);
		for (size_t i = 0; i < d->cfg.ntables; i++)
			if (c->push_tables & (1ULL << i))
				fprintf(out, " <%s>", d->cfg.tables[i].name);
		fprintf(out, ": %" PRIu64 " pushed in %" PRIu64 " batches, %zu queued (at most %zu)"
			", %zu in flight, %" PRIu64 " skipped, %" PRIu64 " dropped (queue full), %"
			PRIu64 " failed; ", cs->pushed_ok, cs->push_batches, cs->qlen, cs->qcap,
			cs->ninflight, cs->push_skipped, cs->push_dropped, cs->push_failed);
		print_time(out, "last push", cs->last_push, now);
		fprintf(out, "\n  held by CrowdSec from us: %zu\n", cs->pushed.count);
	}
	fprintf(out, "errors:");
	for (int k = 1; k < CS_ERR_KINDS; k++)
		fprintf(out, " %s %" PRIu64, kinds[k], cs->errors[k]);
	fprintf(out, "\n");
	if (cs->last_error_at) {
		print_time(out, "last error", cs->last_error_at, now);
		fprintf(out, ": %s\n", cs->last_error);
	}
}

void crowdsec_metrics(struct daemon *d, struct expo *e)
{
	static const char *const kinds[CS_ERR_KINDS] = {
	    [CS_ERR_CONNECT] = "connect", [CS_ERR_TIMEOUT] = "timeout", [CS_ERR_TLS] = "tls",
	    [CS_ERR_HTTP] = "http",	  [CS_ERR_AUTH] = "auth",	[CS_ERR_OVERSIZE] = "oversize",
	    [CS_ERR_MALFORMED] = "malformed", [CS_ERR_OTHER] = "other",
	};
	struct crowdsec *cs = cs_of(d);

	if (!cs || !cfg_of(d))
		return;
	expo_family(e, "greywall_crowdsec_pulls_total", EXPO_COUNTER,
		    "Pulls of the Local API's decision stream, by result.");
	expo_sample2(e, "result", "ok", NULL, NULL, cs->pulls_ok);
	expo_sample2(e, "result", "failed", NULL, NULL, cs->pulls_failed);
	expo_family(e, "greywall_crowdsec_decisions_held", EXPO_GAUGE,
		    "CrowdSec decisions greywall holds in the pull table.");
	expo_sample(e, NULL, 0, cs->decisions.count);
	expo_family(e, "greywall_crowdsec_decisions_total", EXPO_COUNTER,
		    "CrowdSec decisions, by what greywall did with them.");
	expo_sample2(e, "result", "added", NULL, NULL, cs->added);
	expo_sample2(e, "result", "deleted", NULL, NULL, cs->deleted);
	expo_sample2(e, "result", "expired", NULL, NULL, cs->expired);
	expo_sample2(e, "result", "ignored_type", NULL, NULL, cs->ignored_type);
	expo_sample2(e, "result", "ignored_scope", NULL, NULL, cs->ignored_scope);
	expo_sample2(e, "result", "refused", NULL, NULL, cs->refused);
	expo_sample2(e, "result", "rejected", NULL, NULL, cs->rejected);
	expo_sample2(e, "result", "too_wide", NULL, NULL, cs->too_wide);
	expo_family(e, "greywall_crowdsec_pushed_total", EXPO_COUNTER,
		    "Additions pushed to CrowdSec as alerts, by result.");
	expo_sample2(e, "result", "pushed", NULL, NULL, cs->pushed_ok);
	expo_sample2(e, "result", "skipped", NULL, NULL, cs->push_skipped);
	expo_sample2(e, "result", "dropped", NULL, NULL, cs->push_dropped);
	expo_sample2(e, "result", "failed", NULL, NULL, cs->push_failed);
	expo_family(e, "greywall_crowdsec_errors_total", EXPO_COUNTER,
		    "Errors talking to the Local API, by kind.");
	for (int k = 1; k < CS_ERR_KINDS; k++)
		expo_sample2(e, "kind", kinds[k], NULL, NULL, cs->errors[k]);
}
