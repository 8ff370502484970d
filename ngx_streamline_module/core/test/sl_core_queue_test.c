/*
 * Unit tests of the core, continued (see sl_core_test.c): the queue of
 * state transitions, the reconnection backoff, the state cache.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_core_test.h"


static void sl_transition(sl_transition_t *tr, const char *channel,
    sl_status_e status, int64_t ms);
static int sl_queue_is(sl_queue_t *q, const char *expect);


static void
sl_transition(sl_transition_t *tr, const char *channel, sl_status_e status,
    int64_t ms)
{
    memset(tr, 0, sizeof(sl_transition_t));

    tr->channel_len = strlen(channel);
    memcpy(tr->channel, channel, tr->channel_len);
    tr->state.status = status;
    tr->state.updated_ms = ms;
}


/* the queue as "channel:ms channel:ms ..." equals expect */

static int
sl_queue_is(sl_queue_t *q, const char *expect)
{
    char              got[1024], *p;
    size_t            i;
    sl_transition_t  *tr;

    p = got;
    *p = '\0';

    for (i = 0; (tr = sl_queue_at(q, i)) != NULL; i++) {
        p += snprintf(p, got + sizeof(got) - p, "%s%.*s:%lld",
                      i ? " " : "", (int) tr->channel_len,
                      (char *) tr->channel, (long long) tr->state.updated_ms);
    }

    if (strcmp(got, expect) != 0) {
        printf("#   queue: \"%s\", expected \"%s\"\n", got, expect);
        return 0;
    }

    return 1;
}


void
test_queue(sl_tap_t *t)
{
    int              rc;
    sl_queue_t       q;
    sl_transition_t  items[4], tr;

    sl_queue_init(&q, items, 4);

    sl_ok(t, q.len == 0 && sl_queue_at(&q, 0) == NULL, "queue: empty");

    sl_queue_pop(&q);
    sl_ok(t, q.len == 0 && q.head == 0, "queue: pop on empty is harmless");

    sl_transition(&tr, "a", SL_STATUS_LIVE, 1);
    rc = sl_queue_push(&q, &tr);
    sl_transition(&tr, "b", SL_STATUS_LIVE, 2);
    rc |= sl_queue_push(&q, &tr);
    sl_transition(&tr, "a", SL_STATUS_IDLE, 3);
    rc |= sl_queue_push(&q, &tr);

    sl_ok(t, rc == SL_OK && q.len == 3 && sl_queue_is(&q, "a:1 b:2 a:3"),
          "queue: push keeps order");
    sl_ok(t, sl_queue_at(&q, 2)->state.status == SL_STATUS_IDLE
          && sl_queue_at(&q, 3) == NULL,
          "queue: at() past the end is NULL");

    sl_queue_pop(&q);
    sl_queue_pop(&q);
    sl_ok(t, q.len == 1 && sl_queue_is(&q, "a:3"), "queue: pop oldest");

    sl_transition(&tr, "c", SL_STATUS_LIVE, 4);
    rc = sl_queue_push(&q, &tr);
    sl_transition(&tr, "d", SL_STATUS_LIVE, 5);
    rc |= sl_queue_push(&q, &tr);
    sl_transition(&tr, "e", SL_STATUS_LIVE, 6);
    rc |= sl_queue_push(&q, &tr);

    sl_ok(t, rc == SL_OK && q.len == 4 && q.head == 2
          && sl_queue_is(&q, "a:3 c:4 d:5 e:6"),
          "queue: wraps around the storage");

    sl_queue_pop(&q);
    sl_queue_pop(&q);
    sl_queue_pop(&q);
    sl_ok(t, q.head == 1 && sl_queue_is(&q, "e:6"), "queue: pop wraps");

    sl_queue_pop(&q);
    sl_ok(t, q.len == 0 && q.merged == 0 && q.dropped == 0,
          "queue: drained, nothing lost");

    tr.channel_len = SL_CHANNEL_MAX + 1;
    sl_ok(t, sl_queue_push(&q, &tr) == SL_ERROR && q.len == 0,
          "queue: over-long channel refused");

    sl_queue_init(&q, NULL, 0);
    sl_transition(&tr, "a", SL_STATUS_LIVE, 1);
    sl_ok(t, sl_queue_push(&q, &tr) == SL_DECLINED && q.dropped == 1
          && q.len == 0,
          "queue: no storage, transition dropped");
}


void
test_queue_full(sl_tap_t *t)
{
    int              rc;
    sl_queue_t       q;
    sl_transition_t  items[4], tr;

    sl_queue_init(&q, items, 4);

    /* start away from slot 0 so that every removal crosses the wrap */
    sl_transition(&tr, "x", SL_STATUS_LIVE, 0);
    (void) sl_queue_push(&q, &tr);
    (void) sl_queue_push(&q, &tr);
    (void) sl_queue_push(&q, &tr);
    sl_queue_pop(&q);
    sl_queue_pop(&q);
    sl_queue_pop(&q);

    sl_transition(&tr, "a", SL_STATUS_LIVE, 1);
    (void) sl_queue_push(&q, &tr);
    sl_transition(&tr, "b", SL_STATUS_LIVE, 2);
    (void) sl_queue_push(&q, &tr);
    sl_transition(&tr, "a", SL_STATUS_IDLE, 3);
    (void) sl_queue_push(&q, &tr);
    sl_transition(&tr, "c", SL_STATUS_LIVE, 4);
    rc = sl_queue_push(&q, &tr);

    sl_ok(t, rc == SL_OK && q.len == 4 && sl_queue_is(&q, "a:1 b:2 a:3 c:4"),
          "queue full: filled");

    sl_transition(&tr, "d", SL_STATUS_LIVE, 5);
    rc = sl_queue_push(&q, &tr);
    sl_ok(t, rc == SL_DECLINED && q.merged == 1 && q.dropped == 0
          && sl_queue_is(&q, "b:2 a:3 c:4 d:5"),
          "queue full: superseded a:1 merged away");

    sl_transition(&tr, "c", SL_STATUS_IDLE, 6);
    rc = sl_queue_push(&q, &tr);
    sl_ok(t, rc == SL_DECLINED && q.merged == 2 && q.dropped == 0
          && sl_queue_is(&q, "b:2 a:3 d:5 c:6"),
          "queue full: merges with the transition being pushed");

    sl_transition(&tr, "e", SL_STATUS_LIVE, 7);
    rc = sl_queue_push(&q, &tr);
    sl_ok(t, rc == SL_DECLINED && q.merged == 2 && q.dropped == 1
          && sl_queue_is(&q, "a:3 d:5 c:6 e:7"),
          "queue full: no duplicate, oldest dropped and counted");

    sl_transition(&tr, "e", SL_STATUS_IDLE, 8);
    rc = sl_queue_push(&q, &tr);
    sl_ok(t, rc == SL_DECLINED && q.merged == 3 && q.dropped == 1
          && sl_queue_is(&q, "a:3 d:5 c:6 e:8"),
          "queue full: newest merged with its predecessor");

    sl_transition(&tr, "a", SL_STATUS_IDLE, 9);
    rc = sl_queue_push(&q, &tr);
    sl_ok(t, rc == SL_DECLINED && q.merged == 4
          && sl_queue_is(&q, "d:5 c:6 e:8 a:9"),
          "queue full: every channel keeps its final state");
}


/*
 * Random pushes and pops over fewer channels than slots: nothing is ever
 * dropped, order is preserved and each channel's last state is queued.
 */

void
test_queue_random(sl_tap_t *t)
{
    int              bad;
    char             name[2];
    size_t           i, j, k;
    int64_t          last[5], prev;
    uint32_t         rnd;
    sl_queue_t       q;
    sl_transition_t  items[8], tr, *it;

    sl_queue_init(&q, items, 8);

    for (k = 0; k < 5; k++) {
        last[k] = -1;
    }

    bad = 0;
    rnd = 12345;
    name[1] = '\0';

    for (i = 1; i <= 20000 && !bad; i++) {
        rnd = rnd * 1103515245 + 12345;
        k = (rnd >> 16) % 5;

        if ((rnd >> 8) % 4 == 0 && q.len > 0) {
            it = sl_queue_at(&q, 0);

            /* popped: that channel's state has been delivered */
            if (last[it->channel[0] - 'a'] == it->state.updated_ms) {
                last[it->channel[0] - 'a'] = -1;
            }

            sl_queue_pop(&q);
            continue;
        }

        name[0] = (char) ('a' + k);
        sl_transition(&tr, name, SL_STATUS_LIVE, (int64_t) i);
        (void) sl_queue_push(&q, &tr);
        last[k] = (int64_t) i;

        prev = 0;

        for (j = 0; j < q.len; j++) {
            it = sl_queue_at(&q, j);

            if (it->state.updated_ms <= prev) {
                bad = 1;
            }

            prev = it->state.updated_ms;
        }

        for (k = 0; k < 5; k++) {
            if (last[k] < 0) {
                continue;
            }

            for (j = 0; j < q.len; j++) {
                if (sl_queue_at(&q, j)->state.updated_ms == last[k]) {
                    break;
                }
            }

            if (j == q.len) {
                bad = 1;
            }
        }
    }

    sl_ok(t, !bad && q.dropped == 0 && q.merged > 0,
          "queue: 20000 random operations keep order and final states "
          "(%llu merged)", (unsigned long long) q.merged);
}


void
test_backoff(sl_tap_t *t)
{
    sl_ok(t, sl_backoff_ms(0, 30000) == 100, "backoff: first is 100 ms");
    sl_ok(t, sl_backoff_ms(1, 30000) == 200, "backoff: doubles");
    sl_ok(t, sl_backoff_ms(5, 30000) == 3200, "backoff: 5 failures");
    sl_ok(t, sl_backoff_ms(8, 30000) == 25600, "backoff: 8 failures");
    sl_ok(t, sl_backoff_ms(9, 30000) == 30000, "backoff: capped");
    sl_ok(t, sl_backoff_ms(4000000000U, 30000) == 30000,
          "backoff: huge attempt capped");
    sl_ok(t, sl_backoff_ms(200, INT64_MAX) == INT64_MAX,
          "backoff: no overflow under INT64_MAX");
    sl_ok(t, sl_backoff_ms(3, 50) == 50, "backoff: max below 100 ms");
    sl_ok(t, sl_backoff_ms(3, -5) == 0, "backoff: negative max");
}


void
test_cache(sl_tap_t *t)
{
    sl_state_t        st;
    sl_cache_t        c;
    sl_cache_entry_t  storage[3], *e, *a;

    memset(storage, 0x5a, sizeof(storage));

    sl_cache_init(&c, storage, 3);
    sl_ok(t, !storage[0].valid && !storage[2].valid, "cache: init clears");

    sl_ok(t, sl_cache_get(&c, sl_str("a"), 10) == NULL, "cache: miss");

    st.status = SL_STATUS_LIVE;
    st.updated_ms = 1000;

    a = sl_cache_put(&c, sl_str("a"), &st, 100);
    sl_ok(t, a != NULL && a->valid && a->channel_len == 1
          && strcmp((char *) a->channel, "a") == 0
          && a->state.updated_ms == 1000 && a->fetched_ms == 100
          && a->used_ms == 100,
          "cache: put");

    e = sl_cache_get(&c, sl_str("a"), 150);
    sl_ok(t, e == a && e->used_ms == 150 && e->fetched_ms == 100,
          "cache: get marks use, keeps fetch time");

    sl_ok(t, sl_cache_get(&c, sl_str("ab"), 150) == NULL
          && sl_cache_get(&c, sl_str("A"), 150) == NULL,
          "cache: exact names only");

    (void) sl_cache_put(&c, sl_str("b"), &st, 200);
    (void) sl_cache_put(&c, sl_str("c"), &st, 300);
    (void) sl_cache_get(&c, sl_str("a"), 400);

    st.status = SL_STATUS_IDLE;
    e = sl_cache_put(&c, sl_str("d"), &st, 500);

    sl_ok(t, e != NULL && sl_cache_get(&c, sl_str("b"), 600) == NULL
          && sl_cache_get(&c, sl_str("a"), 600) != NULL
          && sl_cache_get(&c, sl_str("c"), 600) != NULL
          && sl_cache_get(&c, sl_str("d"), 600) == e,
          "cache: least recently used evicted");

    st.updated_ms = 2000;
    e = sl_cache_put(&c, sl_str("a"), &st, 700);
    sl_ok(t, e == a && e->state.status == SL_STATUS_IDLE
          && e->state.updated_ms == 2000 && e->fetched_ms == 700
          && sl_cache_get(&c, sl_str("c"), 800) != NULL
          && sl_cache_get(&c, sl_str("d"), 800) != NULL,
          "cache: put replaces the channel's own entry");

    sl_ok(t, sl_cache_put(&c, sl_str(""), &st, 900) == NULL,
          "cache: empty name refused");

    sl_ok(t, sl_cache_put(&c, sl_str(A32 A32 "a"), &st, 900) == NULL,
          "cache: over-long name refused");

    sl_cache_clear(&c);
    sl_ok(t, sl_cache_get(&c, sl_str("a"), 1000) == NULL
          && sl_cache_get(&c, sl_str("c"), 1000) == NULL
          && sl_cache_get(&c, sl_str("d"), 1000) == NULL,
          "cache: clear forgets everything");

    e = sl_cache_put(&c, sl_str("z"), &st, 1100);
    sl_ok(t, e == &storage[0], "cache: free slot reused after clear");

    sl_cache_init(&c, NULL, 0);
    sl_ok(t, sl_cache_put(&c, sl_str("a"), &st, 1) == NULL
          && sl_cache_get(&c, sl_str("a"), 1) == NULL,
          "cache: no storage");
}
