#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""A log for bench/watch.sh: LINES lines of one daemon, every tenth a failed
login, in the forms of the lines Debian 12's daemons really wrote
(tests/unit/data/watch/dovecot.raw and sshd.raw):

  dovecot  Dovecot's log_path file ("Dec 07 12:00:00 imap-login: Info: ..."):
           failures are "-login: ... (auth failed, N attempts in S secs)";
           the rest logins, logouts and "no auth attempts" disconnections.
  sshd     a syslog file ("Dec  7 12:00:00 gw sshd[PID]: ..."): failures are
           "Invalid user" and "Failed password" (invalid user or root); the
           rest "Disconnected from user" and "Could not get shadow
           information" lines.

Only forms that greywall's pattern and fail2ban's filter of the same name
(Debian's 1.0.2, /etc/fail2ban/filter.d) judge alike are used, so both must
count exactly the failures written here; no line is one fail2ban ignores
(NOFAIL) either. Sources are drawn from SOURCES documentation addresses
(198.51.100.0/24, 203.0.113.0/24, then 2001:db8::/32); login names never
trap names. Time stamps run up to now (fail2ban-server skips lines older
than its findtime). The same seed gives the same file.

Usage: watch_loggen.py dovecot|sshd LINES FILE [SOURCES]
Prints "lines=N failures=M sources=S" on stdout.
"""
import base64
import random
import sys
import time

USERS = ['admin', 'test', 'oracle', 'postgres', 'info', 'support', 'user', 'guest', 'ubuntu',
         'mail', 'webmaster', 'sales', 'office', 'backup', 'ftpuser', 'git', 'jenkins', 'pi']
LOCALS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']


def sources(n):
    out = ['198.51.100.%d' % i for i in range(1, 255)] + ['203.0.113.%d' % i for i in range(1, 255)]
    i = 0
    while len(out) < n:
        out.append('2001:db8:%x:%x::%x' % (i >> 16, (i >> 8) & 0xff, (i & 0xff) + 1))
        i += 1
    return out[:n]


def dovecot_line(rnd, src, ts, fail):
    ip = rnd.choice(src)
    lip = '2001:db8::1' if ':' in ip else '192.0.2.1'
    svc = rnd.choice(('pop3', 'imap'))
    sess = base64.b64encode(rnd.getrandbits(96).to_bytes(12, 'little')).decode()
    head = '%s %s-login: Info: ' % (ts, svc)
    if fail:
        if rnd.random() < 0.8:
            why = 'Aborted login by logging out (auth failed, 1 attempts in %d secs)' % rnd.randint(2, 17)
        else:
            why = 'Connection closed (auth failed, 2 attempts in %d secs)' % rnd.randint(4, 12)
        return head + 'Disconnected: %s: user=<%s>, method=PLAIN, rip=%s, lip=%s, session=<%s>' % (
            why, rnd.choice(USERS), ip, lip, sess)
    r = rnd.random()
    user = rnd.choice(LOCALS)
    mpid = rnd.randint(1000, 60000)
    if r < 0.45:
        return head + 'Login: user=<%s>, method=PLAIN, rip=%s, lip=%s, mpid=%d, session=<%s>' % (
            user, ip, lip, mpid, sess)
    if r < 0.9:
        if svc == 'pop3':
            what = 'top=0/0, retr=%d/%d, del=0/0, size=%d' % (1, rnd.randint(500, 90000), rnd.randint(500, 90000))
        else:
            what = ('in=%d out=%d deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=0 '
                    'body_bytes=0' % (rnd.randint(8, 400), rnd.randint(400, 9000)))
        return '%s %s(%s)<%d><%s>: Info: Disconnected: Logged out %s' % (ts, svc, user, mpid, sess, what)
    return head + ('Disconnected: Aborted login by logging out (no auth attempts in 0 secs): '
                   'user=<>, rip=%s, lip=%s, session=<%s>' % (ip, lip, sess))


def sshd_line(rnd, src, ts, fail, pid):
    ip = rnd.choice(src)
    port = rnd.randint(32768, 60999)
    head = '%s gw sshd[%d]: ' % (ts, pid)
    if fail:
        r = rnd.random()
        if r < 0.4:
            return head + 'Invalid user %s from %s port %d' % (rnd.choice(USERS), ip, port)
        if r < 0.8:
            return head + 'Failed password for invalid user %s from %s port %d ssh2' % (rnd.choice(USERS), ip, port)
        return head + 'Failed password for root from %s port %d ssh2' % (ip, port)
    if rnd.random() < 0.5:
        return head + 'Disconnected from user %s %s port %d' % (rnd.choice(LOCALS), ip, port)
    return head + 'Could not get shadow information for NOUSER'


def main():
    if len(sys.argv) not in (4, 5) or sys.argv[1] not in ('dovecot', 'sshd'):
        sys.exit('usage: watch_loggen.py dovecot|sshd LINES FILE [SOURCES]')
    kind, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    src = sources(int(sys.argv[4]) if len(sys.argv) == 5 else 20000)
    rnd = random.Random(14)
    # The stamps cover the last n / 2000 seconds (8 minutes for 1,000,000 lines).
    start = int(time.time()) - n // 2000 - 1
    fmt = '%b %d %H:%M:%S' if kind == 'dovecot' else '%b %e %H:%M:%S'
    fails = 0
    with open(path, 'w') as f:
        out = []
        for i in range(n):
            if i % 2000 == 0:
                ts = time.strftime(fmt, time.localtime(start + i // 2000))
            fail = i % 10 == 9
            fails += fail
            if kind == 'dovecot':
                out.append(dovecot_line(rnd, src, ts, fail))
            else:
                out.append(sshd_line(rnd, src, ts, fail, 1000 + i % 30000))
            if len(out) == 10000:
                f.write('\n'.join(out) + '\n')
                out = []
        if out:
            f.write('\n'.join(out) + '\n')
    print('lines=%d failures=%d sources=%d' % (n, fails, len(src)))


if __name__ == '__main__':
    main()
