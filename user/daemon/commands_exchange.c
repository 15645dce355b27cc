// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The table exchange in greywalld: its schedule in the loop and `table NAME exchange`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/commands_exchange.h"
#include "daemon/daemon.h"
#include "daemon/verbs.h"
#include "exchange/exchange.h"
#include "lib/log.h"

int exchange_daemon_reload(struct daemon *d, char *err, size_t errlen)
{
	int ret;

	if (!d->exchange) {
		d->exchange = malloc(sizeof(*d->exchange));
		if (!d->exchange) {
			snprintf(err, errlen, "exchange: %s", strerror(ENOMEM));
			return -ENOMEM;
		}
		ret = exchange_init(d->exchange);
		if (ret) {
			free(d->exchange);
			d->exchange = NULL;
			snprintf(err, errlen, "exchange: %s", strerror(-ret));
			return ret;
		}
	}
	ret = exchange_configure(d->exchange, &d->cfg, (int64_t)time(NULL));
	if (ret)
		snprintf(err, errlen, "exchange: %s", strerror(-ret));
	return ret;
}

void exchange_daemon_periodic(struct daemon *d, int64_t now)
{
	int ret;

	if (!d->exchange || !d->exchange->npeers)
		return;
	ret = exchange_kick(d->exchange, NULL, now);
	if (ret < 0)
		log_err("exchange: starting the reader: %s", strerror(-ret));
}

void exchange_daemon_event(struct daemon *d)
{
	exchange_collect(d->exchange, &d->tables, (int64_t)time(NULL));
}

void exchange_daemon_close(struct daemon *d)
{
	if (!d->exchange)
		return;
	exchange_free(d->exchange);
	free(d->exchange);
	d->exchange = NULL;
}

int commands_table_exchange(struct daemon *d, struct control_request *req, int table,
			    char **args, int nargs)
{
	const char *name = d->tables.table[table].name;
	struct exchange *x = d->exchange;
	bool any = false;
	int ret;

	(void)args;
	if (nargs) {
		verb_print_usage(req->err, VERB_TABLE_EXCHANGE);
		return CTL_EXIT_USAGE;
	}
	for (size_t i = 0; x && i < x->npeers; i++)
		any |= !strcmp(x->peers[i].table, name);
	if (!any) {
		fprintf(req->err, "greywallctl: table <%s> has no exchange peers\n", name);
		return CTL_EXIT_FAIL;
	}
	/* A read on its way is merged first; then this table's peers, now. */
	exchange_wait(x, &d->tables, (int64_t)time(NULL));
	ret = exchange_kick(x, name, (int64_t)time(NULL));
	if (ret < 0) {
		fprintf(req->err, "greywallctl: exchange: %s\n", strerror(-ret));
		return CTL_EXIT_FAIL;
	}
	ret = exchange_wait(x, &d->tables, (int64_t)time(NULL));
	exchange_report(x, name, req->out);
	if (ret) {
		fprintf(req->err, "greywallctl: exchange: merging: %s\n", strerror(-ret));
		return CTL_EXIT_FAIL;
	}
	for (size_t i = 0; i < x->npeers; i++)
		if (!strcmp(x->peers[i].table, name) && x->peers[i].last_error[0])
			return CTL_EXIT_FAIL;
	return CTL_EXIT_OK;
}
