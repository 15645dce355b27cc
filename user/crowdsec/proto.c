// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The parent/child messages of the CrowdSec client: one check for both sides. */
#include <errno.h>
#include <string.h>

#include "crowdsec/proto.h"

static int terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

int cs_msg_check(const void *buf, size_t len)
{
	uint32_t type;

	if (len < sizeof(type))
		return -EPROTO;
	memcpy(&type, buf, sizeof(type));
	switch (type) {
	case CS_MSG_CONFIG: {
		const struct cs_msg_config *m = buf;

		if (len != sizeof(*m) || !terminated(m->url, sizeof(m->url)) ||
		    !terminated(m->ca_file, sizeof(m->ca_file)) ||
		    !terminated(m->bouncer_key, sizeof(m->bouncer_key)) ||
		    !terminated(m->machine, sizeof(m->machine)) ||
		    !terminated(m->password, sizeof(m->password)))
			return -EPROTO;
		break;
	}
	case CS_MSG_ALERT: {
		const struct cs_msg_alert *m = buf;

		if (len != sizeof(*m) || !terminated(m->scenario, sizeof(m->scenario)) ||
		    !terminated(m->value, sizeof(m->value)) ||
		    !terminated(m->table, sizeof(m->table)) ||
		    !terminated(m->evidence, sizeof(m->evidence)) ||
		    (m->scope != CS_SCOPE_IP && m->scope != CS_SCOPE_RANGE))
			return -EPROTO;
		break;
	}
	case CS_MSG_ALERTS_END:
	case CS_MSG_PUSH_DONE:
	case CS_MSG_PULL_NOW:
		if (len != sizeof(struct cs_msg_seq))
			return -EPROTO;
		break;
	case CS_MSG_PULL_BEGIN:
		if (len != sizeof(struct cs_msg_pull_begin))
			return -EPROTO;
		break;
	case CS_MSG_DECISION: {
		const struct cs_msg_decision *m = buf;

		if (len != sizeof(*m) || !terminated(m->value, sizeof(m->value)) ||
		    !terminated(m->origin, sizeof(m->origin)) ||
		    !terminated(m->scenario, sizeof(m->scenario)) || m->deleted > 1 ||
		    (m->scope != CS_SCOPE_IP && m->scope != CS_SCOPE_RANGE) || m->id <= 0)
			return -EPROTO;
		break;
	}
	case CS_MSG_PULL_END:
		if (len != sizeof(struct cs_msg_pull_end))
			return -EPROTO;
		break;
	case CS_MSG_FAIL: {
		const struct cs_msg_fail *m = buf;

		if (len != sizeof(*m) || !terminated(m->text, sizeof(m->text)) ||
		    m->kind == 0 || m->kind >= CS_ERR_KINDS || m->what < CS_WHAT_PULL ||
		    m->what > CS_WHAT_PUSH)
			return -EPROTO;
		break;
	}
	case CS_MSG_LOG: {
		const struct cs_msg_log *m = buf;

		if (len != sizeof(*m) || !terminated(m->text, sizeof(m->text)))
			return -EPROTO;
		break;
	}
	default:
		return -EPROTO;
	}
	return (int)type;
}
