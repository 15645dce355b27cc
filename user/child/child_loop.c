// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The shared part of the confined listener children's event loops: see
 * child_loop.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "child/child_loop.h"
#include "lib/log.h"

/* Log lines to the parent, behind the messages before them; a long one is cut. */
static int log_to_parent(void *ctx, int priority, const char *text)
{
	struct child_loop *l = ctx;
	struct privsep_msg m = { .type = PRIVSEP_LOG, .log = { priority, text } };
	char cut[PRIVSEP_LOG_MAX + 1];

	if (strlen(text) > PRIVSEP_LOG_MAX) {
		memcpy(cut, text, PRIVSEP_LOG_MAX);
		cut[PRIVSEP_LOG_MAX] = '\0';
		m.log.text = cut;
	}
	return privsep_send(&l->writer, &m);
}

static uint64_t system_monotonic_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int child_loop_init(struct child_loop *l, const struct child_server_config *cfg,
		    size_t listen_max, const struct child_clock *clock)
{
	if (!cfg->listen_fds || cfg->nlisten < 1 || cfg->nlisten > listen_max || cfg->parent_fd < 0)
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	l->epfd = l->sigfd = -1;
	l->parent_fd = cfg->parent_fd;
	l->clock.monotonic_ms =
		clock && clock->monotonic_ms ? clock->monotonic_ms : system_monotonic_ms;
	l->clock.ctx = clock ? clock->ctx : NULL;
	l->listen = (struct listeners){ -1, cfg->listen_fds, cfg->nlisten, CHILD_TAG_LISTEN, 0 };
	l->reader.fd = -1;
	l->log_to_parent = cfg->log_to_parent;
	privsep_writer_init(&l->writer, cfg->parent_fd);
	if (cfg->log_to_parent)
		log_set_sink(log_to_parent, l);
	return 0;
}

uint64_t child_loop_now_ms(const struct child_loop *l)
{
	return l->clock.monotonic_ms(l->clock.ctx);
}

static int epoll_add(struct child_loop *l, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	return flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) ? -errno : 0;
}

int child_loop_setup(struct child_loop *l)
{
	sigset_t term;
	int ret;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &term, &l->old_mask))
		return -errno;
	l->mask_saved = true;
	l->sigfd = signalfd(-1, &term, SFD_NONBLOCK | SFD_CLOEXEC);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->sigfd < 0 || l->epfd < 0)
		return -errno;
	l->listen.epfd = l->epfd;
	ret = set_nonblocking(l->parent_fd);
	if (!ret)
		ret = epoll_add(l, l->sigfd, EPOLLIN, CHILD_TAG_SIGNAL);
	if (!ret)
		ret = epoll_add(l, l->parent_fd, EPOLLIN | EPOLLOUT | EPOLLET, CHILD_TAG_PARENT);
	for (size_t i = 0; !ret && i < l->listen.n; i++) {
		ret = set_nonblocking(l->listen.fds[i]);
		if (!ret)
			ret = epoll_add(l, l->listen.fds[i], EPOLLIN, CHILD_TAG_LISTEN + i);
	}
	if (!ret)
		ret = privsep_reader_init(&l->reader, l->parent_fd);
	return ret;
}

bool child_loop_signalled(struct child_loop *l)
{
	struct signalfd_siginfo info;

	return read(l->sigfd, &info, sizeof(info)) == (ssize_t)sizeof(info);
}

void child_loop_teardown(struct child_loop *l)
{
	if (l->log_to_parent) {
		privsep_flush(&l->writer);
		log_set_sink(NULL, NULL);
	}
	privsep_reader_free(&l->reader);
	privsep_writer_free(&l->writer);
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->sigfd >= 0)
		close(l->sigfd);
	if (l->mask_saved)
		sigprocmask(SIG_SETMASK, &l->old_mask, NULL);
}
