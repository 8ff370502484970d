/*
 * The Redis client's publish claims (a channel's owner lock), their
 * releases, state reads, and the state events every worker hears: an
 * owner lock or a live state whose owner is gone is taken over or ended
 * here.  The connections are in ngx_streamline_redis.c.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_streamline_redis.h"


/* an owner lock a session of this worker took and has not released */
typedef struct {
    u_char               owner[SL_OWNER_MAX];
    size_t               owner_len;
} ngx_streamline_held_t;


static void ngx_streamline_claim_done(redisAsyncContext *ac, void *r,
    void *pd);
static void ngx_streamline_read_done(redisAsyncContext *ac, void *r,
    void *pd);
static ngx_uint_t ngx_streamline_owner_stale(const u_char *owner,
    size_t len);


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
    "local org = '' "
    "local st = redis.call('GET', ARGV[2] .. 'state:' .. ch) "
    "if st then "
    "  local ok, t = pcall(cjson.decode, st) "
    "  if ok and type(t) == 'table' and type(t.origin) == 'string' then "
    "    org = t.origin "
    "  end "
    "end "
    "return {2, ch, o or '', org}";

static const char  ngx_streamline_release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "  return redis.call('DEL', KEYS[1]) "
    "end "
    "return 0";

/* a state and the owner of its lock, to tell a live state of a dead owner */
static const char  ngx_streamline_read_lua[] =
    "return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}";


static ngx_array_t  *ngx_streamline_held;


ngx_int_t
ngx_streamline_claim_init(ngx_cycle_t *cycle)
{
    ngx_streamline_held = ngx_array_create(cycle->pool, 4,
                                           sizeof(ngx_streamline_held_t));
    if (ngx_streamline_held == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
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

        if (rc == SL_REDIS_CLAIM_BUSY) {
            /* for the refusal's log line: who holds it, and where */
            (void) sl_redis_claim_origin(reply, cl->holder_origin,
                                         &cl->holder_origin_len);
            cl->holder_len = (owner && owner_len < SL_OWNER_MAX)
                             ? owner_len : 0;
            if (cl->holder_len) {
                ngx_memcpy(cl->holder, owner, owner_len);
            }
        }

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
void
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
        rd->state.origin_len = 0;
        rd->state.origin[0] = '\0';

        ngx_streamline_redis_transition(rd->channel, rd->channel_len,
                                        SL_STATUS_IDLE,
                                        rd->state.updated_ms,
                                        (u_char *) owner, owner_len);
        ngx_streamline_redis_release(rd->channel, rd->channel_len,
                                     (u_char *) owner, owner_len);
    }

    if (rd->data && !ngx_streamline_exiting) {
        rd->handler(rd);
    }

    ngx_free(rd);
}


/* pub/sub: every worker of every origin hears every transition */

void
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
        sl_cache_clear(ngx_streamline_cache());
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

    ce = sl_cache_get(ngx_streamline_cache(), channel, len,
                      ngx_streamline_now_ms());

    if (ce == NULL || ce->state.updated_ms <= st.updated_ms) {
        sl_cache_put(ngx_streamline_cache(), channel, len, &st,
                     ngx_streamline_now_ms());
    }
}
