// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Log lines (user/lib/log.c): a client's bytes never reach the log raw. */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "lib/log.h"

static char path[] = "/tmp/gw-log-XXXXXX";

/* What the lines logged by fn wrote to stderr. */
static char *capture(void (*fn)(void))
{
	int fd = mkstemp(path), saved = dup(2);
	char *text = NULL;
	off_t len;

	if (fd < 0 || saved < 0)
		return NULL;
	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	len = lseek(fd, 0, SEEK_END);
	text = calloc(1, (size_t)len + 1);
	if (text && pread(fd, text, (size_t)len, 0) != len) {
		free(text);
		text = NULL;
	}
	close(fd);
	unlink(path);
	strcpy(path, "/tmp/gw-log-XXXXXX");
	return text;
}

static void log_hostile(void)
{
	log_info("(GREY) %s: <%s> -> <%s>", "192.0.2.1", "\033[2J\r\nforged line", "t@x");
}

static void log_long(void)
{
	char helo[5001];

	memset(helo, 1, sizeof(helo) - 1);
	helo[sizeof(helo) - 1] = '\0';
	log_info("new entry 192.0.2.1 from a to b, helo %s", helo);
}

/* Lines in text, and whether anything but their newlines is a control byte. */
/* Buffered lines: none written before log_flush(); a forked child writes its own only. */
static void log_buffered(void)
{
	struct stat st;
	pid_t pid;

	log_buffer_lines();
	log_info("first");
	log_info("second");
	CHECK(!fstat(2, &st) && st.st_size == 0, "buffered: nothing written before the flush");
	pid = fork();
	if (pid == 0) {
		log_info("child");
		log_flush();
		exit(0);
	}
	waitpid(pid, NULL, 0);
	log_flush();
	/* 70,000 bytes of lines: the buffer writes whole lines when it fills. */
	for (int i = 0; i < 1000; i++)
		log_info("%069d", i);
	log_flush();
}

static int count_lines(const char *text, int *raw_controls)
{
	int lines = 0;

	*raw_controls = 0;
	for (const char *p = text; *p; p++) {
		if (*p == '\n')
			lines++;
		else if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			(*raw_controls)++;
	}
	return lines;
}

int main(void)
{
	char *text, last[80];
	int raw;

	log_init("test_log", true, false);
	text = capture(log_hostile);
	CHECK(text != NULL, "the log line was captured");
	CHECK_INT(count_lines(text ? text : "", &raw), 1, "a CR LF inside a field makes no second line");
	CHECK_INT(raw, 0, "no raw control byte reaches the log");
	CHECK_STR(text, "<6>(GREY) 192.0.2.1: <\\033[2J\\r\\nforged line> -> <t@x>\n",
		  "the field is escaped as escape.h says");
	free(text);
	text = capture(log_long);
	CHECK_INT(count_lines(text ? text : "", &raw), 1, "a 5000-byte field of control bytes: one line");
	CHECK_INT(raw, 0, "escaped whole, none raw");
	CHECK(text && strlen(text) > 20000 && strstr(text, "helo \\001\\001"),
	      "and not cut short (%zu bytes)", text ? strlen(text) : 0);
	free(text);
	text = capture(log_buffered);
	CHECK(text && !strncmp(text, "<6>child\n<6>first\n<6>second\n", 28),
	      "buffered: the child's line alone, then the parent's two, once each");
	CHECK_INT(count_lines(text ? text : "", &raw), 1003, "buffered: every line, whole");
	snprintf(last, sizeof(last), "<6>%069d\n", 999);
	CHECK(text && strstr(text, last),
	      "buffered: the last of 1,000 lines past the buffer's size");
	free(text);
	return check_done();
}
