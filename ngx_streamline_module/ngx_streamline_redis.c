/*
 * The per-worker Redis client: hiredis's async API driven by nginx's event
 * loop.  Two connections per worker: one for commands, one subscribed to
 * state changes.  No call here blocks: addresses are numeric (resolved at
 * configuration time), connects are non-blocking with a timer, every wait
 * for a reply is bounded by streamline_redis_timeout, and a lost connection
 * is retried with backoff.  With sentinels, the master they name is
 * connected to (ngx_streamline_redis_sentinel.c), and only once ROLE says
 * it is the master.
 *
 * The state transitions and the live channels' heartbeat are in
 * ngx_streamline_redis_state.c, publish claims and state reads in
 * ngx_streamline_redis_claim.c.  What a reply means is read by
 * core/sl_redis.c.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_streamline_redis.h"


static void ngx_streamline_connect_failed(ngx_streamline_rconn_t *rc);
static ngx_str_t *ngx_streamline_peer(ngx_streamline_rconn_t *rc);
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


ngx_streamline_main_conf_t         *ngx_streamline_conf;
ngx_log_t                          *ngx_streamline_log;
ngx_uint_t                          ngx_streamline_exiting;

ngx_streamline_rconn_t              ngx_streamline_cmd;
ngx_streamline_rconn_t              ngx_streamline_sub;

ngx_str_t                           ngx_streamline_redis_name;

/* the error code logged for the episode under way, if one is */
static ngx_uint_t                   ngx_streamline_episode;
static u_char                       ngx_streamline_episode_code[
                                                         SL_REDIS_CODE_MAX];
static size_t                       ngx_streamline_episode_len;


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
    ngx_streamline_conf = smcf;
    ngx_streamline_log = cycle->log;
    ngx_streamline_exiting = 0;
    ngx_streamline_redis_name = smcf->redis;

    if (ngx_streamline_queue_init(cycle) != NGX_OK
        || ngx_streamline_claim_init(cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_memzero(&ngx_streamline_cmd, sizeof(ngx_streamline_rconn_t));
    ngx_memzero(&ngx_streamline_sub, sizeof(ngx_streamline_rconn_t));
    ngx_streamline_cmd.name = "commands";
    ngx_streamline_sub.name = "subscriber";
    ngx_streamline_sub.subscriber = 1;

    ngx_streamline_episode = 0;
    ngx_streamline_redis_metrics();

    /* with sentinels, these wait for the master to be known */
    ngx_streamline_connect(&ngx_streamline_cmd);
    ngx_streamline_connect(&ngx_streamline_sub);

    if (smcf->sentinels) {
        return ngx_streamline_sentinel_init(cycle);
    }

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

    if (ngx_streamline_conf->sentinels) {
        ngx_streamline_sentinel_exit();
    }

    ngx_streamline_queue_free();
    ngx_streamline_conf = NULL;
}


/* connection management */

void
ngx_streamline_connect(ngx_streamline_rconn_t *rc)
{
    ngx_connection_t            *c;
    redisAsyncContext           *ac;
    ngx_streamline_main_conf_t  *smcf = ngx_streamline_conf;

    if (rc->addr) {
        ac = redisAsyncConnect((char *) rc->addr->host.data, rc->addr->port);

    } else if (smcf->redis_unix.len) {
        ac = redisAsyncConnectUnix((char *) smcf->redis_unix.data);

    } else {
        /* the sentinels' answer connects it */
        if (smcf->sentinels && !ngx_streamline_sentinel_known()) {
            return;
        }

        ac = redisAsyncConnect((char *) smcf->redis_host.data,
                               smcf->redis_port);
    }

    if (ac == NULL) {
        ngx_log_error(NGX_LOG_ERR, ngx_streamline_log, 0,
                      "streamline: redis %V: out of memory",
                      ngx_streamline_peer(rc));
        ngx_streamline_connect_failed(rc);
        return;
    }

    if (ac->err) {
        ngx_log_error(NGX_LOG_ERR, ngx_streamline_log, 0,
                      "streamline: redis %V: %s", ngx_streamline_peer(rc),
                      ac->errstr);
        redisAsyncFree(ac);
        ngx_streamline_connect_failed(rc);
        return;
    }

    c = ngx_get_connection(ac->c.fd, ngx_streamline_log);
    if (c == NULL) {
        redisAsyncFree(ac);
        ngx_streamline_connect_failed(rc);
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
ngx_streamline_connect_failed(ngx_streamline_rconn_t *rc)
{
    if (rc->sentinel) {
        /* the next sentinel, or a backoff once all failed */
        ngx_streamline_sentinel_closed(rc);
        return;
    }

    ngx_streamline_schedule(rc);
}


/* the address a connection's messages name */
static ngx_str_t *
ngx_streamline_peer(ngx_streamline_rconn_t *rc)
{
    return rc->addr ? &rc->addr->name : &ngx_streamline_redis_name;
}


void
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

    ngx_uint_t  level;

    if (rc->ac == NULL) {
        return;
    }

    level = rc->sentinel ? ngx_streamline_sentinel_level(rc) : NGX_LOG_ERR;

    ngx_log_error(level, ngx_streamline_log, 0,
                  "streamline: redis %V %s connection timed out",
                  ngx_streamline_peer(rc), rc->name);

    /* pending callbacks get NULL replies; the cleanup hook reconnects */
    redisAsyncFree(rc->ac);
}


static void
ngx_streamline_on_connect(const redisAsyncContext *ac, int status)
{
    ngx_streamline_rconn_t  *rc = ac->data;

    ngx_uint_t  level;

    if (status != REDIS_OK) {
        /* one error an outage; the retries that follow log at info */
        if (rc->sentinel) {
            level = ngx_streamline_sentinel_level(rc);

        } else {
            level = rc->attempt ? NGX_LOG_INFO : NGX_LOG_ERR;
        }

        ngx_log_error(level, ngx_streamline_log, 0,
                      "streamline: redis %V %s connect failed: %s",
                      ngx_streamline_peer(rc), rc->name,
                      ac->errstr ? ac->errstr : "error");
        return;
    }

    if (rc->timeout.timer_set) {
        ngx_del_timer(&rc->timeout);
    }

    if (rc->sentinel) {
        ngx_streamline_sentinel_connected(rc);
        return;
    }

    if (ngx_streamline_conf->sentinels) {
        /* a sentinel may name a master that was demoted since */
        ngx_streamline_sentinel_verify(rc);
        return;
    }

    ngx_streamline_ready(rc);
}


void
ngx_streamline_ready(ngx_streamline_rconn_t *rc)
{
    static const char  *sub_argv[2] = { "SUBSCRIBE", NULL };
    static size_t       sub_lens[2];
    u_char              topic[256];

    ngx_log_error(NGX_LOG_INFO, ngx_streamline_log, 0,
                  "streamline: redis %V %s connection up",
                  ngx_streamline_peer(rc), rc->name);

    rc->connected = 1;
    rc->attempt = 0;

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
    ngx_streamline_queue_connected();
}


/*
 * An error reply is logged once per episode: the same error code again
 * (each retry of a -LOADING, every heartbeat refused with -OOM) is not,
 * until Redis answers PING or writes a transition.
 */
void
ngx_streamline_error(const char *what, redisReply *reply)
{
    size_t  n;

    n = sl_redis_error_code(reply->str, reply->len);

    /* a master demoted without a +switch-master heard: ask the sentinels */
    if (ngx_streamline_conf->sentinels && n == sizeof("READONLY") - 1
        && ngx_memcmp(reply->str, "READONLY", n) == 0)
    {
        ngx_streamline_sentinel_demoted();
    }

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
                  &ngx_streamline_redis_name, what, (size_t) reply->len,
                  reply->str);
}


void
ngx_streamline_error_end(void)
{
    if (!ngx_streamline_episode) {
        return;
    }

    ngx_streamline_episode = 0;

    ngx_log_error(NGX_LOG_NOTICE, ngx_streamline_log, 0,
                  "streamline: redis %V answers again",
                  &ngx_streamline_redis_name);
}


static void
ngx_streamline_on_disconnect(const redisAsyncContext *ac, int status)
{
    ngx_streamline_rconn_t  *rc = ac->data;

    ngx_uint_t  level;

    if (ngx_streamline_exiting || rc->switching) {
        return;
    }

    if (rc->sentinel) {
        /* closed by us: a query's connection, once it has its answer */
        if (status == REDIS_OK) {
            return;
        }

        /* a connection that was up: no flood */
        level = NGX_LOG_WARN;

    } else {
        level = NGX_LOG_ERR;
    }

    ngx_log_error(level, ngx_streamline_log, 0,
                  "streamline: redis %V %s connection lost%s%s",
                  ngx_streamline_peer(rc), rc->name,
                  ac->errstr ? ": " : "", ac->errstr ? ac->errstr : "");
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

    if (rc->sentinel) {
        rc->ac = NULL;
        rc->connected = 0;
        rc->subscribed = 0;

        if (!ngx_streamline_exiting) {
            ngx_streamline_sentinel_closed(rc);
        }

        return;
    }

    /* a connection that was up and went: counted (not failed connects) */
    if (rc->connected && !rc->subscriber && !ngx_streamline_exiting
        && ngx_streamline_metrics())
    {
        sl_metric_add(&ngx_streamline_metrics()->redis_reconnects, 1);
    }

    rc->ac = NULL;
    rc->connected = 0;
    rc->ready = 0;
    rc->outstanding = 0;

    if (rc->subscriber) {
        rc->subscribed = 0;

    } else {
        ngx_streamline_queue_lost();
    }

    /* the master may have changed and the sentinels' message been missed */
    if (ngx_streamline_conf->sentinels && !rc->switching
        && !ngx_streamline_exiting)
    {
        ngx_streamline_sentinel_lost(rc);
    }

    ngx_streamline_schedule(rc);
}


/* commands */

ngx_int_t
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


void
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


size_t
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


void
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
