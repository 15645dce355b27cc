/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* sd_notify(3) in a few lines: READY=1, RELOADING=1, STOPPING=1, STATUS=. */
#ifndef __GREYWALL_NOTIFY_H
#define __GREYWALL_NOTIFY_H

/* Send state to $NOTIFY_SOCKET; 0 when not under systemd. Returns -errno. */
int notify_systemd(const char *state);

#endif /* __GREYWALL_NOTIFY_H */
