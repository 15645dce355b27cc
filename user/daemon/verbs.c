// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The command table's data for both sides: names, synopses, read-only or
 * not, help. Nothing here may call into the daemon: greywallctl links it.
 */
#include <string.h>

#include "daemon/verbs.h"

#define VERB_ROW(id, w, a, ro, only_reads, handler, h)                                        \
	[VERB_##id] = { .words = w, .args = a, .read_only = ro, .help = h },
const struct verb verbs[VERB_COUNT] = { GREYWALL_VERBS(VERB_ROW) };
#undef VERB_ROW

/* The placeholder among a command's words that stands for any one word. */
#define VERB_ANY_WORD "NAME"

/* Advance *s past one space-separated word; its length, 0 at the end. */
static size_t next_word(const char **s, const char **word)
{
	size_t n;

	*s += strspn(*s, " ");
	*word = *s;
	n = strcspn(*s, " ");
	*s += n;
	return n;
}

int verb_nwords(enum verb_id id)
{
	const char *s = verbs[id].words, *w;
	int n = 0;

	while (next_word(&s, &w))
		n++;
	return n;
}

/* The command whose words argv starts with, the one with the most words. */
int verb_find(int argc, char *const argv[])
{
	int best = -1, best_words = 0;

	for (int id = 0; id < VERB_COUNT; id++) {
		const char *s = verbs[id].words, *w;
		size_t len;
		int i = 0;

		while ((len = next_word(&s, &w))) {
			bool any = len == strlen(VERB_ANY_WORD) && !strncmp(w, VERB_ANY_WORD, len);

			if (i >= argc ||
			    (!any && (strlen(argv[i]) != len || strncmp(argv[i], w, len))))
				break;
			i++;
		}
		if (!len && i > best_words) {
			best = id;
			best_words = i;
		}
	}
	return best;
}

/*
 * From the synopsis: every word outside brackets is required, every word
 * of a bracketed group optional ("[--for DURATION]" two), and "..." allows
 * any number.
 */
bool verb_args_fit(enum verb_id id, int nargs)
{
	const char *s = verbs[id].args, *w;
	int min = 0, max = 0, depth = 0;
	bool unbounded = false;
	size_t len;

	while ((len = next_word(&s, &w))) {
		if (w[0] == '[')
			depth++;
		if (!depth)
			min++;
		max++;
		if (memmem(w, len, "...", 3))
			unbounded = true;
		for (const char *c = w; c < w + len; c++)
			depth -= *c == ']';
	}
	return nargs >= min && (unbounded || nargs <= max);
}

void verb_synopsis(enum verb_id id, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", verbs[id].words, verbs[id].args[0] ? " " : "",
		 verbs[id].args);
}

static void print_usage_line(FILE *out, enum verb_id id, bool first)
{
	char synopsis[128];

	verb_synopsis(id, synopsis, sizeof(synopsis));
	fprintf(out, "%s greywallctl %s\n", first ? "usage:" : "      ", synopsis);
}

void verb_print_usage(FILE *out, enum verb_id id)
{
	print_usage_line(out, id, true);
}

bool verbs_print_usage_named(FILE *out, const char *name)
{
	bool first = true;

	for (int id = 0; id < VERB_COUNT; id++) {
		const char *s = verbs[id].words, *w;
		size_t len = next_word(&s, &w);

		if (len != strlen(name) || strncmp(w, name, len))
			continue;
		print_usage_line(out, id, first);
		first = false;
	}
	return !first;
}

void verbs_print_list(FILE *out, bool with_help)
{
	fprintf(out, "usage: greywallctl [-s socket] command [args]\ncommands:\n");
	for (int id = 0; id < VERB_COUNT; id++) {
		char synopsis[128];

		verb_synopsis(id, synopsis, sizeof(synopsis));
		if (with_help)
			fprintf(out, "  %-29s %s\n", synopsis, verbs[id].help);
		else
			fprintf(out, "  %s\n", synopsis);
	}
}
