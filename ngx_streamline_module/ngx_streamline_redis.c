/*
 * The per-worker Redis client: hiredis's async API driven by nginx's event
 * loop.  Two connections per worker: one for commands, one subscribed to
 * state changes.  No call here blocks: addresses are numeric (resolved at
 * configuration time), connects are non-blocking with a timer, every wait
 * for a reply is bounded by streamline_redis_timeout, and a lost connection
 * is retried with backoff.
 *
 * State transitions go through a bounded queue: a transition leaves the
 * queue only when Redis acknowledged it, so while Redis is away they are
 * kept, and written in order when it returns.  Returning means answering
 * PING, not accepting a TCP connection (a Redis loading its dataset does,
 * and refuses every command with -LOADING).  One transition is on the
 * wire at a time: a transition refused for a while (-LOADING, -OOM,
 * -READONLY, -BUSY) is sent again after a backoff, and none behind it may
 * be written before it.  What a reply means is read by core/sl_redis.c.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ngx_streamline.h"
#include "core/sl_redis.h"


#define NGX_STREAMLINE_BACKOFF_MAX  5000
#define NGX_STREAMLINE_HISTORY_MAX  "10000"


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
    const char          *name;
} ngx_streamline_rconn_t;


typedef struct {
    u_char               channel[SL_CHANNEL_MAX + 1];
    size_t               channel_len;
    u_char               owner[SL_OWNER_MAX];
    size_t               owner_len;
    int64_t              updated_ms;
} ngx_streamline_live_t;


/* an owner lock a session of this worker took and has not released */
typedef struct {
    u_char               owner[SL_OWNER_MAX];
    size_t               owner_len;
} ngx_streamline_held_t;


static void ngx_streamline_connect(ngx_streamline_rconn_t *rc);
static void ngx_streamline_schedule(ngx_streamline_rconn_t *rc);
static void ngx_streamline_retry_handler(ngx_event_t *ev);
static void ngx_streamline_timeout_handler(ngx_event_t *ev);
static void ngx_streamline_read_handler(ngx_event_t *ev);
static void ngx_streamline_write_handler(ngx_event_t *ev);
static void ngx_streamline_ev_watch(ngx_event_t *ev, ngx_int_t event);
static void ngx_streamline_ev_unwatch(ngx_event_t *ev, ngx_int_t event);
static void ngx_streamline_ev_add_read(void *data);
static void ngx_streamline_ev_del_read(void *data);
static void ngx_streamline_ev_add_write(void *data);
static void ngx_streamline_ev_del_write(void *data);
static void ngx_streamline_ev_cleanup(void *data);
static void ngx_streamline_on_connect(const redisAsyncContext *ac, int status);
static void ngx_streamline_on_disconnect(const redisAsyncContext *ac,
    int status);
static ngx_int_t ngx_streamline_command(redisCallbackFn *fn, void *pd,
    int argc, const char **argv, const size_t *lens);
static void ngx_streamline_replied(ngx_streamline_rconn_t *rc);
static void ngx_streamline_ping(void);
static void ngx_streamline_ping_done(redisAsyncContext *ac, void *r,
    void *pd);
static void ngx_streamline_error(const char *what, redisReply *reply);
static void ngx_streamline_error_end(void);
static void ngx_streamline_retry_later(void);
static void ngx_streamline_requeue_handler(ngx_event_t *ev);
static void ngx_streamline_flush(void);
static void ngx_streamline_transition_done(redisAsyncContext *ac, void *r,
    void *pd);
static void ngx_streamline_claim_done(redisAsyncContext *ac, void *r,
    void *pd);
static void ngx_streamline_read_done(redisAsyncContext *ac, void *r,
    void *pd);
static void ngx_streamline_queue_recache(void);
static void ngx_streamline_ignore_done(redisAsyncContext *ac, void *r,
    void *pd);
static void ngx_streamline_message(redisAsyncContext *ac, void *r, void *pd);
static void ngx_streamline_drain_handler(ngx_event_t *ev);
static void ngx_streamline_exit_flush(ngx_cycle_t *cycle);
static void ngx_streamline_release_cmd(const u_char *channel, size_t len,
    const u_char *owner, size_t owner_len, const char **argv, size_t *lens,
    u_char *okey, size_t okey_size);
static void ngx_streamline_heartbeat_handler(ngx_event_t *ev);
static void ngx_streamline_heartbeat(ngx_streamline_live_t *lv);
static size_t ngx_streamline_key(u_char *buf, size_t size, const char *kind,
    const u_char *channel, size_t len);
static ngx_uint_t ngx_streamline_owner_stale(const u_char *owner,
    size_t len);


/*
 * Lua scripts run atomically by Redis.  A state is never replaced by an
 * older one (updatedAt strings of one format sort by time), so a queued
 * transition written late cannot undo a newer state of another origin.
 * Redis does not undo what a script wrote before an error: the command
 * that may fail (XADD on a key that is not a stream) comes first, so a
 * refused transition has written nothing.
 */

/*
 * A busy channel answers with its owner's token: if that process is proved
 * dead (see ngx_streamline_owner_gone), the claim is sent again with the
 * token in ARGV[6], and replaces the lock only while it still holds it.
 */
static const char  ngx_streamline_claim_lua[] =
    "local ch = ARGV[5] "
    "if ch == '' then "
    "  ch = redis.call('HGET', KEYS[1], ARGV[1]) "
    "  if not ch then return {0, ''} end "
    "end "
    "local k = ARGV[2] .. 'owner:' .. ch "
    "if redis.call('SET', k, ARGV[3], 'NX', 'PX', ARGV[4]) then "
    "  return {1, ch} "
    "end "
    "local o = redis.call('GET', k) "
    "if o and ARGV[6] ~= '' and o == ARGV[6] then "
    "  redis.call('SET', k, ARGV[3], 'PX', ARGV[4]) "
    "  return {1, ch} "
    "end "
    "return {2, ch, o or ''}";

static const char  ngx_streamline_release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "  return redis.call('DEL', KEYS[1]) "
    "end "
    "return 0";

static const char  ngx_streamline_transition_lua[] =
    "local cur = redis.call('GET', KEYS[1]) "
    "if cur then "
    "  local ok, t = pcall(cjson.decode, cur) "
    "  if ok and type(t) == 'table' and type(t.updatedAt) == 'string' "
    "     and t.updatedAt > ARGV[3] then return 0 end "
    "end "
    "redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*', "
    "           'channel', ARGV[4], 'status', ARGV[2], "
    "           'updatedAt', ARGV[3]) "
    "if ARGV[2] == 'live' then "
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[5]) "
    "else "
    "  redis.call('SET', KEYS[1], ARGV[1]) "
    "end "
    "redis.call('PUBLISH', ARGV[6], ARGV[8]) "
    "return 1";

/* a state and the owner of its lock, to tell a live state of a dead owner */
static const char  ngx_streamline_read_lua[] =
    "return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}";

static const char  ngx_streamline_heartbeat_lua[] =
    "local cur = redis.call('GET', KEYS[1]) "
    "if cur and cur ~= ARGV[1] then "
    "  local ok, t = pcall(cjson.decode, cur) "
    "  if ok and type(t) == 'table' and type(t.updatedAt) == 'string' "
    "     and t.updatedAt > ARGV[4] then return 0 end "
    "end "
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
    "local o = redis.call('GET', KEYS[2]) "
    "if not o or o == ARGV[3] then "
    "  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2]) "
    "end "
    "return 1";


static ngx_streamline_main_conf_t  *ngx_streamline_conf;
static ngx_log_t                   *ngx_streamline_log;
static ngx_uint_t                   ngx_streamline_exiting;

static ngx_streamline_rconn_t       ngx_streamline_cmd;
static ngx_streamline_rconn_t       ngx_streamline_sub;

static sl_queue_t                   ngx_streamline_queue;
static size_t                       ngx_streamline_inflight;

/* the queue's head was refused for a while: when to send it again */
static ngx_event_t                  ngx_streamline_requeue_ev;
static ngx_uint_t                   ngx_streamline_requeue_attempt;

/* the error code logged for the episode under way, if one is */
static ngx_uint_t                   ngx_streamline_episode;
static u_char                       ngx_streamline_episode_code[
                                                         SL_REDIS_CODE_MAX];
static size_t                       ngx_streamline_episode_len;

static ngx_event_t                  ngx_streamline_drain_ev;

static ngx_array_t                 *ngx_streamline_lives;
static ngx_array_t                 *ngx_streamline_held;
static ngx_event_t                  ngx_streamline_heartbeat_ev;

static sl_cache_t                   ngx_streamline_cache_;


int64_t
ngx_streamline_now_ms(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


sl_cache_t *
ngx_streamline_cache(void)
{
    return &ngx_streamline_cache_;
}


ngx_uint_t
ngx_streamline_redis_connected(void)
{
    return ngx_streamline_cmd.connected;
}


ngx_uint_t
ngx_streamline_redis_healthy(void)
{
    /* a Redis that answers -LOADING is connected, not healthy */
    return ngx_streamline_cmd.connected && ngx_streamline_cmd.ready;
}


ngx_uint_t
ngx_streamline_redis_subscribed(void)
{
    return ngx_streamline_sub.subscribed;
}


ngx_int_t
ngx_streamline_redis_init(ngx_cycle_t *cycle, ngx_streamline_main_conf_t *smcf)
{
    sl_transition_t   *items;
    sl_cache_entry_t  *entries;

    ngx_streamline_conf = smcf;
    ngx_streamline_log = cycle->log;
    ngx_streamline_exiting = 0;

    items = ngx_alloc(smcf->queue_size * sizeof(sl_transition_t), cycle->log);
    if (items == NULL) {
        return NGX_ERROR;
    }

    sl_queue_init(&ngx_streamline_queue, items, smcf->queue_size);
    ngx_streamline_inflight = 0;

    entries = ngx_alloc(NGX_STREAMLINE_CACHE_SIZE * sizeof(sl_cache_entry_t),
                        cycle->log);
    if (entries == NULL) {
        return NGX_ERROR;
    }

    sl_cache_init(&ngx_streamline_cache_, entries, NGX_STREAMLINE_CACHE_SIZE);

    ngx_streamline_lives = ngx_array_create(cycle->pool, 4,
                                            sizeof(ngx_streamline_live_t));
    ngx_streamline_held = ngx_array_create(cycle->pool, 4,
                                           sizeof(ngx_streamline_held_t));
    if (ngx_streamline_lives == NULL || ngx_streamline_held == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(&ngx_streamline_cmd, sizeof(ngx_streamline_rconn_t));
    ngx_memzero(&ngx_streamline_sub, sizeof(ngx_streamline_rconn_t));
    ngx_streamline_cmd.name = "commands";
    ngx_streamline_sub.name = "subscriber";
    ngx_streamline_sub.subscriber = 1;

    ngx_memzero(&ngx_streamline_drain_ev, sizeof(ngx_event_t));
    ngx_streamline_drain_ev.handler = ngx_streamline_drain_handler;
    ngx_streamline_drain_ev.log = cycle->log;

    ngx_memzero(&ngx_streamline_requeue_ev, sizeof(ngx_event_t));
    ngx_streamline_requeue_ev.handler = ngx_streamline_requeue_handler;
    ngx_streamline_requeue_ev.log = cycle->log;
    ngx_streamline_requeue_ev.cancelable = 1;
    ngx_streamline_requeue_attempt = 0;
    ngx_streamline_episode = 0;

    ngx_streamline_heartbeat_ev.handler = ngx_streamline_heartbeat_handler;
    ngx_streamline_heartbeat_ev.log = cycle->log;
    ngx_streamline_heartbeat_ev.data = NULL;
    ngx_streamline_heartbeat_ev.cancelable = 1;
    ngx_add_timer(&ngx_streamline_heartbeat_ev, smcf->state_ttl / 3);

    ngx_streamline_connect(&ngx_streamline_cmd);
    ngx_streamline_connect(&ngx_streamline_sub);

    return NGX_OK;
}


void
ngx_streamline_redis_exit(ngx_cycle_t *cycle)
{
    if (ngx_streamline_conf == NULL) {
        return;
    }

    ngx_streamline_exiting = 1;

    ngx_streamline_exit_flush(cycle);

    if (ngx_streamline_cmd.ac) {
        redisAsyncFree(ngx_streamline_cmd.ac);
    }

    if (ngx_streamline_sub.ac) {
        redisAsyncFree(ngx_streamline_sub.ac);
    }

    ngx_free(ngx_streamline_queue.items);
    ngx_free(ngx_streamline_cache_.entries);
    ngx_streamline_conf = NULL;
}


/* connection management */

static void
ngx_streamline_connect(ngx_streamline_rconn_t *rc)
{
    ngx_connection_t            *c;
    redisAsyncContext           *ac;
    ngx_streamline_main_conf_t  *smcf = ngx_streamline_conf;

    if (smcf->redis_unix.len) {
        ac = redisAsyncConnectUnix((char *) smcf->redis_unix.data);

    } else {
        ac = redisAsyncConnect((char *) smcf->redis_host.data,
                               smcf->redis_port);
    }

    if (ac == NULL) {
        ngx_log_error(NGX_LOG_ERR, ngx_streamline_log, 0,
                      "streamline: redis %V: out of memory", &smcf->redis);
        ngx_streamline_schedule(rc);
        return;
    }

    if (ac->err) {
        ngx_log_error(NGX_LOG_ERR, ngx_streamline_log, 0,
                      "streamline: redis %V: %s", &smcf->redis, ac->errstr);
        redisAsyncFree(ac);
        ngx_streamline_schedule(rc);
        return;
    }

    c = ngx_get_connection(ac->c.fd, ngx_streamline_log);
    if (c == NULL) {
        redisAsyncFree(ac);
        ngx_streamline_schedule(rc);
        return;
    }

    c->data = rc;
    c->read->handler = ngx_streamline_read_handler;
    c->write->handler = ngx_streamline_write_handler;
    c->read->log = ngx_streamline_log;
    c->write->log = ngx_streamline_log;

    rc->ac = ac;
    rc->c = c;
    rc->outstanding = 0;

    ac->data = rc;
    ac->ev.data = rc;
    ac->ev.addRead = ngx_streamline_ev_add_read;
    ac->ev.delRead = ngx_streamline_ev_del_read;
    ac->ev.addWrite = ngx_streamline_ev_add_write;
    ac->ev.delWrite = ngx_streamline_ev_del_write;
    ac->ev.cleanup = ngx_streamline_ev_cleanup;

    rc->timeout.handler = ngx_streamline_timeout_handler;
    rc->timeout.data = rc;
    rc->timeout.log = ngx_streamline_log;
    rc->timeout.cancelable = 1;
    ngx_add_timer(&rc->timeout, smcf->redis_timeout);

    /* hooks first: setting the connect callback asks for a write event */
    redisAsyncSetDisconnectCallback(ac, ngx_streamline_on_disconnect);
    redisAsyncSetConnectCallback(ac, ngx_streamline_on_connect);
}


static void
ngx_streamline_schedule(ngx_streamline_rconn_t *rc)
{
    ngx_msec_t  delay;

    /* a worker that is shutting down may still end a stream: reconnect */
    if (ngx_streamline_exiting) {
        return;
    }

    delay = (ngx_msec_t) sl_backoff_ms(rc->attempt++,
                                       NGX_STREAMLINE_BACKOFF_MAX);

    rc->retry.handler = ngx_streamline_retry_handler;
    rc->retry.data = rc;
    rc->retry.log = ngx_streamline_log;
    rc->retry.cancelable = 1;

    if (!rc->retry.timer_set) {
        ngx_add_timer(&rc->retry, delay);
    }
}


static void
ngx_streamline_retry_handler(ngx_event_t *ev)
{
    ngx_streamline_rconn_t  *rc = ev->data;

    if (rc->ac == NULL) {
        ngx_streamline_connect(rc);
    }
}


static void
ngx_streamline_timeout_handler(ngx_event_t *ev)
{
    ngx_streamline_rconn_t  *rc = ev->data;

    if (rc->ac == NULL) {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, ngx_streamline_log, 0,
                  "streamline: redis %V %s connection timed out",
                  &ngx_streamline_conf->redis, rc->name);

    /* pending callbacks get NULL replies; the cleanup hook reconnects */
    redisAsyncFree(rc->ac);
}


static void
ngx_streamline_on_connect(const redisAsyncContext *ac, int status)
{
    ngx_streamline_rconn_t  *rc = ac->data;

    static const char  *sub_argv[2] = { "SUBSCRIBE", NULL };
    static size_t       sub_lens[2];
    u_char              topic[256];
    ngx_uint_t          level;

    if (status != REDIS_OK) {
        /* one error an outage; the retries that follow log at info */
        level = rc->attempt ? NGX_LOG_INFO : NGX_LOG_ERR;
        ngx_log_error(level, ngx_streamline_log, 0,
                      "streamline: redis %V %s connect failed: %s",
                      &ngx_streamline_conf->redis, rc->name,
                      ac->errstr ? ac->errstr : "error");
        return;
    }

    ngx_log_error(NGX_LOG_INFO, ngx_streamline_log, 0,
                  "streamline: redis %V %s connection up",
                  &ngx_streamline_conf->redis, rc->name);

    rc->connected = 1;
    rc->attempt = 0;

    if (rc->timeout.timer_set) {
        ngx_del_timer(&rc->timeout);
    }

    if (rc->subscriber) {
        sub_lens[0] = sizeof("SUBSCRIBE") - 1;
        sub_lens[1] = ngx_streamline_key(topic, sizeof(topic), "events",
                                         NULL, 0);
        sub_argv[1] = (const char *) topic;

        if (redisAsyncCommandArgv(rc->ac, ngx_streamline_message, NULL, 2,
                                  sub_argv, sub_lens)
            != REDIS_OK)
        {
            redisAsyncDisconnect(rc->ac);
        }

        return;
    }

    /*
     * A TCP connect is not an answer (a stopped Redis accepts them, a
     * loading one answers -LOADING): the queue waits for PONG.
     */
    rc->ready = 0;
    ngx_streamline_inflight = 0;
    ngx_streamline_requeue_attempt = 0;

    if (ngx_streamline_requeue_ev.timer_set) {
        ngx_del_timer(&ngx_streamline_requeue_ev);
    }

    ngx_streamline_ping();
}


static void
ngx_streamline_ping(void)
{
    static const char  *argv[1] = { "PING" };
    static const size_t lens[1] = { 4 };

    /* not connected: the next connect pings */
    if (ngx_streamline_command(ngx_streamline_ping_done, NULL, 1, argv, lens)
        == NGX_ERROR)
    {
        ngx_streamline_retry_later();
    }
}


static void
ngx_streamline_ping_done(redisAsyncContext *ac, void *r, void *pd)
{
    redisReply  *reply = r;

    if (reply == NULL) {
        return;
    }

    ngx_streamline_replied(&ngx_streamline_cmd);

    if (sl_redis_pong(reply) != SL_OK) {
        if (reply->type == REDIS_REPLY_ERROR) {
            ngx_streamline_error("not ready, retrying", reply);
        }

        ngx_streamline_retry_later();
        return;
    }

    ngx_streamline_error_end();
    ngx_streamline_cmd.ready = 1;
    ngx_streamline_requeue_attempt = 0;

    ngx_streamline_flush();

    /* renew the live states at once: Redis may have lost them */
    if (ngx_streamline_lives->nelts) {
        ngx_streamline_heartbeat_handler(NULL);
    }
}


/*
 * An error reply is logged once per episode: the same error code again
 * (each retry of a -LOADING, every heartbeat refused with -OOM) is not,
 * until Redis answers PING or writes a transition.
 */
static void
ngx_streamline_error(const char *what, redisReply *reply)
{
    size_t  n;

    n = sl_redis_error_code(reply->str, reply->len);

    if (ngx_streamline_episode && n == ngx_streamline_episode_len
        && ngx_memcmp(ngx_streamline_episode_code, reply->str, n) == 0)
    {
        return;
    }

    ngx_memcpy(ngx_streamline_episode_code, reply->str, n);
    ngx_streamline_episode_len = n;
    ngx_streamline_episode = 1;

    ngx_log_error(NGX_LOG_ERR, ngx_streamline_log, 0,
                  "streamline: redis %V %s: %*s",
                  &ngx_streamline_conf->redis, what, (size_t) reply->len,
                  reply->str);
}


static void
ngx_streamline_error_end(void)
{
    if (!ngx_streamline_episode) {
        return;
    }

    ngx_streamline_episode = 0;

    ngx_log_error(NGX_LOG_NOTICE, ngx_streamline_log, 0,
                  "streamline: redis %V answers again",
                  &ngx_streamline_conf->redis);
}


static void
ngx_streamline_retry_later(void)
{
    ngx_msec_t  delay;

    if (ngx_streamline_requeue_ev.timer_set) {
        return;
    }

    delay = (ngx_msec_t) sl_backoff_ms(ngx_streamline_requeue_attempt++,
                                       NGX_STREAMLINE_BACKOFF_MAX);

    ngx_add_timer(&ngx_streamline_requeue_ev, delay);
}


static void
ngx_streamline_requeue_handler(ngx_event_t *ev)
{
    if (!ngx_streamline_cmd.connected || ngx_streamline_cmd.ac == NULL) {
        /* the next connect starts over with PING */
        return;
    }

    if (!ngx_streamline_cmd.ready) {
        ngx_streamline_ping();
        return;
    }

    ngx_streamline_flush();
}


static void
ngx_streamline_on_disconnect(const redisAsyncContext *ac, int status)
{
    ngx_streamline_rconn_t  *rc = ac->data;

    if (!ngx_streamline_exiting) {
        ngx_log_error(NGX_LOG_ERR, ngx_streamline_log, 0,
                      "streamline: redis %V %s connection lost%s%s",
                      &ngx_streamline_conf->redis, rc->name,
                      ac->errstr ? ": " : "", ac->errstr ? ac->errstr : "");
    }
}


/* event hooks: hiredis asks, nginx's event loop delivers */

static void
ngx_streamline_read_handler(ngx_event_t *ev)
{
    ngx_connection_t        *c = ev->data;
    ngx_streamline_rconn_t  *rc = c->data;

    /* may free the context and, through the cleanup hook, c itself */
    redisAsyncHandleRead(rc->ac);
}


static void
ngx_streamline_write_handler(ngx_event_t *ev)
{
    ngx_connection_t        *c = ev->data;
    ngx_streamline_rconn_t  *rc = c->data;

    redisAsyncHandleWrite(rc->ac);
}


/*
 * Level-triggered events: hiredis reads at most one buffer per call and
 * keeps a write event only while it has output, which edge-triggered
 * (clear) events would leave stranded.
 */

static void
ngx_streamline_ev_watch(ngx_event_t *ev, ngx_int_t event)
{
    if (!ev->active && ngx_add_event(ev, event, NGX_LEVEL_EVENT) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, ngx_streamline_log, 0,
                      "streamline: cannot watch redis connection");
    }
}


static void
ngx_streamline_ev_unwatch(ngx_event_t *ev, ngx_int_t event)
{
    if (ev->active) {
        ngx_del_event(ev, event, 0);
    }
}


static void
ngx_streamline_ev_add_read(void *data)
{
    ngx_streamline_ev_watch(((ngx_streamline_rconn_t *) data)->c->read,
                            NGX_READ_EVENT);
}


static void
ngx_streamline_ev_del_read(void *data)
{
    ngx_streamline_ev_unwatch(((ngx_streamline_rconn_t *) data)->c->read,
                              NGX_READ_EVENT);
}


static void
ngx_streamline_ev_add_write(void *data)
{
    ngx_streamline_ev_watch(((ngx_streamline_rconn_t *) data)->c->write,
                            NGX_WRITE_EVENT);
}


static void
ngx_streamline_ev_del_write(void *data)
{
    ngx_streamline_ev_unwatch(((ngx_streamline_rconn_t *) data)->c->write,
                              NGX_WRITE_EVENT);
}


/* hiredis frees the context (and closes the fd) right after this */
static void
ngx_streamline_ev_cleanup(void *data)
{
    ngx_streamline_rconn_t  *rc = data;
    ngx_connection_t        *c = rc->c;

    if (c) {
        ngx_streamline_ev_unwatch(c->read, NGX_READ_EVENT);
        ngx_streamline_ev_unwatch(c->write, NGX_WRITE_EVENT);

        if (c->read->posted) {
            ngx_delete_posted_event(c->read);
        }

        if (c->write->posted) {
            ngx_delete_posted_event(c->write);
        }

        c->fd = (ngx_socket_t) -1;
        ngx_free_connection(c);
        rc->c = NULL;
    }

    if (rc->timeout.timer_set) {
        ngx_del_timer(&rc->timeout);
    }

    rc->ac = NULL;
    rc->connected = 0;
    rc->ready = 0;
    rc->outstanding = 0;

    if (rc->subscriber) {
        rc->subscribed = 0;

    } else {
        ngx_streamline_inflight = 0;
    }

    ngx_streamline_schedule(rc);
}


/* commands */

static ngx_int_t
ngx_streamline_command(redisCallbackFn *fn, void *pd, int argc,
    const char **argv, const size_t *lens)
{
    ngx_streamline_rconn_t  *rc = &ngx_streamline_cmd;

    if (!rc->connected || rc->ac == NULL) {
        return NGX_DECLINED;
    }

    if (redisAsyncCommandArgv(rc->ac, fn, pd, argc, argv, lens) != REDIS_OK) {
        return NGX_ERROR;
    }

    rc->outstanding++;

    if (!rc->timeout.timer_set) {
        ngx_add_timer(&rc->timeout, ngx_streamline_conf->redis_timeout);
    }

    return NGX_OK;
}


static void
ngx_streamline_replied(ngx_streamline_rconn_t *rc)
{
    if (rc->outstanding) {
        rc->outstanding--;
    }

    if (rc->timeout.timer_set) {
        ngx_del_timer(&rc->timeout);
    }

    if (rc->outstanding && rc->ac) {
        ngx_add_timer(&rc->timeout, ngx_streamline_conf->redis_timeout);
    }
}


static size_t
ngx_streamline_key(u_char *buf, size_t size, const char *kind,
    const u_char *channel, size_t len)
{
    u_char  *p;

    if (channel) {
        p = ngx_snprintf(buf, size - 1, "%V%s:%*s",
                         &ngx_streamline_conf->prefix, kind, len, channel);

    } else {
        p = ngx_snprintf(buf, size - 1, "%V%s",
                         &ngx_streamline_conf->prefix, kind);
    }

    *p = '\0';

    return p - buf;
}


/* state transitions */

/*
 * The subscriber came back and the cache was cleared (what others did
 * meanwhile is unknown): what this worker did itself and Redis does not
 * have yet (it was down, loading, full) is known, and newer than Redis.
 */
static void
ngx_streamline_queue_recache(void)
{
    size_t             i;
    int64_t            now;
    sl_cache_entry_t  *ce;
    sl_transition_t   *t;

    now = ngx_streamline_now_ms();

    for (i = 0; i < ngx_streamline_queue.len; i++) {
        t = sl_queue_at(&ngx_streamline_queue, i);

        ce = sl_cache_get(&ngx_streamline_cache_, t->channel,
                          t->channel_len, now);
        if (ce == NULL || ce->state.updated_ms <= t->state.updated_ms) {
            sl_cache_put(&ngx_streamline_cache_, t->channel, t->channel_len,
                         &t->state, now);
        }
    }
}


void
ngx_streamline_redis_transition(const u_char *channel, size_t len,
    sl_status_e status, int64_t now_ms)
{
    sl_cache_entry_t  *ce;
    sl_transition_t    t;

    ngx_memzero(&t, sizeof(sl_transition_t));
    ngx_memcpy(t.channel, channel, len);
    t.channel_len = len;
    t.state.status = status;
    t.state.updated_ms = now_ms;

    /* this worker knows at once; the others learn it from pub/sub */
    ce = sl_cache_get(&ngx_streamline_cache_, channel, len, now_ms);
    if (ce == NULL || ce->state.updated_ms <= now_ms) {
        sl_cache_put(&ngx_streamline_cache_, channel, len, &t.state, now_ms);
    }

    if (ngx_streamline_queue.len == ngx_streamline_queue.cap
        && ngx_streamline_inflight && ngx_streamline_cmd.ac)
    {
        /*
         * Redis holds a whole queue of unacknowledged writes: treat the
         * connection as dead, so that merging below cannot drop a
         * transition that is on the wire; they are all written again.
         */
        ngx_log_error(NGX_LOG_ERR, ngx_streamline_log, 0,
                      "streamline: redis %V does not keep up, reconnecting",
                      &ngx_streamline_conf->redis);
        redisAsyncFree(ngx_streamline_cmd.ac);
    }

    if (sl_queue_push(&ngx_streamline_queue, &t) != SL_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_streamline_log, 0,
                      "streamline: state queue full (%uz): "
                      "%uL merged, %uL lost",
                      ngx_streamline_queue.cap,
                      ngx_streamline_queue.merged,
                      ngx_streamline_queue.dropped);
    }

    /*
     * A worker that is shutting down (reload) exits once no timer but
     * cancelable ones is left: this one is not cancelable, so it waits
     * for the queue to be written, for a bounded time.
     */
    if (!ngx_streamline_drain_ev.timer_set) {
        ngx_add_timer(&ngx_streamline_drain_ev,
                      2 * ngx_streamline_conf->redis_timeout);
    }

    ngx_streamline_flush();
}


static void
ngx_streamline_drain_handler(ngx_event_t *ev)
{
    if (ngx_exiting && ngx_streamline_queue.len) {
        ngx_log_error(NGX_LOG_WARN, ngx_streamline_log, 0,
                      "streamline: redis unavailable, shutting down with "
                      "%uz state transitions not written",
                      ngx_streamline_queue.len);
    }
}


/* the EVAL of a transition; the strings live in cmd */
typedef struct {
    const char        *argv[13];
    size_t             lens[13];
    u_char             ttl[NGX_INT64_LEN];
    u_char             skey[256];
    u_char             hkey[256];
    u_char             topic[256];
    u_char             json[SL_STATE_JSON_MAX];
    u_char             event[SL_STATE_JSON_MAX];
    u_char             at[SL_ISO8601_LEN];
} ngx_streamline_cmd_t;


static ngx_int_t
ngx_streamline_transition_cmd(sl_transition_t *t, ngx_streamline_cmd_t *c)
{
    int      jlen, elen;
    u_char  *p;

    jlen = sl_state_json(&t->state, NULL, 0, 0, c->json, sizeof(c->json));
    elen = sl_state_json(&t->state, t->channel, t->channel_len, 0,
                         c->event, sizeof(c->event));

    if (jlen < 0 || elen < 0
        || sl_iso8601_ms(t->state.updated_ms, c->at) != SL_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, ngx_streamline_log, 0,
                      "streamline: cannot render a state transition");
        return NGX_ERROR;
    }

    p = ngx_sprintf(c->ttl, "%M", ngx_streamline_conf->state_ttl);

    c->argv[0] = "EVAL";
    c->lens[0] = 4;
    c->argv[1] = ngx_streamline_transition_lua;
    c->lens[1] = sizeof(ngx_streamline_transition_lua) - 1;
    c->argv[2] = "2";
    c->lens[2] = 1;
    c->argv[3] = (char *) c->skey;
    c->lens[3] = ngx_streamline_key(c->skey, sizeof(c->skey), "state",
                                    t->channel, t->channel_len);
    c->argv[4] = (char *) c->hkey;
    c->lens[4] = ngx_streamline_key(c->hkey, sizeof(c->hkey), "history",
                                    NULL, 0);
    c->argv[5] = (char *) c->json;
    c->lens[5] = jlen;
    c->argv[6] = t->state.status == SL_STATUS_LIVE ? "live" : "idle";
    c->lens[6] = 4;
    c->argv[7] = (char *) c->at;
    c->lens[7] = SL_ISO8601_LEN;
    c->argv[8] = (char *) t->channel;
    c->lens[8] = t->channel_len;
    c->argv[9] = (char *) c->ttl;
    c->lens[9] = p - c->ttl;
    c->argv[10] = (char *) c->topic;
    c->lens[10] = ngx_streamline_key(c->topic, sizeof(c->topic), "events",
                                     NULL, 0);
    c->argv[11] = NGX_STREAMLINE_HISTORY_MAX;
    c->lens[11] = sizeof(NGX_STREAMLINE_HISTORY_MAX) - 1;
    c->argv[12] = (char *) c->event;
    c->lens[12] = elen;

    return NGX_OK;
}


/*
 * Sends the oldest transition, if none is on the wire, Redis answered
 * PING and no refused transition waits for its retry.  Its reply sends
 * the next one: in a pipeline, a transition refused for a while could be
 * overtaken by the next one, written in its place.
 */
static void
ngx_streamline_flush(void)
{
    sl_transition_t       *t;
    ngx_streamline_cmd_t   c;

    if (!ngx_streamline_cmd.ready || ngx_streamline_requeue_ev.timer_set) {
        return;
    }

    while (ngx_streamline_inflight == 0 && ngx_streamline_queue.len) {

        t = sl_queue_at(&ngx_streamline_queue, 0);

        if (ngx_streamline_transition_cmd(t, &c) != NGX_OK) {
            sl_queue_pop(&ngx_streamline_queue);
            continue;
        }

        switch (ngx_streamline_command(ngx_streamline_transition_done, NULL,
                                       13, c.argv, c.lens))
        {
        case NGX_OK:
            ngx_streamline_inflight = 1;
            break;

        case NGX_ERROR:
            ngx_streamline_retry_later();
            return;

        default: /* NGX_DECLINED: not connected, the next connect flushes */
            return;
        }
    }
}


static void
ngx_streamline_transition_done(redisAsyncContext *ac, void *r, void *pd)
{
    redisReply       *reply = r;
    sl_transition_t  *t;

    if (reply == NULL) {
        /* disconnected: the transition stays queued */
        return;
    }

    ngx_streamline_replied(&ngx_streamline_cmd);
    ngx_streamline_inflight = 0;

    switch (sl_redis_transition_result(reply)) {

    case SL_OK:
        ngx_streamline_error_end();
        ngx_streamline_requeue_attempt = 0;
        sl_queue_pop(&ngx_streamline_queue);
        break;

    case SL_AGAIN:
        /* kept at the head, and everything behind it waits */
        ngx_streamline_error("refused a state transition, retrying",
                             reply);
        ngx_streamline_retry_later();
        return;

    default: /* SL_ERROR */
        /* the same command would be refused again: it cannot be kept */
        t = sl_queue_at(&ngx_streamline_queue, 0);

        ngx_log_error(NGX_LOG_ERR, ngx_streamline_log, 0,
                      "streamline: redis %V refused the state transition "
                      "of channel \"%*s\", lost: %*s",
                      &ngx_streamline_conf->redis, t->channel_len,
                      t->channel,
                      reply->type == REDIS_REPLY_ERROR ? reply->len : 0,
                      reply->type == REDIS_REPLY_ERROR ? reply->str : "");

        ngx_streamline_queue.dropped++;
        sl_queue_pop(&ngx_streamline_queue);
    }

    if (ngx_streamline_queue.len == 0 && ngx_streamline_drain_ev.timer_set) {
        ngx_del_timer(&ngx_streamline_drain_ev);
    }

    ngx_streamline_flush();
}


/* publish claims */

ngx_int_t
ngx_streamline_redis_claim(ngx_streamline_claim_t *cl, const u_char *digest,
    ngx_uint_t lookup)
{
    u_char      *p, ttl[NGX_INT64_LEN], kkey[256];
    const char  *argv[10];
    size_t       lens[10];

    p = ngx_sprintf(ttl, "%M", ngx_streamline_conf->state_ttl);

    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = ngx_streamline_claim_lua;
    lens[1] = sizeof(ngx_streamline_claim_lua) - 1;
    argv[2] = "1";
    lens[2] = 1;
    argv[3] = (char *) kkey;
    lens[3] = ngx_streamline_key(kkey, sizeof(kkey), "keys", NULL, 0);
    /* a second try (a dead owner's lock) has the channel: no digest */
    argv[4] = digest ? (char *) digest : "";
    lens[4] = digest ? SL_DIGEST_HEX : 0;
    argv[5] = (char *) ngx_streamline_conf->prefix.data;
    lens[5] = ngx_streamline_conf->prefix.len;
    argv[6] = (char *) cl->owner;
    lens[6] = cl->owner_len;
    argv[7] = (char *) ttl;
    lens[7] = p - ttl;
    argv[8] = lookup ? "" : (char *) cl->channel;
    lens[8] = lookup ? 0 : cl->channel_len;
    argv[9] = (char *) cl->dead;
    lens[9] = cl->dead_len;

    return ngx_streamline_command(ngx_streamline_claim_done, cl, 10, argv,
                                  lens);
}


static void
ngx_streamline_claim_done(redisAsyncContext *ac, void *r, void *pd)
{
    redisReply              *reply = r;
    ngx_streamline_claim_t  *cl = pd;

    int                     rc;
    size_t                  len, owner_len;
    const char             *owner;
    u_char                  channel[SL_CHANNEL_MAX + 1];
    ngx_streamline_held_t  *held;

    if (reply) {
        ngx_streamline_replied(&ngx_streamline_cmd);
    }

    rc = sl_redis_claim_result(reply, channel, &len, &owner, &owner_len);

    switch (rc) {

    case SL_REDIS_CLAIM_UNKNOWN_KEY:
        cl->result = NGX_STREAMLINE_CLAIM_UNKNOWN_KEY;
        break;

    case SL_REDIS_CLAIM_BAD_CHANNEL:
        ngx_log_error(NGX_LOG_ERR, cl->log, 0,
                      "streamline: a stream key in redis maps to "
                      "an invalid channel name");
        cl->result = NGX_STREAMLINE_CLAIM_UNKNOWN_KEY;
        break;

    case SL_REDIS_CLAIM_CLAIMED:
    case SL_REDIS_CLAIM_BUSY:
        ngx_memcpy(cl->channel, channel, len + 1);
        cl->channel_len = len;
        cl->result = (rc == SL_REDIS_CLAIM_CLAIMED)
                     ? NGX_STREAMLINE_CLAIM_OK : NGX_STREAMLINE_CLAIM_BUSY;
        break;

    default: /* SL_REDIS_CLAIM_UNAVAILABLE */
        cl->result = NGX_STREAMLINE_CLAIM_UNAVAILABLE;

        if (reply && reply->type == REDIS_REPLY_ERROR) {
            ngx_streamline_error("claim failed", reply);
        }
    }

    if (cl->result == NGX_STREAMLINE_CLAIM_BUSY && owner != NULL
        && cl->data != NULL && !ngx_streamline_exiting && cl->dead_len == 0
        && owner_len < SL_OWNER_MAX
        && ngx_streamline_owner_stale((u_char *) owner, owner_len))
    {
        /* its owner died (a killed worker, a crashed nginx): take over */
        ngx_log_error(NGX_LOG_WARN, cl->log, 0,
                      "streamline: channel \"%s\": the stale owner lock "
                      "\"%*s\" is taken over", cl->channel,
                      owner_len, owner);

        ngx_memcpy(cl->dead, owner, owner_len);
        cl->dead_len = owner_len;

        if (ngx_streamline_redis_claim(cl, NULL, 0) == NGX_OK) {
            return;
        }

        cl->result = NGX_STREAMLINE_CLAIM_UNAVAILABLE;
    }

    if (cl->result == NGX_STREAMLINE_CLAIM_OK) {
        held = ngx_array_push(ngx_streamline_held);
        if (held) {
            held->owner_len = cl->owner_len;
            ngx_memcpy(held->owner, cl->owner, cl->owner_len);
        }
    }

    if (cl->data == NULL || ngx_streamline_exiting) {
        /* the session went away while Redis answered */
        if (cl->result == NGX_STREAMLINE_CLAIM_OK && !ngx_streamline_exiting)
        {
            ngx_streamline_redis_release(cl->channel, cl->channel_len,
                                         cl->owner, cl->owner_len);
        }

        ngx_free(cl);
        return;
    }

    cl->handler(cl);
    ngx_free(cl);
}


/* the owner lock's compare-and-delete; okey holds the key's name */
static void
ngx_streamline_release_cmd(const u_char *channel, size_t len,
    const u_char *owner, size_t owner_len, const char **argv, size_t *lens,
    u_char *okey, size_t okey_size)
{
    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = ngx_streamline_release_lua;
    lens[1] = sizeof(ngx_streamline_release_lua) - 1;
    argv[2] = "1";
    lens[2] = 1;
    argv[3] = (char *) okey;
    lens[3] = ngx_streamline_key(okey, okey_size, "owner", channel, len);
    argv[4] = (char *) owner;
    lens[4] = owner_len;
}


void
ngx_streamline_redis_release(const u_char *channel, size_t len,
    const u_char *owner, size_t owner_len)
{
    u_char                 okey[256];
    size_t                 lens[5];
    ngx_uint_t             i;
    const char            *argv[5];
    ngx_streamline_held_t  *held;

    held = ngx_streamline_held->elts;

    for (i = 0; i < ngx_streamline_held->nelts; i++) {
        if (held[i].owner_len == owner_len
            && ngx_memcmp(held[i].owner, owner, owner_len) == 0)
        {
            held[i] = held[ngx_streamline_held->nelts - 1];
            ngx_streamline_held->nelts--;
            break;
        }
    }

    ngx_streamline_release_cmd(channel, len, owner, owner_len, argv, lens,
                               okey, sizeof(okey));

    /*
     * If Redis is away, the owner key expires by its TTL, or is taken over
     * at once by a publish on this host (see ngx_streamline_owner_stale).
     */
    (void) ngx_streamline_command(ngx_streamline_ignore_done, NULL, 5, argv,
                                  lens);
}


/*
 * A lock that no process holds any more: one of a dead process of this
 * host, or one of this very process that no session of it holds (its
 * release was lost while Redis was away).
 */
static ngx_uint_t
ngx_streamline_owner_stale(const u_char *owner, size_t len)
{
    ngx_uint_t              i;
    ngx_streamline_live_t  *lv;
    ngx_streamline_held_t  *held;

    if (!ngx_streamline_owner_self(owner, len)) {
        return ngx_streamline_owner_gone(owner, len);
    }

    held = ngx_streamline_held->elts;

    for (i = 0; i < ngx_streamline_held->nelts; i++) {
        if (held[i].owner_len == len
            && ngx_memcmp(held[i].owner, owner, len) == 0)
        {
            return 0;
        }
    }

    /* a channel published without its lock took it by the heartbeat */
    lv = ngx_streamline_lives->elts;

    for (i = 0; i < ngx_streamline_lives->nelts; i++) {
        if (lv[i].owner_len == len
            && ngx_memcmp(lv[i].owner, owner, len) == 0)
        {
            return 0;
        }
    }

    return 1;
}


static void
ngx_streamline_ignore_done(redisAsyncContext *ac, void *r, void *pd)
{
    redisReply  *reply = r;

    if (reply == NULL) {
        return;
    }

    ngx_streamline_replied(&ngx_streamline_cmd);

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_streamline_error("error", reply);
    }
}


/* state reads */

ngx_int_t
ngx_streamline_redis_read(ngx_streamline_read_t *rd, const u_char *channel,
    size_t len)
{
    u_char      skey[256], okey[256];
    const char  *argv[5];
    size_t       lens[5];

    ngx_memcpy(rd->channel, channel, len);
    rd->channel[len] = '\0';
    rd->channel_len = len;

    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = ngx_streamline_read_lua;
    lens[1] = sizeof(ngx_streamline_read_lua) - 1;
    argv[2] = "2";
    lens[2] = 1;
    argv[3] = (char *) skey;
    lens[3] = ngx_streamline_key(skey, sizeof(skey), "state", channel, len);
    argv[4] = (char *) okey;
    lens[4] = ngx_streamline_key(okey, sizeof(okey), "owner", channel, len);

    return ngx_streamline_command(ngx_streamline_read_done, rd, 5, argv,
                                  lens);
}


static void
ngx_streamline_read_done(redisAsyncContext *ac, void *r, void *pd)
{
    redisReply             *reply = r;
    ngx_streamline_read_t  *rd = pd;

    size_t       owner_len;
    const char  *owner;

    if (reply) {
        ngx_streamline_replied(&ngx_streamline_cmd);
    }

    switch (sl_redis_read_result(reply, &rd->state, &owner, &owner_len)) {

    case SL_OK:
        rd->rc = NGX_OK;
        break;

    case SL_DECLINED:
        ngx_log_error(NGX_LOG_ERR, ngx_streamline_log, 0,
                      "streamline: malformed state in redis");
        rd->rc = NGX_ERROR;
        break;

    default: /* SL_AGAIN: unavailable */
        rd->rc = NGX_ERROR;
    }

    if (rd->rc == NGX_OK && rd->state.status == SL_STATUS_LIVE
        && owner != NULL && owner_len < SL_OWNER_MAX
        && !ngx_streamline_exiting
        && ngx_streamline_owner_stale((u_char *) owner, owner_len))
    {
        /*
         * Live for a process of this host that is gone (a killed worker,
         * a crashed nginx), or for a session of this one that ended: a
         * publish would take the channel over, so the API says idle, as
         * of just after that stream went live (older than any publish
         * that takes it over meanwhile).
         */
        ngx_log_error(NGX_LOG_WARN, ngx_streamline_log, 0,
                      "streamline: channel \"%s\": the live state of the "
                      "stale owner \"%*s\" is ended", rd->channel,
                      owner_len, owner);

        rd->state.status = SL_STATUS_IDLE;
        rd->state.updated_ms++;

        ngx_streamline_redis_transition(rd->channel, rd->channel_len,
                                        SL_STATUS_IDLE,
                                        rd->state.updated_ms);
        ngx_streamline_redis_release(rd->channel, rd->channel_len,
                                     (u_char *) owner, owner_len);
    }

    if (rd->data && !ngx_streamline_exiting) {
        rd->handler(rd);
    }

    ngx_free(rd);
}


/* pub/sub: every worker of every origin hears every transition */

static void
ngx_streamline_message(redisAsyncContext *ac, void *r, void *pd)
{
    redisReply              *reply = r;
    ngx_streamline_rconn_t  *rc = &ngx_streamline_sub;

    u_char             channel[SL_CHANNEL_MAX + 1];
    size_t             len;
    sl_state_t         st;
    sl_cache_entry_t  *ce;

    switch (sl_redis_message(reply, &st, channel, &len)) {

    case SL_REDIS_MSG_SUBSCRIBED:
        /* what changed while we were away is unknown: forget it all,
         * but what this worker did and Redis has not heard of yet */
        rc->subscribed = 1;
        sl_cache_clear(&ngx_streamline_cache_);
        ngx_streamline_queue_recache();
        return;

    case SL_REDIS_MSG_MALFORMED:
        ngx_log_error(NGX_LOG_WARN, ngx_streamline_log, 0,
                      "streamline: ignored a malformed state event");
        return;

    case SL_REDIS_MSG_STATE:
        break;

    default: /* SL_REDIS_MSG_OTHER */
        return;
    }

    ce = sl_cache_get(&ngx_streamline_cache_, channel, len,
                      ngx_streamline_now_ms());

    if (ce == NULL || ce->state.updated_ms <= st.updated_ms) {
        sl_cache_put(&ngx_streamline_cache_, channel, len, &st,
                     ngx_streamline_now_ms());
    }
}


/* live channels of this worker and their heartbeat */

ngx_int_t
ngx_streamline_live_add(const u_char *channel, size_t len,
    const u_char *owner, size_t owner_len, int64_t updated_ms)
{
    ngx_streamline_live_t  *lv;

    lv = ngx_array_push(ngx_streamline_lives);
    if (lv == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(lv->channel, channel, len);
    lv->channel[len] = '\0';
    lv->channel_len = len;
    lv->owner_len = ngx_min(owner_len, SL_OWNER_MAX - 1);
    ngx_memcpy(lv->owner, owner, lv->owner_len);
    lv->updated_ms = updated_ms;

    return NGX_OK;
}


void
ngx_streamline_live_remove(const u_char *channel, size_t len)
{
    ngx_uint_t              i;
    ngx_streamline_live_t  *lv;

    lv = ngx_streamline_lives->elts;

    for (i = 0; i < ngx_streamline_lives->nelts; i++) {
        if (lv[i].channel_len == len
            && ngx_memcmp(lv[i].channel, channel, len) == 0)
        {
            lv[i] = lv[ngx_streamline_lives->nelts - 1];
            ngx_streamline_lives->nelts--;
            return;
        }
    }
}


ngx_uint_t
ngx_streamline_live_has(const u_char *channel, size_t len)
{
    ngx_uint_t              i;
    ngx_streamline_live_t  *lv;

    if (ngx_streamline_lives == NULL) {
        return 0;
    }

    lv = ngx_streamline_lives->elts;

    for (i = 0; i < ngx_streamline_lives->nelts; i++) {
        if (lv[i].channel_len == len
            && ngx_memcmp(lv[i].channel, channel, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static void
ngx_streamline_heartbeat_handler(ngx_event_t *ev)
{
    ngx_uint_t              i;
    ngx_streamline_live_t  *lv;

    if (ngx_streamline_exiting) {
        return;
    }

    lv = ngx_streamline_lives->elts;

    for (i = 0; i < ngx_streamline_lives->nelts; i++) {
        ngx_streamline_heartbeat(&lv[i]);
    }

    if (ev) {
        ngx_add_timer(ev, ngx_streamline_conf->state_ttl / 3);
    }
}


static void
ngx_streamline_heartbeat(ngx_streamline_live_t *lv)
{
    u_char      *p, ttl[NGX_INT64_LEN], skey[256], okey[256],
                 json[SL_STATE_JSON_MAX], at[SL_ISO8601_LEN];
    int          jlen;
    const char  *argv[9];
    size_t       lens[9];
    sl_state_t   st;

    st.status = SL_STATUS_LIVE;
    st.updated_ms = lv->updated_ms;

    jlen = sl_state_json(&st, NULL, 0, 0, json, sizeof(json));
    if (jlen < 0 || sl_iso8601_ms(lv->updated_ms, at) != SL_OK) {
        return;
    }

    p = ngx_sprintf(ttl, "%M", ngx_streamline_conf->state_ttl);

    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = ngx_streamline_heartbeat_lua;
    lens[1] = sizeof(ngx_streamline_heartbeat_lua) - 1;
    argv[2] = "2";
    lens[2] = 1;
    argv[3] = (char *) skey;
    lens[3] = ngx_streamline_key(skey, sizeof(skey), "state",
                                 lv->channel, lv->channel_len);
    argv[4] = (char *) okey;
    lens[4] = ngx_streamline_key(okey, sizeof(okey), "owner",
                                 lv->channel, lv->channel_len);
    argv[5] = (char *) json;
    lens[5] = jlen;
    argv[6] = (char *) ttl;
    lens[6] = p - ttl;
    argv[7] = (char *) lv->owner;
    lens[7] = lv->owner_len;
    argv[8] = (char *) at;
    lens[8] = SL_ISO8601_LEN;

    (void) ngx_streamline_command(ngx_streamline_ignore_done, NULL, 9, argv,
                                  lens);
}


/*
 * A worker that exits while it still holds live channels (nginx's fast
 * shutdown) or unwritten transitions: the event loop is gone, so they are
 * written with a blocking connection, each wait bounded by
 * streamline_redis_timeout.  Whatever fails here expires by its TTL.
 */
static void
ngx_streamline_exit_flush(ngx_cycle_t *cycle)
{
    int                     n;
    void                   *reply;
    u_char                  okey[256];
    ngx_uint_t              refused;
    size_t                  i, lens[5];
    const char             *argv[5];
    redisContext           *c;
    struct timeval          tv;
    sl_transition_t        *t;
    ngx_streamline_cmd_t    cmd;
    ngx_streamline_live_t  *lv;

    lv = ngx_streamline_lives->elts;

    for (i = 0; i < ngx_streamline_lives->nelts; i++) {
        ngx_streamline_redis_transition(lv[i].channel, lv[i].channel_len,
                                        SL_STATUS_IDLE,
                                        ngx_streamline_now_ms());
    }

    if (ngx_streamline_queue.len == 0) {
        return;
    }

    tv.tv_sec = ngx_streamline_conf->redis_timeout / 1000;
    tv.tv_usec = (ngx_streamline_conf->redis_timeout % 1000) * 1000;

    if (ngx_streamline_conf->redis_unix.len) {
        c = redisConnectUnixWithTimeout(
                          (char *) ngx_streamline_conf->redis_unix.data, tv);

    } else {
        c = redisConnectWithTimeout(
                          (char *) ngx_streamline_conf->redis_host.data,
                          ngx_streamline_conf->redis_port, tv);
    }

    if (c == NULL || c->err || redisSetTimeout(c, tv) != REDIS_OK) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "streamline: exiting with %uz state transitions not "
                      "written to redis; live states expire by their TTL",
                      ngx_streamline_queue.len);
        if (c) {
            redisFree(c);
        }

        return;
    }

    n = 0;

    for (i = 0; i < ngx_streamline_queue.len; i++) {
        t = sl_queue_at(&ngx_streamline_queue, i);

        if (ngx_streamline_transition_cmd(t, &cmd) == NGX_OK
            && redisAppendCommandArgv(c, 13, cmd.argv, cmd.lens) == REDIS_OK)
        {
            n++;
        }
    }

    /* and the owner locks, so that a restarted nginx may publish at once */
    for (i = 0; i < ngx_streamline_lives->nelts; i++) {
        ngx_streamline_release_cmd(lv[i].channel, lv[i].channel_len,
                                   lv[i].owner, lv[i].owner_len, argv, lens,
                                   okey, sizeof(okey));

        if (redisAppendCommandArgv(c, 5, argv, lens) == REDIS_OK) {
            n++;
        }
    }

    refused = 0;

    while (n-- > 0) {
        if (redisGetReply(c, &reply) != REDIS_OK) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "streamline: redis did not confirm the last state "
                          "transitions at exit");
            break;
        }

        refused += (((redisReply *) reply)->type == REDIS_REPLY_ERROR);
        freeReplyObject(reply);
    }

    if (refused) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "streamline: redis refused %ui of the last commands at "
                      "exit (state transitions, owner locks); live states "
                      "expire by their TTL", refused);
    }

    redisFree(c);
}
