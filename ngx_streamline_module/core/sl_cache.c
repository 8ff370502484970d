
/*
 * Streamline core: the per-worker cache of channel states.  It holds a few
 * channels, so a linear search beats any index.
 */


#include <string.h>

#include "sl_core.h"


static sl_cache_entry_t *sl_cache_find(sl_cache_t *c,
    const unsigned char *channel, size_t len);


void
sl_cache_init(sl_cache_t *c, sl_cache_entry_t *storage, size_t n)
{
    c->entries = storage;
    c->n = n;

    sl_cache_clear(c);
}


sl_cache_entry_t *
sl_cache_get(sl_cache_t *c, const unsigned char *channel, size_t len,
    int64_t now_ms)
{
    sl_cache_entry_t  *e;

    e = sl_cache_find(c, channel, len);

    if (e != NULL) {
        e->used_ms = now_ms;
    }

    return e;
}


sl_cache_entry_t *
sl_cache_put(sl_cache_t *c, const unsigned char *channel, size_t len,
    const sl_state_t *st, int64_t now_ms)
{
    size_t             i;
    sl_cache_entry_t  *e, *victim;

    if (len == 0 || len > SL_CHANNEL_MAX || c->n == 0) {
        return NULL;
    }

    e = sl_cache_find(c, channel, len);

    if (e == NULL) {
        victim = &c->entries[0];

        for (i = 0; i < c->n; i++) {
            e = &c->entries[i];

            if (!e->valid) {
                victim = e;
                break;
            }

            if (e->used_ms < victim->used_ms) {
                victim = e;
            }
        }

        e = victim;

        memcpy(e->channel, channel, len);
        e->channel[len] = '\0';
        e->channel_len = len;
        e->valid = 1;
    }

    e->state = *st;
    e->fetched_ms = now_ms;
    e->used_ms = now_ms;

    return e;
}


void
sl_cache_clear(sl_cache_t *c)
{
    size_t  i;

    for (i = 0; i < c->n; i++) {
        memset(&c->entries[i], 0, sizeof(sl_cache_entry_t));
    }
}


static sl_cache_entry_t *
sl_cache_find(sl_cache_t *c, const unsigned char *channel, size_t len)
{
    size_t             i;
    sl_cache_entry_t  *e;

    for (i = 0; i < c->n; i++) {
        e = &c->entries[i];

        if (e->valid
            && e->channel_len == len
            && memcmp(e->channel, channel, len) == 0)
        {
            return e;
        }
    }

    return NULL;
}
