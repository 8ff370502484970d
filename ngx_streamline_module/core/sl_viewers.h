/*
 * Streamline core: the live viewer count.
 *
 * Where playlists are served (origins, edges), each worker notes the
 * distinct viewers of each channel in a small set, and hands the set to
 * Redis every second as one PFADD into the channel's HyperLogLog of the
 * current 10-second bucket.  The count is a PFCOUNT over the last
 * SL_VIEWERS_WINDOW buckets (30 to 40 seconds): distinct viewers across
 * every node, approximate (HyperLogLog: 0.81 % standard error).
 *
 * A viewer is its address (after nginx's realip module, where the operator
 * trusts a proxy), reduced to the first 64 bits of its SHA-256: no address
 * leaves the node, and Redis's HyperLogLog keeps only register maxima, no
 * element.
 */

#ifndef SL_VIEWERS_H
#define SL_VIEWERS_H

#include "sl_core.h"


#define SL_VIEWERS_BUCKET_MS  10000
#define SL_VIEWERS_WINDOW     4          /* buckets counted */
#define SL_VIEWERS_TTL_S      (SL_VIEWERS_BUCKET_MS / 1000 \
                               * (SL_VIEWERS_WINDOW + 2))
#define SL_VIEWERS_SET        1024       /* distinct viewers a channel and
                                            second, per worker */
#define SL_VIEWERS_CHANNELS   64         /* channels a second, per worker */
#define SL_VIEWER_ID_HEX      16


typedef struct {
    unsigned char  channel[SL_CHANNEL_MAX + 1];
    size_t         channel_len;
    size_t         n;
    uint64_t       ids[SL_VIEWERS_SET];  /* open addressing; 0: empty */
} sl_viewers_channel_t;

typedef struct {
    sl_viewers_channel_t  channels[SL_VIEWERS_CHANNELS];
    size_t                used;
    uint64_t              dropped;       /* not noted: no room */
} sl_viewers_t;


/* the viewer's id: the first 64 bits of the address's SHA-256, never 0 */
uint64_t sl_viewer_id(const unsigned char *addr, size_t len);
/* the id as SL_VIEWER_ID_HEX lowercase hex digits (no NUL) */
void sl_viewer_id_hex(uint64_t id, unsigned char *hex);

void sl_viewers_init(sl_viewers_t *v);
/*
 * Notes a viewer of a channel.  SL_OK: noted (or noted before);
 * SL_AGAIN: noted, and the channel's set is three quarters full (hand the
 * sets over now); SL_DECLINED: no room (a full set, or too many channels),
 * counted in v->dropped; SL_ERROR: not a channel name.
 */
int sl_viewers_add(sl_viewers_t *v, const unsigned char *channel,
    size_t len, uint64_t id);
/* forgets every set (after they were handed over) */
void sl_viewers_clear(sl_viewers_t *v);

/* the bucket of a time */
int64_t sl_viewers_bucket(int64_t now_ms);
/* "<prefix>viewers:<channel>:<bucket>", NUL ended: its length, or 0 if
 * size is too small */
size_t sl_viewers_key(unsigned char *buf, size_t size,
    const unsigned char *prefix, size_t prefix_len,
    const unsigned char *channel, size_t len, int64_t bucket);

/* the channel of an HLS path "/<channel>/...": SL_OK, or SL_DECLINED */
int sl_viewers_path_channel(const unsigned char *tail, size_t len,
    const unsigned char **channel, size_t *channel_len);

#endif /* SL_VIEWERS_H */
