/*
 * The per-worker Redis client's state transitions and live channels (its
 * connections are in ngx_streamline_redis.c).
 *
 * State transitions go through a bounded queue: a transition leaves the
 * queue only when Redis acknowledged it, so while Redis is away they are
 * kept, and written in order when it returns.  Returning means answering
 * PING, not accepting a TCP connection (a Redis loading its dataset does,
 * and refuses every command with -LOADING).  One transition is on the
 * wire at a time: a transition refused for a while (-LOADING, -OOM,
 * -READONLY, -BUSY) is sent again after a backoff, and none behind it may
 * be written before it.
 *
 * The live channels of this worker are renewed by a heartbeat, and
 * written idle by a worker that exits.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_streamline_redis.h"


#define NGX_STREAMLINE_HISTORY_MAX  "10000"


static void ngx_streamline_ping(void);
static void ngx_streamline_ping_done(redisAsyncContext *ac, void *r,
    void *pd);
static void ngx_streamline_retry_later(void);
static void ngx_streamline_requeue_handler(ngx_event_t *ev);
static void ngx_streamline_flush(void);
static void ngx_streamline_transition_done(redisAsyncContext *ac, void *r,
    void *pd);
static void ngx_streamline_drain_handler(ngx_event_t *ev);
static void ngx_streamline_heartbeat_handler(ngx_event_t *ev);
static void ngx_streamline_heartbeat(ngx_streamline_live_t *lv);
static void ngx_streamline_heartbeat_done(redisAsyncContext *ac, void *r,
    void *pd);


/*
 * Lua scripts run atomically by Redis.  A state is never replaced by an
 * older one (updatedAt strings of one format sort by time), so a queued
 * transition written late cannot undo a newer state of another origin.
 * Redis does not undo what a script wrote before an error: the command
 * that may fail (XADD on a key that is not a stream) comes first, so a
 * refused transition has written nothing.
 */

static const char  ngx_streamline_transition_lua[] =
    "if ARGV[9] ~= '' then "
    "  local o = redis.call('GET', KEYS[3]) "
    "  if o and o ~= ARGV[9] then return 2 end "
    "end "
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

static const char  ngx_streamline_heartbeat_lua[] =
    "local o = redis.call('GET', KEYS[2]) "
    "if o and o ~= ARGV[3] then return 2 end "
    "local cur = redis.call('GET', KEYS[1]) "
    "if cur and cur ~= ARGV[1] then "
    "  local ok, t = pcall(cjson.decode, cur) "
    "  if ok and type(t) == 'table' and type(t.updatedAt) == 'string' "
    "     and t.updatedAt > ARGV[4] then return 0 end "
    "end "
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
    "redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2]) "
    "return 1";


static sl_queue_t                   ngx_streamline_queue;
static size_t                       ngx_streamline_inflight;

/* the queue's head was refused for a while: when to send it again */
static ngx_event_t                  ngx_streamline_requeue_ev;
static ngx_uint_t                   ngx_streamline_requeue_attempt;

static ngx_event_t                  ngx_streamline_drain_ev;

ngx_array_t                        *ngx_streamline_lives;
static ngx_event_t                  ngx_streamline_heartbeat_ev;


ngx_int_t
ngx_streamline_queue_init(ngx_cycle_t *cycle)
{
    sl_transition_t             *items;
    ngx_streamline_main_conf_t  *smcf = ngx_streamline_conf;

    items = ngx_alloc(smcf->queue_size * sizeof(sl_transition_t), cycle->log);
    if (items == NULL) {
        return NGX_ERROR;
    }

    sl_queue_init(&ngx_streamline_queue, items, smcf->queue_size);
    ngx_streamline_inflight = 0;

    ngx_streamline_lives = ngx_array_create(cycle->pool, 4,
                                            sizeof(ngx_streamline_live_t));
    if (ngx_streamline_lives == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(&ngx_streamline_drain_ev, sizeof(ngx_event_t));
    ngx_streamline_drain_ev.handler = ngx_streamline_drain_handler;
    ngx_streamline_drain_ev.log = cycle->log;

    ngx_memzero(&ngx_streamline_requeue_ev, sizeof(ngx_event_t));
    ngx_streamline_requeue_ev.handler = ngx_streamline_requeue_handler;
    ngx_streamline_requeue_ev.log = cycle->log;
    ngx_streamline_requeue_ev.cancelable = 1;
    ngx_streamline_requeue_attempt = 0;

    ngx_streamline_heartbeat_ev.handler = ngx_streamline_heartbeat_handler;
    ngx_streamline_heartbeat_ev.log = cycle->log;
    ngx_streamline_heartbeat_ev.data = NULL;
    ngx_streamline_heartbeat_ev.cancelable = 1;
    ngx_add_timer(&ngx_streamline_heartbeat_ev, smcf->state_ttl / 3);

    return NGX_OK;
}


void
ngx_streamline_queue_free(void)
{
    ngx_free(ngx_streamline_queue.items);
}


void
ngx_streamline_queue_connected(void)
{
    ngx_streamline_inflight = 0;
    ngx_streamline_requeue_attempt = 0;

    if (ngx_streamline_requeue_ev.timer_set) {
        ngx_del_timer(&ngx_streamline_requeue_ev);
    }

    ngx_streamline_ping();
}


/* what was on the wire stays queued: the next PONG sends it again */
void
ngx_streamline_queue_lost(void)
{
    ngx_streamline_inflight = 0;
    ngx_streamline_redis_metrics();
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
    ngx_streamline_redis_metrics();

    ngx_streamline_flush();

    /* renew the live states at once: Redis may have lost them */
    if (ngx_streamline_lives->nelts) {
        ngx_streamline_heartbeat_handler(NULL);
    }
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


/* state transitions */

/*
 * The subscriber came back and the cache was cleared (what others did
 * meanwhile is unknown): what this worker did itself and Redis does not
 * have yet (it was down, loading, full) is known, and newer than Redis.
 */
void
ngx_streamline_queue_recache(void)
{
    size_t             i;
    int64_t            now;
    sl_cache_entry_t  *ce;
    sl_transition_t   *t;

    now = ngx_streamline_now_ms();

    for (i = 0; i < ngx_streamline_queue.len; i++) {
        t = sl_queue_at(&ngx_streamline_queue, i);

        ce = sl_cache_get(ngx_streamline_cache(), t->channel, t->channel_len,
                          now);
        if (ce == NULL || ce->state.updated_ms <= t->state.updated_ms) {
            sl_cache_put(ngx_streamline_cache(), t->channel, t->channel_len,
                         &t->state, now);
        }
    }
}


void
ngx_streamline_redis_transition(const u_char *channel, size_t len,
    sl_status_e status, int64_t now_ms, const u_char *owner,
    size_t owner_len)
{
    sl_cache_entry_t  *ce;
    sl_transition_t    t;

    ngx_memzero(&t, sizeof(sl_transition_t));
    ngx_memcpy(t.channel, channel, len);
    t.channel_len = len;
    t.state.status = status;
    t.state.updated_ms = now_ms;

    if (status == SL_STATUS_LIVE && ngx_streamline_conf->origin.len) {
        t.state.origin_len = ngx_streamline_conf->origin.len;
        ngx_memcpy(t.state.origin, ngx_streamline_conf->origin.data,
                   t.state.origin_len);
    }

    if (owner_len < SL_OWNER_MAX) {
        t.owner_len = owner_len;
        ngx_memcpy(t.owner, owner, owner_len);
    }

    /* this worker knows at once; the others learn it from pub/sub */
    ce = sl_cache_get(ngx_streamline_cache(), channel, len, now_ms);
    if (ce == NULL || ce->state.updated_ms <= now_ms) {
        sl_cache_put(ngx_streamline_cache(), channel, len, &t.state, now_ms);
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

    ngx_streamline_redis_metrics();

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
    const char        *argv[15];
    size_t             lens[15];
    u_char             ttl[NGX_INT64_LEN];
    u_char             skey[256];
    u_char             okey[256];
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

    jlen = sl_state_json(&t->state, NULL, 0, SL_STATE_JSON_ORIGIN, c->json,
                         sizeof(c->json));
    elen = sl_state_json(&t->state, t->channel, t->channel_len,
                         SL_STATE_JSON_ORIGIN, c->event, sizeof(c->event));

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
    c->argv[2] = "3";
    c->lens[2] = 1;
    c->argv[3] = (char *) c->skey;
    c->lens[3] = ngx_streamline_key(c->skey, sizeof(c->skey), "state",
                                    t->channel, t->channel_len);
    c->argv[4] = (char *) c->hkey;
    c->lens[4] = ngx_streamline_key(c->hkey, sizeof(c->hkey), "history",
                                    NULL, 0);
    c->argv[5] = (char *) c->okey;
    c->lens[5] = ngx_streamline_key(c->okey, sizeof(c->okey), "owner",
                                    t->channel, t->channel_len);
    c->argv[6] = (char *) c->json;
    c->lens[6] = jlen;
    c->argv[7] = t->state.status == SL_STATUS_LIVE ? "live" : "idle";
    c->lens[7] = 4;
    c->argv[8] = (char *) c->at;
    c->lens[8] = SL_ISO8601_LEN;
    c->argv[9] = (char *) t->channel;
    c->lens[9] = t->channel_len;
    c->argv[10] = (char *) c->ttl;
    c->lens[10] = p - c->ttl;
    c->argv[11] = (char *) c->topic;
    c->lens[11] = ngx_streamline_key(c->topic, sizeof(c->topic), "events",
                                     NULL, 0);
    c->argv[12] = NGX_STREAMLINE_HISTORY_MAX;
    c->lens[12] = sizeof(NGX_STREAMLINE_HISTORY_MAX) - 1;
    c->argv[13] = (char *) c->event;
    c->lens[13] = elen;
    c->argv[14] = (char *) t->owner;
    c->lens[14] = t->owner_len;

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
                                       15, c.argv, c.lens))
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

    case SL_DECLINED:
        t = sl_queue_at(&ngx_streamline_queue, 0);

        ngx_log_error(NGX_LOG_NOTICE, ngx_streamline_log, 0,
                      "streamline: channel \"%*s\" was taken over by another "
                      "publisher: its %s state from this origin is not "
                      "written", t->channel_len, t->channel,
                      t->state.status == SL_STATUS_LIVE ? "live" : "idle");

        /* fall through */

    case SL_OK:
        ngx_streamline_error_end();
        ngx_streamline_requeue_attempt = 0;
        sl_queue_pop(&ngx_streamline_queue);

        if (ngx_streamline_metrics()) {
            sl_metric_add(&ngx_streamline_metrics()->redis_written, 1);
        }

        break;

    case SL_AGAIN:
        /* kept at the head, and everything behind it waits */
        ngx_streamline_error("refused a state transition, retrying",
                             reply);

        if (ngx_streamline_metrics()) {
            sl_metric_add(&ngx_streamline_metrics()->redis_retried, 1);
        }

        ngx_streamline_redis_metrics();
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

    ngx_streamline_redis_metrics();
    ngx_streamline_flush();
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
    const char             *argv[9];
    size_t                  lens[9];
    sl_state_t              st;
    ngx_streamline_live_t  *hb;

    st.status = SL_STATUS_LIVE;
    st.updated_ms = lv->updated_ms;
    st.origin_len = ngx_streamline_conf->origin.len;

    if (st.origin_len) {
        ngx_memcpy(st.origin, ngx_streamline_conf->origin.data,
                   st.origin_len);
    }

    jlen = sl_state_json(&st, NULL, 0, SL_STATE_JSON_ORIGIN, json,
                         sizeof(json));
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

    /* the reply needs the channel and token: lv may be gone by then */
    hb = ngx_alloc(sizeof(ngx_streamline_live_t), ngx_streamline_log);
    if (hb == NULL) {
        return;
    }

    *hb = *lv;

    if (ngx_streamline_command(ngx_streamline_heartbeat_done, hb, 9, argv,
                               lens)
        != NGX_OK)
    {
        ngx_free(hb);
    }
}


/*
 * 2: another publisher holds the channel's lock.  This origin was cut off
 * from Redis for longer than the TTL (a network partition, a stopped
 * process), the lock expired and the broadcaster, reconnected through the
 * balancer, took the channel on another origin: this session is a leftover,
 * and it goes (its end is not written: the lock is not its own).
 */
static void
ngx_streamline_heartbeat_done(redisAsyncContext *ac, void *r, void *pd)
{
    redisReply             *reply = r;
    ngx_streamline_live_t  *hb = pd;

    if (reply) {
        ngx_streamline_replied(&ngx_streamline_cmd);

        if (reply->type == REDIS_REPLY_ERROR) {
            ngx_streamline_error("error", reply);
        }
    }

    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 2
        && !ngx_streamline_exiting
        && ngx_streamline_live_has(hb->channel, hb->channel_len))
    {
        ngx_log_error(NGX_LOG_WARN, ngx_streamline_log, 0,
                      "streamline: channel \"%s\" was taken over by "
                      "another publisher while this origin could not renew "
                      "its lock; this publisher is disconnected",
                      hb->channel);

        ngx_rtmp_streamline_drop_channel(hb->channel, hb->channel_len,
                                         hb->owner, hb->owner_len);
    }

    ngx_free(hb);
}


/*
 * A worker that exits while it still holds live channels (nginx's fast
 * shutdown) or unwritten transitions: the event loop is gone, so they are
 * written with a blocking connection, each wait bounded by
 * streamline_redis_timeout.  Whatever fails here expires by its TTL.
 */
void
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
                                        ngx_streamline_now_ms(),
                                        lv[i].owner, lv[i].owner_len);
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
            && redisAppendCommandArgv(c, 15, cmd.argv, cmd.lens) == REDIS_OK)
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


/*
 * This worker's Redis gauges for the metrics: connected (and answered),
 * the queue's length and the time of its oldest transition; transitions
 * lost since the last look are added to the total.
 */
void
ngx_streamline_redis_metrics(void)
{
    static uint64_t       lost;
    sl_metrics_t         *m;
    sl_metrics_worker_t  *w;
    sl_transition_t      *t;

    m = ngx_streamline_metrics();
    w = ngx_streamline_metrics_worker();

    if (m == NULL || w == NULL || ngx_streamline_queue.items == NULL) {
        return;
    }

    sl_metric_set(&w->redis_used, 1);
    sl_metric_set(&w->redis_connected, ngx_streamline_redis_healthy());
    sl_metric_set(&w->redis_queue, (uint64_t) ngx_streamline_queue.len);

    if (ngx_streamline_queue.len) {
        t = sl_queue_at(&ngx_streamline_queue, 0);
        sl_metric_set(&w->redis_oldest_ms, t->state.updated_ms);

    } else {
        sl_metric_set(&w->redis_oldest_ms, 0);
    }

    if (ngx_streamline_queue.dropped > lost) {
        sl_metric_add(&m->redis_lost, ngx_streamline_queue.dropped - lost);
        lost = ngx_streamline_queue.dropped;
    }
}
