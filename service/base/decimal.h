/* decimal.h — unsigned integers to decimal text without printf, for what runs once per request. */
#ifndef ABSTAT_DECIMAL_H
#define ABSTAT_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

/* Room for any uint64_t in decimal, without a terminator. */
#define AB_DECIMAL_MAX 20

/* Writes v in decimal at buf (AB_DECIMAL_MAX bytes suffice), no NUL;
 * returns the number of digits. */
size_t ab_decimal_u64(char *buf, uint64_t v);

#endif
