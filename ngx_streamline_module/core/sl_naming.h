/*
 * Streamline core: the names of a channel's files and the URIs that
 * playlists give them, in one place.  A channel's directory holds
 *
 *     <dir>/<rendition>/init-<init_id>.mp4       init segment
 *     <dir>/<rendition>/seg-<msn>.m4s            media segment
 *     <dir>/<rendition>/part-<msn>.<i>.m4s       i-th part of segment msn
 *     <dir>/<rendition>/<name>.tmp               a file being written
 *     <dir>/.streamline.live                     held while a stream runs
 *     <dir>/.streamline.dvr                      the DVR index left behind
 *     <dir>.names                                next numbers (beside it)
 *
 * and the renditions are "source" (the remuxed stream) and the ladder's.
 * Playlists name the files relative to <dir>/<rendition>/index.m3u8 and
 * the renditions relative to <dir>/master.m3u8.
 *
 * Every function writes like snprintf(): at most size - 1 bytes and a
 * NUL (size > 0), and returns the length of the whole name, so a result
 * >= size says it did not fit.  Numbers have no leading zeros.
 */

#ifndef SL_NAMING_H
#define SL_NAMING_H

#include <stddef.h>
#include <stdint.h>


#define SL_NAME_SOURCE            "source"
#define SL_NAME_MASTER_PLAYLIST   "master.m3u8"
#define SL_NAME_MEDIA_PLAYLIST    "index.m3u8"

#define SL_NAME_INIT_PREFIX       "init-"
#define SL_NAME_INIT_SUFFIX       ".mp4"
#define SL_NAME_SEGMENT_PREFIX    "seg-"
#define SL_NAME_PART_PREFIX       "part-"
#define SL_NAME_MEDIA_SUFFIX      ".m4s"        /* segments and parts */
#define SL_NAME_TMP_SUFFIX        ".tmp"
#define SL_NAME_NAMES_SUFFIX      ".names"

/* scrubber previews: <channel>/previews/<sheet>-<tiles>.jpg, listed by
 * <channel>/previews.vtt (rendered, not a file) */
#define SL_NAME_PREVIEW_DIR       "previews"
#define SL_NAME_PREVIEW_SUFFIX    ".jpg"
#define SL_NAME_PREVIEW_TRACK     "previews.vtt"
/* tiles in a sheet: columns x rows */
#define SL_PREVIEW_COLUMNS        5
#define SL_PREVIEW_ROWS           5

#define SL_NAME_LIVE_LOCK         ".streamline.live"
#define SL_NAME_DVR_SNAPSHOT      ".streamline.dvr"

/* room for any file name below, its .tmp suffix and the NUL */
#define SL_NAME_MAX               64

/* room for a URI of a rendition with a valid name (SL_CHANNEL_MAX) */
#define SL_NAME_URI_MAX           96


/* init-<init_id>.mp4 */
size_t sl_name_init(char *buf, size_t size, unsigned init_id);
/* seg-<msn>.m4s */
size_t sl_name_segment(char *buf, size_t size, uint64_t msn);
/* part-<msn>.<part>.m4s */
size_t sl_name_part(char *buf, size_t size, uint64_t msn, uint64_t part);

/*
 * <sheet>-<tiles>.jpg: a sprite sheet of scrubber previews, named by the
 * msn of the segment of its first tile and the number of tiles it holds
 * (a sheet is written again, under a new name, for each tile added)
 */
size_t sl_name_preview(char *buf, size_t size, uint64_t sheet,
    unsigned tiles);

/* <dir>/<name>: a rendition's directory in its channel's, or a file in
 * a rendition's directory */
size_t sl_name_path(char *buf, size_t size, const char *dir,
    const char *name);
/* <path>.tmp: where the file at path is written before its rename */
size_t sl_name_tmp(char *buf, size_t size, const char *path);
/* <dir>.names: the names file of the channel whose directory is dir */
size_t sl_name_names_file(char *buf, size_t size, const char *dir);

/* <rendition>/index.m3u8: a media playlist, from the master playlist */
size_t sl_name_media_uri(char *buf, size_t size,
    const unsigned char *rendition, size_t len);
/* ../<rendition>/index.m3u8: from another rendition's media playlist */
size_t sl_name_report_uri(char *buf, size_t size,
    const unsigned char *rendition, size_t len);

#endif /* SL_NAMING_H */
