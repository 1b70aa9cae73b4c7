/* store.h — the storage interface of the daemon: experiments, every
 * accepted event raw, the monitoring state and the webhook outbox. A
 * backend (store_backend.h; SQLite in sqlite_*.c) implements it; everything
 * else talks to storage only through this.
 *
 * Threads. Every function here is called from one thread, the caller's
 * (the daemon's event loop), except where said. Batches of events are
 * committed on the store's own thread (ab_store_submit): the caller fills
 * the next batch while one commits, and hears of each outcome, in commit
 * order, from ab_store_complete on its own thread. A second store thread
 * runs the last step of a commit that needs no database (SQLite under
 * --durability full: the side file's fdatasync), so that it overlaps the
 * next batch's write. The other writes (begin ... commit) are
 * synchronous: they wait for a batch being written, then run on the
 * caller's thread. */
#ifndef ABSTAT_STORE_H
#define ABSTAT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "core/event.h"
#include "store/store_counter.h"

typedef struct ab_store ab_store;

typedef enum { AB_DURABILITY_NORMAL = 0, AB_DURABILITY_FULL } ab_durability;

/* What a storage operation came to. Callers decide on the kind (retry,
 * refuse, report: the API answers the transient kinds 503 with
 * Retry-After, the rest 500); err->text says what failed in words, and
 * err->status is left 0, for the store has no notion of HTTP. */
typedef enum {
    AB_STORE_OK = 0,
    AB_STORE_FULL,      /* no room: disk full, a file size limit */
    AB_STORE_READONLY,  /* not allowed to write: permissions, a read-only file system */
    AB_STORE_BUSY,      /* locked by another process, or a lock wait ran out */
    AB_STORE_IO,        /* the device failed a read or a write */
    AB_STORE_CORRUPT,   /* stored data is damaged, or not this program's */
    AB_STORE_NOMEM,     /* out of memory */
    AB_STORE_INVALID,   /* the caller asked for something the store cannot do */
    AB_STORE_INTERNAL   /* anything else */
} ab_store_status;

/* "full", "readonly", ... (for logs and metrics). */
const char *ab_store_status_name(ab_store_status kind);
/* 1 for the kinds a later attempt may not meet (full, readonly, busy, io):
 * the store is unavailable rather than the request wrong. */
int ab_store_status_transient(ab_store_status kind);

/* Opens (creating) the store in directory dir with the default backend
 * (SQLite) and starts its commit thread. New handle (ab_store_close frees
 * it), or NULL with err set. */
ab_store *ab_store_open(const char *dir, ab_durability durability, ab_error *err);
/* ab_store_open by the form of where: a connection string starting with
 * postgresql:// or postgres:// opens the PostgreSQL backend, anything
 * else is a data directory for SQLite (store_open.c). New handle, owned
 * by the caller (ab_store_close frees it), or NULL with err set; where is
 * copied, the caller keeps it. */
ab_store *ab_store_open_where(const char *where, ab_durability durability, ab_error *err);
/* where as logs and errors may show it: every password a connection
 * string holds (postgresql://user:PASSWORD@..., ?password=..., key=value
 * password=...) replaced by ***; a directory unchanged. Into buf of len
 * bytes (cut short when longer, never inside a password); returns buf
 * (store_where.c). */
const char *ab_store_where_safe(const char *where, char *buf, size_t len);
/* Replaces in text (cap bytes) every password of where, as written there
 * and as decoded, by ***: for messages that may quote the connection
 * string (libpq's parse errors do). */
void ab_store_scrub(const char *where, char *text, size_t cap);
/* Waits for every submitted batch to commit, runs their callbacks, stops
 * the thread and closes the backend. NULL is ignored. */
void ab_store_close(ab_store *s);

/* ---- Batches of events, committed on the store thread ------------------ */

/* The events of one commit: one row per experiment, records appended in
 * order (record.h). Filled on the caller's thread, owned by the store
 * once submitted. */
typedef struct ab_store_batch ab_store_batch;

/* An empty batch, or NULL when out of memory. */
ab_store_batch *ab_store_batch_new(void);
void ab_store_batch_free(ab_store_batch *b);
/* Appends n events of experiment key, in order. All or nothing: on
 * failure (a field too long to store, out of memory) the batch is as it
 * was and the kind is returned. n == 0 appends nothing. */
ab_store_status ab_store_batch_append(ab_store_batch *b, int64_t key, const ab_event *evs,
                                      size_t n, ab_error *err);
/* Events and bytes of records in the batch. */
uint64_t ab_store_batch_events(const ab_store_batch *b);
size_t ab_store_batch_bytes(const ab_store_batch *b);

/* The outcome of one submitted batch. */
typedef struct {
    ab_store_status kind;
    ab_error err;            /* when kind != AB_STORE_OK */
    uint64_t events;         /* in the batch */
    double seconds;          /* the commit's duration on the store thread */
} ab_store_result;

/* Called on the caller's thread by ab_store_complete, once per batch, in
 * the order the batches were submitted. */
typedef void (*ab_store_done)(void *arg, const ab_store_result *r);

/* Hands b to the store thread, to be committed in a transaction of its own
 * once the batches before it are (durable per the store's durability
 * before it counts as done). Takes ownership of b (also on failure).
 * AB_STORE_OK, or AB_STORE_NOMEM: nothing was queued, done is not called. */
ab_store_status ab_store_submit(ab_store *s, ab_store_batch *b, ab_store_done done,
                                void *arg);
/* Called on the store thread each time a commit has finished: it must
 * only wake the caller's thread (write an eventfd, event_active with
 * libevent's thread support), which then calls ab_store_complete. Set it
 * before the first submit; to take it away (NULL), wait first
 * (ab_store_wait): no call is under way then. */
void ab_store_set_notify(ab_store *s, void (*notify)(void *arg), void *arg);
/* Runs the callbacks of every finished commit, in submission order; the
 * number run. */
size_t ab_store_complete(ab_store *s);
/* Blocks until every submitted batch is committed, then runs their
 * callbacks (ab_store_complete). Inside a transaction it cannot wait
 * (the thread needs the backend): it only runs what is finished. */
void ab_store_wait(ab_store *s);
/* Batches submitted whose callbacks have not run yet. */
size_t ab_store_in_flight(const ab_store *s);
/* 1 when no submitted batch waits for the database or is being written
 * to it: a batch submitted now starts at once. (A batch whose last step
 * (the backend's witness, store_backend.h) is still running does not
 * count: the next may overlap it.) The notify function is also called
 * each time this becomes true, so a group commit can fill its next batch
 * until then. */
int ab_store_accepting(ab_store *s);

/* ---- Synchronous writes ------------------------------------------------ */

/* begin once, write several, commit once, all on the caller's thread.
 * begin waits for a batch commit in flight (the store thread holds the
 * backend meanwhile); batches submitted while the transaction is open
 * commit after it. Writes outside begin/commit are refused (INVALID).
 * commit failing leaves nothing written (the transaction is rolled back).
 * Order between batches and these writes is the order in which the
 * caller gave them only if it waits first (ab_store_wait). */
ab_store_status ab_store_begin(ab_store *s, ab_error *err);
ab_store_status ab_store_commit(ab_store *s, ab_error *err);
void ab_store_rollback(ab_store *s);
/* 1 while a synchronous transaction is open. */
int ab_store_in_transaction(const ab_store *s);

/* A stored experiment row. */
typedef struct {
    int64_t key;            /* the store's key, stable for the experiment's life */
    const char *id;
    const char *config;     /* the configuration as JSON text */
    int stopped;
    int64_t created_ms;
    int64_t monitoring_since_ms; /* when the current test definition began; 0 = creation */
    const char *changes;         /* JSON array text of test-definition changes; NULL = "[]" */
} ab_store_experiment;

/* Creates or updates an experiment; for a new one (e->key == 0) sets
 * e->key. */
ab_store_status ab_store_put_experiment(ab_store *s, ab_store_experiment *e, ab_error *err);
/* Deletes the experiment and all its events and monitoring rows. The
 * caller waits for batches holding its events first (ab_store_wait). */
ab_store_status ab_store_delete_experiment(ab_store *s, int64_t key, ab_error *err);

/* Monitoring state of one arm (README "Statistics": running minimum of the
 * sequential p, running intersection of its intervals, status and when
 * significance was first reached). Row arm 0 (the control has no test of
 * its own) holds the experiment's state: min_p the running minimum of the
 * anytime-valid sample-ratio p, status 1 while the SRM alert is raised,
 * significant_since_ms when it was raised, lo/hi the frozen plan of a fixed
 * test (baseline, per-variant users). */
typedef struct {
    int64_t key;
    int arm;
    double min_p;             /* NaN when never evaluated */
    int status;               /* ab_arm_status */
    int64_t significant_since_ms; /* 0 when never */
    double lo, hi;            /* NaN when unset */
} ab_store_monitor;

ab_store_status ab_store_put_monitor(ab_store *s, const ab_store_monitor *m, ab_error *err);
/* Deletes every monitor row of experiment `key` (a monitoring restart). */
ab_store_status ab_store_clear_monitor(ab_store *s, int64_t key, ab_error *err);

/* ---- Several nodes: what the others wrote ------------------------------ */

/* On a store that several daemons share (PostgreSQL), every commit and
 * every configuration change has a position (seq) in one log, in commit
 * order. Each node hands every item of that log to the caller's thread in
 * seq order, its own included: before the outcome of a batch it committed
 * at seq s come the others' items below s, and when idle the store thread
 * follows the log (LISTEN/NOTIFY, and a poll at least every
 * AB_STORE_FOLLOW_POLL_MS). A node's own event rows and configuration
 * changes are not handed back (its batch's outcome and its own write stand
 * for them), save a change made in a transaction of more than a few: that
 * one comes back, and applying it again changes nothing. */
#define AB_STORE_FOLLOW_POLL_MS 200

typedef enum {
    AB_FEED_EVENTS = 0,       /* another node's event row of experiment key */
    AB_FEED_EXPERIMENT = 1,   /* experiment key created or changed: exp is its row then */
    AB_FEED_DELETE = 2        /* experiment key deleted with its events */
} ab_feed_kind;

typedef struct {
    ab_feed_kind kind;
    int64_t seq;
    int64_t key;
    const unsigned char *row; /* EVENTS: the stored row (record.h), len bytes, unchecked */
    size_t len;
    const ab_store_experiment *exp; /* EXPERIMENT */
} ab_store_feed_item;

/* Called on the caller's thread from ab_store_complete, in log order; the
 * item lives only during the call. */
typedef void (*ab_store_follow)(void *arg, const ab_store_feed_item *it);
/* Sets the follower (before the first submit; NULL: items are dropped). */
void ab_store_set_follow(ab_store *s, ab_store_follow follow, void *arg);
/* 1 when other daemons may write to this store (its backend follows a
 * shared log). */
int ab_store_shared(const ab_store *s);
/* 1 when this node is the one evaluator of a shared store (it holds the
 * store's evaluator lock, tried every AB_STORE_LEAD_TRY_MS by the store
 * thread and held until its connection ends); always 1 when not shared.
 * No wait: the store thread keeps the answer. */
#define AB_STORE_LEAD_TRY_MS 1000
int ab_store_evaluator(const ab_store *s);
/* Every stored monitor row (the evaluator's), as ab_store_load gives
 * them; rows live only during the call. A transaction of its own. */
ab_store_status ab_store_monitor_load(ab_store *s, int (*cb)(void *ctx, const ab_store_monitor *m),
                                      void *ctx, ab_error *err);

/* ---- Start ------------------------------------------------------------- */

/* Replay on start: every experiment (in key order), then for each its
 * events in commit order and its monitor rows. A callback returning
 * non-zero stops the load with that error. Strings and events passed to
 * the callbacks live only during the call. Call before the first submit. */
typedef struct {
    int (*on_experiment)(void *ctx, const ab_store_experiment *e);
    int (*on_event)(void *ctx, int64_t key, const ab_event *ev);
    int (*on_monitor)(void *ctx, const ab_store_monitor *m);
} ab_store_loader;

ab_store_status ab_store_load(ab_store *s, const ab_store_loader *loader, void *ctx,
                              ab_error *err);

/* Integrity on start (README "Storage and durability, Security"). ab_store_load first compares the
 * commit counter kept apart from the events (DIR/abstat.commits, written
 * after every commit) with the one inside the database, then checks every
 * event row (checksum) and the rows and events each experiment must hold.
 * A store that holds less than was acknowledged, or any unreadable record,
 * fails the load (CORRUPT) with a message naming what is missing, unless
 * recover was set: then unreadable rows are skipped, the loss is counted
 * here and logged, and the counters are reset to what the store now holds. */
void ab_store_set_recover(ab_store *s, int recover);

typedef struct {
    int recovered;           /* --recover accepted a loss or a doubt */
    uint64_t lost_events;    /* acknowledged events not in the store */
    uint64_t lost_batches;   /* event rows (one per experiment per commit) */
    uint64_t lost_commits;   /* commits missing from the database */
    uint64_t corrupt_rows;   /* unreadable event rows skipped */
    uint64_t commits, batches, events; /* what the store holds after start */
} ab_store_integrity;

/* After ab_store_load: what the checks found. */
const ab_store_integrity *ab_store_integrity_of(const ab_store *s);

/* ---- Operations -------------------------------------------------------- */

/* 1 when a write transaction can be started and committed now (for
 * /healthz); probes with an empty write (waits for a commit in flight). */
int ab_store_writable(ab_store *s);
/* Heap bytes the backend holds (page cache, statements), for the memory
 * account; any thread. s NULL: the default backend's figure for the
 * whole process (SQLite keeps one heap for every connection), also
 * before a store is open. */
size_t ab_store_memory_bytes(const ab_store *s);

/* The webhook outbox (README "Statistics"): a delivery is stored when
 * significance is reached and deleted when the receiver answered 2xx, so
 * one pending at a stop or a crash is sent again after the restart. put
 * and del write inside the open transaction when there is one, else in a
 * transaction of their own. */
typedef struct {
    const char *id;           /* the body's "id": experiment/variant/significant_since_ms */
    const char *url;
    const char *body;         /* JSON text */
    int64_t created_ms;
} ab_store_delivery;

ab_store_status ab_store_outbox_put(ab_store *s, const ab_store_delivery *d, ab_error *err);
ab_store_status ab_store_outbox_del(ab_store *s, const char *id, ab_error *err);
/* Every stored delivery, oldest first; strings live only during the call. */
ab_store_status ab_store_outbox_load(ab_store *s,
                                     int (*cb)(void *ctx, const ab_store_delivery *d),
                                     void *ctx, ab_error *err);

/* A consistent copy of the store in data directory `dir` (a running
 * daemon's, which goes on writing) as the single file `to`, checked and
 * self-contained (no WAL beside it); fills *c with the copy's commit
 * counter (store_counter.h). 1 when the copy has a counter, 0 when it is
 * from before the counter, -1 with err set on failure (`to` may then
 * exist, half written, with its -wal and -shm: the caller removes them). */
int ab_store_backup(const char *dir, const char *to, ab_counter *c, ab_error *err);

#endif
