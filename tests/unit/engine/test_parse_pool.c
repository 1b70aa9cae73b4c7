/* test_parse_pool.c — the parse pool's contract: each body is parsed once
 * on a worker thread, its completion runs once on the loop's thread with
 * what the parse left in the job; drain and stop complete what is queued;
 * without threads nothing is taken. */
#include <event2/event.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "engine/parse_pool.h"
#include "test.h"

#define NJOBS 40

typedef struct {
    pthread_t loop;
    struct event_base *base;
    pthread_mutex_t lock;
    int parsed[NJOBS], completed[NJOBS];
    int parsed_on_loop, completed_off_loop, bad_rc;
    int ncompleted, want;
} pool_ctx;

#define BODY_MAX 24
static char bodies[NJOBS][BODY_MAX];

static int job_index(const ab_parse_job *job)
{
    return (int)((const char (*)[BODY_MAX])job->body - bodies);
}

static void parse(void *arg, ab_parse_job *job)
{
    pool_ctx *c = arg;
    struct timespec pause = {0, 200000}; /* long enough for the two workers to overlap */
    int i = job_index(job);
    nanosleep(&pause, NULL);
    pthread_mutex_lock(&c->lock);
    if (pthread_equal(pthread_self(), c->loop)) c->parsed_on_loop++;
    c->parsed[i]++;
    pthread_mutex_unlock(&c->lock);
    job->rc = (int)job->len;
    job->generation = (uint64_t)i;
}

static void done(void *arg, ab_parse_job *job)
{
    pool_ctx *c = arg;
    int i = job_index(job);
    if (!pthread_equal(pthread_self(), c->loop)) c->completed_off_loop++;
    if (job->rc != (int)job->len || job->generation != (uint64_t)i ||
        job->window.now_ms != 1000 + i)
        c->bad_rc++;
    c->completed[i]++;
    if (++c->ncompleted == c->want && c->base) event_base_loopbreak(c->base);
}

static void ctx_init(pool_ctx *c, struct event_base *base, int want)
{
    memset(c, 0, sizeof *c);
    c->loop = pthread_self();
    c->base = base;
    c->want = want;
    pthread_mutex_init(&c->lock, NULL);
}

static int submit(ab_parse_pool *pool, int i)
{
    ab_ts_window w;
    memset(&w, 0, sizeof w);
    w.now_ms = 1000 + i;
    snprintf(bodies[i], sizeof bodies[i], "body %d", i);
    return ab_parse_pool_submit(pool, NULL, bodies[i], strlen(bodies[i]), &w);
}

static void check_each_once(const pool_ctx *c, int n)
{
    for (int i = 0; i < n; i++) {
        snprintf(test_context, sizeof test_context, "job %d", i);
        CHECK_INT(c->parsed[i], 1);
        CHECK_INT(c->completed[i], 1);
    }
    test_context[0] = '\0';
    CHECK_INT(c->parsed_on_loop, 0);
    CHECK_INT(c->completed_off_loop, 0);
    CHECK_INT(c->bad_rc, 0);
}

/* Completions arrive through the loop (the eventfd), not before it runs. */
static void test_completions_on_the_loop(void)
{
    struct event_base *base = event_base_new();
    struct timeval limit = {10, 0};
    ab_parse_pool pool;
    pool_ctx c;
    ctx_init(&c, base, NJOBS);
    CHECK_INT(ab_parse_pool_start(&pool, base, 2, parse, done, &c), 0);
    CHECK_INT(pool.nthreads, 2);
    for (int i = 0; i < NJOBS; i++) CHECK_INT(submit(&pool, i), 0);
    CHECK_INT(c.ncompleted, 0);
    event_base_loopexit(base, &limit); /* a lost wake-up fails, not hangs */
    event_base_dispatch(base);
    CHECK_INT(c.ncompleted, NJOBS);
    check_each_once(&c, NJOBS);
    ab_parse_pool_stop(&pool);
    CHECK_INT(c.ncompleted, NJOBS); /* nothing completed twice */
    event_base_free(base);
    pthread_mutex_destroy(&c.lock);
}

/* drain waits for the workers and completes everything, loop or not. */
static void test_drain_and_stop(void)
{
    struct event_base *base = event_base_new();
    ab_parse_pool pool;
    pool_ctx c;
    ctx_init(&c, NULL, 0);
    CHECK_INT(ab_parse_pool_start(&pool, base, 3, parse, done, &c), 0);
    for (int i = 0; i < 10; i++) CHECK_INT(submit(&pool, i), 0);
    ab_parse_pool_drain(&pool);
    CHECK_INT(c.ncompleted, 10);
    check_each_once(&c, 10);
    /* Queued at the stop: still parsed and completed. */
    for (int i = 10; i < 20; i++) CHECK_INT(submit(&pool, i), 0);
    ab_parse_pool_stop(&pool);
    CHECK_INT(c.ncompleted, 20);
    check_each_once(&c, 20);
    event_base_free(base);
    pthread_mutex_destroy(&c.lock);
}

static void test_no_threads(void)
{
    struct event_base *base = event_base_new();
    ab_parse_pool pool;
    pool_ctx c;
    ctx_init(&c, NULL, 0);
    CHECK_INT(ab_parse_pool_start(&pool, base, 0, parse, done, &c), 0);
    CHECK_INT(submit(&pool, 0), -1); /* the caller parses itself */
    ab_parse_pool_drain(&pool);
    ab_parse_pool_stop(&pool);
    CHECK_INT(c.parsed[0] + c.completed[0], 0);
    event_base_free(base);
    pthread_mutex_destroy(&c.lock);
}

int main(void)
{
    test_completions_on_the_loop();
    test_drain_and_stop();
    test_no_threads();
    return TEST_DONE("test_parse_pool");
}
