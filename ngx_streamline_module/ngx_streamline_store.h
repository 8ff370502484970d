/*
 * The store: the media side's shared state.  A shared memory zone with
 * one record a channel and one DVR index a rendition, written by the
 * packager threads of the worker that holds the RTMP session (through
 * ngx_streamline_packager*.c), read by every worker that answers a
 * playlist request (ngx_http_streamline_playlist.c).  The zone's mutex
 * guards every record; "locked" below means with it held.
 *
 * Also the store's files: the flock that makes a master the owner of a
 * media path, a channel's DVR index saved to disk for the next nginx, and
 * the removal of a channel's files once its DVR is discarded.
 */

#ifndef NGX_STREAMLINE_STORE_H
#define NGX_STREAMLINE_STORE_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_streamline.h"
#include "core/sl_media.h"


#define NGX_STREAMLINE_STORE_CHANNELS  64
#define NGX_STREAMLINE_STORE_RUNGS     (1 + SL_PIPELINE_MAX_RUNGS)
#define NGX_STREAMLINE_STORE_WORKERS   256

/* a channel record's state */
#define NGX_STREAMLINE_FREE      0
#define NGX_STREAMLINE_LIVE      1
#define NGX_STREAMLINE_ENDED     2
#define NGX_STREAMLINE_DELETING  3

/* the store's files: under a media path, and in a channel's directory */
/* the store's file under a media path (a channel's: core/sl_naming.h) */
#define NGX_STREAMLINE_STORE_LOCK   ".streamline.lock"
#define NGX_STREAMLINE_STORE_MAGIC  0x31445653     /* "SVD1" */


typedef struct {
    u_char                    name[64];
    size_t                    name_len;
    uint32_t                  width;
    uint32_t                  height;
    uint32_t                  fps;
    uint64_t                  bandwidth;      /* peak of a segment, bit/s */
    uint64_t                  bytes;          /* for the average */
    uint64_t                  duration_us;
    uint64_t                  configured;     /* bit/s, before measures */
    char                      codecs[64];
    sl_dvr_t                 *dvr;
} ngx_streamline_rendition_t;


typedef struct {
    u_char                    name[SL_CHANNEL_MAX + 1];
    size_t                    name_len;
    ngx_uint_t                state;
    ngx_uint_t                keep;
    ngx_uint_t                running;        /* pipelines not ended */
    ngx_uint_t                generation;
    uint32_t                  ladder;         /* what shapes the DVR */
    int64_t                   ended_ms;
    int64_t                   grace_ms;
    /*
     * The worker that runs the pipeline (live) or removes the files
     * (deleting): if it dies (SIGKILL, the OOM killer) the record is
     * taken over, see ngx_streamline_store_orphaned().
     */
    ngx_pid_t                 pid;
    uint64_t                  pid_start;
    int64_t                   live_ms;
    u_char                    owner[SL_OWNER_MAX];   /* its Redis lock */
    size_t                    owner_len;
    u_char                    dir[NGX_MAX_PATH];
    size_t                    root_len;       /* of the media path in dir */
    off_t                     max_size;       /* the path's disk budget */
    off_t                     min_free;
    ngx_uint_t                over;           /* trimmed for the budget */
    uint32_t                  preview_width;  /* of a tile, 0: none */
    uint32_t                  preview_height;
    ngx_uint_t                nrenditions;
    ngx_streamline_rendition_t  r[NGX_STREAMLINE_STORE_RUNGS];
} ngx_streamline_channel_t;


typedef struct {
    /* workers that use this zone and accept connections, by pid */
    ngx_pid_t                   workers[NGX_STREAMLINE_STORE_WORKERS];
    /* changes when a channel starts, ends or begins a segment */
    uint64_t                    gen;
    ngx_streamline_channel_t    ch[NGX_STREAMLINE_STORE_CHANNELS];
} ngx_streamline_store_shm_t;


/*
 * A channel's DVR index on disk, written by a worker whose zone dies with
 * it (the old workers of a binary upgrade), read by the next nginx that
 * starts the channel: <dir>/.streamline.dvr is this header, then the
 * renditions' index blocks.  Only the binary that wrote it or one with the
 * same layout takes it (the sizes are checked); any other starts anew.
 */
typedef struct {
    uint32_t                    magic;
    uint32_t                    size;          /* of this header */
    uint32_t                    ladder;
    uint32_t                    nrenditions;
    uint64_t                    dvr_size;      /* of each block */
    int64_t                     ended_ms;
    uint64_t                    keep;
    ngx_streamline_rendition_t  r[NGX_STREAMLINE_STORE_RUNGS];
} ngx_streamline_store_snap_t;


/* what the store calls when a packager thread signalled a change */
typedef void (*ngx_streamline_store_wake_pt)(void);


/* configuration: the zone is added by the first streamline_media_path */
ngx_int_t ngx_streamline_store_zone_add(ngx_conf_t *cf, ngx_str_t *path);
/* every worker: ngx_streamline_store_wake_pt runs on each change */
void ngx_streamline_store_set_waker(ngx_streamline_store_wake_pt wake);

void ngx_streamline_store_init_process(ngx_cycle_t *cycle);
/* a worker that exits: first leaves (no successor of anyone), then exits */
void ngx_streamline_store_leave(void);
void ngx_streamline_store_exit_process(ngx_cycle_t *cycle);

/* the zone's records, NULL without streamline_media_path */
ngx_streamline_store_shm_t *ngx_streamline_store_shm(void);
ngx_slab_pool_t *ngx_streamline_store_pool(void);

/* locked: a channel's record (a new one with create), or NULL */
ngx_streamline_channel_t *ngx_streamline_store_channel(const u_char *name,
    size_t len, ngx_uint_t create);
ngx_streamline_rendition_t *ngx_streamline_store_rendition(
    ngx_streamline_channel_t *ch, const char *name);
/* locked: a channel, a rendition with something to play, or NULL */
ngx_streamline_channel_t *ngx_streamline_store_playable(
    const u_char *channel, size_t len);
ngx_streamline_rendition_t *ngx_streamline_store_find(
    ngx_streamline_channel_t *ch, const u_char *name, size_t len);

/* locked: a channel started, ended or began a segment */
void ngx_streamline_store_changed(void);
/* any thread, unlocked: every worker's waiting requests look again */
void ngx_streamline_store_notify(void);

/* another worker accepts connections with this zone */
ngx_uint_t ngx_streamline_store_successor(void);

/* locked: a live or deleting record whose worker is gone */
ngx_uint_t ngx_streamline_store_orphaned(ngx_streamline_channel_t *ch);
/* locked: a dead worker's stream ends, its last segment kept */
void ngx_streamline_store_orphan_end(ngx_streamline_channel_t *ch);
/* locked: the channel's files and index go, on a thread of their own */
ngx_int_t ngx_streamline_store_discard(ngx_streamline_channel_t *ch);

/* the files (ngx_streamline_store_file.c) */
ngx_uint_t ngx_streamline_store_own(ngx_log_t *log, const u_char *path);
void ngx_streamline_store_remove_dir(const u_char *dir);
ngx_uint_t ngx_streamline_store_leftovers(const u_char *dir);
ngx_fd_t ngx_streamline_store_open_live(const u_char *dir,
    ngx_uint_t create);
ngx_streamline_store_snap_t *ngx_streamline_store_snap_read(
    const u_char *dir, ngx_uint_t nrenditions, uint32_t max_segments,
    uint32_t ladder, ngx_msec_t grace, ngx_log_t *log);
ngx_int_t ngx_streamline_store_snap_load(ngx_streamline_channel_t *ch,
    ngx_streamline_store_snap_t *snap);
void ngx_streamline_store_snap_write(ngx_streamline_channel_t *ch);

#endif /* NGX_STREAMLINE_STORE_H */
