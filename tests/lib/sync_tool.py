#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Datagrams for tests/integration/test_sync.sh, made and sent as a peer or
an attacker would, independently of greywall's wire.c:

  sync_tool.py capture IFACE PORT FILE
      write the payload of the first UDP datagram to PORT seen on IFACE
      (IPv4 or IPv6, through an AF_PACKET socket), then exit
  sync_tool.py send SRC DST PORT FILE [BYTES]
      send FILE's bytes (its first BYTES only, when given) from SRC
  sync_tool.py trapped|white SRC DST PORT KEYFILE ADDR EXPIRE [EPOCH SENT]
      send spamd's TRAPPED (or WHITE) record for IPv4 ADDR until EXPIRE, signed as
      spamd signs (HMAC-SHA1 keyed with the hex SHA-1 of KEYFILE, the
      empty key when it does not exist), with greywall's SENDER trailer
      when EPOCH and SENT are given
"""
import hashlib
import hmac
import ipaddress
import os
import socket
import struct
import sys
import time


def key_of(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha1(f.read()).hexdigest().encode()
    except FileNotFoundError:
        return b""


def send(src, dst, port, data):
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.sendto(data, (dst, port))


def addr_record(rtype, keyfile, addr, expire, counter=7, sender=None):
    body = struct.pack("!HHII4s", rtype, 16, int(time.time()), expire,
                       ipaddress.IPv4Address(addr).packed)
    body += struct.pack("!HH", 0, 4)
    if sender:
        body += struct.pack("!HHII", 0x4720, 12, sender[0], sender[1])
    length = 32 + len(body)
    head = struct.pack("!BBHI20s4s", 2, 2, length, counter, b"\0" * 20, b"\0" * 4)
    mac = hmac.new(key_of(keyfile), head + body, hashlib.sha1).digest()
    return head[:8] + mac + head[28:] + body


def capture(ifname, port, path):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0003))
    s.bind((ifname, 0))
    s.settimeout(30)
    while True:
        pkt, _ = s.recvfrom(65535)
        version = pkt[0] >> 4
        if version == 4:
            ihl = (pkt[0] & 15) * 4
            if pkt[9] != 17:
                continue
            udp = pkt[ihl:]
        elif version == 6:
            if pkt[6] != 17:
                continue
            udp = pkt[40:]
        else:
            continue
        if struct.unpack("!H", udp[2:4])[0] != port:
            continue
        with open(path + ".tmp", "wb") as f:
            f.write(udp[8:])
        os.rename(path + ".tmp", path)
        return


def main(argv):
    cmd = argv[1]
    if cmd == "capture":
        capture(argv[2], int(argv[3]), argv[4])
    elif cmd == "send":
        with open(argv[5], "rb") as f:
            data = f.read()
        if len(argv) > 6:
            data = data[: int(argv[6])]
        send(argv[2], argv[3], int(argv[4]), data)
    elif cmd in ("trapped", "white"):
        sender = (int(argv[8]), int(argv[9])) if len(argv) > 9 else None
        rtype = 3 if cmd == "trapped" else 2
        send(argv[2], argv[3], int(argv[4]),
             addr_record(rtype, argv[5], argv[6], int(argv[7]), sender=sender))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
