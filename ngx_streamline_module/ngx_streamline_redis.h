/*
 * The Redis client's own declarations, shared by its files and by nothing
 * else: ngx_streamline_redis.c (the connections, sending a command),
 * ngx_streamline_redis_state.c (the transition queue, the live channels
 * and their heartbeat), ngx_streamline_redis_claim.c (publish claims,
 * releases, state reads and events) and ngx_streamline_redis_sentinel.c
 * (the master, from Redis Sentinel).  The rest of the module sees the
 * client through ngx_streamline.h.
 */

#ifndef NGX_STREAMLINE_REDIS_H
#define NGX_STREAMLINE_REDIS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ngx_streamline.h"
#include "core/sl_redis.h"
#include "core/sl_sentinel.h"


#define NGX_STREAMLINE_BACKOFF_MAX  5000


typedef struct {
    redisAsyncContext   *ac;
    ngx_connection_t    *c;
    ngx_event_t          timeout;      /* connect or reply deadline */
    ngx_event_t          retry;        /* reconnect after backoff */
    ngx_uint_t           attempt;
    ngx_uint_t           outstanding;  /* replies awaited */
    unsigned             connected:1;
    unsigned             ready:1;      /* answered PING with PONG */
    unsigned             subscriber:1;
    unsigned             subscribed:1;
    unsigned             sentinel:1;   /* to a sentinel, not to Redis */
    unsigned             switching:1;  /* closed to follow a new master */
    const char          *name;
    /* a sentinel's address; NULL: Redis (the master, with sentinels) */
    ngx_streamline_addr_t  *addr;
} ngx_streamline_rconn_t;


typedef struct {
    u_char               channel[SL_CHANNEL_MAX + 1];
    size_t               channel_len;
    u_char               owner[SL_OWNER_MAX];
    size_t               owner_len;
    int64_t              updated_ms;
} ngx_streamline_live_t;



extern ngx_streamline_main_conf_t  *ngx_streamline_conf;
extern ngx_log_t                   *ngx_streamline_log;
extern ngx_uint_t                   ngx_streamline_exiting;

extern ngx_streamline_rconn_t       ngx_streamline_cmd;
extern ngx_streamline_rconn_t       ngx_streamline_sub;

/* of ngx_streamline_live_t */
extern ngx_array_t                 *ngx_streamline_lives;


/* what the commands and subscriber connections log as Redis's address */
extern ngx_str_t                    ngx_streamline_redis_name;


/* ngx_streamline_redis.c: connections */
void ngx_streamline_connect(ngx_streamline_rconn_t *rc);
void ngx_streamline_schedule(ngx_streamline_rconn_t *rc);
/* a connection to Redis that answers as it should: the rest of its setup */
void ngx_streamline_ready(ngx_streamline_rconn_t *rc);

/* ngx_streamline_redis.c: commands, on the commands connection */
ngx_int_t ngx_streamline_command(redisCallbackFn *fn, void *pd, int argc,
    const char **argv, const size_t *lens);
void ngx_streamline_replied(ngx_streamline_rconn_t *rc);
void ngx_streamline_ignore_done(redisAsyncContext *ac, void *r, void *pd);
size_t ngx_streamline_key(u_char *buf, size_t size, const char *kind,
    const u_char *channel, size_t len);
void ngx_streamline_error(const char *what, redisReply *reply);
void ngx_streamline_error_end(void);

/* ngx_streamline_redis_state.c */
ngx_int_t ngx_streamline_queue_init(ngx_cycle_t *cycle);
void ngx_streamline_queue_free(void);
/* the commands connection is up: the queue waits for PONG */
void ngx_streamline_queue_connected(void);
/* the commands connection is gone */
void ngx_streamline_queue_lost(void);
/* this worker's Redis gauges into the metrics */
void ngx_streamline_redis_metrics(void);
/* the states of this worker's transitions not written yet, into the cache */
void ngx_streamline_queue_recache(void);
void ngx_streamline_exit_flush(ngx_cycle_t *cycle);

/* ngx_streamline_redis_sentinel.c: with sentinels only */
ngx_int_t ngx_streamline_sentinel_init(ngx_cycle_t *cycle);
void ngx_streamline_sentinel_exit(void);
/* a sentinel connection is up, or closed */
void ngx_streamline_sentinel_connected(ngx_streamline_rconn_t *rc);
void ngx_streamline_sentinel_closed(ngx_streamline_rconn_t *rc);
/* the level of a sentinel connection's failures: one warning an episode */
ngx_uint_t ngx_streamline_sentinel_level(ngx_streamline_rconn_t *rc);
/* a connection to the master is up: ROLE must say "master" */
void ngx_streamline_sentinel_verify(ngx_streamline_rconn_t *rc);
/* a connection to the master was lost (not closed to follow a switch) */
void ngx_streamline_sentinel_lost(ngx_streamline_rconn_t *rc);
/* the master refused a write with -READONLY: it is one no more */
void ngx_streamline_sentinel_demoted(void);
/* a master is known: the commands and subscriber connections may connect */
ngx_uint_t ngx_streamline_sentinel_known(void);

/* ngx_streamline_redis_claim.c */
ngx_int_t ngx_streamline_claim_init(ngx_cycle_t *cycle);
void ngx_streamline_release_cmd(const u_char *channel, size_t len,
    const u_char *owner, size_t owner_len, const char **argv, size_t *lens,
    u_char *okey, size_t okey_size);
/* the subscriber connection's handler */
void ngx_streamline_message(redisAsyncContext *ac, void *r, void *pd);

#endif /* NGX_STREAMLINE_REDIS_H */
