/* record.h — the stored form of events, shared by every backend: events as
 * compact binary records, one row (blob) per experiment per commit. */
#ifndef ABSTAT_STORE_RECORD_H
#define ABSTAT_STORE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"

/* Event record, little-endian, events back to back in a row's blob:
 *   u8 type | u8 phase | i8 variant (-1: none) |
 *   u8 flags (1 value, 2 score, 4 id, 8 covariate) |
 *   i64 ts_ms | [f64 value] | [f64 covariate] | [u8 score] | u16 user_len, user |
 *   [u8 id_len, id]
 * Every field the event had is kept; replay decodes without JSON. Records
 * written before covariates existed never have flag 8 and read as before.
 *
 * A row (format 4) begins with a header: 0xff 'a' 'b' '1' | u32 events |
 * u64 checksum of the events' bytes (seeded with the count). A row
 * without it (format 3) is read without a checksum. 0xff is no event
 * type, so the two cannot be confused. */
#define AB_RECORD_ROW_HEADER 16

/* The longest user and id a record can hold (u16 / u8 lengths; the
 * parser allows less). */
#define AB_RECORD_USER_MAX 0xffff
#define AB_RECORD_ID_MAX 0xff
/* Events in one row (the header's u32). */
#define AB_RECORD_ROW_EVENTS_MAX 0xffffffffull

/* Bytes ev takes as a record; 0 when a field is too long to store. */
size_t ab_record_size(const ab_event *ev);
/* Writes ev at p (ab_record_size(ev) bytes free); returns the end. */
unsigned char *ab_record_encode(unsigned char *p, const ab_event *ev);
/* Decodes one record at *pp (end = the blob's end) and advances *pp; -1
 * when malformed. ev's user and id point into the blob; ev->exp is NULL. */
int ab_record_decode(const unsigned char **pp, const unsigned char *end, ab_event *ev);

/* Fills the header of a row of len bytes (header included) holding nev
 * events: its magic, count and checksum. */
void ab_record_seal(unsigned char *row, size_t len, uint64_t nev);
/* Checks one stored row: 0 with the first record at *body and the event
 * count in *nev, -1 when it is damaged (why says how). A format 3 row has
 * no header: its records are decoded once to see that they are whole. */
int ab_record_check_row(const unsigned char *row, size_t len, const unsigned char **body,
                        uint64_t *nev, const char **why);

#endif
