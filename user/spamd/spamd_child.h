/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The parent's management of the tarpit child: the listening sockets the
 * data path steers SMTP into, the fork and privilege drop, the socketpair
 * protocol (privsep.h) and restarts when the child dies.
 */
#ifndef __GREYWALL_SPAMD_CHILD_H
#define __GREYWALL_SPAMD_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct config;
struct daemon;

/* The unprivileged user the tarpit runs as (deploy/greywall.sysusers). */
#define SPAMD_CHILD_USER "greywall"
/* The empty directory under state-dir the child is chrooted to (made 0555). */
#define SPAMD_CHILD_ROOT "empty"
/* A child that died is started again after this many seconds. */
#define SPAMD_CHILD_RESTART_DELAY 1
/* Black clients: message bytes read after DATA before the final reply. */
#define SPAMD_MAX_DATA (10 * 1024 * 1024)

/*
 * Create the listeners of cfg->spamd (once; they outlive child restarts)
 * and start the child; nothing with `tarpit no`. The child's socket is registered with d->epoll_fd
 * when that is set. Returns 0 or -errno with a message in err.
 */
int spamd_child_start(struct daemon *d, char *err, size_t errlen);
/*
 * Point the data path's SMTP steering at the listeners, with <spamd-white>
 * and <nospamd> passed to the real MTA; without a spamd block (d->spamd
 * NULL) or with `tarpit no`, turn steering off. Table numbers change on reload: call again.
 */
int spamd_child_steer(struct daemon *d, char *err, size_t errlen);
/* Stop the child (SIGTERM, then reap) and close the listeners. */
void spamd_child_stop(struct daemon *d);

/*
 * Take fd (nonblocking from now on) as the socket of the child pid, and
 * class_fd as the one for CLASSIFY and CLASS alone (-1: fd carries them
 * too): what spamd_child_start() does after the fork, and what tests use
 * with socketpairs of their own. Returns 0 or -errno.
 */
int spamd_child_attach(struct daemon *d, int fd, int class_fd, pid_t pid);

/*
 * One of the child's sockets is readable: answer every CLASSIFY waiting on
 * the class channel first (and again between every 16 bulk messages),
 * apply the RCPTs that may trap, and queue the others for
 * spamd_child_work() (dropping them, counted, while the queue is full).
 * Takes at most about a thousand bulk messages; then spamd_child_pending()
 * says there is more.
 */
void spamd_child_read(struct daemon *d);
/* Whether RCPTs wait to be stored or messages to be read: call spamd_child_work() soon. */
bool spamd_child_pending(struct daemon *d);
/* One batch of queued RCPTs into the store, in one transaction; then read on if we paused. */
void spamd_child_work(struct daemon *d);
/* Every queued RCPT into the store (before a scan, at exit). */
void spamd_child_drain(struct daemon *d);
/* A child process ended (from SIGCHLD): restart it after a delay. */
void spamd_child_reaped(struct daemon *d, pid_t pid, int status);
/* Once a second: due restarts, queued output. */
void spamd_child_periodic(struct daemon *d, int64_t now);

/*
 * Send the tarpit's settings from d->cfg.spamd (after the fork, after a
 * reload): new connections get them at once.
 */
int spamd_child_send_config(struct daemon *d);
/*
 * Whether next listens elsewhere than the running listeners, or turns the
 * tarpit on or off: a reload cannot move them (they outlive the child, and
 * the data path steers to them), so it is refused and needs a restart.
 */
bool spamd_child_listen_changed(const struct daemon *d, const struct config *next);
/*
 * In a forked child (the tarpit's, the policy service's): signals back to
 * their defaults, every descriptor closed but stdio and the nkeep in keep
 * (which exec keeps), then /proc/self/exe executed with argv. Logs and
 * exits with status when exec fails.
 */
void __attribute__((noreturn)) spamd_child_exec(const char *what, const int *keep, size_t nkeep,
						char **argv, int status);

/* Send the current trap rules (after a reload or a spamdb/traps change). */
int spamd_child_send_traps(struct daemon *d);

#endif /* __GREYWALL_SPAMD_CHILD_H */
