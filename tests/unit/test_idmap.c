// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* idmap: put, get, delete (backward shift) against a plain array as the model. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lib/idmap.h"

#define N 20000

int main(void)
{
	static int64_t model[N + 1];	/* model[id] = value, 0 = absent */
	struct idmap m;
	unsigned int seed = 1;
	size_t count = 0, seen = 0, pos = 0;
	bool ok = true;
	int created;
	int64_t id;
	void *v;

	idmap_init(&m, sizeof(int64_t));
	CHECK(idmap_get(&m, 5) == NULL && idmap_delete(&m, 5) == -ENOENT, "an empty map has nothing");
	CHECK(idmap_put(&m, 0, &created) == NULL && idmap_put(&m, -3, &created) == NULL, "ids 0 and below are refused");
	for (int round = 0; round < 200000; round++) {
		int64_t k = 1 + rand_r(&seed) % N;

		if (rand_r(&seed) % 3) {
			int64_t *val = idmap_put(&m, k, &created);

			if (!val || created != (model[k] == 0)) {
				ok = false;
				break;
			}
			count += created;
			*val = model[k] = round + 1;
		} else {
			int ret = idmap_delete(&m, k);

			if (ret != (model[k] ? 0 : -ENOENT)) {
				ok = false;
				break;
			}
			if (model[k])
				count--;
			model[k] = 0;
		}
	}
	CHECK(ok, "200000 random puts and deletes agree with the model");
	CHECK_INT(m.count, count, "the count is the model's");
	for (int64_t k = 1; k <= N && ok; k++) {
		int64_t *val = idmap_get(&m, k);

		ok = model[k] ? val && *val == model[k] : val == NULL;
	}
	CHECK(ok, "every id gets what the model holds");
	ok = true;
	while (idmap_next(&m, &pos, &id, &v)) {
		seen++;
		ok = ok && id > 0 && id <= N && model[id] == *(int64_t *)v;
	}
	CHECK(ok && seen == count, "iteration visits each of the %zu ids once", count);
	/* Large ids, neighbours in the hash. */
	CHECK(idmap_put(&m, INT64_MAX, &created) && created && idmap_get(&m, INT64_MAX), "INT64_MAX is an id");
	CHECK(idmap_delete(&m, INT64_MAX) == 0 && !idmap_get(&m, INT64_MAX), "and deleted again");
	idmap_free(&m);
	return check_done();
}
