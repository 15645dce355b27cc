// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * libFuzzer harness for the location database's checks (lib/location.h):
 * libloc maps a database's sections and follows its tree's indices as the
 * header and the nodes say, so what location_open() accepts must be safe
 * to look up in. Each input is a database file (in a memfd, as a path):
 * when it opens, addresses of both families and every AS a lookup names
 * are looked up; a lookup's network must contain the address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/location.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const probes[] = {
	"192.0.2.7",  "192.0.2.200", "198.51.100.7", "0.0.0.0",	 "255.255.255.255",
	"8.8.8.8",    "10.1.2.3",    "2001:db8:1::5", "2001:c00::1", "::",
	"ffff::1",    "2a00:1450::1",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct location *loc;
	char path[64], name[LOCATION_AS_NAME_MAX];
	int fd = memfd_create("fuzz-location", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (!location_open(path, &loc, NULL, 0)) {
		for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
			struct location_place place;
			struct addr_prefix addr;

			if (addr_parse(probes[i], &addr))
				abort();
			if (location_lookup(loc, &addr, &place))
				continue;
			if (!addr_contains(&place.network, &addr) || strlen(place.country) != 2)
				abort();
			location_as_name(loc, place.asn, name, sizeof(name));
			if (strlen(name) >= sizeof(name))
				abort();
		}
		location_as_name(loc, 64500, name, sizeof(name));
		location_close(loc);
	}
	close(fd);
	return 0;
}
