/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The one rule for printing strings an outsider chose (a HELO, MAIL FROM,
 * RCPT TO, a probe's host, evidence built from them): vis(3)'s C style
 * with octal, as OpenBSD's strvis(VIS_CSTYLE | VIS_TAB | VIS_NL |
 * VIS_OCTAL) writes it, so that no byte of theirs can end a line, move
 * the terminal's cursor or forge a field.
 *
 *   bytes 0x20 to 0x7e         as they are, except '\' and the extra ones
 *   '\'                        "\\"
 *   \n \r \t \b \a \v \f       "\n" "\r" "\t" "\b" "\a" "\v" "\f"
 *   any other byte, and an     "\ooo", three octal digits: ESC is "\033",
 *   extra one                  DEL "\177", 0xe9 "\351", '|' "\174"
 *
 * The mapping is reversible (escape_unvis(), or unvis(1)): a '\' in the
 * output always starts an escape. extra names the field separator of the
 * output being written ("|" for spamdb lines), or is NULL.
 */
#ifndef __GREYWALL_ESCAPE_H
#define __GREYWALL_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* Bytes escape_vis() needs for n input bytes, its NUL included. */
#define ESCAPE_SIZE(n) (4 * (size_t)(n) + 1)

/*
 * Escape in into out, NUL-terminated (when outlen > 0). Returns the length
 * of the whole escaped text, as snprintf() does: a result >= outlen means
 * out holds only a prefix, cut between two escapes, never inside one.
 */
size_t escape_vis(char *out, size_t outlen, const char *in, const char *extra);

/* Write in escaped to fp. Returns 0 or -EIO. */
int escape_vis_file(FILE *fp, const char *in, const char *extra);

/*
 * Undo escape_vis() (whatever extra was). Returns the length, -ENOSPC
 * when out is too small (strlen(in) + 1 bytes always suffice), or -EINVAL for an escape
 * escape_vis() does not write or for "\000" (a C string cannot hold it).
 */
int escape_unvis(char *out, size_t outlen, const char *in);

#endif /* __GREYWALL_ESCAPE_H */
