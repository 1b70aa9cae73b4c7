/* error.h — the caller-owned error struct that service functions fill in. */
#ifndef ABSTAT_ERROR_H
#define ABSTAT_ERROR_H

typedef struct {
    int status;      /* HTTP status that fits the error: 400, 404, 409, 500, ... */
    char text[256];  /* one sentence naming the field and what is wrong */
} ab_error;

/* Sets *err (when err is not NULL) and returns -1, so that callers can write
 * `return ab_error_set(err, 400, "...")`. */
int ab_error_set(ab_error *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
