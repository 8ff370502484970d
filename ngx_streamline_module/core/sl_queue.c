
/*
 * Streamline core: the bounded queue of state transitions kept while Redis
 * is unreachable, and the reconnect backoff.
 */


#include <string.h>

#include "sl_core.h"


#define SL_BACKOFF_FIRST_MS  100


static int sl_same_channel(const sl_transition_t *a,
    const sl_transition_t *b);
static size_t sl_queue_find_merge(sl_queue_t *q, const sl_transition_t *t);
static void sl_queue_remove(sl_queue_t *q, size_t i);


void
sl_queue_init(sl_queue_t *q, sl_transition_t *storage, size_t cap)
{
    q->items = storage;
    q->cap = cap;
    q->head = 0;
    q->len = 0;
    q->merged = 0;
    q->dropped = 0;
}


int
sl_queue_push(sl_queue_t *q, const sl_transition_t *t)
{
    int     rc;
    size_t  i;

    if (t->channel_len > SL_CHANNEL_MAX) {
        return SL_ERROR;
    }

    if (q->cap == 0) {
        q->dropped++;
        return SL_DECLINED;
    }

    rc = SL_OK;

    if (q->len == q->cap) {
        i = sl_queue_find_merge(q, t);

        if (i < q->len) {
            q->merged++;

        } else {
            i = 0;
            q->dropped++;
        }

        sl_queue_remove(q, i);
        rc = SL_DECLINED;
    }

    q->items[(q->head + q->len) % q->cap] = *t;
    q->len++;

    return rc;
}


sl_transition_t *
sl_queue_at(sl_queue_t *q, size_t i)
{
    if (i >= q->len) {
        return NULL;
    }

    return &q->items[(q->head + i) % q->cap];
}


void
sl_queue_pop(sl_queue_t *q)
{
    if (q->len == 0) {
        return;
    }

    q->head = (q->head + 1) % q->cap;
    q->len--;
}


/*
 * The position of the oldest transition whose channel has a later one,
 * counting t that is about to be appended; q->len if there is none.
 */

static size_t
sl_queue_find_merge(sl_queue_t *q, const sl_transition_t *t)
{
    size_t            i, j;
    sl_transition_t  *a;

    for (i = 0; i < q->len; i++) {
        a = sl_queue_at(q, i);

        if (sl_same_channel(a, t)) {
            return i;
        }

        for (j = i + 1; j < q->len; j++) {
            if (sl_same_channel(a, sl_queue_at(q, j))) {
                return i;
            }
        }
    }

    return q->len;
}


/* moves the transitions older than i up by one, keeping the order */

static void
sl_queue_remove(sl_queue_t *q, size_t i)
{
    for ( /* void */ ; i > 0; i--) {
        *sl_queue_at(q, i) = *sl_queue_at(q, i - 1);
    }

    q->head = (q->head + 1) % q->cap;
    q->len--;
}


static int
sl_same_channel(const sl_transition_t *a, const sl_transition_t *b)
{
    return a->channel_len == b->channel_len
           && memcmp(a->channel, b->channel, a->channel_len) == 0;
}


int64_t
sl_backoff_ms(unsigned attempt, int64_t max_ms)
{
    int64_t  ms;

    if (max_ms < SL_BACKOFF_FIRST_MS) {
        return (max_ms < 0) ? 0 : max_ms;
    }

    ms = SL_BACKOFF_FIRST_MS;

    while (attempt-- > 0 && ms < max_ms) {
        /* checked before doubling, so a huge max_ms cannot overflow */
        if (ms > max_ms / 2) {
            return max_ms;
        }

        ms *= 2;
    }

    return ms;
}
