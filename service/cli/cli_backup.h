/* cli_backup.h — `abstat backup --data SRC DEST`: a consistent online copy
 * of a (running) daemon's store, with its commit counter. */
#ifndef ABSTAT_CLI_BACKUP_H
#define ABSTAT_CLI_BACKUP_H

/* argv[0] is "backup". Returns the exit code (0, or 4 on error). */
int ab_cli_backup(int argc, char **argv);

#endif
