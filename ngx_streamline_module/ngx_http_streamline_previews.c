/*
 * previews.vtt: a channel's scrubber previews as a WebVTT thumbnails
 * track, for any worker.  The first ladder rendition's DVR index carries
 * the tiles (core/sl_preview.c takes them); it is copied under the zone's
 * lock, as a playlist's is, and rendered after (core/sl_playlist.c).
 * It changes with each tile, so it is cached like a playlist: half a
 * target duration.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_streamline_hls.h"
#include "ngx_streamline_store.h"


static ngx_int_t ngx_http_streamline_previews_send(ngx_http_request_t *r,
    u_char *body, size_t len, ngx_msec_t target_ms);


ngx_int_t
ngx_http_streamline_previews(ngx_http_request_t *r, const u_char *channel,
    size_t len)
{
    u_char                      *block, *buf;
    size_t                       need, size, n;
    sl_dvr_t                    *copy;
    ngx_msec_t                   target_ms;
    ngx_slab_pool_t             *shpool;
    sl_preview_geom_t            g;
    ngx_streamline_channel_t    *ch;
    ngx_streamline_rendition_t  *rd;

    if (ngx_streamline_store_shm() == NULL) {
        return ngx_http_streamline_hls_status(r, NGX_HTTP_NOT_FOUND,
                                              "no previews");
    }

    shpool = ngx_streamline_store_pool();
    block = NULL;
    size = 0;
    copy = NULL;

    /* no allocation with the lock held: size it, then copy */

    for ( ;; ) {
        ngx_shmtx_lock(&shpool->mutex);

        ch = ngx_streamline_store_playable(channel, len);
        rd = (ch != NULL && ch->nrenditions > 1) ? &ch->r[1] : NULL;

        if (rd == NULL || rd->dvr == NULL || ch->preview_width == 0) {
            ngx_shmtx_unlock(&shpool->mutex);
            return ngx_http_streamline_hls_status(r, NGX_HTTP_NOT_FOUND,
                                                  "no previews");
        }

        need = sl_dvr_copy_size(rd->dvr);

        if (need <= size) {
            copy = sl_dvr_copy(rd->dvr, block, size);
            g.width = ch->preview_width;
            g.height = ch->preview_height;
            g.columns = SL_PREVIEW_COLUMNS;
        }

        ngx_shmtx_unlock(&shpool->mutex);

        if (copy != NULL) {
            break;
        }

        /* 8-byte aligned, as the copy must be */
        size = need + need / 4;
        block = ngx_palloc(r->pool, size);
        if (block == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    target_ms = (ngx_msec_t) copy->target_duration * 1000;

    /* a cue is about 80 bytes a tile, a segment at most has one */
    n = 256 + (copy->next_msn - copy->first_msn + 1) * 96;

    for ( ;; ) {
        buf = ngx_pnalloc(r->pool, n);
        if (buf == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        need = sl_preview_vtt(copy, &g, buf, n);

        if (need == 0) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (need <= n) {
            break;
        }

        n = need;
    }

    return ngx_http_streamline_previews_send(r, buf, need, target_ms);
}


static ngx_int_t
ngx_http_streamline_previews_send(ngx_http_request_t *r, u_char *body,
    size_t len, ngx_msec_t target_ms)
{
    u_char     *p;
    ngx_str_t   cc;

    p = ngx_pnalloc(r->pool, sizeof("max-age=") + NGX_TIME_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cc.data = p;
    cc.len = ngx_sprintf(p, "max-age=%M", ngx_max(target_ms / 2000, 1)) - p;

    r->headers_out.status = NGX_HTTP_OK;
    ngx_str_set(&r->headers_out.content_type, "text/vtt; charset=utf-8");
    r->headers_out.content_type_len = sizeof("text/vtt") - 1;

    if (ngx_http_streamline_add_header(r, "Cache-Control", &cc) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_streamline_send_body(r, body, len);
}
