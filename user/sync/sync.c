// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * spamd sync between gateways: sockets, sending, receiving, the replay
 * window and the counters. See sync.h; the bytes are wire.c's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "lib/atomicfile.h"
#include "lib/log.h"
#include "metrics/expo.h"
#include "spamd/spamd.h"
#include "sync/seen.h"
#include "sync/sync.h"

/* Datagrams one receive round takes from a socket, so that others get their turn. */
#define SYNC_READ_BATCH 64
/* A receive socket's buffer: about 8,000 datagrams of a GREY's usual size. */
#define SYNC_RCVBUF (8 << 20)
/* How often the addresses that are ours are read again. */
#define SYNC_OWN_REFRESH 60

/* A configured peer (sent to), or a sender heard (its replay window). */
struct sync_peer {
	struct addr_prefix addr;
	char name[256]; /* as configured, or the address */
	bool configured;
	struct sockaddr_storage sa;
	socklen_t salen;
	uint64_t sent, send_errors;
	int64_t last_heard; /* a datagram from it taken; 0: never */
	uint64_t received, taken;
	uint64_t rejected[SYNC_REJECT__COUNT];
	struct sync_window window;
};

struct sync {
	struct sync_key key;
	char key_path[PATH_MAX];
	int recv_fd[2];
	size_t nrecv;
	int send_fd4, send_fd6;
	struct addr_prefix listen; /* family 0: none */
	uint16_t port;
	bool has_mcast;
	struct sockaddr_in mcast;
	char mcast_ifname[IF_NAMESIZE];
	uint8_t mcast_ttl;
	uint64_t mcast_sent, mcast_errors;
	struct sync_peer peers[SYNC_MAX_SENDERS];
	size_t npeers;
	struct addr_prefix *own;
	size_t nown;
	int64_t own_refresh_at;
	char epoch_path[PATH_MAX];
	uint32_t epoch, counter;
	uint64_t sent, unsendable, received, taken;
	uint64_t records_applied, records_expired, records_ignored, records_failed;
	uint64_t records_refused; /* a GREY the greylist would not take (maxtuples, black) */
	uint64_t rejected[SYNC_REJECT__COUNT];
	struct sync_seen seen;	 /* SENDER datagrams taken lately, by HMAC */
	struct sync_message msg; /* the datagram being read: too large for the stack */
};

static const struct config_sync *sync_config(const struct config *cfg)
{
	return cfg->spamd ? cfg->spamd->sync : NULL;
}

static struct sync *sync_of(struct daemon *d)
{
	return d->sync;
}

const char *sync_reject_name(int reason)
{
	static const char *const names[] = {
	    [SYNC_REJECT_OWN - SYNC_DROP__COUNT] = "own",
	    [SYNC_REJECT_REPLAY - SYNC_DROP__COUNT] = "replay",
	    [SYNC_REJECT_STALE - SYNC_DROP__COUNT] = "stale",
	    [SYNC_REJECT_NO_SENDER - SYNC_DROP__COUNT] = "no_sender",
	    [SYNC_REJECT_SENDERS_FULL - SYNC_DROP__COUNT] = "senders_full",
	    [SYNC_REJECT_SEEN_FULL - SYNC_DROP__COUNT] = "seen_full",
	};

	if (reason >= 0 && reason < SYNC_DROP__COUNT)
		return sync_drop_name((enum sync_drop)reason);
	if (reason >= SYNC_DROP__COUNT && reason < SYNC_REJECT__COUNT)
		return names[reason - SYNC_DROP__COUNT];
	return "unknown";
}

static void format_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%" PRId64, t);
}

/*
 * This run's epoch: later than the last one stored, and than the clock's
 * second, so that (epoch, counter) only grows across restarts. Stored
 * before the first datagram goes out.
 */
static int epoch_next(struct sync *y, int64_t now)
{
	struct atomic_file af;
	unsigned long long last = 0;
	FILE *f = fopen(y->epoch_path, "re");
	int64_t epoch = now;
	int ret;

	if (f) {
		if (fscanf(f, "%llu", &last) != 1)
			last = 0;
		fclose(f);
	}
	if ((int64_t)last >= epoch)
		epoch = (int64_t)last + 1;
	if (epoch > UINT32_MAX)
		return -ERANGE;
	ret = atomic_file_open(&af, y->epoch_path, 0600);
	if (ret)
		return ret;
	fprintf(af.fp, "%" PRId64 "\n", epoch);
	ret = atomic_file_commit(&af);
	if (ret)
		return ret;
	y->epoch = (uint32_t)epoch;
	y->counter = 0;
	return 0;
}

/* Every address of every interface: datagrams from them are our own (spamd's check 1). */
static void own_refresh(struct sync *y, int64_t now)
{
	struct ifaddrs *ifa, *i;
	struct addr_prefix *own = NULL;
	size_t n = 0, cap = 0;

	y->own_refresh_at = now + SYNC_OWN_REFRESH;
	if (getifaddrs(&ifa))
		return;
	for (i = ifa; i; i = i->ifa_next) {
		struct addr_prefix a;

		if (!i->ifa_addr ||
		    (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
			continue;
		if (addr_from_sockaddr(i->ifa_addr, sizeof(struct sockaddr_storage), &a))
			continue;
		if (n == cap) {
			struct addr_prefix *grown;

			cap = cap ? cap * 2 : 16;
			grown = realloc(own, cap * sizeof(*own));
			if (!grown)
				break;
			own = grown;
		}
		own[n++] = a;
	}
	freeifaddrs(ifa);
	free(y->own);
	y->own = own;
	y->nown = n;
}

static bool is_own(const struct sync *y, const struct addr_prefix *a)
{
	for (size_t i = 0; i < y->nown; i++)
		if (addr_equal(&y->own[i], a))
			return true;
	return false;
}

/* The first IPv4 address of an interface, as spamd -y IFNAME takes it. */
static int interface_address(const char *ifname, struct addr_prefix *out)
{
	struct ifaddrs *ifa, *i;
	int ret = -EADDRNOTAVAIL;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    strcmp(i->ifa_name, ifname))
			continue;
		ret = addr_from_sockaddr(i->ifa_addr, sizeof(struct sockaddr_in), out);
		break;
	}
	freeifaddrs(ifa);
	return ret;
}

/* A UDP socket, non-blocking, bound to addr:port when addr is given. */
static int udp_socket(int family, const struct addr_prefix *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	int one = 1, fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (addr && bind(fd, (struct sockaddr *)&ss, addr_to_sockaddr(addr, port, &ss))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int add_recv(struct daemon *d, struct sync *y, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	int size = SYNC_RCVBUF;

	/*
	 * Room for a burst: the system's default holds about 200 datagrams,
	 * and a peer's tarpit flat out sends thousands a second while a
	 * store write holds the loop. Past net.core.rmem_max with
	 * CAP_NET_ADMIN (greywalld has it), else as much as it allows.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	y->recv_fd[y->nrecv++] = fd;
	if (d->epoll_fd >= 0 && epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	return 0;
}

/* The multicast group: joined for receiving, and the interface and TTL of the send socket. */
static int open_multicast(struct daemon *d, struct sync *y, const struct config_sync *cy, char *err,
			  size_t errlen)
{
	struct addr_prefix group = cy->mcast_group;
	unsigned int ifindex = if_nametoindex(cy->mcast_ifname);
	struct ip_mreqn mreq = {.imr_ifindex = (int)ifindex};
	int zero = 0, ttl = cy->mcast_ttl, fd, ret;

	if (!ifindex) {
		snprintf(err, errlen, "sync multicast: interface %s: %s", cy->mcast_ifname,
			 strerror(errno));
		return -ENODEV;
	}
	memcpy(&mreq.imr_multiaddr, group.bytes, 4);
	fd = udp_socket(AF_INET, &group, y->port);
	if (fd < 0) {
		snprintf(err, errlen, "sync multicast: binding the group: %s", strerror(-fd));
		return fd;
	}
	if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof(zero))) {
		ret = -errno;
		close(fd);
		snprintf(err, errlen, "sync multicast: joining on %s: %s", cy->mcast_ifname,
			 strerror(-ret));
		return ret;
	}
	ret = add_recv(d, y, fd);
	if (ret)
		return ret;
	mreq.imr_multiaddr.s_addr = 0;
	if (setsockopt(y->send_fd4, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq)) ||
	    setsockopt(y->send_fd4, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) ||
	    setsockopt(y->send_fd4, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof(zero))) {
		ret = -errno;
		snprintf(err, errlen, "sync multicast: sending on %s: %s", cy->mcast_ifname,
			 strerror(-ret));
		return ret;
	}
	y->has_mcast = true;
	addr_to_sockaddr(&group, y->port, (struct sockaddr_storage *)&y->mcast);
	snprintf(y->mcast_ifname, sizeof(y->mcast_ifname), "%s", cy->mcast_ifname);
	y->mcast_ttl = cy->mcast_ttl;
	return 0;
}

/* Each address of a peer becomes one destination. */
static int resolve_peer(struct sync *y, const char *host, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
	struct addrinfo *res, *r;
	char port[8];
	int ret;

	snprintf(port, sizeof(port), "%u", y->port);
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret) {
		snprintf(err, errlen, "sync peer %s: %s", host, gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	for (r = res; r; r = r->ai_next) {
		struct sync_peer *p;

		if (y->npeers == SYNC_MAX_SENDERS) {
			snprintf(err, errlen, "sync: more than %d peer addresses",
				 SYNC_MAX_SENDERS);
			freeaddrinfo(res);
			return -E2BIG;
		}
		p = &y->peers[y->npeers];
		memset(p, 0, sizeof(*p));
		if (addr_from_sockaddr(r->ai_addr, r->ai_addrlen, &p->addr))
			continue;
		p->configured = true;
		snprintf(p->name, sizeof(p->name), "%s", host);
		memcpy(&p->sa, r->ai_addr, r->ai_addrlen);
		p->salen = r->ai_addrlen;
		y->npeers++;
	}
	freeaddrinfo(res);
	return 0;
}

/* The send socket of a family, bound to the listen address when it is of that family. */
static int open_send(struct sync *y, int family, int *fd)
{
	if (*fd >= 0)
		return 0;
	*fd = udp_socket(family, y->listen.family == family ? &y->listen : NULL, 0);
	return *fd < 0 ? *fd : 0;
}

int sync_start(struct daemon *d, char *err, size_t errlen)
{
	const struct config_sync *cy = sync_config(&d->cfg);
	struct sync *y;
	int ret, fd;

	if (!cy)
		return 0;
	y = calloc(1, sizeof(*y));
	if (!y) {
		snprintf(err, errlen, "sync: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	d->sync = y;
	y->send_fd4 = y->send_fd6 = -1;
	/* Remembered while its sent time could still be within the window. */
	sync_seen_init(&y->seen, 2 * SYNC_WINDOW_SECONDS + 1);
	y->port = cy->port;
	snprintf(y->key_path, sizeof(y->key_path), "%s", cy->key_path);
	ret = sync_key_load(cy->key_path, &y->key);
	if (ret) {
		snprintf(err, errlen, "sync key %s: %s", cy->key_path, strerror(-ret));
		return ret;
	}
	if (!y->key.len)
		log_warn("sync key %s: no such file: the empty key, as spamd's", cy->key_path);
	snprintf(y->epoch_path, sizeof(y->epoch_path), "%s/sync.epoch", d->cfg.state_dir);
	ret = epoch_next(y, (int64_t)time(NULL));
	if (ret) {
		snprintf(err, errlen, "sync epoch %s: %s", y->epoch_path, strerror(-ret));
		return ret;
	}
	if (cy->listen_ifname[0]) {
		ret = interface_address(cy->listen_ifname, &y->listen);
		if (ret) {
			snprintf(err, errlen, "sync listen %s: no IPv4 address: %s",
				 cy->listen_ifname, strerror(-ret));
			return ret;
		}
	} else {
		y->listen = cy->listen_addr;
	}
	if (y->listen.family) {
		char text[ADDR_STRLEN];

		fd = udp_socket(y->listen.family, &y->listen, y->port);
		if (fd < 0 || (ret = add_recv(d, y, fd))) {
			ret = fd < 0 ? fd : ret;
			addr_format(&y->listen, text, sizeof(text));
			snprintf(err, errlen, "sync listen %s port %u: %s", text, y->port,
				 strerror(-ret));
			return ret;
		}
	}
	for (size_t i = 0; i < cy->npeers; i++) {
		ret = resolve_peer(y, cy->peers[i], err, errlen);
		if (ret)
			return ret;
	}
	for (size_t i = 0; i < y->npeers; i++) {
		ret = open_send(y, y->peers[i].addr.family,
				y->peers[i].addr.family == AF_INET ? &y->send_fd4 : &y->send_fd6);
		if (ret) {
			snprintf(err, errlen, "sync: a send socket: %s", strerror(-ret));
			return ret;
		}
	}
	if (cy->mcast_ifname[0]) {
		ret = open_send(y, AF_INET, &y->send_fd4);
		if (ret) {
			snprintf(err, errlen, "sync: a send socket: %s", strerror(-ret));
			return ret;
		}
		ret = open_multicast(d, y, cy, err, errlen);
		if (ret)
			return ret;
	}
	own_refresh(y, (int64_t)time(NULL));
	log_info("sync: %zu peer addresses%s, epoch %" PRIu32, y->npeers,
		 y->has_mcast ? " and a multicast group" : "", y->epoch);
	return 0;
}

bool sync_config_changed(const struct config *old, const struct config *next)
{
	const struct config_sync *a = sync_config(old), *b = sync_config(next);

	if (!a || !b)
		return a != b;
	if (!addr_equal(&a->listen_addr, &b->listen_addr) ||
	    strcmp(a->listen_ifname, b->listen_ifname) || a->port != b->port ||
	    a->npeers != b->npeers || strcmp(a->mcast_ifname, b->mcast_ifname) ||
	    !addr_equal(&a->mcast_group, &b->mcast_group) || a->mcast_ttl != b->mcast_ttl ||
	    strcmp(a->key_path, b->key_path))
		return true;
	for (size_t i = 0; i < a->npeers; i++)
		if (strcmp(a->peers[i], b->peers[i]))
			return true;
	return false;
}

void sync_close(struct daemon *d)
{
	struct sync *y = sync_of(d);

	if (!y)
		return;
	for (size_t i = 0; i < y->nrecv; i++)
		close(y->recv_fd[i]);
	if (y->send_fd4 >= 0)
		close(y->send_fd4);
	if (y->send_fd6 >= 0)
		close(y->send_fd6);
	free(y->own);
	sync_seen_free(&y->seen);
	free(y);
	d->sync = NULL;
}

bool sync_owns_fd(struct daemon *d, int fd)
{
	struct sync *y = sync_of(d);

	for (size_t i = 0; y && i < y->nrecv; i++)
		if (y->recv_fd[i] == fd)
			return true;
	return false;
}

void sync_periodic(struct daemon *d, int64_t now)
{
	struct sync *y = sync_of(d);

	if (y && now >= y->own_refresh_at)
		own_refresh(y, now);
}

/* One record, one datagram, to every peer and the group. */
static void send_record(struct sync *y, int64_t now, const struct sync_record *rec)
{
	uint8_t buf[SYNC_MAX_DATAGRAM];
	struct sync_sender sender;
	ssize_t len;

	if (y->counter == UINT32_MAX && epoch_next(y, now)) {
		/* Without a later epoch the peers would take the next ones as replays. */
		y->unsendable++;
		return;
	}
	sender.epoch = y->epoch;
	/* Not the record's time: a queued RCPT is stored (and sent) later than it came. */
	sender.sent = (uint32_t)time(NULL);
	len = sync_encode(&y->key, y->counter, rec, &sender, buf, sizeof(buf));
	if (len < 0) {
		y->unsendable++;
		log_debug("sync: a %s record not sent: %s", sync_record_type_name(rec->type),
			  strerror((int)-len));
		return;
	}
	y->counter++;
	y->sent++;
	for (size_t i = 0; i < y->npeers; i++) {
		struct sync_peer *p = &y->peers[i];
		int fd = p->addr.family == AF_INET ? y->send_fd4 : y->send_fd6;

		if (!p->configured)
			continue;
		if (sendto(fd, buf, (size_t)len, 0, (struct sockaddr *)&p->sa, p->salen) == len)
			p->sent++;
		else
			p->send_errors++;
	}
	if (y->has_mcast) {
		if (sendto(y->send_fd4, buf, (size_t)len, 0, (struct sockaddr *)&y->mcast,
			   sizeof(y->mcast)) == len)
			y->mcast_sent++;
		else
			y->mcast_errors++;
	}
}

void sync_send_grey(struct daemon *d, int64_t now, const struct addr_prefix *ip, const char *helo,
		    const char *from, const char *to)
{
	struct sync *y = sync_of(d);
	struct sync_record rec = {.type = SYNC_RECORD_GREY,
				  .addr = *ip,
				  .timestamp = (uint32_t)now,
				  .helo = helo,
				  .from = from,
				  .to = to};

	if (y)
		send_record(y, now, &rec);
}

static void send_addr(struct daemon *d, enum sync_record_type type, int64_t now,
		      const struct addr_prefix *ip, int64_t expire)
{
	struct sync *y = sync_of(d);
	struct sync_record rec = {.type = type,
				  .addr = *ip,
				  .timestamp = (uint32_t)now,
				  .expire = expire > UINT32_MAX ? UINT32_MAX : (uint32_t)expire};

	if (y)
		send_record(y, now, &rec);
}

void sync_send_trapped(struct daemon *d, int64_t now, const struct addr_prefix *ip, int64_t expire)
{
	send_addr(d, SYNC_RECORD_TRAPPED, now, ip, expire);
}

void sync_send_white(struct daemon *d, int64_t now, const struct addr_prefix *ip, int64_t expire)
{
	send_addr(d, SYNC_RECORD_WHITE, now, ip, expire);
}

static struct sync_peer *peer_find(struct sync *y, const struct addr_prefix *a)
{
	for (size_t i = 0; i < y->npeers; i++)
		if (addr_equal(&y->peers[i].addr, a))
			return &y->peers[i];
	return NULL;
}

/* A sender heard that no `peer` names: its window is kept while there is room. */
static struct sync_peer *peer_heard(struct sync *y, const struct addr_prefix *a)
{
	struct sync_peer *p;

	if (y->npeers == SYNC_MAX_SENDERS)
		return NULL;
	p = &y->peers[y->npeers++];
	memset(p, 0, sizeof(*p));
	p->addr = *a;
	addr_format(a, p->name, sizeof(p->name));
	return p;
}

/* Counted always; logged the first time a reason comes up, then at debug level only. */
static void reject(struct sync *y, struct sync_peer *p, const char *src, int reason)
{
	if (y->rejected[reason]++ == 0)
		log_warn("sync: a datagram from %s dropped: %s (further ones are counted:"
			 " greywallctl sync show)",
			 src, sync_reject_name(reason));
	else
		log_debug("sync: a datagram from %s dropped: %s", src, sync_reject_name(reason));
	if (p)
		p->rejected[reason]++;
}

/*
 * Addresses no mail comes from: a record for one is ignored, whatever the
 * peer meant (unspecified, loopback, multicast, broadcast).
 */
static bool no_source(const struct addr_prefix *a)
{
	static const uint8_t zero[16], loop6[16] = {[15] = 1};

	if (a->family == AF_INET)
		return !memcmp(a->bytes, zero, 4) || a->bytes[0] == 127 ||
		       (a->bytes[0] & 0xf0) == 0xe0 || !memcmp(a->bytes, "\xff\xff\xff\xff", 4);
	return !memcmp(a->bytes, zero, 16) || !memcmp(a->bytes, loop6, 16) || a->bytes[0] == 0xff;
}

/* Hand one record to the greylister, as spamd's receiver does. */
static void apply_record(struct daemon *d, struct sync *y, int64_t now, const char *src,
			 const struct sync_record *rec)
{
	char detail[256], when[32], until[32];
	int ret = 0;

	if (no_source(&rec->addr)) {
		y->records_ignored++;
		return;
	}
	format_time(rec->timestamp, when, sizeof(when));
	format_time(rec->expire, until, sizeof(until));
	switch (rec->type) {
	case SYNC_RECORD_GREY:
		ret = spamd_sync_grey(d, now, &rec->addr, rec->helo, rec->from, rec->to, src);
		break;
	case SYNC_RECORD_WHITE:
	case SYNC_RECORD_TRAPPED:
		/* spamd's twupdate: a record already expired changes nothing. */
		if ((int64_t)rec->expire < now) {
			y->records_expired++;
			return;
		}
		snprintf(detail, sizeof(detail), "sync from %s: %s there at %s, until %s", src,
			 rec->type == SYNC_RECORD_WHITE ? "whitelisted" : "trapped", when, until);
		if (rec->type == SYNC_RECORD_WHITE)
			ret = spamd_sync_white(d, now, &rec->addr, rec->expire, detail);
		else
			ret = spamd_sync_trapped(d, now, &rec->addr, rec->expire, detail);
		break;
	case SYNC_RECORD_DELETE_WHITE:
	case SYNC_RECORD_DELETE_TRAPPED:
		/* greyd's deletes are read, not applied: a peer cannot release a trapped source. */
		y->records_ignored++;
		return;
	}
	if (ret < 0) {
		y->records_failed++;
		log_err("sync from %s: a %s record not applied: %s", src,
			sync_record_type_name(rec->type), strerror(-ret));
		return;
	}
	if (ret > 0) {
		y->records_refused++;
		return;
	}
	y->records_applied++;
}

int sync_window_check(const struct sync_window *w, const struct sync_message *msg, int64_t now)
{
	if (!msg->has_sender)
		return w->has_window ? SYNC_REJECT_NO_SENDER : SYNC_OK;
	if ((int64_t)msg->sender.sent > now + SYNC_WINDOW_SECONDS ||
	    (int64_t)msg->sender.sent < now - SYNC_WINDOW_SECONDS)
		return SYNC_REJECT_STALE;
	if (w->has_window && (msg->sender.epoch < w->epoch ||
			      (msg->sender.epoch == w->epoch && msg->counter <= w->counter)))
		return SYNC_REJECT_REPLAY;
	return SYNC_OK;
}

void sync_window_take(struct sync_window *w, const struct sync_message *msg)
{
	if (!msg->has_sender)
		return;
	w->has_window = true;
	w->epoch = msg->sender.epoch;
	w->counter = msg->counter;
}

static void take_datagram(struct daemon *d, struct sync *y, const uint8_t *buf, size_t len,
			  const struct addr_prefix *from, int64_t now)
{
	struct sync_peer *p = peer_find(y, from);
	struct sync_message *msg = &y->msg;
	char src[ADDR_STRLEN];
	int reason;

	addr_format(from, src, sizeof(src));
	y->received++;
	if (p)
		p->received++;
	if (is_own(y, from))
		return reject(y, p, src, SYNC_REJECT_OWN);
	if (len > SYNC_MAX_DATAGRAM)
		return reject(y, p, src, SYNC_DROP_OVERSIZED);
	reason = sync_decode(&y->key, buf, len, msg);
	if (reason != SYNC_OK)
		return reject(y, p, src, reason);
	/* Only an authenticated sender gets a window: forged ones cannot fill the table. */
	if (!p) {
		p = peer_heard(y, from);
		if (!p)
			return reject(y, NULL, src, SYNC_REJECT_SENDERS_FULL);
		p->received++;
	}
	reason = sync_window_check(&p->window, msg, now);
	if (reason != SYNC_OK)
		return reject(y, p, src, reason);
	/*
	 * The window above is the source address's, and a source address can
	 * be forged: the same datagram replayed from an address not heard yet
	 * would pass it. Whoever it comes from, one taken lately is a replay.
	 */
	if (msg->has_sender) {
		const uint8_t *hmac = buf + SYNC_HMAC_OFFSET;

		if (sync_seen_has(&y->seen, hmac, now))
			return reject(y, p, src, SYNC_REJECT_REPLAY);
		if (sync_seen_add(&y->seen, hmac, now))
			return reject(y, p, src, SYNC_REJECT_SEEN_FULL);
	}
	sync_window_take(&p->window, msg);
	p->last_heard = now;
	p->taken++;
	y->taken++;
	for (size_t i = 0; i < msg->nrecords; i++)
		apply_record(d, y, now, src, &msg->records[i]);
}

void sync_read(struct daemon *d, int fd)
{
	struct sync *y = sync_of(d);
	uint8_t buf[SYNC_RECV_BUFFER];

	for (int i = 0; y && i < SYNC_READ_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof(ss);
		struct addr_prefix from;
		/* MSG_TRUNC: the datagram's real length, so a longer one is seen as such. */
		ssize_t n =
		    recvfrom(fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&ss, &sslen);

		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_debug("sync: receiving: %s", strerror(errno));
			return;
		}
		if (addr_from_sockaddr((struct sockaddr *)&ss, sslen, &from))
			continue;
		take_datagram(d, y, buf,
			      (size_t)n > sizeof(buf) ? SYNC_MAX_DATAGRAM + 1 : (size_t)n, &from,
			      (int64_t)time(NULL));
	}
}

static void print_rejected(FILE *out, const uint64_t *rejected)
{
	bool any = false;

	for (int r = SYNC_DROP_OVERSIZED; r < SYNC_REJECT__COUNT; r++) {
		if (!rejected[r])
			continue;
		fprintf(out, "%s%s %" PRIu64, any ? ", " : "", sync_reject_name(r), rejected[r]);
		any = true;
	}
	if (!any)
		fprintf(out, "none");
}

void sync_show(struct daemon *d, FILE *out)
{
	struct sync *y = sync_of(d);
	char text[ADDR_STRLEN], when[32];
	uint64_t total = 0;

	if (!y) {
		fprintf(out, "sync: not configured\n");
		return;
	}
	if (y->listen.family)
		addr_format(&y->listen, text, sizeof(text));
	fprintf(out, "sync: listen %s port %u, epoch %" PRIu32 ", counter %" PRIu32 ", key %s%s\n",
		y->listen.family ? text : "-", y->port, y->epoch, y->counter, y->key_path,
		y->key.len ? "" : " (no file: the empty key)");
	if (y->has_mcast) {
		struct addr_prefix g;

		addr_from_sockaddr((struct sockaddr *)&y->mcast, sizeof(y->mcast), &g);
		addr_format(&g, text, sizeof(text));
		fprintf(out, "multicast %s group %s ttl %u: sent %" PRIu64 ", errors %" PRIu64 "\n",
			y->mcast_ifname, text, y->mcast_ttl, y->mcast_sent, y->mcast_errors);
	}
	for (int r = 0; r < SYNC_REJECT__COUNT; r++)
		total += y->rejected[r];
	fprintf(out, "sent: %" PRIu64 " datagrams, %" PRIu64 " records not sendable\n", y->sent,
		y->unsendable);
	fprintf(out, "received: %" PRIu64 " datagrams, %" PRIu64 " taken, %" PRIu64 " rejected\n",
		y->received, y->taken, total);
	fprintf(out,
		"records: %" PRIu64 " applied, %" PRIu64 " expired, %" PRIu64 " ignored, %" PRIu64
		" failed, %" PRIu64 " refused\n",
		y->records_applied, y->records_expired, y->records_ignored, y->records_failed,
		y->records_refused);
	fprintf(out, "rejected: ");
	print_rejected(out, y->rejected);
	fprintf(out, "\n");
	for (size_t i = 0; i < y->npeers; i++) {
		const struct sync_peer *p = &y->peers[i];

		addr_format(&p->addr, text, sizeof(text));
		if (p->last_heard)
			format_time(p->last_heard, when, sizeof(when));
		fprintf(out, "%s %s", p->configured ? "peer" : "heard", text);
		if (strcmp(p->name, text))
			fprintf(out, " (%s)", p->name);
		fprintf(out,
			": sent %" PRIu64 ", send errors %" PRIu64 ", received %" PRIu64
			", taken %" PRIu64 ", last heard %s",
			p->sent, p->send_errors, p->received, p->taken,
			p->last_heard ? when : "never");
		if (p->window.has_window)
			fprintf(out, ", epoch %" PRIu32 " counter %" PRIu32, p->window.epoch,
				p->window.counter);
		fprintf(out, ", rejected ");
		print_rejected(out, p->rejected);
		fprintf(out, "\n");
	}
}

void sync_metrics(struct daemon *d, struct expo *e)
{
	struct sync *y = sync_of(d);

	if (!y)
		return;
	expo_family(e, "greywall_sync_sent_total", EXPO_COUNTER,
		    "Sync datagrams sent, to every peer and group.");
	expo_sample(e, NULL, 0, y->sent);
	expo_family(e, "greywall_sync_received_total", EXPO_COUNTER, "Sync datagrams received.");
	expo_sample(e, NULL, 0, y->received);
	expo_family(e, "greywall_sync_taken_total", EXPO_COUNTER,
		    "Sync datagrams received and taken (past the HMAC and the replay window).");
	expo_sample(e, NULL, 0, y->taken);
	expo_family(e, "greywall_sync_rejected_total", EXPO_COUNTER,
		    "Sync datagrams received and not taken, by reason.");
	for (int r = 0; r < SYNC_REJECT__COUNT; r++)
		expo_sample2(e, "reason", sync_reject_name(r), NULL, NULL, y->rejected[r]);
	expo_family(e, "greywall_sync_records_total", EXPO_COUNTER,
		    "Records of taken datagrams, by what became of them.");
	expo_sample2(e, "result", "applied", NULL, NULL, y->records_applied);
	expo_sample2(e, "result", "expired", NULL, NULL, y->records_expired);
	expo_sample2(e, "result", "ignored", NULL, NULL, y->records_ignored);
	expo_sample2(e, "result", "failed", NULL, NULL, y->records_failed);
	expo_sample2(e, "result", "refused", NULL, NULL, y->records_refused);
	expo_family(e, "greywall_sync_peer_sent_total", EXPO_COUNTER,
		    "Sync datagrams sent to the peer.");
	for (size_t i = 0; i < y->npeers; i++)
		expo_sample2(e, "peer", y->peers[i].name, NULL, NULL, y->peers[i].sent);
	expo_family(e, "greywall_sync_peer_received_total", EXPO_COUNTER,
		    "Sync datagrams received from the peer.");
	for (size_t i = 0; i < y->npeers; i++)
		expo_sample2(e, "peer", y->peers[i].name, NULL, NULL, y->peers[i].received);
	expo_family(e, "greywall_sync_peer_taken_total", EXPO_COUNTER,
		    "Sync datagrams received from the peer and taken.");
	for (size_t i = 0; i < y->npeers; i++)
		expo_sample2(e, "peer", y->peers[i].name, NULL, NULL, y->peers[i].taken);
}
