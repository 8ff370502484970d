/*
 * Streamline: declarations shared by the nginx glue (core module, Redis
 * client, RTMP hooks, HTTP handlers).  Not HTTP's: those are in
 * ngx_http_streamline.h; the media side's are in ngx_streamline_store.h
 * and ngx_streamline_packager.h.
 */

#ifndef NGX_STREAMLINE_H
#define NGX_STREAMLINE_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "core/sl_core.h"
#include "core/sl_pipeline.h"
#include "core/sl_metrics.h"


#define NGX_STREAMLINE_CACHE_SIZE  1024


/* a TCP address resolved at configuration time */
typedef struct {
    ngx_str_t                 name;         /* as written, for messages */
    ngx_str_t                 host;         /* numeric address, NUL ended */
    in_port_t                 port;
} ngx_streamline_addr_t;


typedef struct {
    ngx_str_t                 redis;        /* as written, for messages */
    /*
     * Numeric address, NUL ended.  With sentinels, a buffer of
     * NGX_SOCKADDR_STRLEN + 1 bytes in which a worker writes the master
     * it was told of (empty until then).
     */
    ngx_str_t                 redis_host;
    in_port_t                 redis_port;
    ngx_str_t                 redis_unix;   /* NUL ended, or empty */
    ngx_array_t              *sentinels;    /* of ngx_streamline_addr_t,
                                               or NULL */
    ngx_str_t                 sentinel_master;  /* its name, NUL ended */
    ngx_msec_t                redis_timeout;
    ngx_str_t                 prefix;
    ngx_str_t                 origin;       /* streamline_origin_address,
                                               or empty */
    ngx_msec_t                state_ttl;
    ngx_uint_t                queue_size;
    size_t                    media_zone_size;
    ngx_shm_zone_t           *media_zone;
    ngx_array_t              *media_paths;  /* of ngx_str_t, NUL ended */
    ngx_fd_t                  media_notify; /* eventfd, with media_zone */
    ngx_shm_zone_t           *metrics_zone; /* the first
                                               streamline_metrics */
    ngx_shm_zone_t           *meta_zone;    /* streamline_metadata, or
                                               NULL */
    ngx_uint_t                redis_needed; /* streamline_redis, an API
                                               location or an RTMP
                                               application with streamline
                                               on: else no connection (an
                                               edge with streamline_collapse
                                               only) */
} ngx_streamline_main_conf_t;


/* the result of a publish claim */
typedef enum {
    NGX_STREAMLINE_CLAIM_OK = 0,
    NGX_STREAMLINE_CLAIM_UNKNOWN_KEY,
    NGX_STREAMLINE_CLAIM_BUSY,
    NGX_STREAMLINE_CLAIM_UNAVAILABLE
} ngx_streamline_claim_e;


typedef struct ngx_streamline_claim_s  ngx_streamline_claim_t;

typedef void (*ngx_streamline_claim_pt)(ngx_streamline_claim_t *cl);

/*
 * A publish claim in flight.  Allocated with ngx_alloc (not from the
 * session pool) because the reply may come after the session is gone:
 * the session clears "data" when it closes, the Redis client frees the
 * claim after calling handler.
 */
struct ngx_streamline_claim_s {
    ngx_streamline_claim_pt   handler;
    void                     *data;
    ngx_streamline_claim_e    result;
    u_char                    channel[SL_CHANNEL_MAX + 1];
    size_t                    channel_len;
    u_char                    owner[SL_OWNER_MAX];
    size_t                    owner_len;
    /* a dead process's token that a second try replaces, or empty */
    u_char                    dead[SL_OWNER_MAX];
    size_t                    dead_len;
    /* BUSY: the lock's token and the origin in the holder's state */
    u_char                    holder[SL_OWNER_MAX];
    size_t                    holder_len;
    u_char                    holder_origin[SL_ORIGIN_MAX + 1];
    size_t                    holder_origin_len;
    ngx_log_t                *log;
};


/* a state read in flight; same lifetime rules as a claim */
typedef struct ngx_streamline_read_s  ngx_streamline_read_t;

typedef void (*ngx_streamline_read_pt)(ngx_streamline_read_t *rd);

struct ngx_streamline_read_s {
    ngx_streamline_read_pt    handler;
    void                     *data;
    ngx_int_t                 rc;           /* NGX_OK or NGX_ERROR */
    sl_state_t                state;
    u_char                    channel[SL_CHANNEL_MAX + 1];
    size_t                    channel_len;
};


extern ngx_module_t  ngx_streamline_module;


ngx_int_t ngx_streamline_init_process(ngx_cycle_t *cycle);
void ngx_streamline_exit_process(ngx_cycle_t *cycle);

ngx_int_t ngx_streamline_redis_init(ngx_cycle_t *cycle,
    ngx_streamline_main_conf_t *smcf);
void ngx_streamline_redis_exit(ngx_cycle_t *cycle);
ngx_uint_t ngx_streamline_redis_connected(void);
/* connected, and a command was answered since */
ngx_uint_t ngx_streamline_redis_healthy(void);
ngx_uint_t ngx_streamline_redis_subscribed(void);

/*
 * Claims the channel of a key for a publisher: looks the key digest up
 * (unless channel is given, from a keys file) and takes the channel's owner
 * lock.  cl->handler is called later, from the event loop, once.
 */
ngx_int_t ngx_streamline_redis_claim(ngx_streamline_claim_t *cl,
    const u_char *digest, ngx_uint_t lookup);
void ngx_streamline_redis_release(const u_char *channel, size_t len,
    const u_char *owner, size_t owner_len);

/*
 * Queues a transition, written in order while or once Redis is up.  A
 * live one records this origin's streamline_origin_address.  With an
 * owner token, it is written only while the channel's lock is free or
 * still that token's: a publisher that took the channel over elsewhere
 * (this origin was cut off for longer than the TTL) is not undone.
 */
void ngx_streamline_redis_transition(const u_char *channel, size_t len,
    sl_status_e status, int64_t now_ms, const u_char *owner,
    size_t owner_len);

/* live channels of this worker, renewed by the heartbeat */
ngx_int_t ngx_streamline_live_add(const u_char *channel, size_t len,
    const u_char *owner, size_t owner_len, int64_t updated_ms);
void ngx_streamline_live_remove(const u_char *channel, size_t len);
ngx_uint_t ngx_streamline_live_has(const u_char *channel, size_t len);

ngx_int_t ngx_streamline_redis_read(ngx_streamline_read_t *rd,
    const u_char *channel, size_t len);

/* the per-worker state cache, shared by the RTMP and HTTP sides */
sl_cache_t *ngx_streamline_cache(void);

/* at configuration: this configuration talks to Redis */
void ngx_streamline_needs_redis(ngx_conf_t *cf);
int64_t ngx_streamline_now_ms(void);

/*
 * Owner tokens (core/sl_owner.c) of this worker's publishes, and whether
 * the process that wrote one is gone: a token of this host whose process
 * is dead (or whose pid another process took) may be taken over at once.
 */
size_t ngx_streamline_owner(u_char *buf, ngx_uint_t conn);
ngx_uint_t ngx_streamline_owner_gone(const u_char *owner, size_t len);
/* a token of this very process */
ngx_uint_t ngx_streamline_owner_self(const u_char *owner, size_t len);
ngx_uint_t ngx_streamline_process_gone(ngx_pid_t pid, uint64_t start);
uint64_t ngx_streamline_process_start(void);

/* a worker that stops for good: its publishing sessions end */
void ngx_rtmp_streamline_drop_publishers(ngx_cycle_t *cycle,
    ngx_uint_t at_exit);
/* the session of this worker that publishes the channel with that owner
 * token ends (another publisher took the channel over) */
void ngx_rtmp_streamline_drop_channel(const u_char *channel, size_t len,
    const u_char *owner, size_t owner_len);

/* the pipeline threads' log lines, for the event loop to log */
void ngx_streamline_thread_log_init(ngx_cycle_t *cycle);
void ngx_streamline_thread_log(ngx_uint_t level, const char *fmt, ...);
void ngx_streamline_thread_log_flush(void);

/*
 * The metrics (ngx_streamline_metrics.c): NULL (and nothing counted)
 * without a streamline_metrics location.  Channel and rendition slots
 * are taken under the zone's lock (a publish, not a hot path).
 */
void ngx_streamline_metrics_init_process(ngx_cycle_t *cycle);
void ngx_streamline_metrics_exit_process(ngx_cycle_t *cycle);
sl_metrics_t *ngx_streamline_metrics(void);
sl_metrics_worker_t *ngx_streamline_metrics_worker(void);
sl_metrics_channel_t *ngx_streamline_metrics_channel(const u_char *name,
    size_t len);
sl_metrics_rendition_t *ngx_streamline_metrics_rendition(
    sl_metrics_channel_t *c, const char *name);
void ngx_streamline_metrics_live(sl_metrics_channel_t *c, ngx_uint_t live);
void ngx_streamline_metrics_refused(sl_refused_e reason);
/* CLOCK_MONOTONIC, µs: the same clock in every process and thread */
uint64_t ngx_streamline_metrics_now_us(void);
/* this worker's held requests now */
void ngx_streamline_metrics_held(ngx_uint_t n);

#endif /* NGX_STREAMLINE_H */
