/* sqlite_error.c — SQLite result codes as storage error kinds, and SQL run with them. */
#include "store/sqlite_impl.h"

ab_store_status ab_sqlite_kind(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK: case SQLITE_DONE: case SQLITE_ROW: return AB_STORE_OK;
    case SQLITE_FULL: return AB_STORE_FULL;
    case SQLITE_IOERR: case SQLITE_CANTOPEN: return AB_STORE_IO;
    case SQLITE_READONLY: case SQLITE_PERM: case SQLITE_AUTH: return AB_STORE_READONLY;
    case SQLITE_BUSY: case SQLITE_LOCKED: return AB_STORE_BUSY;
    case SQLITE_CORRUPT: case SQLITE_NOTADB: case SQLITE_FORMAT: return AB_STORE_CORRUPT;
    case SQLITE_NOMEM: return AB_STORE_NOMEM;
    case SQLITE_MISUSE: case SQLITE_RANGE: case SQLITE_TOOBIG: case SQLITE_CONSTRAINT:
        return AB_STORE_INVALID;
    default: return AB_STORE_INTERNAL;
    }
}

ab_store_status ab_sqlite_fail(ab_sqlite *s, ab_error *err, const char *what)
{
    int code = s && s->db ? sqlite3_extended_errcode(s->db) : SQLITE_CANTOPEN;
    return ab_store_fail(err, ab_sqlite_kind(code), "store: %s: %s", what,
                         s && s->db ? sqlite3_errmsg(s->db) : "no database");
}

ab_store_status ab_sqlite_exec(ab_sqlite *s, const char *sql, ab_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        ab_store_status kind = ab_sqlite_kind(sqlite3_extended_errcode(s->db));
        ab_store_fail(err, kind, "store: %s", msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return kind;
    }
    return AB_STORE_OK;
}

void ab_sqlite_abort(ab_sqlite *s)
{
    /* After some errors SQLite has already rolled back; autocommit tells. */
    if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}
