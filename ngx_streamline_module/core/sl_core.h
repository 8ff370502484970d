/*
 * Streamline core: pure C, no nginx headers.  Channel names, stream keys,
 * stream state and its JSON, the bounded queue of state transitions kept
 * while Redis is away, and the per-worker state cache; with it, the
 * names of a channel's files (sl_naming.h).  The nginx glue (ngx_*.c)
 * calls these; t/ and core/test/ test them without nginx.
 */

#ifndef SL_CORE_H
#define SL_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "sl_naming.h"


#define SL_OK         0
#define SL_ERROR     -1
#define SL_AGAIN     -2
#define SL_DECLINED  -5


/* channel names: 1..64 bytes of [A-Za-z0-9_-] */

#define SL_CHANNEL_MAX  64

int sl_channel_valid(const unsigned char *name, size_t len);

/*
 * The part of an API URI after the location prefix: "" or "/" selects the
 * default channel (*len = 0), "/<channel>" (one optional trailing "/")
 * selects a channel.  Anything else (more path levels, "..", bad bytes,
 * over-long names) is SL_ERROR and *err says why, for a 400 body.
 */
int sl_api_path_channel(const unsigned char *tail, size_t tail_len,
    const unsigned char **channel, size_t *len, const char **err);


/*
 * LL-HLS requests: the part of the URI after the streamline_hls location
 * (it starts with "/") and the query string.
 */

typedef enum {
    SL_HLS_OTHER = 0,          /* not a playlist nor a part: static files */
    SL_HLS_MASTER,             /* /<channel>/master.m3u8 */
    SL_HLS_MEDIA,              /* /<channel>/<rendition>/index.m3u8 */
    SL_HLS_PART,               /* /<channel>/<rendition>/part-<msn>.<i>.m4s */
    SL_HLS_PREVIEWS            /* /<channel>/previews.vtt */
} sl_hls_kind_e;

/* decimal numbers in part names and _HLS_msn: at most this many digits */
#define SL_HLS_MSN_DIGITS   18
#define SL_HLS_PART_DIGITS  9

typedef struct {
    sl_hls_kind_e          kind;
    const unsigned char   *channel;      /* in the path; valid names */
    size_t                 channel_len;
    const unsigned char   *rendition;    /* MEDIA and PART */
    size_t                 rendition_len;
    uint64_t               msn;          /* PART */
    uint64_t               part;
} sl_hls_path_t;

/*
 * What a path under the location names.  A part name is the one the
 * playlists write: numbers without leading zeros.  Anything else, bad
 * names included, is SL_HLS_OTHER (the static module answers it, 404).
 */
void sl_hls_path(const unsigned char *tail, size_t len, sl_hls_path_t *p);

typedef struct {
    int64_t                msn;          /* _HLS_msn, -1: none */
    int64_t                part;         /* _HLS_part, -1: none */
    unsigned               skip:1;       /* _HLS_skip=YES or v2 */
} sl_hls_query_t;

/*
 * The _HLS_ arguments of a media playlist request's query string (after
 * the '?'; other arguments are ignored, names compared without case, the
 * first of a name counts): _HLS_msn and _HLS_part are decimal numbers,
 * _HLS_part needs _HLS_msn, _HLS_skip is YES or v2.  SL_ERROR with *err
 * (static) otherwise: the request is a 400.
 */
int sl_hls_query(const unsigned char *args, size_t len, sl_hls_query_t *q,
    const char **err);


/*
 * H.264: the picture size (after cropping) that the first SPS of an
 * AVCDecoderConfigurationRecord (an RTMP sequence header's payload)
 * states.  SL_ERROR if it cannot be read.
 */
int sl_avc_size(const uint8_t *avcc, size_t len, int *width, int *height);


/* stream keys: stored and compared as lowercase hex SHA-256 digests */

#define SL_KEY_MIN      8
#define SL_KEY_MAX      256
#define SL_DIGEST_HEX   64

/* a key OBS may send: SL_KEY_MIN..SL_KEY_MAX bytes of printable ASCII,
 * no space, '/', '?', '&', '#' or '%' */
int sl_key_valid(const unsigned char *key, size_t len);

/* hex must have room for SL_DIGEST_HEX bytes; not NUL terminated */
int sl_key_digest_hex(const unsigned char *key, size_t len,
    unsigned char *hex);

/* constant time for equal lengths; different lengths are unequal */
int sl_secret_equal(const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen);

typedef struct {
    unsigned char  digest[SL_DIGEST_HEX];
    unsigned char  channel[SL_CHANNEL_MAX + 1];  /* NUL terminated */
    size_t         channel_len;
    size_t         line;                         /* in the keys file */
} sl_key_entry_t;

/*
 * How many entries a keys file may hold at most (its lines that are
 * neither blank nor comments): the caller allocates that many, not the
 * largest number a file may have.
 */
size_t sl_keyfile_count(const unsigned char *buf, size_t len);

/*
 * Keys file: one "<sha256 hex> <channel>" per line, '#' comments, blank
 * lines ignored, hex case-insensitive (stored lowercase).  At most max
 * entries, sorted by digest (a lookup compares them all anyway).  Takes
 * n log n for n keys.  On error returns SL_ERROR, *err_line is the
 * 1-based line and *err the reason.
 */
int sl_keyfile_parse(const unsigned char *buf, size_t len,
    sl_key_entry_t *entries, size_t max, size_t *n,
    size_t *err_line, const char **err);

/* compares hex against every entry in constant time; NULL if none */
const sl_key_entry_t *sl_keyfile_lookup(const sl_key_entry_t *entries,
    size_t n, const unsigned char *hex);


/* stream state */

typedef enum {
    SL_STATUS_IDLE = 0,
    SL_STATUS_LIVE
} sl_status_e;

/*
 * Where the origin that holds a live channel serves its HTTP side, as it
 * is configured (streamline_origin_address): "10.0.0.5:8080", "[::1]:80",
 * "origin-a" (an upstream name at the edges).  1 to SL_ORIGIN_MAX bytes of
 * A-Z a-z 0-9 . - _ : [ ]: what proxy_pass takes after "http://", and
 * nothing that would need escaping in JSON or a log line.
 */
#define SL_ORIGIN_MAX  255

int sl_origin_valid(const unsigned char *s, size_t len);

typedef struct {
    sl_status_e    status;
    int64_t        updated_ms;   /* ms since the epoch, -1: never */
    size_t         origin_len;   /* 0: no origin recorded */
    unsigned char  origin[SL_ORIGIN_MAX + 1];   /* NUL ended */
    int64_t        viewers;      /* read with SL_STATE_JSON_VIEWERS only */
} sl_state_t;

#define SL_ISO8601_LEN  24       /* "2026-11-26T01:54:26.123Z" */

/* writes SL_ISO8601_LEN bytes (no NUL); SL_ERROR if out of range */
int sl_iso8601_ms(int64_t ms, unsigned char *buf);
/* accepts exactly the form above; SL_ERROR otherwise */
int sl_iso8601_parse(const unsigned char *s, size_t len, int64_t *ms);

/*
 * JSON text of a state: {"status":"live","updatedAt":"..."} with
 * "updatedAt":null when updated_ms < 0; "channel" first when channel is not
 * NULL; "origin" (with SL_STATE_JSON_ORIGIN, when the state has one) after
 * "updatedAt"; "viewers" (SL_STATE_JSON_VIEWERS) next; "stale":true last
 * with SL_STATE_JSON_STALE.  The origin goes
 * to Redis and to the edges, not to the public API.  Returns the length
 * written (no NUL), or SL_ERROR when size is too small.  SL_STATE_JSON_MAX
 * always suffices.
 */
#define SL_STATE_JSON_MAX     (192 + 12 + SL_ORIGIN_MAX)

#define SL_STATE_JSON_STALE    0x01
#define SL_STATE_JSON_ORIGIN   0x02
#define SL_STATE_JSON_VIEWERS  0x04   /* "viewers" after "updatedAt", when
                                         st->viewers >= 0 */

int sl_state_json(const sl_state_t *st, const unsigned char *channel,
    size_t channel_len, unsigned flags, unsigned char *buf, size_t size);

/*
 * Parses a state written by sl_state_json (or by another program: other
 * fields are ignored).  "status" must be "live" or "idle"; "updatedAt" an
 * ISO-8601 string as above or null; "origin", if there, a string that
 * sl_origin_valid accepts (st->origin_len is 0 without one).  When
 * channel is not NULL, a "channel" member is required, must be a valid
 * channel name, and is copied there (NUL terminated, room for
 * SL_CHANNEL_MAX + 1) with its length in *channel_len.
 */
int sl_state_parse(const unsigned char *json, size_t len, sl_state_t *st,
    unsigned char *channel, size_t *channel_len);


/*
 * Owner tokens of publish locks: "<host>:<pid>:<start>:<conn>:<ms>", the
 * start being the process's start time (clock ticks after boot, as
 * /proc/<pid>/stat gives it; 0: unknown), so that a process whose pid was
 * given to another is still known to be gone.  conn and ms make the token
 * unique per publish.  The host is cut at SL_OWNER_HOST_MAX bytes.
 */

#define SL_OWNER_HOST_MAX  255
#define SL_OWNER_MAX       (SL_OWNER_HOST_MAX + 4 * 21 + 1)   /* with NUL */


/* transitions kept, in order, while Redis is unreachable */

typedef struct {
    unsigned char  channel[SL_CHANNEL_MAX + 1];
    size_t         channel_len;
    sl_state_t     state;
    /* the publisher's owner token: written only while the channel's lock
     * is free or still this token's (a takeover elsewhere wins); empty:
     * written whoever holds the lock */
    unsigned char  owner[SL_OWNER_MAX];
    size_t         owner_len;
} sl_transition_t;

typedef struct {
    sl_transition_t  *items;
    size_t            cap;
    size_t            head;
    size_t            len;
    uint64_t          merged;    /* transitions dropped because the queue
                                    was full and a later one of the same
                                    channel was queued */
    uint64_t          dropped;   /* transitions lost outright */
} sl_queue_t;

void sl_queue_init(sl_queue_t *q, sl_transition_t *storage, size_t cap);

/*
 * Appends t.  When the queue is full, first drops the oldest transition
 * whose channel has a later one queued (the final state of every channel
 * is kept; q->merged counts it) and returns SL_DECLINED; failing that,
 * drops the oldest transition (q->dropped) and returns SL_DECLINED.
 */
int sl_queue_push(sl_queue_t *q, const sl_transition_t *t);
/* i-th oldest, NULL past the end */
sl_transition_t *sl_queue_at(sl_queue_t *q, size_t i);
void sl_queue_pop(sl_queue_t *q);

/* reconnect delay: 100 ms doubling per failed attempt, at most max_ms */
int64_t sl_backoff_ms(unsigned attempt, int64_t max_ms);


/* per-worker cache of channel states, fixed size, least recently used out */

typedef struct {
    unsigned char  channel[SL_CHANNEL_MAX + 1];
    size_t         channel_len;
    sl_state_t     state;
    int64_t        fetched_ms;   /* when the state was read or pushed */
    int64_t        used_ms;      /* last lookup, for eviction */
    unsigned       valid:1;
} sl_cache_entry_t;

typedef struct {
    sl_cache_entry_t  *entries;
    size_t             n;
} sl_cache_t;

void sl_cache_init(sl_cache_t *c, sl_cache_entry_t *storage, size_t n);
/* the entry of a channel, or NULL */
sl_cache_entry_t *sl_cache_get(sl_cache_t *c, const unsigned char *channel,
    size_t len, int64_t now_ms);
/* stores a state (replacing the channel's entry or the least recently
 * used one) and returns the entry */
sl_cache_entry_t *sl_cache_put(sl_cache_t *c, const unsigned char *channel,
    size_t len, const sl_state_t *st, int64_t now_ms);
/* forgets every entry (after a missed pub/sub window) */
void sl_cache_clear(sl_cache_t *c);



typedef struct {
    const unsigned char  *host;
    size_t                host_len;
    uint64_t              pid;
    uint64_t              start;
} sl_owner_t;

/* writes the NUL-ended token into buf (SL_OWNER_MAX bytes): its length */
size_t sl_owner_format(unsigned char *buf, const sl_owner_t *o,
    uint64_t conn, uint64_t ms);
/* o->host points into s */
int sl_owner_parse(const unsigned char *s, size_t len, sl_owner_t *o);
/* the state letter and the start time (field 22) of a /proc/<pid>/stat */
int sl_proc_stat_parse(const unsigned char *buf, size_t len, char *state,
    uint64_t *start);

#endif /* SL_CORE_H */
