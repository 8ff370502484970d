/*
 * ngx_rtmp_streamline_module's configuration: an application's settings,
 * merged down from the rtmp and server blocks, and the directives that
 * need more than a slot: the keys file, the media path, the renditions.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_rtmp.h"

#include "ngx_rtmp_streamline.h"


#define NGX_RTMP_STREAMLINE_KEYS_MAX  65536


void *
ngx_rtmp_streamline_create_app_conf(ngx_conf_t *cf)
{
    ngx_rtmp_streamline_app_conf_t  *sacf;

    sacf = ngx_pcalloc(cf->pool, sizeof(ngx_rtmp_streamline_app_conf_t));
    if (sacf == NULL) {
        return NULL;
    }

    sacf->enable = NGX_CONF_UNSET;
    sacf->keys_redis = NGX_CONF_UNSET;
    sacf->segment = NGX_CONF_UNSET_MSEC;
    sacf->part = NGX_CONF_UNSET_MSEC;
    sacf->part_hold_back = NGX_CONF_UNSET_UINT;
    sacf->max_lag = NGX_CONF_UNSET_MSEC;
    sacf->previews = NGX_CONF_UNSET_MSEC;
    sacf->preview_width = NGX_CONF_UNSET_UINT;
    sacf->preview_height = NGX_CONF_UNSET_UINT;
    sacf->window = NGX_CONF_UNSET_MSEC;
    sacf->grace = NGX_CONF_UNSET_MSEC;
    sacf->keep = NGX_CONF_UNSET;
    sacf->max_size = NGX_CONF_UNSET;
    sacf->min_free = NGX_CONF_UNSET;
    sacf->max_channels = NGX_CONF_UNSET_UINT;

    return sacf;
}


char *
ngx_rtmp_streamline_merge_app_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_rtmp_streamline_app_conf_t  *prev = parent;
    ngx_rtmp_streamline_app_conf_t  *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_value(conf->keys_redis, prev->keys_redis, 1);

    if (conf->keys == NULL) {
        conf->keys_file = prev->keys_file;
        conf->keys = prev->keys;
        conf->nkeys = prev->nkeys;
    }

    ngx_conf_merge_str_value(conf->media_path, prev->media_path, "");
    ngx_conf_merge_msec_value(conf->segment, prev->segment, 2000);
    ngx_conf_merge_msec_value(conf->part, prev->part, 250);
    ngx_conf_merge_uint_value(conf->part_hold_back, prev->part_hold_back, 3);
    ngx_conf_merge_msec_value(conf->max_lag, prev->max_lag, 1000);
    ngx_conf_merge_msec_value(conf->previews, prev->previews, 4000);
    ngx_conf_merge_uint_value(conf->preview_width, prev->preview_width, 160);
    ngx_conf_merge_uint_value(conf->preview_height, prev->preview_height,
                              90);
    ngx_conf_merge_msec_value(conf->window, prev->window, 4 * 3600 * 1000);
    ngx_conf_merge_msec_value(conf->grace, prev->grace, 60000);
    ngx_conf_merge_value(conf->keep, prev->keep, 0);
    ngx_conf_merge_off_value(conf->max_size, prev->max_size, 0);
    ngx_conf_merge_off_value(conf->min_free, prev->min_free, 0);
    ngx_conf_merge_uint_value(conf->max_channels, prev->max_channels, 0);

    if (conf->rungs == NULL) {
        conf->rungs = prev->rungs;
    }

    if (conf->segment < 1000 || conf->segment > 60000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_segment\" must be 1s to 60s");
        return NGX_CONF_ERROR;
    }

    if (conf->part < 100 || conf->part > conf->segment) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_part\" must be 100ms to the "
                           "segment duration");
        return NGX_CONF_ERROR;
    }

    /* RFC 8216bis 4.4.3.8: PART-HOLD-BACK at least twice PART-TARGET */
    if (conf->part_hold_back < 2 || conf->part_hold_back > 20) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_part_hold_back\" must be 2 to 20 "
                           "parts");
        return NGX_CONF_ERROR;
    }

    if (conf->max_lag < 100 || conf->max_lag > 60000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_ladder_max_lag\" must be 100ms to "
                           "60s");
        return NGX_CONF_ERROR;
    }

    if (conf->window < 2 * conf->segment || conf->window > 24 * 3600000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_dvr_window\" must be two segments "
                           "to 24h");
        return NGX_CONF_ERROR;
    }

    if (conf->enable) {
        ngx_streamline_needs_redis(cf);
    }

    if (conf->enable && !conf->keys_redis && conf->keys == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline\" is on with neither "
                           "\"streamline_keys_file\" nor "
                           "\"streamline_keys_redis\": no key can publish");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* read at (re)load: edit the file, then "nginx -s reload" */
char *
ngx_rtmp_streamline_keys_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_rtmp_streamline_app_conf_t  *sacf = conf;

    u_char           *buf;
    size_t            n, max, line;
    ssize_t           rd;
    ngx_str_t        *value;
    ngx_file_t        file;
    const char       *err;
    ngx_file_info_t   fi;

    if (sacf->keys) {
        return "is duplicate";
    }

    value = cf->args->elts;
    sacf->keys_file = value[1];

    if (ngx_conf_full_name(cf->cycle, &sacf->keys_file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = sacf->keys_file;
    file.log = cf->log;

    file.fd = ngx_open_file(sacf->keys_file.data, NGX_FILE_RDONLY,
                            NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"streamline_keys_file\": cannot open \"%V\"",
                           &sacf->keys_file);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > 16 * 1024 * 1024)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_keys_file\": \"%V\" is unreadable "
                           "or over 16 MB", &sacf->keys_file);
        ngx_close_file(file.fd);
        return NGX_CONF_ERROR;
    }

    buf = ngx_pnalloc(cf->temp_pool, ngx_file_size(&fi) + 1);
    if (buf == NULL) {
        ngx_close_file(file.fd);
        return NGX_CONF_ERROR;
    }

    rd = ngx_read_file(&file, buf, ngx_file_size(&fi), 0);
    ngx_close_file(file.fd);

    if (rd != (ssize_t) ngx_file_size(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_keys_file\": cannot read \"%V\"",
                           &sacf->keys_file);
        return NGX_CONF_ERROR;
    }

    /* room for the keys the file has, not for the most it may have */
    max = ngx_min(sl_keyfile_count(buf, rd), NGX_RTMP_STREAMLINE_KEYS_MAX);

    sacf->keys = ngx_palloc(cf->pool,
                            ngx_max(max, 1) * sizeof(sl_key_entry_t));
    if (sacf->keys == NULL) {
        return NGX_CONF_ERROR;
    }

    if (sl_keyfile_parse(buf, rd, sacf->keys, max, &n, &line, &err)
        != SL_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_keys_file\": %s in \"%V\" line %uz",
                           err, &sacf->keys_file, line);
        return NGX_CONF_ERROR;
    }

    sacf->nkeys = n;

    return NGX_CONF_OK;
}


char *
ngx_rtmp_streamline_media_path(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_rtmp_streamline_app_conf_t  *sacf = conf;

    ngx_str_t   *value;
    ngx_path_t  *path;

    if (sacf->media_path.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    sacf->media_path = value[1];

    if (sacf->media_path.len && sacf->media_path.data[sacf->media_path.len - 1]
                                == '/')
    {
        sacf->media_path.len--;
    }

    if (ngx_conf_full_name(cf->cycle, &sacf->media_path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* nginx creates it at start, owned by the workers' user */
    path = ngx_pcalloc(cf->pool, sizeof(ngx_path_t));
    if (path == NULL) {
        return NGX_CONF_ERROR;
    }

    path->name = sacf->media_path;
    path->conf_file = cf->conf_file->file.name.data;
    path->line = cf->conf_file->line;

    if (ngx_add_path(cf, &path) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_streamline_store_zone_add(cf, &sacf->media_path) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* streamline_rendition name WxH bitrate [preset=P] [profile=P] */
/* streamline_previews <interval> | off */
char *
ngx_rtmp_streamline_previews(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_rtmp_streamline_app_conf_t  *sacf = conf;

    ngx_str_t   *value;
    ngx_msec_t   ms;

    if (sacf->previews != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        sacf->previews = 0;
        return NGX_CONF_OK;
    }

    ms = ngx_parse_time(&value[1], 0);

    if (ms == (ngx_msec_t) NGX_ERROR || ms < 1000 || ms > 600000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_previews\" takes \"off\" or an "
                           "interval of 1s to 10m, not \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    sacf->previews = ms;

    return NGX_CONF_OK;
}


/* streamline_preview_size <width>x<height>: a tile, even, 16x16 to 640x360 */
char *
ngx_rtmp_streamline_preview_size(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_rtmp_streamline_app_conf_t  *sacf = conf;

    u_char      *x;
    ngx_int_t    w, h;
    ngx_str_t   *value;

    if (sacf->preview_width != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    x = ngx_strlchr(value[1].data, value[1].data + value[1].len, 'x');

    w = x ? ngx_atoi(value[1].data, x - value[1].data) : NGX_ERROR;
    h = x ? ngx_atoi(x + 1, value[1].data + value[1].len - x - 1)
          : NGX_ERROR;

    if (w < 16 || w > 640 || h < 16 || h > 360 || (w | h) & 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_preview_size\" takes "
                           "<width>x<height>, even, from 16x16 to 640x360, "
                           "not \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    sacf->preview_width = w;
    sacf->preview_height = h;

    return NGX_CONF_OK;
}


char *
ngx_rtmp_streamline_rendition(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_rtmp_streamline_app_conf_t  *sacf = conf;

    u_char      *x, *name;
    ssize_t      rate;
    ngx_int_t    w, h;
    ngx_str_t   *value, v;
    sl_rung_t   *rung;
    ngx_uint_t   i;

    value = cf->args->elts;

    if (cf->args->nelts < 4) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_rendition\" takes a name, a size "
                           "(WxH) and a video bitrate");
        return NGX_CONF_ERROR;
    }

    if (sacf->rungs == NULL) {
        sacf->rungs = ngx_array_create(cf->pool, 4, sizeof(sl_rung_t));
        if (sacf->rungs == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (sacf->rungs->nelts == SL_PIPELINE_MAX_RUNGS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_rendition\": at most %d renditions",
                           SL_PIPELINE_MAX_RUNGS);
        return NGX_CONF_ERROR;
    }

    if (!sl_channel_valid(value[1].data, value[1].len)
        || value[1].len > 32
        || (value[1].len == sizeof(SL_NAME_SOURCE) - 1
            && ngx_strncmp(value[1].data, SL_NAME_SOURCE,
                           sizeof(SL_NAME_SOURCE) - 1) == 0))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_rendition\": invalid name \"%V\" "
                           "(1 to 32 of A-Z a-z 0-9 _ -, not \""
                           SL_NAME_SOURCE "\")",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    rung = sacf->rungs->elts;
    for (i = 0; i < sacf->rungs->nelts; i++) {
        if (ngx_strlen(rung[i].name) == value[1].len
            && ngx_strncmp(rung[i].name, value[1].data, value[1].len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"streamline_rendition\": duplicate name "
                               "\"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    x = ngx_strlchr(value[2].data, value[2].data + value[2].len, 'x');
    w = x ? ngx_atoi(value[2].data, x - value[2].data) : NGX_ERROR;
    h = x ? ngx_atoi(x + 1, value[2].data + value[2].len - x - 1)
          : NGX_ERROR;

    if (w < 16 || h < 16 || w > 7680 || h > 4320 || (w & 1) || (h & 1)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_rendition\": invalid size \"%V\" "
                           "(even WxH, 16x16 to 7680x4320)", &value[2]);
        return NGX_CONF_ERROR;
    }

    rate = ngx_parse_size(&value[3]);
    if (rate == NGX_ERROR || rate < 50 * 1000 || rate > 100 * 1000 * 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_rendition\": invalid bitrate \"%V\" "
                           "(bits per second: 800k, 2m, 50k to 100m)",
                           &value[3]);
        return NGX_CONF_ERROR;
    }

    rung = ngx_array_push(sacf->rungs);
    name = ngx_pnalloc(cf->pool, value[1].len + 1);
    if (rung == NULL || name == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_cpystrn(name, value[1].data, value[1].len + 1);
    ngx_memzero(rung, sizeof(sl_rung_t));
    rung->name = (char *) name;
    rung->width = (int) w;
    rung->height = (int) h;
    rung->bitrate_kbps = (int) (rate / 1000);
    rung->preset = "veryfast";
    rung->profile = "main";

    for (i = 4; i < cf->args->nelts; i++) {
        v = value[i];

        if (v.len > 7 && ngx_strncmp(v.data, "preset=", 7) == 0) {
            rung->preset = (char *) v.data + 7;
            continue;
        }

        if (v.len > 8 && ngx_strncmp(v.data, "profile=", 8) == 0) {
            rung->profile = (char *) v.data + 8;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_rendition\": unknown option \"%V\" "
                           "(preset=, profile=)", &v);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}
