// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <string.h>

#include "lib/checksum.h"
#include "packet.h"

static const uint8_t pkt_dmac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t pkt_smac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* Pseudo-header sum for the upper layer checksums. */
static uint32_t pseudo_sum(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
			   uint32_t l4len)
{
	uint32_t sum = 0;
	int alen = family == 4 ? 4 : 16;

	sum = checksum_add(src, alen, sum);
	sum = checksum_add(dst, alen, sum);
	sum += proto;
	sum += l4len >> 16;
	sum += l4len & 0xffff;
	return sum;
}

static size_t l4_header_len(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 20;
	case IPPROTO_UDP:
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 8;
	}
	return 0;
}

static void build_l4(const struct pkt_spec *s, uint8_t *l4, size_t l4len, const uint8_t *src,
		     const uint8_t *dst)
{
	uint16_t sum;
	size_t i, hl = l4_header_len(s->proto);

	for (i = hl; i < l4len; i++)
		l4[i] = (uint8_t)(0xa0 + i);
	switch (s->proto) {
	case IPPROTO_TCP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put32(l4 + 4, s->seq);
		put32(l4 + 8, s->ack);
		l4[12] = (uint8_t)((s->tcp_doff ? s->tcp_doff : 5) << 4);
		l4[13] = s->tcp_flags;
		put16(l4 + 14, 65535);
		put16(l4 + 16, 0);
		put16(l4 + 18, 0);
		sum = checksum(l4, l4len, pseudo_sum(s->family, src, dst, IPPROTO_TCP, l4len));
		put16(l4 + 16, sum);
		break;
	case IPPROTO_UDP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, (uint16_t)l4len);
		put16(l4 + 6, 0);
		sum = checksum(l4, l4len, pseudo_sum(s->family, src, dst, IPPROTO_UDP, l4len));
		put16(l4 + 6, sum ? sum : 0xffff);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		l4[0] = s->icmp_type;
		l4[1] = s->icmp_code;
		put16(l4 + 2, 0);
		put32(l4 + 4, 0x12340001);
		if (s->proto == IPPROTO_ICMP)
			sum = checksum(l4, l4len, 0);
		else
			sum = checksum(l4, l4len,
				       pseudo_sum(6, src, dst, IPPROTO_ICMPV6, l4len));
		put16(l4 + 2, sum);
		break;
	}
}

size_t pkt_build(const struct pkt_spec *s, uint8_t *buf, struct pkt_layout *layout)
{
	uint8_t src[16] = { 0 }, dst[16] = { 0 };
	size_t off = 0, l3, l4, l4len, total;
	int i;

	memset(buf, 0, PKT_MAX);
	memcpy(buf, pkt_dmac, 6);
	memcpy(buf + 6, pkt_smac, 6);
	off = 12;
	for (i = 0; i < s->nvlan && i < 2; i++) {
		put16(buf + off, s->vlan_tpid[i] ? s->vlan_tpid[i] : ETH_P_8021Q);
		put16(buf + off + 2, s->vlan_id[i]);
		off += 4;
	}
	if (s->family == 4)
		put16(buf + off, ETH_P_IP);
	else if (s->family == 6)
		put16(buf + off, ETH_P_IPV6);
	else
		put16(buf + off, s->ethertype);
	off += 2;
	l3 = off;
	if (layout) {
		layout->l3_off = l3;
		layout->l4_off = 0;
	}
	if (s->family != 4 && s->family != 6) {
		for (i = 0; i < s->payload && off < PKT_MAX; i++)
			buf[off++] = (uint8_t)i;
		if (layout)
			layout->len = off;
		return off;
	}

	l4len = l4_header_len(s->proto) + s->payload;
	if (s->family == 4) {
		size_t hl = 20 + s->ip_opts_len;

		if (s->ip_opts_len % 4 || s->ip_opts_len > 40)
			return 0;
		if (inet_pton(AF_INET, s->src ? s->src : "198.51.100.7", src) != 1 ||
		    inet_pton(AF_INET, s->dst ? s->dst : "203.0.113.1", dst) != 1)
			return 0;
		total = hl + l4len;
		if (l3 + total > PKT_MAX)
			return 0;
		buf[l3] = 0x40 | (uint8_t)(hl / 4);
		put16(buf + l3 + 2, (uint16_t)total);
		put16(buf + l3 + 4, 0x4242);
		put16(buf + l3 + 6, s->ip_frag);
		buf[l3 + 8] = s->ttl ? s->ttl : 64;
		buf[l3 + 9] = s->proto;
		memcpy(buf + l3 + 12, src, 4);
		memcpy(buf + l3 + 16, dst, 4);
		memset(buf + l3 + 20, 1 /* NOP */, s->ip_opts_len);
		put16(buf + l3 + 10, checksum(buf + l3, hl, 0));
		l4 = l3 + hl;
	} else {
		size_t e = l3 + 40;
		uint8_t *nh = buf + l3 + 6;

		if (inet_pton(AF_INET6, s->src ? s->src : "2001:db8:1::7", src) != 1 ||
		    inet_pton(AF_INET6, s->dst ? s->dst : "2001:db8:2::1", dst) != 1)
			return 0;
		buf[l3] = 0x60;
		buf[l3 + 7] = s->ttl ? s->ttl : 64;
		memcpy(buf + l3 + 8, src, 16);
		memcpy(buf + l3 + 24, dst, 16);
		for (i = 0; i < s->next && i < PKT_EXT_MAX; i++) {
			size_t len;

			*nh = s->ext[i];
			nh = buf + e;
			if (s->ext[i] == IPPROTO_FRAGMENT) {
				len = 8;
				put16(buf + e + 2, s->ext_frag[i]);
				put32(buf + e + 4, 0xfeed0001);
			} else if (s->ext[i] == IPPROTO_AH) {
				len = ((size_t)s->ext_len[i] + 2) * 4;
				buf[e + 1] = s->ext_len[i];
			} else {
				len = ((size_t)s->ext_len[i] + 1) * 8;
				buf[e + 1] = s->ext_len[i];
				/* PadN over the option space. */
				if (len > 2) {
					buf[e + 2] = 1;
					buf[e + 3] = (uint8_t)(len - 4);
				}
			}
			e += len;
			if (e > PKT_MAX)
				return 0;
		}
		*nh = s->proto;
		l4 = e;
		total = (l4 - l3) + l4len;
		if (l3 + total > PKT_MAX)
			return 0;
		put16(buf + l3 + 4, (uint16_t)(total - 40));
	}
	build_l4(s, buf + l4, l4len, src, dst);
	if (s->ip_len) {
		if (s->ip_len > total || s->ip_len < (s->family == 4 ? 20 : 40))
			return 0;
		if (total - s->ip_len > s->trailer)
			memset(buf + l3 + s->ip_len + s->trailer, 0,
			       total - s->ip_len - s->trailer);
		total = s->ip_len;
		if (s->family == 4) {
			put16(buf + l3 + 2, (uint16_t)total);
			put16(buf + l3 + 10, 0);
			put16(buf + l3 + 10, checksum(buf + l3, (size_t)(buf[l3] & 0xf) * 4, 0));
		} else {
			put16(buf + l3 + 4, (uint16_t)(total - 40));
		}
	}
	if (l3 + total + s->trailer > PKT_MAX)
		return 0;
	if (layout) {
		layout->l4_off = l4;
		layout->len = l3 + total + s->trailer;
	}
	return l3 + total + s->trailer;
}

int pkt_checksums_ok(const uint8_t *buf, size_t len, size_t l3_off)
{
	const uint8_t *ip = buf + l3_off;
	size_t l4, l4len;
	uint8_t proto;
	int family;

	if (len < l3_off + 20)
		return 0;
	family = ip[0] >> 4;
	if (family == 4) {
		size_t hl = (size_t)(ip[0] & 0xf) * 4;
		size_t total = (size_t)(ip[2] << 8 | ip[3]);

		if (checksum(ip, hl, 0) != 0 || l3_off + total > len)
			return 0;
		proto = ip[9];
		l4 = l3_off + hl;
		l4len = total - hl;
		if (proto == IPPROTO_ICMP)
			return checksum(buf + l4, l4len, 0) == 0;
		return checksum(buf + l4, l4len,
				pseudo_sum(4, ip + 12, ip + 16, proto, (uint32_t)l4len)) == 0;
	}
	if (family == 6) {
		if (len < l3_off + 40)
			return 0;
		/* Only packets without extension headers (what the data path sends). */
		proto = ip[6];
		l4 = l3_off + 40;
		l4len = (size_t)(ip[4] << 8 | ip[5]);
		if (l4 + l4len > len)
			return 0;
		return checksum(buf + l4, l4len,
				pseudo_sum(6, ip + 8, ip + 24, proto, (uint32_t)l4len)) == 0;
	}
	return 0;
}
