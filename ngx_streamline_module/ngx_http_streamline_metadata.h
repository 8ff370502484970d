/*
 * Timed metadata (ngx_http_streamline_metadata.c): the POST on the API
 * location, the streamline_metadata zone, and the tags the playlists list.
 */

#ifndef NGX_HTTP_STREAMLINE_METADATA_H
#define NGX_HTTP_STREAMLINE_METADATA_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "core/sl_media.h"


/* streamline_metadata size|off (http) */
char *ngx_http_streamline_metadata(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* the API location's handler: POST .../<channel>/metadata, else the API */
ngx_int_t ngx_http_streamline_metadata_handler(ngx_http_request_t *r);

/*
 * A channel's tags for its media playlists (none without the zone), valid
 * until this worker's next call.  Takes the metadata zone's lock: never
 * call it with the store's held.
 */
ngx_int_t ngx_http_streamline_metadata_ranges(const u_char *channel,
    size_t len, const sl_hls_daterange_t **ranges, size_t *n);

#endif /* NGX_HTTP_STREAMLINE_METADATA_H */
