/* cli_read.h — reading a whole file or standard input for the CLI. */
#ifndef ABSTAT_CLI_READ_H
#define ABSTAT_CLI_READ_H

#include <stddef.h>

/* Reads all of path ("-" for standard input), at most max bytes. Returns a
 * new NUL-terminated buffer (caller frees) and its length in *len, or NULL
 * with a message in err (errlen bytes). */
char *ab_read_all(const char *path, size_t max, size_t *len, char *err, size_t errlen);

#endif
