
/*
 * Unit tests of the message queue between the pipeline's threads
 * (sl_msgq.c): order, the counts its bounds are checked against, stop,
 * and a reader and a writer on two threads with the writer keeping a
 * bound as the pipeline does.  Prints TAP.
 */


#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "sl_core.h"
#include "sl_msgq.h"
#include "sl_tap.h"


#define MESSAGES  20000
#define BOUND     8


typedef struct {
    sl_msgq_t   *q;
    size_t       got;
    size_t       out_of_order;
} reader_t;


static void test_order(sl_tap_t *t);
static void test_bounds(sl_tap_t *t);
static void test_stop(sl_tap_t *t);
static void test_threads(sl_tap_t *t);
static void *reader(void *arg);
static sl_msg_t *msg(size_t len, int64_t seq);


int
main(void)
{
    sl_tap_t  t = { 0, 0 };

    test_order(&t);
    test_bounds(&t);
    test_stop(&t);
    test_threads(&t);

    return sl_tap_done(&t);
}


static void
test_order(sl_tap_t *t)
{
    sl_msg_t   *a, *b, *c;
    sl_msgq_t   q;

    static const uint8_t  data[3] = { 1, 2, 3 };

    sl_ok(t, sl_msgq_init(&q) == SL_OK, "order: init");

    a = sl_msg_new(SL_MSG_PACKET, data, sizeof(data));
    sl_ok(t, a != NULL && a->type == SL_MSG_PACKET && a->len == 3
             && memcmp(a->data, data, 3) == 0 && a->cut == SL_NO_CUT
             && a->restart == 0 && a->next == NULL,
          "order: a message holds a copy, no segment starts at it");

    b = sl_msg_new(SL_MSG_VIDEO_HEADER, NULL, 20);
    c = msg(30, 3);

    if (a == NULL || b == NULL || c == NULL) {
        sl_ok(t, 0, "order: out of memory");
        exit(1);
    }

    sl_ok(t, b->len == 20, "order: room without data");

    sl_msgq_put(&q, a);
    sl_msgq_put(&q, b);
    sl_msgq_put(&q, c);

    sl_ok(t, q.len == 3 && q.bytes == 53, "order: 3 messages, 53 bytes");

    sl_ok(t, sl_msgq_get(&q) == a && sl_msgq_get(&q) == b
             && q.len == 1 && q.bytes == 30,
          "order: first in, first out, the counts follow");

    sl_ok(t, sl_msgq_get(&q) == c && q.len == 0 && q.bytes == 0
             && q.head == NULL && q.tail == &q.head,
          "order: empty again");

    /* the tail is right after emptying */
    sl_msgq_put(&q, a);
    sl_ok(t, sl_msgq_get(&q) == a, "order: a queue emptied takes more");

    free(a);
    free(b);
    free(c);
    sl_msgq_destroy(&q);
}


static void
test_bounds(sl_tap_t *t)
{
    int         i;
    sl_msgq_t   q;

    sl_msgq_init(&q);

    sl_ok(t, !sl_msgq_full(&q, 1, 1), "bounds: empty is not full");

    for (i = 0; i < 3; i++) {
        sl_msgq_put(&q, msg(100, i));
    }

    sl_ok(t, sl_msgq_full(&q, 3, 1000000),
          "bounds: full at max messages");
    sl_ok(t, !sl_msgq_full(&q, 4, 301), "bounds: not full below both bounds");
    sl_ok(t, sl_msgq_full(&q, 4, 300), "bounds: full at max bytes");

    /* the packager's bound on the ladder: a quarter of the bytes */
    sl_ok(t, sl_msgq_full(&q, 1000, 1200 / 4)
             && !sl_msgq_full(&q, 1000, 1204 / 4),
          "bounds: a fraction of the bytes, as the ladder's queue is kept");

    /* left in the queue: destroy frees them (LeakSanitizer checks) */
    sl_msgq_destroy(&q);
}


static void
test_stop(sl_tap_t *t)
{
    sl_msg_t   *m;
    sl_msgq_t   q;

    sl_msgq_init(&q);
    sl_msgq_put(&q, msg(1, 1));
    sl_msgq_put(&q, msg(1, 2));
    sl_msgq_stop(&q);

    m = sl_msgq_get(&q);
    sl_ok(t, m && m->dts_ms == 1, "stop: what was queued still comes");
    free(m);

    m = sl_msgq_get(&q);
    sl_ok(t, m && m->dts_ms == 2, "stop: all of it");
    free(m);

    sl_ok(t, sl_msgq_get(&q) == NULL && sl_msgq_get(&q) == NULL,
          "stop: then NULL, without waiting");

    sl_msgq_destroy(&q);
}


/*
 * The writer never waits for the reader: it asks sl_msgq_full() and drops
 * what does not fit, as sl_pipeline_push() does.  The reader gets what
 * was put, in order, and no more than the bound ever waits (the most
 * waiting is right after a put: only the writer adds).
 */
static void
test_threads(sl_tap_t *t)
{
    size_t      put, dropped, max_len;
    int64_t     seq;
    reader_t    r;
    pthread_t   thread;
    sl_msgq_t   q;

    sl_msgq_init(&q);
    memset(&r, 0, sizeof(r));
    r.q = &q;

    if (pthread_create(&thread, NULL, reader, &r) != 0) {
        sl_ok(t, 0, "threads: a reader thread");
        return;
    }

    put = 0;
    dropped = 0;
    max_len = 0;

    for (seq = 0; seq < MESSAGES; seq++) {
        if (sl_msgq_full(&q, BOUND, (size_t) -1)) {
            dropped++;
            sched_yield();
            continue;
        }

        sl_msgq_put(&q, msg(16, (int64_t) put++));

        pthread_mutex_lock(&q.lock);
        if (q.len > max_len) {
            max_len = q.len;
        }
        pthread_mutex_unlock(&q.lock);
    }

    sl_msgq_stop(&q);
    pthread_join(thread, NULL);

    sl_ok(t, r.got == put && put + dropped == MESSAGES,
          "threads: %zu put, %zu dropped, %zu got", put, dropped, r.got);
    sl_ok(t, r.out_of_order == 0, "threads: in order");
    sl_ok(t, max_len <= BOUND && max_len > 0,
          "threads: at most %d waiting (%zu)", BOUND, max_len);

    sl_msgq_destroy(&q);
}


static void *
reader(void *arg)
{
    reader_t  *r = arg;
    sl_msg_t  *m;

    while ((m = sl_msgq_get(r->q)) != NULL) {
        if (m->dts_ms != (int64_t) r->got) {
            r->out_of_order++;
        }

        r->got++;
        free(m);
    }

    return NULL;
}


static sl_msg_t *
msg(size_t len, int64_t seq)
{
    sl_msg_t  *m;

    m = sl_msg_new(SL_MSG_PACKET, NULL, len);
    if (m == NULL) {
        exit(1);
    }

    memset(m->data, 0, len);
    m->dts_ms = seq;

    return m;
}
