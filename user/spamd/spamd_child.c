// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The tarpit child, seen from the parent: listeners, fork, privilege drop,
 * the socketpair protocol, restarts.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "daemon/daemon.h"
#include "lib/log.h"
#include "spamd/privsep.h"
#include "spamd/spamd.h"
#include "spamd/spamd_child.h"
#include "datapath/steer.h"
#include "store/store.h"
#include "spamd/tarpit.h"
#include "spamd/tarpit_child.h"
#include "spamd/trap.h"

/*
 * Messages one spamd_child_read() takes at most from the child's bulk
 * channel (RCPTs, log lines): the other descriptors get their turn.
 */
#define READ_BUDGET 1024
/*
 * Bulk messages between two looks at the class channel: a CLASSIFY waits
 * at most this many RCPTs or log lines (a few tens of microseconds).
 */
#define CLASS_EVERY 16
/*
 * Queued RCPTs one transaction stores at most: the longest a CLASSIFY or
 * a greywallctl command waits behind the store is one such batch.
 */
#define RCPT_BATCH 64

struct child_io {
	struct privsep_reader reader;
	struct privsep_writer writer;
	/* CLASSIFY in, CLASS out: class_fd's, or reader's and writer's without one. */
	struct privsep_reader class_reader;
	struct privsep_writer class_writer, *class_out;
	uint64_t traps_generation;
	bool paused;		/* stopped reading with messages maybe left: read again */
};

static int listen_on(const struct config_listen *l)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_to_sockaddr(&l->addr, l->port, &ss);

	return tarpit_listen((struct sockaddr *)&ss, len, false);
}

static int open_listeners(struct daemon *d, char *err, size_t errlen)
{
	const struct config_spamd *cs = d->cfg.spamd;
	struct spamd *s = d->spamd;

	for (size_t i = 0; i < cs->nlisten && s->nlisteners < sizeof(s->listeners) / sizeof(int);
	     i++) {
		char addr[ADDR_STRLEN];
		int fd = listen_on(&cs->listen[i]);

		if (fd < 0) {
			addr_format(&cs->listen[i].addr, addr, sizeof(addr));
			snprintf(err, errlen, "spamd: listen %s port %u: %s", addr,
				 cs->listen[i].port, strerror(-fd));
			return fd;
		}
		s->listeners[s->nlisteners++] = fd;
	}
	return 0;
}

/* Close every descriptor the child has no business holding (store, maps, control). */
static void close_other_fds(const int *keep, size_t nkeep)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;
	int dfd = dir ? dirfd(dir) : -1;

	if (!dir)
		return;
	while ((de = readdir(dir))) {
		int fd = atoi(de->d_name);
		bool kept = fd <= 2 || fd == dfd || !strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, "..");

		for (size_t i = 0; !kept && i < nkeep; i++)
			kept = keep[i] == fd;
		if (!kept)
			close(fd);
	}
	closedir(dir);
}

void spamd_child_exec(const char *what, const int *keep, size_t nkeep, char **argv, int status)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	close_other_fds(keep, nkeep);
	for (size_t i = 0; i < nkeep; i++)
		fcntl(keep[i], F_SETFD, 0);
	/* The running image, even when an upgrade replaced the file since. */
	execv("/proc/self/exe", argv);
	log_err("%s: executing /proc/self/exe: %s", what, strerror(errno));
	_exit(status);
}

/*
 * In the forked child: keep the listeners and our end of the socketpair
 * across exec, close everything else, and run the tarpit as a new image
 * (tarpit_child.h). Only what was made before the fork is used here.
 */
static void __attribute__((noreturn)) exec_child(struct spamd *s, int sock, int class_sock,
						       char **argv)
{
	int keep[TARPIT_LISTEN_MAX + 2];

	memcpy(keep, s->listeners, s->nlisteners * sizeof(int));
	keep[s->nlisteners] = sock;
	keep[s->nlisteners + 1] = class_sock;
	spamd_child_exec("tarpit", keep, s->nlisteners + 2, argv, TARPIT_CHILD_EXIT_SETUP);
}

static void child_io_free(struct spamd *s)
{
	struct child_io *io = s->child_reader;

	if (!io)
		return;
	privsep_reader_free(&io->reader);
	privsep_writer_free(&io->writer);
	privsep_reader_free(&io->class_reader);
	privsep_writer_free(&io->class_writer);
	free(io);
	s->child_reader = NULL;
	/* Its connections went with it. */
	s->tarpit_held = s->tarpit_black = 0;
}

static int fork_child(struct daemon *d, char *err, size_t errlen)
{
	struct spamd *s = d->spamd;
	char empty_dir[PATH_MAX], fds[TARPIT_LISTEN_MAX + 2][16];
	char *argv[TARPIT_LISTEN_MAX + 6];
	size_t argc = 0;
	int sv[2], cv[2], ret;
	pid_t pid;

	if (s->nlisteners > TARPIT_LISTEN_MAX) {
		snprintf(err, errlen, "spamd: more than %d listen addresses", TARPIT_LISTEN_MAX);
		return -E2BIG;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		snprintf(err, errlen, "spamd: socketpair: %s", strerror(errno));
		return -errno;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cv)) {
		ret = -errno;
		snprintf(err, errlen, "spamd: socketpair: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	/* The child's command line, made before the fork. */
	snprintf(empty_dir, sizeof(empty_dir), "%s/" SPAMD_CHILD_ROOT, d->cfg.state_dir);
	argv[argc++] = "greywalld";
	argv[argc++] = TARPIT_CHILD_OPTION;
	argv[argc++] = empty_dir;
	snprintf(fds[0], sizeof(fds[0]), "%d", sv[1]);
	argv[argc++] = fds[0];
	snprintf(fds[1], sizeof(fds[1]), "%d", cv[1]);
	argv[argc++] = fds[1];
	for (size_t i = 0; i < s->nlisteners; i++) {
		snprintf(fds[i + 2], sizeof(fds[i + 2]), "%d", s->listeners[i]);
		argv[argc++] = fds[i + 2];
	}
	argv[argc] = NULL;
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		snprintf(err, errlen, "spamd: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		close(cv[0]);
		close(cv[1]);
		return ret;
	}
	if (pid == 0) {
		close(sv[0]);
		close(cv[0]);
		fcntl(sv[1], F_SETFL, O_NONBLOCK);
		fcntl(cv[1], F_SETFL, O_NONBLOCK);
		exec_child(s, sv[1], cv[1], argv);
	}
	close(sv[1]);
	close(cv[1]);
	ret = spamd_child_attach(d, sv[0], cv[0], pid);
	if (ret) {
		close(sv[0]);
		close(cv[0]);
		kill(pid, SIGTERM);
		snprintf(err, errlen, "spamd: %s", strerror(-ret));
		return ret;
	}
	log_info("tarpit started (pid %d, %zu listeners)", (int)pid, s->nlisteners);
	ret = spamd_child_send_config(d);
	return ret ? ret : spamd_child_send_traps(d);
}

int spamd_child_attach(struct daemon *d, int fd, int class_fd, pid_t pid)
{
	struct spamd *s = d->spamd;
	struct child_io *io = calloc(1, sizeof(*io));
	int ret = io ? privsep_reader_init(&io->reader, fd) : -ENOMEM;

	if (!ret && class_fd >= 0)
		ret = privsep_reader_init(&io->class_reader, class_fd);
	if (ret) {
		if (io)
			privsep_reader_free(&io->reader);
		free(io);
		return ret;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	privsep_writer_init(&io->writer, fd);
	io->class_out = &io->writer;
	if (class_fd >= 0) {
		fcntl(class_fd, F_SETFL, O_NONBLOCK);
		privsep_writer_init(&io->class_writer, class_fd);
		/* The CLASSes of one read go out together (read_classifies()). */
		privsep_cork(&io->class_writer);
		io->class_out = &io->class_writer;
	}
	s->child_reader = io;
	s->child_fd = fd;
	s->class_fd = class_fd;
	s->child_pid = pid;
	s->child_restart_at = 0;
	if (d->epoll_fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

		epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
		ev.data.fd = class_fd;
		if (class_fd >= 0)
			epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, class_fd, &ev);
	}
	return 0;
}

/* The uid whose outbound SMTP whitelists, or -1 when mta-user names nobody here. */
static int64_t mta_uid(const struct config_spamd *cs)
{
	struct passwd *pw = cs->mta_user ? getpwnam(cs->mta_user) : NULL;

	if (pw)
		return pw->pw_uid;
	log_warn("mta-user \"%s\": no such user: outbound SMTP whitelists nothing",
		 cs->mta_user ? cs->mta_user : "");
	return -1;
}

int spamd_child_steer(struct daemon *d, char *err, size_t errlen)
{
	struct spamd *s = d->spamd;
	int fd4 = -1, fd6 = -1, white, nospamd, trap, ret;
	uint64_t pass = 0, tarpit = 0;

	/* `tarpit no`: the MTA keeps port 25; the policy service greylists. */
	if (!s || !d->cfg.spamd->tarpit) {
		ret = steer_set_mta_uid(&d->dp, -1) ?: steer_set_port(&d->dp, 0, 0, 0);
		if (ret)
			snprintf(err, errlen, "spamd: steering off: %s", strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < s->nlisteners; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		if (getsockname(s->listeners[i], (struct sockaddr *)&ss, &len))
			continue;
		if (ss.ss_family == AF_INET && fd4 < 0)
			fd4 = s->listeners[i];
		else if (ss.ss_family == AF_INET6 && fd6 < 0)
			fd6 = s->listeners[i];
	}
	white = tables_find(&d->tables, CONFIG_TABLE_SPAMD_WHITE);
	nospamd = tables_find(&d->tables, CONFIG_TABLE_NOSPAMD);
	if (white >= 0)
		pass |= 1ULL << white;
	if (nospamd >= 0)
		pass |= 1ULL << nospamd;
	trap = tables_find(&d->tables, CONFIG_TABLE_SPAMD_GREYTRAP);
	if (trap >= 0)
		tarpit |= 1ULL << trap;
	ret = steer_set_tarpit(&d->dp, fd4, fd6);
	if (!ret)
		ret = steer_set_mta_uid(&d->dp, mta_uid(d->cfg.spamd));
	if (!ret)
		ret = steer_set_port(&d->dp, d->cfg.spamd->smtp_port, pass, tarpit);
	if (ret)
		snprintf(err, errlen, "spamd: steering SMTP to the tarpit: %s", strerror(-ret));
	return ret;
}

int spamd_child_start(struct daemon *d, char *err, size_t errlen)
{
	struct spamd *s = d->spamd;
	int ret;

	if (!s)
		return 0;
	/* `tarpit no`: steering off, in case a run before left it on in the pinned maps. */
	if (!d->cfg.spamd->tarpit)
		return spamd_child_steer(d, err, errlen);
	if (!s->nlisteners) {
		ret = open_listeners(d, err, errlen);
		if (!ret)
			ret = spamd_child_steer(d, err, errlen);
		if (ret)
			return ret;
	}
	/*
	 * Until the first lists are in, connections wait in the listeners'
	 * backlog: a listed source must not be greylisted for want of its
	 * list. spamd_lists.c calls again once they are.
	 */
	if (!s->lists)
		return 0;
	return fork_child(d, err, errlen);
}

/* Forget the child's socket (it died or is being stopped). */
static void drop_child_io(struct daemon *d)
{
	struct spamd *s = d->spamd;

	if (s->child_fd < 0)
		return;
	if (d->epoll_fd >= 0)
		epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, s->child_fd, NULL);
	close(s->child_fd);
	s->child_fd = -1;
	if (s->class_fd >= 0) {
		if (d->epoll_fd >= 0)
			epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, s->class_fd, NULL);
		close(s->class_fd);
		s->class_fd = -1;
	}
	child_io_free(s);
}

void spamd_child_stop(struct daemon *d)
{
	struct spamd *s = d->spamd;

	if (!s)
		return;
	drop_child_io(d);
	if (s->child_pid > 0) {
		kill(s->child_pid, SIGTERM);
		waitpid(s->child_pid, NULL, 0);
		s->child_pid = 0;
	}
	for (size_t i = 0; i < s->nlisteners; i++)
		close(s->listeners[i]);
	s->nlisteners = 0;
}

static void schedule_restart(struct daemon *d)
{
	struct spamd *s = d->spamd;

	drop_child_io(d);
	if (!s->child_restart_at)
		s->child_restart_at = (int64_t)time(NULL) + SPAMD_CHILD_RESTART_DELAY;
}

/* A child that takes no more of what we send is stuck: it is restarted. */
static void child_not_reading(struct daemon *d, int err)
{
	log_err("tarpit: the child does not read (%s): restarting it", strerror(-err));
	if (d->spamd->child_pid > 0)
		kill(d->spamd->child_pid, SIGTERM);
	schedule_restart(d);
}

static int send_to_child(struct daemon *d, const struct privsep_msg *msg)
{
	struct child_io *io = d->spamd->child_reader;
	int ret;

	if (!io)
		return -EPIPE;
	ret = privsep_send(msg->type == PRIVSEP_CLASS ? io->class_out : &io->writer, msg);
	if (ret && ret != -EMSGSIZE && ret != -EINVAL)
		child_not_reading(d, ret);
	return ret;
}

/* The CLASSes queued on the class channel, in one system call when it takes them all. */
static int flush_class(struct daemon *d)
{
	struct child_io *io = d->spamd->child_reader;
	int ret = io ? privsep_flush(&io->class_writer) : 0;

	/* -EAGAIN: the rest goes with the next CLASS, or at the next tick. */
	if (ret && ret != -EAGAIN) {
		child_not_reading(d, ret);
		return ret;
	}
	return 0;
}

static int send_trap_set(struct daemon *d, enum privsep_type type, const struct trap_set *set)
{
	int ret = 0;

	for (size_t i = 0; !ret && set && i < trap_set_count(set); i++) {
		struct privsep_msg m = { .type = type, .entry = trap_set_entry(set, i) };

		ret = send_to_child(d, &m);
	}
	return ret;
}

int spamd_child_send_config(struct daemon *d)
{
	const struct config_spamd *cs = d->cfg.spamd;
	struct privsep_msg m = { .type = PRIVSEP_CONFIG };
	char hostname[256];

	if (!d->spamd || !d->spamd->child_reader)
		return 0;
	if (cs->hostname)
		snprintf(hostname, sizeof(hostname), "%s", cs->hostname);
	else if (gethostname(hostname, sizeof(hostname)))
		snprintf(hostname, sizeof(hostname), "localhost");
	m.config = (struct tarpit_config){
		.hostname = hostname,
		.banner = cs->banner,
		.black_code = cs->black_code,
		.stutter = cs->stutter,
		.greystutter = cs->greystutter,
		.maxcon = cs->maxcon,
		.maxblack = cs->maxblack,
		.idle_timeout = cs->idle_timeout,
		.max_data = SPAMD_MAX_DATA,
		.maxrcpt = cs->maxrcpt,
	};
	return send_to_child(d, &m);
}

bool spamd_child_listen_changed(const struct daemon *d, const struct config *next)
{
	const struct config_spamd *old = d->cfg.spamd, *new = next->spamd;

	/* The tarpit's listeners and child come and go with a restart only. */
	if (d->spamd && old && new && old->tarpit != new->tarpit)
		return true;
	if (!d->spamd || !d->spamd->nlisteners || !old || !new)
		return false;
	if (old->nlisten != new->nlisten)
		return true;
	for (size_t i = 0; i < old->nlisten; i++)
		if (old->listen[i].port != new->listen[i].port ||
		    !addr_equal(&old->listen[i].addr, &new->listen[i].addr))
			return true;
	return false;
}

int spamd_child_send_traps(struct daemon *d)
{
	struct spamd *s = d->spamd;
	struct child_io *io = s ? s->child_reader : NULL;
	struct privsep_msg m = { .type = PRIVSEP_TRAPS };
	int ret;

	if (!io)
		return 0;
	m.generation = ++io->traps_generation;
	ret = send_to_child(d, &m);
	if (!ret)
		ret = send_trap_set(d, PRIVSEP_SPAMTRAP, s->spamtraps);
	if (!ret)
		ret = send_trap_set(d, PRIVSEP_DOMAIN, s->domains);
	if (!ret)
		ret = send_trap_set(d, PRIVSEP_VALID, s->valid);
	if (!ret) {
		m = (struct privsep_msg){ .type = PRIVSEP_TRAPS_END };
		ret = send_to_child(d, &m);
	}
	return ret;
}

static void answer_classify(struct daemon *d, const struct privsep_classify *c)
{
	struct privsep_msg m = { .type = PRIVSEP_CLASS };
	char msg[SPAMD_MESSAGE_MAX], names[512];
	bool black = false;

	spamd_classify(d, &c->client, &black, msg, sizeof(msg), names, sizeof(names));
	m.class.conn_id = c->conn_id;
	m.class.black = black;
	m.class.code = d->cfg.spamd->black_code;
	m.class.message = msg;
	m.class.lists = names;
	if (send_to_child(d, &m) == -EMSGSIZE) {
		/* Lists' messages too long for one line: the tarpit's default text. */
		m.class.message = "";
		send_to_child(d, &m);
	}
}

/* End the batch's transaction, if one is open. Returns the commit's error. */
static int rcpt_batch_end(struct daemon *d, bool *open)
{
	int ret;

	if (!*open)
		return 0;
	*open = false;
	ret = store_commit(d->store);
	if (ret)
		log_err("greylist: committing tuples: %s: %s (%s)", store_path(d->store),
			strerror(-ret), store_errmsg(d->store));
	return ret;
}

/*
 * One RCPT into the batch's transaction: a commit is most of a greylist
 * decision's cost (grey.h). A tuple that fails leaves the others in the
 * transaction unless SQLite gave the whole transaction up: then -errno.
 */
static int rcpt_batched(struct daemon *d, const struct rcpt_record *r, bool *open)
{
	int ret;

	/* A trap writes the tables, which run transactions of their own. */
	if (spamd_rcpt_may_trap(d, &r->local, r->from, r->to)) {
		ret = rcpt_batch_end(d, open);
		if (ret)
			return ret;
	} else if (!*open) {
		ret = store_begin(d->store);
		if (ret)
			return ret;
		*open = true;
	}
	ret = spamd_rcpt(d, r->when, &r->client, &r->local, r->helo, r->from, r->to);
	if (ret >= 0)
		return 0;
	log_err("greylist: %s", strerror(-ret));
	if (*open && sqlite3_get_autocommit(store_sqlite(d->store))) {
		*open = false;
		return ret;
	}
	return 0;
}

/*
 * Store up to max queued RCPTs, oldest first, in one transaction. They
 * leave the queue only once their transaction is committed: when the
 * store fails (a full disk) they stay, and the next try is a second later.
 * Returns how many left the queue.
 */
static size_t store_batch(struct daemon *d, size_t max)
{
	struct spamd *s = d->spamd;
	struct rcpt_queue *q = &s->rcpts;
	int64_t now = (int64_t)time(NULL);
	const struct rcpt_record *r;
	bool open = false;
	size_t n = 0;
	int err = 0;

	if (!q->count || (s->store_err && now < s->store_retry_at))
		return 0;
	while (!err && n < max && (r = rcpt_queue_at(q, n))) {
		/* A trap (the lists changed since it was queued) goes on its own, after the batch. */
		if (spamd_rcpt_may_trap(d, &r->local, r->from, r->to) && (open || n))
			break;
		err = rcpt_batched(d, r, &open);
		if (!err)
			n++;
	}
	if (!err)
		err = rcpt_batch_end(d, &open);
	else if (open)
		store_rollback(d->store);
	spamd_store_result(d, err, now);
	if (err) {
		log_err("greylist: %zu RCPTs kept to be stored again", q->count);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		rcpt_queue_pop(q);
	return n;
}

/*
 * A RCPT from the child. One that may trap is applied at once: a trap
 * must not wait behind a flood, and it writes the tables, outside any
 * batch. The rest wait in the queue for the next batch. When the queue is
 * full the RCPT is dropped and counted (a flood outruns the store; the
 * CLASSIFYs behind it must not wait for the store), which at worst makes
 * its sender's next attempt count as a first one. Should a copy fail for
 * want of memory, the RCPT is stored at once rather than lost.
 */
static void rcpt_received(struct daemon *d, const struct privsep_rcpt *m)
{
	struct rcpt_record r = { (int64_t)time(NULL), m->client, m->local, m->helo, m->from,
				 m->to };
	bool open = false;
	int ret = -EAGAIN;

	if (!spamd_rcpt_may_trap(d, &m->local, m->from, m->to))
		ret = rcpt_queue_push(&d->spamd->rcpts, r.when, &r.client, &r.local, r.helo,
				      r.from, r.to);
	if (!ret)
		return;
	if (ret == -ENOSPC) {
		if (!d->spamd->rcpts_dropped++)
			log_warn("greylist: the queue of RCPTs to store is full (%d): dropping"
				 " new ones until it drains", RCPT_QUEUE_MAX);
		return;
	}
	ret = rcpt_batched(d, &r, &open);
	if (!ret)
		ret = rcpt_batch_end(d, &open);
	if (ret)
		spamd_store_result(d, ret, r.when);
}

/* The child's channel failed (-EPIPE: it went away): restart it. */
static void child_failed(struct daemon *d, int err)
{
	struct spamd *s = d->spamd;

	if (err != -EPIPE)
		log_err("tarpit: protocol error from the child (%s): restarting it", strerror(-err));
	if (s->child_pid > 0)
		kill(s->child_pid, SIGTERM);
	schedule_restart(d);
}

/*
 * Every CLASSIFY waiting on the class channel: each is a connection
 * waiting for its banner, so they are answered before any bulk message.
 * 0, or -errno when the channel failed (the child is being restarted).
 */
static int read_classifies(struct daemon *d)
{
	struct child_io *io = d->spamd->child_reader;
	struct privsep_msg msg;
	int ret;

	if (!io || io->class_out == &io->writer)
		return 0;
	while ((ret = privsep_receive(&io->class_reader, &msg)) == 1) {
		if (msg.type != PRIVSEP_CLASSIFY) {
			ret = -EPROTO;
			break;
		}
		answer_classify(d, &msg.classify);
		/* A CLASS the child would not take restarted it. */
		io = d->spamd->child_reader;
		if (!io)
			return -EPIPE;
	}
	if (ret < 0) {
		child_failed(d, ret);
		return ret;
	}
	return flush_class(d);
}

void spamd_child_read(struct daemon *d)
{
	struct spamd *s = d->spamd;
	struct child_io *io = s ? s->child_reader : NULL;
	struct privsep_msg msg;
	int budget = READ_BUDGET, ret = 1; /* 1: maybe more to read */

	if (!io || read_classifies(d))
		return;
	io->paused = false;
	while (budget-- > 0) {
		if (budget % CLASS_EVERY == 0 && read_classifies(d))
			return;
		ret = privsep_receive(&io->reader, &msg);
		if (ret != 1)
			break;
		switch (msg.type) {
		case PRIVSEP_CLASSIFY:
			answer_classify(d, &msg.classify);
			break;
		case PRIVSEP_RCPT:
			rcpt_received(d, &msg.rcpt);
			break;
		case PRIVSEP_LOG:
			log_tarpit_line(msg.log.priority, msg.log.text);
			break;
		case PRIVSEP_CONNS:
			s->tarpit_held = msg.conns.held;
			s->tarpit_black = msg.conns.black;
			if (s->tarpit_peak < s->tarpit_held)
				s->tarpit_peak = s->tarpit_held;
			break;
		default:
			log_err("tarpit: unexpected message %d from the child", (int)msg.type);
			break;
		}
		io = s->child_reader;
		if (!io)
			return;
	}
	/* Stopped with messages maybe left in the reader's buffer, where epoll cannot see them. */
	if (ret == 1)
		io->paused = true;
	if (ret < 0)
		child_failed(d, ret);
}

bool spamd_child_pending(struct daemon *d)
{
	struct spamd *s = d->spamd;
	struct child_io *io = s ? s->child_reader : NULL;

	/* While the store fails, the queue waits for the next tick. */
	return s && ((s->rcpts.count && !s->store_err) || (io && io->paused));
}

void spamd_child_work(struct daemon *d)
{
	struct spamd *s = d->spamd;
	struct child_io *io;

	if (!s)
		return;
	/* Connections waiting for their banner first: a batch takes a while. */
	if (read_classifies(d))
		return;
	store_batch(d, RCPT_BATCH);
	io = s->child_reader;
	if (io && io->paused)
		spamd_child_read(d);
}

void spamd_child_drain(struct daemon *d)
{
	/* Until the queue is empty or the store refuses what is left. */
	while (d->spamd && store_batch(d, RCPT_BATCH))
		;
}

void spamd_child_reaped(struct daemon *d, pid_t pid, int status)
{
	struct spamd *s = d->spamd;

	if (!s || pid != s->child_pid)
		return;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		log_err("tarpit (pid %d) killed by SIGSYS: a seccomp violation (a system call its "
			"filter forbids): restarting it", (int)pid);
	else if (WIFSIGNALED(status))
		log_err("tarpit (pid %d) killed by signal %d: restarting it", (int)pid,
			WTERMSIG(status));
	else
		log_err("tarpit (pid %d) exited with status %d: restarting it", (int)pid,
			WEXITSTATUS(status));
	s->child_pid = 0;
	schedule_restart(d);
}

void spamd_child_periodic(struct daemon *d, int64_t now)
{
	struct spamd *s = d->spamd;
	struct child_io *io = s ? s->child_reader : NULL;

	if (io) {
		privsep_flush(&io->writer);
		privsep_flush(&io->class_writer);
	}
	if (s && s->child_restart_at && now >= s->child_restart_at && s->child_pid <= 0) {
		char err[256];

		if (fork_child(d, err, sizeof(err))) {
			log_err("%s", err);
			s->child_restart_at = now + SPAMD_CHILD_RESTART_DELAY;
		}
	}
}
