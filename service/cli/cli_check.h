/* cli_check.h — `abstat check EXPERIMENT`: the CI gate before a rollout. */
#ifndef ABSTAT_CLI_CHECK_H
#define ABSTAT_CLI_CHECK_H

#include <stdio.h>

/* Exit codes of README "The command line". */
enum {
    AB_CHECK_SHIP = 0,
    AB_CHECK_RUNNING = 1,
    AB_CHECK_CONTROL = 2,
    AB_CHECK_INVALID = 3,
    AB_CHECK_ERROR = 4
};

/* argv[0] is "check". Returns the exit code. */
int ab_cli_check(int argc, char **argv);

/* The command's options with their meanings and defaults, and its exit
 * codes (`abstat check --help`, and part of `abstat --help`). */
void ab_cli_check_help(FILE *fp);

#endif
