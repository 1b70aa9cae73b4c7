/* version.h — the release both programs report (--version, abstat_build_info). */
#ifndef ABSTAT_VERSION_H
#define ABSTAT_VERSION_H

#define AB_VERSION "0.11.0"

#endif
