/* cli_format.h — how the command line prints figures for people: counts
 * as whole numbers with thousands separators, and "—" for a figure that
 * is undefined (never "nan" or "null"). */
#ifndef ABSTAT_CLI_FORMAT_H
#define ABSTAT_CLI_FORMAT_H

#include <stddef.h>

/* The dash printed for an undefined figure (UTF-8 em dash). */
#define AB_UNDEFINED "\xe2\x80\x94"

/* 31234 -> "31,234" into buf (len bytes); "—" when v is not finite. */
void ab_fmt_count(double v, char *buf, size_t len);

/* v in fixed point with `decimals` decimals (and a + before a positive
 * figure when sign is set), or "—" when it is not finite; a zero never
 * prints as "-0.00". Returns buf. */
const char *ab_fmt_num(double v, int decimals, int sign, char *buf, size_t len);

#endif
