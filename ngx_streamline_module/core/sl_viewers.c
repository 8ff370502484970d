
/*
 * Streamline core: the live viewer count's per-worker sets (sl_viewers.h).
 */


#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sl_viewers.h"


static const char  sl_viewers_hex[] = "0123456789abcdef";


uint64_t
sl_viewer_id(const unsigned char *addr, size_t len)
{
    int            i;
    uint64_t       id;
    unsigned char  hex[SL_DIGEST_HEX];

    if (sl_key_digest_hex(addr, len, hex) != SL_OK) {
        return 1;
    }

    id = 0;

    for (i = 0; i < SL_VIEWER_ID_HEX; i++) {
        id = (id << 4)
             | (uint64_t) (hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'a' + 10);
    }

    /* 0 marks an empty place in a set */
    return id ? id : 1;
}


void
sl_viewer_id_hex(uint64_t id, unsigned char *hex)
{
    int  i;

    for (i = SL_VIEWER_ID_HEX - 1; i >= 0; i--) {
        hex[i] = (unsigned char) sl_viewers_hex[id & 0x0f];
        id >>= 4;
    }
}


void
sl_viewers_init(sl_viewers_t *v)
{
    memset(v, 0, sizeof(sl_viewers_t));
}


int
sl_viewers_add(sl_viewers_t *v, const unsigned char *channel, size_t len,
    uint64_t id)
{
    size_t                 i, h;
    sl_viewers_channel_t  *c;

    if (!sl_channel_valid(channel, len) || id == 0) {
        return SL_ERROR;
    }

    c = NULL;

    for (i = 0; i < v->used; i++) {
        if (v->channels[i].channel_len == len
            && memcmp(v->channels[i].channel, channel, len) == 0)
        {
            c = &v->channels[i];
            break;
        }
    }

    if (c == NULL) {
        if (v->used == SL_VIEWERS_CHANNELS) {
            v->dropped++;
            return SL_DECLINED;
        }

        c = &v->channels[v->used++];
        memcpy(c->channel, channel, len);
        c->channel[len] = '\0';
        c->channel_len = len;
        c->n = 0;
        memset(c->ids, 0, sizeof(c->ids));
    }

    /* linear probing in a power-of-two table; ids are hashes already */
    h = (size_t) (id & (SL_VIEWERS_SET - 1));

    for (i = 0; i < SL_VIEWERS_SET; i++) {
        if (c->ids[h] == id) {
            return SL_OK;
        }

        if (c->ids[h] == 0) {
            break;
        }

        h = (h + 1) & (SL_VIEWERS_SET - 1);
    }

    if (c->n == SL_VIEWERS_SET) {
        v->dropped++;
        return SL_DECLINED;
    }

    c->ids[h] = id;
    c->n++;

    return c->n >= SL_VIEWERS_SET / 4 * 3 ? SL_AGAIN : SL_OK;
}


void
sl_viewers_clear(sl_viewers_t *v)
{
    size_t  i;

    for (i = 0; i < v->used; i++) {
        memset(v->channels[i].ids, 0, sizeof(v->channels[i].ids));
        v->channels[i].n = 0;
    }

    v->used = 0;
}


int64_t
sl_viewers_bucket(int64_t now_ms)
{
    return now_ms < 0 ? 0 : now_ms / SL_VIEWERS_BUCKET_MS;
}


size_t
sl_viewers_key(unsigned char *buf, size_t size, const unsigned char *prefix,
    size_t prefix_len, const unsigned char *channel, size_t len,
    int64_t bucket)
{
    int  n;

    if (size == 0 || prefix_len + len + sizeof("viewers::") > size) {
        return 0;
    }

    memcpy(buf, prefix, prefix_len);
    memcpy(buf + prefix_len, "viewers:", 8);
    memcpy(buf + prefix_len + 8, channel, len);

    n = snprintf((char *) buf + prefix_len + 8 + len,
                 size - prefix_len - 8 - len, ":%" PRId64, bucket);

    if (n < 0 || (size_t) n >= size - prefix_len - 8 - len) {
        return 0;
    }

    return prefix_len + 8 + len + (size_t) n;
}


int
sl_viewers_path_channel(const unsigned char *tail, size_t len,
    const unsigned char **channel, size_t *channel_len)
{
    size_t  i;

    if (len < 2 || tail[0] != '/') {
        return SL_DECLINED;
    }

    for (i = 1; i < len && tail[i] != '/'; i++) {
        /* void */
    }

    if (!sl_channel_valid(tail + 1, i - 1)) {
        return SL_DECLINED;
    }

    *channel = tail + 1;
    *channel_len = i - 1;

    return SL_OK;
}
