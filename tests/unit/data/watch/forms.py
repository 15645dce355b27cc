#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Builds dovecot.log and sshd.log (and their .expect) from the daemons'
own logs that capture.sh wrote (dovecot.raw, sshd.raw), in the three forms
a watcher reads: the daemon's own file, syslog files (the traditional time
stamp and Debian 12 rsyslog's ISO one), and the journal's MESSAGE field.
The expectation comes from a reading of each line independent of the
patterns: a failure's source is the address after the LAST "rip=" (Dovecot)
or before the last " port N" (sshd), the name what the daemon wrote
between its own words. Run: forms.py (in this directory)."""
import re

def dovecot_expect(msg):
    if '-login: ' not in msg or '(auth failed, ' not in msg:
        return '-'
    rip = msg.rindex(', rip=')
    addr = msg[rip + 6:].split(',')[0]
    head = msg[:rip]
    user = head[head.index('user=<') + 6:head.rindex('>, method=')]
    return '%s\t%s' % (addr, user)

SSHD = [(r'^Invalid user (.*) from (\S+) port \d+$', 1, 2),
        (r'^Failed password for (?:invalid user )?(.*) from (\S+) port \d+ ssh2$', 1, 2),
        (r'^Connection closed by invalid user (.*) (\S+) port \d+ \[preauth\]$', 1, 2)]

def sshd_expect(msg):
    for rx, u, a in SSHD:
        m = re.match(rx, msg)
        if m:
            return '%s\t%s' % (m.group(a), m.group(u))
    return '-'

def write(name, lines, expect):
    with open(name + '.log', 'w') as f:
        f.writelines(l + '\n' for l in lines)
    with open(name + '.expect', 'w') as f:
        f.writelines(e + '\n' for e in expect)

# Dovecot: "Dec 07 07:09:16 pop3-login: Info: MSG"; through syslog the
# level goes to the syslog priority and the ident is "dovecot".
own, msgs = [], []
for line in open('dovecot.raw'):
    line = line.rstrip('\n')
    stamp, rest = line[:15], line[16:]
    own.append(line)
    msgs.append((stamp, re.sub(r'^([^ ]+: )(?:Info|Warning|Error|Fatal): ', r'\1', rest)))
lines = list(own)
expect = [dovecot_expect(m) for _, m in msgs]
lines += ['%s %2d %s gw dovecot: %s' % (s[:3], int(s[4:6]), s[7:], m) for s, m in msgs]
lines += ['2023-12-07T%s.%06d+00:00 gw dovecot[812]: %s' % (s[7:], i, m)
          for i, (s, m) in enumerate(msgs)]
lines += [m for _, m in msgs]
write('dovecot', lines, expect * 4)

# sshd -E writes the bare message, which is also the journal's MESSAGE.
msgs = [l.rstrip('\n') for l in open('sshd.raw')]
expect = [sshd_expect(m) for m in msgs]
lines = list(msgs)
lines += ['Dec  7 07:30:%02d gw sshd[%d]: %s' % (i % 60, 900 + i, m) for i, m in enumerate(msgs)]
lines += ['2023-12-07T07:30:%02d.%06d+00:00 gw sshd[%d]: %s' % (i % 60, i, 900 + i, m)
          for i, m in enumerate(msgs)]
write('sshd', lines, expect * 3)
