// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * libFuzzer harness for the greywall.conf parser: any input must either
 * parse or fail with one message, never crash, leak or read out of bounds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[512];
	char *text = malloc(size + 1);
	int ret;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	ret = config_load_string("fuzz.conf", text, &cfg, err, sizeof(err));
	if (ret == 0) {
		/* What parsed must hold the parser's own invariants. */
		if (cfg.ntables > GW_MAX_TABLES || cfg.nrules > GW_MAX_RULES)
			abort();
		for (size_t i = 0; i < cfg.nrules; i++) {
			const struct gw_rule *r = &cfg.rules[i].rule;

			if (r->dport_lo > r->dport_hi || !cfg.rules[i].text)
				abort();
			if (r->overload_table != GW_NO_TABLE && r->overload_table >= cfg.ntables)
				abort();
			if (r->queue > cfg.nqueues)
				abort();
			if (cfg.ntables < 64 && ((r->src_tables | r->dst_tables) >> cfg.ntables))
				abort();
		}
		config_free(&cfg);
	} else {
		/* A failure always explains itself in one line and frees everything. */
		if (!err[0] || strchr(err, '\n') || cfg.tables || cfg.rules || cfg.path)
			abort();
		if (ret != -EINVAL && ret != -ENOMEM)
			abort();
	}
	free(text);
	return 0;
}
