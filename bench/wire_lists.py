#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""The address lists of bench/wire.sh and bench/memory.sh.

Usage: wire_lists.py DIR HOSTS PREFIXES LISTED_HOST LISTED_NET

Writes DIR/hosts.txt (HOSTS IPv4 addresses, one a line) and DIR/nets.txt
(PREFIXES IPv4 networks in CIDR form), the same every run. The networks are
shaped like blocklists' (55% /24, the rest /16../23) and never overlap; no
host falls inside a network (nftables' interval sets refuse overlaps, and
every enforcer is given exactly the same entries). LISTED_HOST is one of the
hosts and LISTED_NET (a /24) one of the networks: the flood's sources, which
are documentation addresses. The other entries avoid 0/8, 127/8, 224/3 and
the documentation ranges; they are only loaded into tables, never sent to.
"""
import ipaddress
import sys

M = 0xFFFFFFFF


def mix(x):
    """A bijection on 32 bits: spreads 0, 1, 2, ... over the address space."""
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M
    x ^= x >> 15
    x = (x * 0x846CA68B) & M
    x ^= x >> 16
    return x


def plen_of(i):
    r = mix(i ^ 0xA5A5A5A5) % 1000
    if r < 550:
        return 24
    return 16 + r % 8  # /16../23


DOC = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]


def reserved(a):
    top = a >> 24
    return top in (0, 127) or top >= 224


def main():
    out, hosts_n, nets_n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    listed_host = int(ipaddress.ip_address(sys.argv[4]))
    listed_net = ipaddress.ip_network(sys.argv[5])
    # One byte per /24: 1 where a network covers it, 2 where a host is.
    used = bytearray(1 << 24)
    for d in DOC:
        used[int(d.network_address) >> 8] = 3
    nets = [str(listed_net)]
    i = 0
    while len(nets) < nets_n:
        i += 1
        plen = plen_of(i)
        base = mix(i) & (M << (32 - plen)) & M
        lo, hi = base >> 8, (base >> 8) + (1 << (24 - plen))
        if reserved(base) or reserved(base + (1 << (32 - plen)) - 1) or any(used[lo:hi]):
            continue
        used[lo:hi] = b"\x01" * (hi - lo)
        nets.append("%s/%d" % (ipaddress.ip_address(base), plen))
    hosts = [str(ipaddress.ip_address(listed_host))]
    i = 0
    while len(hosts) < hosts_n:
        i += 1
        a = mix(i ^ 0x5BD1E995)
        if reserved(a) or used[a >> 8] & 1 or used[a >> 8] == 3:
            continue
        used[a >> 8] = 2
        hosts.append(str(ipaddress.ip_address(a)))
    # Two hosts in one /24 are fine; the same host twice is not.
    if len(set(hosts)) != len(hosts):
        sys.exit("wire_lists.py: repeated host")
    with open(out + "/hosts.txt", "w") as f:
        f.write("\n".join(hosts) + "\n")
    with open(out + "/nets.txt", "w") as f:
        f.write("\n".join(nets) + "\n")


main()
