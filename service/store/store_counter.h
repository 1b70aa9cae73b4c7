/* store_counter.h — the commit counter kept apart from the events (README
 * "Storage and durability": a damaged store is never silently smaller), and the checksum
 * of a stored event row. Used by the SQLite backend (sqlite_*.c), the
 * record codec (record.c) and `abstat backup`; pure
 * functions plus two small file operations, so that they can be tested
 * on their own. */
#ifndef ABSTAT_STORE_COUNTER_H
#define ABSTAT_STORE_COUNTER_H

#include <stddef.h>
#include <stdint.h>

/* What the store held after a commit: the commit's number (every
 * ab_store_commit counts one), the event rows and the events held now
 * (deleting an experiment takes its rows and events away), and the store's
 * identity (random, made when the store was created). */
typedef struct {
    uint64_t store_id;
    uint64_t commits;
    uint64_t batches;
    uint64_t events;
} ab_counter;

/* The side file DIR/abstat.commits: two slots of AB_COUNTER_RECORD bytes
 * at offsets 0 and AB_COUNTER_SLOT, written alternately (slot = commits
 * & 1), each with its own checksum. A torn write damages at most the slot
 * being written; the other still holds the commit before. */
#define AB_COUNTER_FILE "abstat.commits"
#define AB_COUNTER_RECORD 48
#define AB_COUNTER_SLOT 4096

typedef enum {
    AB_COUNTER_OK = 0,
    AB_COUNTER_MISSING,   /* no file */
    AB_COUNTER_DAMAGED    /* file there, no slot with a valid checksum */
} ab_counter_status;

void ab_counter_encode(const ab_counter *c, unsigned char out[AB_COUNTER_RECORD]);
/* 0 when the record's magic and checksum hold, -1 otherwise. */
int ab_counter_decode(const unsigned char *in, size_t len, ab_counter *c);
/* The newest valid slot of a file's bytes. */
ab_counter_status ab_counter_parse(const unsigned char *file, size_t len, ab_counter *c);

/* Reads DIR's side file. */
ab_counter_status ab_counter_read(const char *dir, ab_counter *c);
/* Opens (creating) DIR's side file for writing; fd or -1 (errno set). */
int ab_counter_open(const char *dir);
/* Writes c into its slot; with sync, fdatasync()s it. 0 or -1 (errno). */
int ab_counter_write(int fd, const ab_counter *c, int sync);

/* The checksum of stored bytes (64-bit, word at a time; not
 * cryptographic: it finds damage, not forgery). */
uint64_t ab_checksum64(const void *data, size_t len, uint64_t seed);

/* 31234 -> "31,234" (for the messages operators read). */
void ab_counter_thousands(uint64_t v, char *buf, size_t len);

#endif
