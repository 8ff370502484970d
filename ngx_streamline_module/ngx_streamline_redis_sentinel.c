/*
 * Redis Sentinel for the per-worker Redis client (streamline_redis
 * sentinel://...).  hiredis 0.14 knows nothing of sentinels: each worker
 * asks them itself, on connections that nginx's event loop drives like the
 * others (ngx_streamline_redis.c), never blocking:
 *
 *   - a query connection asks one sentinel at a time for the master
 *     (SENTINEL get-master-addr-by-name), the next one when a sentinel
 *     fails or does not answer in time, and after a backoff once all of
 *     them failed;
 *   - a connection to one sentinel is subscribed to +switch-master; when it
 *     is lost it goes to the next sentinel, and once subscribed again it
 *     asks for the master (a switch may have been missed meanwhile);
 *   - the commands and subscriber connections go to the master named, and
 *     are used only once ROLE says "master" there: a sentinel that has not
 *     heard of a failover yet names the old master, a replica by then.  A
 *     -READONLY reply sends the worker back to the sentinels too.
 *
 * A new master: both connections to the old one are dropped and made to
 * the new one at once.  The transition queue keeps what the old master did
 * not acknowledge, and writes it in order once the new one answers PING;
 * the subscriber clears the state cache when it subscribes again.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_streamline_redis.h"


static void ngx_streamline_sentinel_ask(ngx_msec_t delay);
static void ngx_streamline_sentinel_ask_handler(ngx_event_t *ev);
static void ngx_streamline_sentinel_master_done(redisAsyncContext *ac,
    void *r, void *pd);
static void ngx_streamline_sentinel_message(redisAsyncContext *ac, void *r,
    void *pd);
static void ngx_streamline_sentinel_role_done(redisAsyncContext *ac, void *r,
    void *pd);
static void ngx_streamline_sentinel_found(const char *ip, int port,
    ngx_str_t *from);
static void ngx_streamline_sentinel_restart(ngx_streamline_rconn_t *rc);
static void ngx_streamline_sentinel_drop(ngx_streamline_rconn_t *rc);
static void ngx_streamline_sentinel_drop_handler(ngx_event_t *ev);


static ngx_streamline_rconn_t  ngx_streamline_sq;   /* asks a sentinel */
static ngx_streamline_rconn_t  ngx_streamline_ss;   /* hears +switch-master */

static ngx_event_t             ngx_streamline_ask_ev;
static ngx_uint_t              ngx_streamline_ask_next;      /* to ask */
static ngx_uint_t              ngx_streamline_ask_failed;    /* this round */
static ngx_uint_t              ngx_streamline_ask_round;     /* all failed */
static ngx_uint_t              ngx_streamline_ask_answered;
static ngx_uint_t              ngx_streamline_ask_episode;   /* logged */

static ngx_uint_t              ngx_streamline_ss_next;

/* the last master named, and whether to connect to it */
static ngx_uint_t              ngx_streamline_known;
static char                    ngx_streamline_master_ip[SL_SENTINEL_IP_MAX];
static int                     ngx_streamline_master_port;
static u_char                  ngx_streamline_master_text[
                                                       NGX_SOCKADDR_STRLEN];

/* a master that is one no more: dropped, the sentinels asked after this */
static ngx_event_t             ngx_streamline_drop_ev;
static ngx_uint_t              ngx_streamline_demoted_attempt;
static ngx_uint_t              ngx_streamline_demoted_episode;


ngx_int_t
ngx_streamline_sentinel_init(ngx_cycle_t *cycle)
{
    ngx_uint_t              n;
    ngx_streamline_addr_t  *sentinels;

    n = ngx_streamline_conf->sentinels->nelts;
    sentinels = ngx_streamline_conf->sentinels->elts;

    ngx_memzero(&ngx_streamline_sq, sizeof(ngx_streamline_rconn_t));
    ngx_memzero(&ngx_streamline_ss, sizeof(ngx_streamline_rconn_t));
    ngx_streamline_sq.name = "sentinel query";
    ngx_streamline_sq.sentinel = 1;
    ngx_streamline_ss.name = "sentinel subscriber";
    ngx_streamline_ss.sentinel = 1;

    /* the workers of an origin start on different sentinels */
    ngx_streamline_ask_next = (ngx_uint_t) ngx_pid % n;
    ngx_streamline_ss_next = ngx_streamline_ask_next;
    ngx_streamline_ask_failed = 0;
    ngx_streamline_ask_round = 0;
    ngx_streamline_ask_answered = 0;
    ngx_streamline_ask_episode = 0;

    ngx_streamline_known = 0;
    ngx_streamline_master_ip[0] = '\0';
    ngx_streamline_master_port = 0;
    ngx_streamline_demoted_attempt = 0;
    ngx_streamline_demoted_episode = 0;

    ngx_memzero(&ngx_streamline_ask_ev, sizeof(ngx_event_t));
    ngx_streamline_ask_ev.handler = ngx_streamline_sentinel_ask_handler;
    ngx_streamline_ask_ev.log = cycle->log;
    ngx_streamline_ask_ev.cancelable = 1;

    ngx_memzero(&ngx_streamline_drop_ev, sizeof(ngx_event_t));
    ngx_streamline_drop_ev.handler = ngx_streamline_sentinel_drop_handler;
    ngx_streamline_drop_ev.log = cycle->log;
    ngx_streamline_drop_ev.cancelable = 1;

    ngx_streamline_ss.addr = &sentinels[ngx_streamline_ss_next];
    ngx_streamline_connect(&ngx_streamline_ss);

    ngx_streamline_sentinel_ask(0);

    return NGX_OK;
}


void
ngx_streamline_sentinel_exit(void)
{
    if (ngx_streamline_ask_ev.timer_set) {
        ngx_del_timer(&ngx_streamline_ask_ev);
    }

    if (ngx_streamline_drop_ev.timer_set) {
        ngx_del_timer(&ngx_streamline_drop_ev);
    }

    if (ngx_streamline_ss.retry.timer_set) {
        ngx_del_timer(&ngx_streamline_ss.retry);
    }

    if (ngx_streamline_sq.ac) {
        redisAsyncFree(ngx_streamline_sq.ac);
    }

    if (ngx_streamline_ss.ac) {
        redisAsyncFree(ngx_streamline_ss.ac);
    }
}


ngx_uint_t
ngx_streamline_sentinel_known(void)
{
    return ngx_streamline_known;
}


/* one warning an episode of failures, then info */
ngx_uint_t
ngx_streamline_sentinel_level(ngx_streamline_rconn_t *rc)
{
    if (rc == &ngx_streamline_ss) {
        return rc->attempt ? NGX_LOG_INFO : NGX_LOG_WARN;
    }

    return ngx_streamline_ask_episode ? NGX_LOG_INFO : NGX_LOG_WARN;
}


/* asking a sentinel */

static void
ngx_streamline_sentinel_ask(ngx_msec_t delay)
{
    /* one question at a time: the one under way answers this one too */
    if (ngx_streamline_exiting || ngx_streamline_sq.ac) {
        return;
    }

    if (ngx_streamline_ask_ev.timer_set) {
        if (delay) {
            return;
        }

        ngx_del_timer(&ngx_streamline_ask_ev);
    }

    /*
     * Even at once through the timer: a failed query's cleanup hook asks
     * the next sentinel, and must not connect from inside hiredis's free.
     */
    ngx_add_timer(&ngx_streamline_ask_ev, delay);
}


static void
ngx_streamline_sentinel_ask_handler(ngx_event_t *ev)
{
    ngx_streamline_addr_t  *sentinels;

    if (ngx_streamline_exiting || ngx_streamline_sq.ac) {
        return;
    }

    sentinels = ngx_streamline_conf->sentinels->elts;

    ngx_streamline_sq.addr = &sentinels[ngx_streamline_ask_next];
    ngx_streamline_ask_answered = 0;

    ngx_streamline_connect(&ngx_streamline_sq);
}


void
ngx_streamline_sentinel_connected(ngx_streamline_rconn_t *rc)
{
    int               argc;
    size_t            lens[3];
    const char       *argv[3];
    redisCallbackFn  *fn;

    if (rc == &ngx_streamline_sq) {
        argv[0] = "SENTINEL";
        lens[0] = sizeof("SENTINEL") - 1;
        argv[1] = "get-master-addr-by-name";
        lens[1] = sizeof("get-master-addr-by-name") - 1;
        argv[2] = (const char *) ngx_streamline_conf->sentinel_master.data;
        lens[2] = ngx_streamline_conf->sentinel_master.len;
        argc = 3;
        fn = ngx_streamline_sentinel_master_done;

    } else {
        argv[0] = "SUBSCRIBE";
        lens[0] = sizeof("SUBSCRIBE") - 1;
        argv[1] = "+switch-master";
        lens[1] = sizeof("+switch-master") - 1;
        argc = 2;
        fn = ngx_streamline_sentinel_message;
    }

    if (redisAsyncCommandArgv(rc->ac, fn, NULL, argc, argv, lens)
        != REDIS_OK)
    {
        /* its cleanup hook goes on to the next sentinel */
        redisAsyncDisconnect(rc->ac);
        return;
    }

    /* the answer, or the subscription, within the reply timeout */
    ngx_add_timer(&rc->timeout, ngx_streamline_conf->redis_timeout);
}


static void
ngx_streamline_sentinel_master_done(redisAsyncContext *ac, void *r, void *pd)
{
    redisReply              *reply = r;
    ngx_streamline_rconn_t  *rc = &ngx_streamline_sq;

    int          port;
    char         ip[SL_SENTINEL_IP_MAX];
    ngx_str_t   *name;
    ngx_uint_t   level;

    if (reply == NULL) {
        /* the connection went: its cleanup hook asks the next sentinel */
        return;
    }

    if (rc->timeout.timer_set) {
        ngx_del_timer(&rc->timeout);
    }

    name = &ngx_streamline_conf->sentinel_master;
    level = ngx_streamline_sentinel_level(rc);

    switch (sl_sentinel_master(reply, ip, &port)) {

    case SL_SENTINEL_ADDR_OK:
        ngx_streamline_ask_answered = 1;
        break;

    case SL_SENTINEL_ADDR_UNKNOWN:
        ngx_log_error(level, ngx_streamline_log, 0,
                      "streamline: redis sentinel %V does not know the "
                      "master \"%V\"", &rc->addr->name, name);
        break;

    case SL_SENTINEL_ADDR_HOSTNAME:
        /* hiredis would resolve it with a blocking getaddrinfo() */
        ngx_log_error(NGX_LOG_ERR, ngx_streamline_log, 0,
                      "streamline: redis sentinel %V names the master "
                      "\"%V\" by a host name, which is not used: announce "
                      "IP addresses to the sentinels", &rc->addr->name,
                      name);
        break;

    default: /* SL_SENTINEL_ADDR_BAD */
        ngx_log_error(level, ngx_streamline_log, 0,
                      "streamline: redis sentinel %V: unexpected answer "
                      "about the master \"%V\"%s%*s", &rc->addr->name, name,
                      reply->type == REDIS_REPLY_ERROR ? ": " : "",
                      reply->type == REDIS_REPLY_ERROR ? reply->len : 0,
                      reply->type == REDIS_REPLY_ERROR ? reply->str : "");
    }

    /* the question is answered: the cleanup hook goes on if need be */
    redisAsyncDisconnect(ac);

    if (ngx_streamline_ask_answered) {
        ngx_streamline_sentinel_found(ip, port, &rc->addr->name);
    }
}


void
ngx_streamline_sentinel_closed(ngx_streamline_rconn_t *rc)
{
    ngx_uint_t              n;
    ngx_streamline_addr_t  *sentinels;

    if (ngx_streamline_exiting) {
        return;
    }

    n = ngx_streamline_conf->sentinels->nelts;
    sentinels = ngx_streamline_conf->sentinels->elts;

    if (rc == &ngx_streamline_ss) {
        /* the next sentinel, after a backoff (reset once subscribed) */
        ngx_streamline_ss_next = (ngx_streamline_ss_next + 1) % n;
        rc->addr = &sentinels[ngx_streamline_ss_next];
        ngx_streamline_schedule(rc);
        return;
    }

    if (ngx_streamline_ask_answered) {
        ngx_streamline_ask_answered = 0;
        ngx_streamline_ask_failed = 0;
        ngx_streamline_ask_round = 0;

        if (ngx_streamline_ask_episode) {
            ngx_streamline_ask_episode = 0;
            ngx_log_error(NGX_LOG_NOTICE, ngx_streamline_log, 0,
                          "streamline: redis sentinel %V answers again",
                          &rc->addr->name);
        }

        return;
    }

    ngx_streamline_ask_next = (ngx_streamline_ask_next + 1) % n;

    if (++ngx_streamline_ask_failed < n) {
        ngx_streamline_sentinel_ask(0);
        return;
    }

    ngx_streamline_ask_failed = 0;

    if (!ngx_streamline_ask_episode) {
        ngx_streamline_ask_episode = 1;
        ngx_log_error(NGX_LOG_ERR, ngx_streamline_log, 0,
                      "streamline: redis: none of the %ui sentinels named "
                      "the master \"%V\", asking again with backoff", n,
                      &ngx_streamline_conf->sentinel_master);
    }

    ngx_streamline_sentinel_ask((ngx_msec_t) sl_backoff_ms(
                                    ngx_streamline_ask_round++,
                                    NGX_STREAMLINE_BACKOFF_MAX));
}


/* +switch-master */

static void
ngx_streamline_sentinel_message(redisAsyncContext *ac, void *r, void *pd)
{
    ngx_streamline_rconn_t  *rc = &ngx_streamline_ss;

    int         port, addr;
    char        ip[SL_SENTINEL_IP_MAX];
    ngx_str_t  *name;

    name = &ngx_streamline_conf->sentinel_master;

    switch (sl_sentinel_message(r, name->data, name->len, ip, &port, &addr)) {

    case SL_SENTINEL_MSG_SUBSCRIBED:
        if (rc->timeout.timer_set) {
            ngx_del_timer(&rc->timeout);
        }

        rc->subscribed = 1;
        rc->attempt = 0;

        ngx_log_error(NGX_LOG_INFO, ngx_streamline_log, 0,
                      "streamline: redis sentinel %V: subscribed to "
                      "+switch-master", &rc->addr->name);

        /* a switch may have happened while no sentinel was heard */
        ngx_streamline_sentinel_ask(0);
        return;

    case SL_SENTINEL_MSG_SWITCH:
        break;

    default: /* SL_SENTINEL_MSG_OTHER, a NULL reply too */
        return;
    }

    switch (addr) {

    case SL_SENTINEL_ADDR_OK:
        ngx_streamline_sentinel_found(ip, port, &rc->addr->name);
        return;

    case SL_SENTINEL_ADDR_OTHER:
        return;

    case SL_SENTINEL_ADDR_HOSTNAME:
        ngx_log_error(NGX_LOG_ERR, ngx_streamline_log, 0,
                      "streamline: redis sentinel %V: the master \"%V\" "
                      "switched to a host name, which is not used: "
                      "announce IP addresses to the sentinels",
                      &rc->addr->name, name);
        return;

    default:
        ngx_log_error(NGX_LOG_WARN, ngx_streamline_log, 0,
                      "streamline: redis sentinel %V: a malformed "
                      "+switch-master message ignored", &rc->addr->name);
    }
}


/* the master */

static void
ngx_streamline_sentinel_found(const char *ip, int port, ngx_str_t *from)
{
    u_char                      *p;
    size_t                       len;
    ngx_uint_t                   same, changed;
    ngx_streamline_main_conf_t  *smcf = ngx_streamline_conf;

    len = ngx_strlen(ip);
    same = (port == ngx_streamline_master_port
            && ngx_strcmp(ip, ngx_streamline_master_ip) == 0);

    if (same && ngx_streamline_known) {
        return;
    }

    if (same) {
        /* named again after ROLE or -READONLY said otherwise: try it */
        ngx_log_error(NGX_LOG_INFO, ngx_streamline_log, 0,
                      "streamline: redis sentinel %V still names %V as the "
                      "master \"%V\"", from, &ngx_streamline_redis_name,
                      &smcf->sentinel_master);

    } else {
        changed = (ngx_streamline_master_port != 0);

        ngx_memcpy(ngx_streamline_master_ip, ip, len + 1);
        ngx_streamline_master_port = port;

        /* where the connections, and a worker's last flush at exit, go */
        ngx_memcpy(smcf->redis_host.data, ip, len + 1);
        smcf->redis_host.len = len;
        smcf->redis_port = (in_port_t) port;

        p = ngx_snprintf(ngx_streamline_master_text,
                         sizeof(ngx_streamline_master_text),
                         ngx_strchr(ip, ':') ? "[%s]:%d" : "%s:%d",
                         ip, port);
        ngx_streamline_redis_name.data = ngx_streamline_master_text;
        ngx_streamline_redis_name.len = p - ngx_streamline_master_text;

        ngx_log_error(NGX_LOG_NOTICE, ngx_streamline_log, 0,
                      "streamline: redis master \"%V\" is %V "
                      "(from sentinel %V)", &smcf->sentinel_master,
                      &ngx_streamline_redis_name, from);

        if (changed && ngx_streamline_metrics()) {
            sl_metric_add(&ngx_streamline_metrics()->redis_master_changes,
                          1);
        }
    }

    ngx_streamline_known = 1;

    ngx_streamline_sentinel_restart(&ngx_streamline_cmd);
    ngx_streamline_sentinel_restart(&ngx_streamline_sub);
}


/*
 * Never called from a callback of rc's own context (only from the
 * sentinel connections' and from timers): hiredis would put the free off
 * until the callback returns, and the new connection would take the
 * place of one still in use.
 */
static void
ngx_streamline_sentinel_restart(ngx_streamline_rconn_t *rc)
{
    ngx_streamline_sentinel_drop(rc);

    if (rc->retry.timer_set) {
        ngx_del_timer(&rc->retry);
    }

    rc->attempt = 0;
    ngx_streamline_connect(rc);
}


/* closed to follow the master: not a loss that would ask the sentinels */
static void
ngx_streamline_sentinel_drop(ngx_streamline_rconn_t *rc)
{
    if (rc->ac == NULL) {
        return;
    }

    rc->switching = 1;
    redisAsyncFree(rc->ac);
    rc->switching = 0;
}


void
ngx_streamline_sentinel_verify(ngx_streamline_rconn_t *rc)
{
    static const char    *argv[1] = { "ROLE" };
    static const size_t   lens[1] = { sizeof("ROLE") - 1 };

    if (redisAsyncCommandArgv(rc->ac, ngx_streamline_sentinel_role_done,
                              NULL, 1, argv, lens)
        != REDIS_OK)
    {
        redisAsyncDisconnect(rc->ac);
        return;
    }

    ngx_add_timer(&rc->timeout, ngx_streamline_conf->redis_timeout);
}


static void
ngx_streamline_sentinel_role_done(redisAsyncContext *ac, void *r, void *pd)
{
    redisReply              *reply = r;
    ngx_streamline_rconn_t  *rc = ac->data;

    size_t       len;
    ngx_uint_t   level;
    const char  *role;

    if (reply == NULL) {
        return;
    }

    if (rc->timeout.timer_set) {
        ngx_del_timer(&rc->timeout);
    }

    switch (sl_sentinel_role(reply, &role, &len)) {

    case SL_OK:
        ngx_streamline_demoted_attempt = 0;
        ngx_streamline_demoted_episode = 0;
        ngx_streamline_ready(rc);
        return;

    case SL_DECLINED:
        level = ngx_streamline_demoted_episode ? NGX_LOG_INFO
                                               : NGX_LOG_WARN;

        ngx_log_error(level, ngx_streamline_log, 0,
                      "streamline: redis %V is a %*s, not the master "
                      "\"%V\": asking the sentinels again",
                      &ngx_streamline_redis_name, len, role,
                      &ngx_streamline_conf->sentinel_master);

        ngx_streamline_demoted_episode = 1;
        ngx_streamline_sentinel_demoted();
        return;

    default: /* SL_AGAIN */
        level = rc->attempt ? NGX_LOG_INFO : NGX_LOG_WARN;

        ngx_log_error(level, ngx_streamline_log, 0,
                      "streamline: redis %V %s connection: ROLE failed%s%*s",
                      &ngx_streamline_redis_name, rc->name,
                      reply->type == REDIS_REPLY_ERROR ? ": " : "",
                      reply->type == REDIS_REPLY_ERROR ? reply->len : 0,
                      reply->type == REDIS_REPLY_ERROR ? reply->str : "");

        /* reconnected with backoff, the sentinels asked meanwhile */
        redisAsyncDisconnect(ac);
    }
}


void
ngx_streamline_sentinel_demoted(void)
{
    if (!ngx_streamline_known) {
        return;
    }

    /* nothing connects to it until a sentinel names a master again */
    ngx_streamline_known = 0;

    /* out of the hiredis callback that found it out */
    if (!ngx_streamline_drop_ev.timer_set) {
        ngx_add_timer(&ngx_streamline_drop_ev, 0);
    }
}


static void
ngx_streamline_sentinel_drop_handler(ngx_event_t *ev)
{
    if (ngx_streamline_exiting) {
        return;
    }

    ngx_streamline_sentinel_drop(&ngx_streamline_cmd);
    ngx_streamline_sentinel_drop(&ngx_streamline_sub);

    /* a sentinel that named it may not have heard of the failover yet */
    ngx_streamline_sentinel_ask((ngx_msec_t) sl_backoff_ms(
                                    ngx_streamline_demoted_attempt++,
                                    NGX_STREAMLINE_BACKOFF_MAX));
}


void
ngx_streamline_sentinel_lost(ngx_streamline_rconn_t *rc)
{
    /*
     * Not known: the sentinels are asked already.  A backoff under way
     * (no sentinel answers) is kept.
     */
    if (!ngx_streamline_known || ngx_streamline_ask_ev.timer_set) {
        return;
    }

    ngx_streamline_sentinel_ask(0);
}
