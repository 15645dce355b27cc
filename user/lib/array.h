/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The one growable-array helper: every module's arrays grow through it. */
#ifndef __GREYWALL_ARRAY_H
#define __GREYWALL_ARRAY_H

#include <stddef.h>

/*
 * Room for `want` items of `size` bytes in the array at *array_ptr (a
 * pointer to the array's pointer) of capacity *cap, doubled from `first`.
 * Returns 0, or -ENOMEM (also when the size would overflow) with the array
 * and *cap unchanged.
 */
int array_room(void *array_ptr, size_t *cap, size_t want, size_t size, size_t first);

#endif
