/*
 * LL-HLS playlists and parts, for any worker (streamline_hls):
 *
 *   <prefix>/<channel>/master.m3u8
 *   <prefix>/<channel>/<rendition>/index.m3u8[?_HLS_msn=M[&_HLS_part=P]]
 *                                            [&_HLS_skip=YES|v2]
 *   <prefix>/<channel>/<rendition>/part-<msn>.<i>.m4s   (the preload hint
 *                                                         waits for it)
 *
 * Everything else under the location (init, segments, parts that exist,
 * a waited-for part once it does) goes to the static module.  A blocking
 * request costs no thread: it is parked (ngx_http_streamline_hls_wait.c)
 * with a timer (3 target durations, then 503) in this worker's group of
 * the requests that wait on the same DVR index.  The packager
 * thread of whichever worker holds the stream bumps the index's
 * generation in shared memory with every part and signals an eventfd that
 * every worker watches (ngx_streamline_store.c); a short timer, armed
 * only while requests wait, compares the generations too, in case.  A
 * group whose generation changed is checked in the order its requests
 * came, a batch an event loop iteration; a playlist is rendered once for
 * the identical requests of a batch, into a pool they all reference.
 *
 * A playlist (or the next part) of a channel that this worker's zone does
 * not have, but another nginx streams (the old binary of an upgrade:
 * both accept connections until WINCH) or has just ended, leaving its
 * DVR index for the publisher's reconnect here, waits the same way (on
 * the zone's generation, NGX_STREAMLINE_ELSEWHERE_MS at most, then 503
 * with Retry-After) for the channel to come to this zone.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_streamline_hls.h"
#include "core/sl_clip.h"


static ngx_int_t ngx_http_streamline_memo_add(ngx_http_streamline_memo_t *memo,
    ngx_http_streamline_wait_t *w, ngx_msec_t max_age,
    ngx_http_streamline_memo_entry_t **entry);
static ngx_int_t ngx_http_streamline_memo_send(ngx_http_request_t *r,
    ngx_http_streamline_memo_t *memo, ngx_http_streamline_memo_entry_t *e);
static ngx_int_t ngx_http_streamline_hls_coming(
    ngx_http_streamline_wait_t *w);
static ngx_int_t ngx_http_streamline_previews_send(ngx_http_request_t *r,
    const u_char *channel, size_t len);
static ngx_int_t ngx_http_streamline_send_playlist(ngx_http_request_t *r,
    ngx_str_t *out, ngx_str_t *cache_control);
static ngx_int_t ngx_http_streamline_send_text(ngx_http_request_t *r,
    ngx_str_t *out, ngx_str_t *cache_control, const char *type);


ngx_int_t
ngx_http_streamline_hls_handler(ngx_http_request_t *r)
{
    u_char                      *tail;
    size_t                       len;
    ngx_int_t                    rc;
    const char                  *err;
    sl_hls_path_t                path;
    sl_hls_query_t               query;
    ngx_http_streamline_wait_t  *w;

    if (ngx_http_streamline_location_tail(r, &tail, &len) != NGX_OK) {
        return NGX_DECLINED;
    }

    sl_hls_path(tail, len, &path);

    if (path.kind == SL_HLS_OTHER
        && sl_clip_path(tail, len, &path.channel, &path.channel_len) == SL_OK)
    {
        return ngx_http_streamline_clip_handler(r, path.channel,
                                                path.channel_len);
    }

    if (path.kind == SL_HLS_OTHER) {
        /* init and media segments, parts that exist, or a 404 */
        return NGX_DECLINED;
    }

    w = ngx_pcalloc(r->pool, sizeof(ngx_http_streamline_wait_t));
    if (w == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    w->request = r;
    w->req.msn = -1;
    w->req.part = -1;
    w->channel_len = path.channel_len;
    ngx_memcpy(w->channel, path.channel, path.channel_len);
    w->rendition_len = path.rendition_len;
    w->after_channel = tail + len - (path.channel + path.channel_len);

    if (path.rendition_len) {
        ngx_memcpy(w->rendition, path.rendition, path.rendition_len);
    }

    if (path.kind == SL_HLS_PART) {
        /* may be the preload hint, not there yet */

        w->is_part = 1;
        w->part_msn = path.msn;
        w->part_index = path.part;

        rc = ngx_http_streamline_part_ready(w->channel, w->channel_len,
                                             w->rendition, w->rendition_len,
                                             path.msn, path.part, &w->req);

        if (rc == NGX_DECLINED) {
            rc = ngx_http_streamline_hls_coming(w);
        }

        if (rc != NGX_AGAIN) {
            /* there (or never to be): the static module answers */
            return NGX_DECLINED;
        }
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (path.kind == SL_HLS_PART) {
        return ngx_http_streamline_hls_park(w);
    }

    if (path.kind == SL_HLS_PREVIEWS) {
        return ngx_http_streamline_previews_send(r, w->channel,
                                                 w->channel_len);
    }

    if (path.kind == SL_HLS_MEDIA) {
        if (sl_hls_query(r->args.data, r->args.len, &query, &err) != SL_OK) {
            return ngx_http_streamline_hls_status(r, NGX_HTTP_BAD_REQUEST,
                                                  err);
        }

        w->req.msn = query.msn;
        w->req.part = query.part;
        w->req.skip = query.skip;
    }

    rc = ngx_http_streamline_hls_try(w, NULL);

    if (rc == NGX_AGAIN) {
        return ngx_http_streamline_hls_park(w);
    }

    return rc;
}


static ngx_uint_t
ngx_http_streamline_same(ngx_http_streamline_wait_t *a,
    ngx_http_streamline_wait_t *b)
{
    return a->req.msn == b->req.msn && a->req.part == b->req.part
           && a->req.skip == b->req.skip && a->req.gen == b->req.gen
           && a->channel_len == b->channel_len
           && a->rendition_len == b->rendition_len
           && ngx_memcmp(a->channel, b->channel, a->channel_len) == 0
           && ngx_memcmp(a->rendition, b->rendition, a->rendition_len) == 0;
}


/*
 * Answers if it can: NGX_AGAIN when the request must wait.  With memo (a
 * batch of waiting requests), a playlist the batch rendered for an
 * identical request is sent again, and one rendered now is kept for the
 * next ones.
 */
ngx_int_t
ngx_http_streamline_hls_try(ngx_http_streamline_wait_t *w,
    ngx_http_streamline_memo_t *memo)
{
    u_char                            *p;
    ngx_int_t                          rc;
    ngx_str_t                          out, cc;
    ngx_uint_t                         i;
    ngx_msec_t                         max_age;
    ngx_pool_t                        *pool;
    ngx_http_request_t                *r = w->request;
    ngx_http_streamline_memo_entry_t  *e;

    if (w->is_part) {
        rc = ngx_http_streamline_part_ready(w->channel, w->channel_len,
                                             w->rendition, w->rendition_len,
                                             w->part_msn, w->part_index,
                                             &w->req);
        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        if (rc == NGX_DECLINED && w->elsewhere) {
            rc = ngx_http_streamline_hls_coming(w);
        }

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        if (rc != NGX_OK) {
            return ngx_http_streamline_hls_status(r, NGX_HTTP_NOT_FOUND,
                                                  "no such part");
        }

        /*
         * On disk now: the content handler declines, so that the static
         * module sends it as it sends any part (ETag, ranges, HEAD,
         * open_file_cache); ngx_http_finalize_request() runs the phases
         * again for it.
         */
        return NGX_DECLINED;
    }

    if (memo) {
        for (i = 0; i < memo->n; i++) {
            if (ngx_http_streamline_same(memo->e[i].key, w)) {
                return ngx_http_streamline_memo_send(r, memo, &memo->e[i]);
            }
        }

        if (memo->shared == NULL) {
            pool = ngx_create_pool(4096, ngx_cycle->log);
            if (pool == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            memo->shared = ngx_palloc(pool,
                                      sizeof(ngx_http_streamline_shared_t));
            if (memo->shared == NULL) {
                ngx_destroy_pool(pool);
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            memo->shared->pool = pool;
            memo->shared->refs = 1;
        }

        pool = memo->shared->pool;

    } else {
        pool = r->pool;
    }

    rc = ngx_http_streamline_playlist(pool, w->channel, w->channel_len,
                                       w->rendition_len ? w->rendition : NULL,
                                       w->rendition_len, &w->req, &out);
    switch (rc) {

    case NGX_OK:
        /*
         * RFC 8216bis Appendix B: a blocking response may be cached 6
         * target durations (it never changes), others half of one.
         */
        max_age = w->req.msn >= 0 ? 6 * w->req.target_ms
                                  : w->req.target_ms / 2;

        if (memo) {
            if (ngx_http_streamline_memo_add(memo, w, max_age, &e)
                != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            e->out = out;

            return ngx_http_streamline_memo_send(r, memo, e);
        }

        p = ngx_pnalloc(r->pool, sizeof("max-age=") + NGX_TIME_T_LEN);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        cc.data = p;
        cc.len = ngx_sprintf(p, "max-age=%M", ngx_max(max_age / 1000, 1)) - p;

        return ngx_http_streamline_send_playlist(r, &out, &cc);

    case NGX_AGAIN:
        return NGX_AGAIN;

    case NGX_ABORT:
        return ngx_http_streamline_hls_status(r, NGX_HTTP_BAD_REQUEST,
                                              "_HLS_msn too far ahead");

    case NGX_DECLINED:
        rc = ngx_http_streamline_hls_coming(w);

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        if (rc == NGX_DECLINED) {
            return ngx_http_streamline_hls_status(r, NGX_HTTP_NOT_FOUND,
                                                  "no such playlist");
        }

        return NGX_HTTP_INTERNAL_SERVER_ERROR;

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


/*
 * Nothing of the channel in this zone: NGX_AGAIN when the request is to
 * wait for it (see ngx_http_streamline_coming); its directory is where
 * the location maps the URI, up to the channel's name.  A part that is
 * on disk is the static module's, whoever wrote it.
 */
static ngx_int_t
ngx_http_streamline_hls_coming(ngx_http_streamline_wait_t *w)
{
    size_t               root;
    ngx_int_t            rc;
    ngx_str_t            path;
    ngx_file_info_t      fi;
    ngx_http_request_t  *r = w->request;

    if (w->elsewhere) {
        return ngx_http_streamline_coming(w->channel, w->channel_len, NULL,
                                           &w->req);
    }

    if (ngx_http_map_uri_to_path(r, &path, &root, 0) == NULL) {
        return NGX_ERROR;
    }

    path.len--;     /* without the NUL */

    if (path.len < w->after_channel
        || (w->is_part && ngx_file_info(path.data, &fi) != NGX_FILE_ERROR))
    {
        return NGX_DECLINED;
    }

    path.data[path.len - w->after_channel] = '\0';

    rc = ngx_http_streamline_coming(w->channel, w->channel_len, path.data,
                                     &w->req);

    if (rc == NGX_AGAIN) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "streamline: hls: channel \"%*s\" is another "
                      "nginx's: the request waits for it here",
                      w->channel_len, w->channel);
        w->elsewhere = 1;
    }

    return rc;
}


/* a playlist just rendered into the shared pool: the batch keeps it */
static ngx_int_t
ngx_http_streamline_memo_add(ngx_http_streamline_memo_t *memo,
    ngx_http_streamline_wait_t *w, ngx_msec_t max_age,
    ngx_http_streamline_memo_entry_t **entry)
{
    u_char                            *p;
    ngx_pool_t                        *pool = memo->shared->pool;
    ngx_http_streamline_wait_t        *key;
    ngx_http_streamline_memo_entry_t  *e;

    p = ngx_pnalloc(pool, sizeof("max-age=") + NGX_TIME_T_LEN);
    key = ngx_palloc(pool, sizeof(ngx_http_streamline_wait_t));

    if (p == NULL || key == NULL) {
        return NGX_ERROR;
    }

    *key = *w;

    if (memo->n < NGX_HTTP_STREAMLINE_MEMO) {
        e = &memo->e[memo->n++];

    } else {
        /* more kinds than that in one batch: the oldest goes */
        e = &memo->e[memo->next];
        memo->next = (memo->next + 1) % NGX_HTTP_STREAMLINE_MEMO;
    }

    e->key = key;
    e->cache_control.data = p;
    e->cache_control.len = ngx_sprintf(p, "max-age=%M",
                                       ngx_max(max_age / 1000, 1))
                           - p;
    *entry = e;

    return NGX_OK;
}


/* the shared bytes go out as they are; the request holds the pool */
static ngx_int_t
ngx_http_streamline_memo_send(ngx_http_request_t *r,
    ngx_http_streamline_memo_t *memo, ngx_http_streamline_memo_entry_t *e)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_streamline_shared_unref;
    cln->data = memo->shared;
    memo->shared->refs++;

    return ngx_http_streamline_send_playlist(r, &e->out, &e->cache_control);
}


void
ngx_http_streamline_shared_unref(void *data)
{
    ngx_http_streamline_shared_t  *sh = data;

    if (--sh->refs == 0) {
        ngx_destroy_pool(sh->pool);
    }
}


/*
 * previews.vtt (README, Scrubber previews): it changes with each tile, so
 * it is cached as a playlist without a blocking request is, half a target
 * duration.
 */
static ngx_int_t
ngx_http_streamline_previews_send(ngx_http_request_t *r,
    const u_char *channel, size_t len)
{
    u_char      *p;
    ngx_int_t    rc;
    ngx_str_t    out, cc;
    ngx_msec_t   target_ms;

    rc = ngx_http_streamline_previews(r->pool, channel, len, &target_ms,
                                      &out);

    if (rc == NGX_DECLINED) {
        return ngx_http_streamline_hls_status(r, NGX_HTTP_NOT_FOUND,
                                              "no previews");
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, sizeof("max-age=") + NGX_TIME_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cc.data = p;
    cc.len = ngx_sprintf(p, "max-age=%M", ngx_max(target_ms / 2000, 1)) - p;

    return ngx_http_streamline_send_text(r, &out, &cc,
                                         "text/vtt; charset=utf-8");
}


static ngx_int_t
ngx_http_streamline_send_playlist(ngx_http_request_t *r, ngx_str_t *out,
    ngx_str_t *cache_control)
{
    return ngx_http_streamline_send_text(r, out, cache_control,
                                         "application/vnd.apple.mpegurl");
}


static ngx_int_t
ngx_http_streamline_send_text(ngx_http_request_t *r, ngx_str_t *out,
    ngx_str_t *cache_control, const char *type)
{
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type.len = ngx_strlen(type);
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    if (ngx_http_streamline_add_header(r, "Cache-Control", cache_control)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_streamline_send_body(r, out->data, out->len);
}


ngx_int_t
ngx_http_streamline_hls_status(ngx_http_request_t *r, ngx_uint_t status,
    const char *msg)
{
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "streamline: hls: %s", msg);

    return status;
}
