/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * CSV as RFC 4180 writes it, for files people open in a spreadsheet (the
 * watchers' <watcher>_attempts.csv). Lines end in CRLF, as the RFC says.
 */
#ifndef __GREYWALL_CSV_H
#define __GREYWALL_CSV_H

#include <stdbool.h>
#include <stdio.h>

/*
 * One field, without its separator. A field holding a comma, a double
 * quote, CR or LF is quoted, its quotes doubled. A field an outsider chose
 * (as_text) is always quoted, its bytes escaped first as escape.h says (no
 * control byte reaches the file raw), and it gets a leading apostrophe when
 * it starts with = + - @ TAB or CR, so that a spreadsheet takes it as text,
 * never as a formula (OWASP, "CSV Injection"). Returns 0 or -EIO.
 */
int csv_put_field(FILE *fp, const char *field, bool as_text);

/* The end of a record: CRLF. */
void csv_end_record(FILE *fp);

#endif /* __GREYWALL_CSV_H */
