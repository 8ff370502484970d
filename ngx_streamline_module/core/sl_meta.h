/*
 * Streamline core: timed metadata.  A POST's body becomes an
 * EXT-X-DATERANGE tag of every rendition's media playlist:
 *
 *   #EXT-X-DATERANGE:ID="<ms>-<seq>",CLASS="com.streamline.metadata",
 *   START-DATE="<ISO-8601>",X-STREAMLINE-DATA=0x<hex of the body>
 *
 * (one line).  A channel keeps its last SL_META_ENTRIES tags in a ring
 * (the oldest dropped) that lives in shared memory: no pointers, so any
 * process reads it at any address.  The caller locks; nothing here does.
 */

#ifndef SL_META_H
#define SL_META_H

#include <stddef.h>
#include <stdint.h>

#include "sl_core.h"
#include "sl_media.h"


#define SL_META_BODY_MAX   1024           /* bytes of a body */
#define SL_META_ENTRIES    64             /* tags a channel keeps */
#define SL_META_RATE       5              /* POSTs accepted ... */
#define SL_META_RATE_MS    1000           /* ... in any such interval */
#define SL_META_CLASS      "com.streamline.metadata"
#define SL_META_ATTR       "X-STREAMLINE-DATA"
#define SL_META_ID_MAX     48

/* the longest tag: its fixed text, an ID, a date and the hex body */
#define SL_META_TAG_MAX                                                    \
    (sizeof("#EXT-X-DATERANGE:ID=\"\",CLASS=\"" SL_META_CLASS              \
            "\",START-DATE=\"\"," SL_META_ATTR "=0x\n")                    \
     + SL_META_ID_MAX + SL_ISO8601_LEN + 2 * SL_META_BODY_MAX)


typedef struct {
    int64_t         start_ms;        /* START-DATE */
    uint32_t        len;             /* of tag, with its newline */
    unsigned char   tag[SL_META_TAG_MAX];
} sl_meta_entry_t;

typedef struct {
    unsigned char    channel[SL_CHANNEL_MAX + 1];
    size_t           channel_len;
    uint64_t         seq;            /* tags ever added */
    int64_t          last_ms;        /* when the last was added */
    int64_t          accepted_ms[SL_META_RATE];   /* the last accepted */
    uint32_t         rate_next;      /* the oldest of them */
    uint32_t         head;           /* the oldest tag */
    uint32_t         count;
    sl_meta_entry_t  e[SL_META_ENTRIES];
} sl_meta_ring_t;


void sl_meta_ring_init(sl_meta_ring_t *m, const unsigned char *channel,
    size_t len);

/* a body the API accepts: 1 to SL_META_BODY_MAX bytes, any bytes */
int sl_meta_body_valid(size_t len);

/*
 * The API path after the location: "/<channel>/metadata".  SL_OK with
 * the channel; SL_DECLINED when the path does not end in "/metadata"
 * after a channel level (not a metadata request: "/metadata" alone is
 * the state of the channel "metadata"); SL_ERROR for a bad channel.
 */
int sl_meta_path(const unsigned char *tail, size_t len,
    const unsigned char **channel, size_t *channel_len);

/* "Bearer <token>" (scheme in any case): SL_OK and the token */
int sl_meta_bearer(const unsigned char *h, size_t len,
    const unsigned char **token, size_t *token_len);

/*
 * The START-DATE of a POST at now_ms: within the part being written, which
 * began at edge_ms (the end of the last part listed) and is part_ms long
 * at most: now, kept within [edge_ms, edge_ms + part_ms).  edge_ms < 0
 * (unknown): now.
 */
int64_t sl_meta_start(int64_t now_ms, int64_t edge_ms, uint32_t part_ms);

/*
 * The rate limit: SL_OK (and counted) when fewer than SL_META_RATE POSTs
 * were accepted in the SL_META_RATE_MS before now_ms; SL_DECLINED else.
 */
int sl_meta_rate(sl_meta_ring_t *m, int64_t now_ms);

/*
 * Adds the tag of a body (sl_meta_body_valid) starting at start_ms; the
 * oldest tag goes when the ring is full.  Writes its ID, NUL ended, to id
 * (SL_META_ID_MAX bytes).  SL_ERROR on a bad body or date.
 */
int sl_meta_add(sl_meta_ring_t *m, int64_t start_ms, int64_t now_ms,
    const unsigned char *data, size_t len, char *id);

/* the tags, oldest first, into out (SL_META_ENTRIES); returns how many */
size_t sl_meta_copy(const sl_meta_ring_t *m, sl_meta_entry_t *out);

/* what the playlist renderer takes (sl_hls_opts_t.dateranges) */
size_t sl_meta_dateranges(const sl_meta_entry_t *e, size_t n,
    sl_hls_daterange_t *out);

#endif /* SL_META_H */
