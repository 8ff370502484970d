
/*
 * The live viewer count (streamline_viewers; core/sl_viewers.h says what
 * is counted and how).
 *
 * Where playlists are served, the log phase notes the viewer of each
 * playlist answered (200 or 304) in this worker's set for its channel; a
 * timer hands the sets to Redis every second, one PFADD (and an EXPIRE)
 * per channel into the HyperLogLog of the current 10-second bucket, on the
 * commands connection, without waiting for the replies.  Redis away: the
 * sets are dropped (the count is approximate anyway).
 *
 * /api/stream asks ngx_http_streamline_viewers_count() for a live channel:
 * this worker's last count, refreshed in the background (PFCOUNT over the
 * last SL_VIEWERS_WINDOW buckets) when it is older than 5 s.  The first
 * answer for a channel may have no count yet.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_streamline.h"
#include "ngx_streamline_redis.h"
#include "core/sl_viewers.h"


#define NGX_HTTP_STREAMLINE_VIEWERS_FLUSH    1000
#define NGX_HTTP_STREAMLINE_VIEWERS_REFRESH  5000
#define NGX_HTTP_STREAMLINE_VIEWERS_COUNTS   64


typedef struct {
    u_char               channel[SL_CHANNEL_MAX + 1];
    size_t               channel_len;
    int64_t              count;          /* -1: not known yet */
    int64_t              fetched_ms;
    int64_t              used_ms;
    unsigned             pending:1;
} ngx_http_streamline_count_t;


static void ngx_http_streamline_viewers_flush(ngx_event_t *ev);
static void ngx_http_streamline_viewers_counted(redisAsyncContext *ac,
    void *r, void *pd);


/* per worker */
static sl_viewers_t                 ngx_http_streamline_viewers_sets;
static ngx_event_t                  ngx_http_streamline_viewers_ev;
static ngx_http_streamline_count_t  ngx_http_streamline_counts[
                                        NGX_HTTP_STREAMLINE_VIEWERS_COUNTS];

/* a PFADD's arguments: the ids as hex, the pointers to them */
static u_char       ngx_http_streamline_viewers_hex[SL_VIEWERS_SET]
                                                   [SL_VIEWER_ID_HEX];
static const char  *ngx_http_streamline_viewers_argv[SL_VIEWERS_SET + 2];
static size_t       ngx_http_streamline_viewers_lens[SL_VIEWERS_SET + 2];


char *
ngx_http_streamline_viewers(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_streamline_loc_conf_t  *slcf = conf;

    ngx_str_t                         *value;
    ngx_http_compile_complex_value_t   ccv;

    if (slcf->viewers != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        slcf->viewers = 0;
        return NGX_CONF_OK;
    }

    slcf->viewers = 1;

    if (ngx_strcmp(value[1].data, "on") != 0) {
        slcf->viewers_channel = ngx_palloc(cf->pool,
                                           sizeof(ngx_http_complex_value_t));
        if (slcf->viewers_channel == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
        ccv.cf = cf;
        ccv.value = &value[1];
        ccv.complex_value = slcf->viewers_channel;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    ngx_streamline_needs_redis(cf);

    return NGX_CONF_OK;
}


/* the log phase: a playlist answered is a viewer of its channel */
void
ngx_http_streamline_viewers_log(ngx_http_request_t *r,
    ngx_http_streamline_loc_conf_t *slcf)
{
    u_char        *tail;
    size_t         len, tail_len;
    ngx_str_t      value;
    ngx_uint_t     status;
    const u_char  *channel;

    if (!slcf->viewers || r != r->main) {
        return;
    }

    status = r->headers_out.status;

    if ((status != NGX_HTTP_OK && status != NGX_HTTP_NOT_MODIFIED)
        || r->uri.len < 5
        || ngx_strncmp(r->uri.data + r->uri.len - 5, ".m3u8", 5) != 0)
    {
        return;
    }

    if (slcf->viewers_channel) {
        if (ngx_http_complex_value(r, slcf->viewers_channel, &value)
            != NGX_OK)
        {
            return;
        }

        channel = value.data;
        len = value.len;

    } else if (ngx_http_streamline_location_tail(r, &tail, &tail_len)
               != NGX_OK
               || sl_viewers_path_channel(tail, tail_len, &channel, &len)
                  != SL_OK)
    {
        return;
    }

    if (ngx_http_streamline_viewers_ev.handler == NULL) {
        ngx_http_streamline_viewers_ev.handler =
                                           ngx_http_streamline_viewers_flush;
        ngx_http_streamline_viewers_ev.log = ngx_cycle->log;
        ngx_http_streamline_viewers_ev.cancelable = 1;
    }

    /* the address as nginx sees it: the realip module's, where it is on */
    switch (sl_viewers_add(&ngx_http_streamline_viewers_sets, channel, len,
                           sl_viewer_id(r->connection->addr_text.data,
                                        r->connection->addr_text.len)))
    {
    case SL_AGAIN:
        /* a set fills up: hand them over now */
        if (ngx_http_streamline_viewers_ev.timer_set) {
            ngx_del_timer(&ngx_http_streamline_viewers_ev);
        }

        ngx_post_event(&ngx_http_streamline_viewers_ev, &ngx_posted_events);
        return;

    case SL_OK:
        break;

    default:
        return;
    }

    if (!ngx_http_streamline_viewers_ev.timer_set
        && !ngx_http_streamline_viewers_ev.posted)
    {
        ngx_add_timer(&ngx_http_streamline_viewers_ev,
                      NGX_HTTP_STREAMLINE_VIEWERS_FLUSH);
    }
}


static void
ngx_http_streamline_viewers_flush(ngx_event_t *ev)
{
    size_t                 i, j, k, klen;
    u_char                 key[256], ttl[NGX_INT_T_LEN];
    int64_t                bucket;
    const char            *argv[3];
    size_t                 lens[3];
    sl_viewers_t          *v = &ngx_http_streamline_viewers_sets;
    sl_viewers_channel_t  *c;
    ngx_str_t             *prefix;

    if (ngx_streamline_conf == NULL) {
        sl_viewers_clear(v);
        return;
    }

    prefix = &ngx_streamline_conf->prefix;
    bucket = sl_viewers_bucket(ngx_streamline_now_ms());

    for (i = 0; i < v->used; i++) {
        c = &v->channels[i];

        if (c->n == 0) {
            continue;
        }

        klen = sl_viewers_key(key, sizeof(key), prefix->data, prefix->len,
                              c->channel, c->channel_len, bucket);
        if (klen == 0) {
            continue;
        }

        ngx_http_streamline_viewers_argv[0] = "PFADD";
        ngx_http_streamline_viewers_lens[0] = 5;
        ngx_http_streamline_viewers_argv[1] = (char *) key;
        ngx_http_streamline_viewers_lens[1] = klen;

        /* open addressing: the ids are spread over the table */
        k = 0;

        for (j = 0; j < SL_VIEWERS_SET; j++) {
            if (c->ids[j] == 0) {
                continue;
            }

            sl_viewer_id_hex(c->ids[j], ngx_http_streamline_viewers_hex[k]);
            ngx_http_streamline_viewers_argv[k + 2] =
                              (char *) ngx_http_streamline_viewers_hex[k];
            ngx_http_streamline_viewers_lens[k + 2] = SL_VIEWER_ID_HEX;
            k++;
        }

        /* hiredis copies the arguments: the buffers serve the next one */
        (void) ngx_streamline_command(ngx_streamline_ignore_done, NULL,
                                      (int) k + 2,
                                      ngx_http_streamline_viewers_argv,
                                      ngx_http_streamline_viewers_lens);

        argv[0] = "EXPIRE";
        lens[0] = 6;
        argv[1] = (char *) key;
        lens[1] = klen;
        argv[2] = (char *) ttl;
        lens[2] = ngx_sprintf(ttl, "%d", SL_VIEWERS_TTL_S) - ttl;

        (void) ngx_streamline_command(ngx_streamline_ignore_done, NULL, 3,
                                      argv, lens);
    }

    sl_viewers_clear(v);
}


/* the count */

int64_t
ngx_http_streamline_viewers_count(const u_char *channel, size_t len)
{
    size_t                        i, n;
    u_char                       *k;
    int64_t                       now, bucket;
    const char                   *argv[SL_VIEWERS_WINDOW + 1];
    size_t                        lens[SL_VIEWERS_WINDOW + 1];
    u_char                        keys[SL_VIEWERS_WINDOW][256];
    ngx_str_t                    *prefix;
    ngx_http_streamline_count_t  *c, *victim;

    now = ngx_streamline_now_ms();
    c = NULL;
    victim = &ngx_http_streamline_counts[0];

    for (i = 0; i < NGX_HTTP_STREAMLINE_VIEWERS_COUNTS; i++) {
        if (ngx_http_streamline_counts[i].channel_len == len
            && ngx_memcmp(ngx_http_streamline_counts[i].channel, channel, len)
               == 0)
        {
            c = &ngx_http_streamline_counts[i];
            break;
        }

        if (ngx_http_streamline_counts[i].used_ms < victim->used_ms
            && !ngx_http_streamline_counts[i].pending)
        {
            victim = &ngx_http_streamline_counts[i];
        }
    }

    if (c == NULL) {
        if (victim->pending || len > SL_CHANNEL_MAX) {
            return -1;
        }

        c = victim;
        ngx_memcpy(c->channel, channel, len);
        c->channel[len] = '\0';
        c->channel_len = len;
        c->count = -1;
        c->fetched_ms = 0;
    }

    c->used_ms = now;

    if (c->pending || now - c->fetched_ms < NGX_HTTP_STREAMLINE_VIEWERS_REFRESH
        || ngx_streamline_conf == NULL)
    {
        return c->count;
    }

    prefix = &ngx_streamline_conf->prefix;
    bucket = sl_viewers_bucket(now);

    argv[0] = "PFCOUNT";
    lens[0] = 7;
    n = 1;

    for (i = 0; i < SL_VIEWERS_WINDOW; i++) {
        k = keys[i];
        lens[n] = sl_viewers_key(k, sizeof(keys[i]), prefix->data,
                                 prefix->len, channel, len,
                                 bucket - (int64_t) i);
        if (lens[n] == 0) {
            return c->count;
        }

        argv[n++] = (char *) k;
    }

    if (ngx_streamline_command(ngx_http_streamline_viewers_counted, c,
                               (int) n, argv, lens)
        == NGX_OK)
    {
        c->pending = 1;
    }

    return c->count;
}


static void
ngx_http_streamline_viewers_counted(redisAsyncContext *ac, void *r, void *pd)
{
    redisReply                   *reply = r;
    ngx_http_streamline_count_t  *c = pd;

    c->pending = 0;

    if (reply == NULL) {
        return;
    }

    ngx_streamline_replied(&ngx_streamline_cmd);

    if (reply->type == REDIS_REPLY_INTEGER && reply->integer >= 0) {
        c->count = reply->integer;
        c->fetched_ms = ngx_streamline_now_ms();

    } else if (reply->type == REDIS_REPLY_ERROR) {
        ngx_streamline_error("viewer count", reply);
    }
}
