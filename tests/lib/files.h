/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * File helpers the unit tests share: read a small file, count a directory,
 * make a temporary directory.
 */
#ifndef __GREYWALL_TEST_FILES_H
#define __GREYWALL_TEST_FILES_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first 4095 bytes of path as a string (static buffer), or NULL. */
static inline const char *read_small_file(const char *path)
{
	static char buf[4096];
	FILE *fp = fopen(path, "r");
	size_t n;

	if (!fp)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* Entries of dir other than . and .., or -1. */
static inline int count_dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* mkdtemp(dir) ("/tmp/gw-x-XXXXXX"), then path = "dir/name"; -1 on failure. */
static inline int make_temp_path(char *dir, char *path, size_t len, const char *name)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(path, len, "%s/%s", dir, name);
	return 0;
}

#endif /* __GREYWALL_TEST_FILES_H */
