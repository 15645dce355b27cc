// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/array.h"

int array_room(void *array_ptr, size_t *cap, size_t want, size_t size, size_t first)
{
	size_t ncap = *cap ? *cap : (first ? first : 1);
	void *items, *bigger;

	if (want <= *cap)
		return 0;
	while (ncap < want) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	if (size && ncap > SIZE_MAX / size)
		return -ENOMEM;
	/* array_ptr points at a pointer of any object type: copy it, do not alias it. */
	memcpy(&items, array_ptr, sizeof(items));
	bigger = realloc(items, ncap * size);
	if (!bigger)
		return -ENOMEM;
	memcpy(array_ptr, &bigger, sizeof(bigger));
	*cap = ncap;
	return 0;
}
