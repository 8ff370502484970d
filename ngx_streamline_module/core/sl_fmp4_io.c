
/*
 * Streamline core, the media pipeline: the files of a rendition's fMP4
 * output (sl_fmp4.c).  Readers only ever see complete files: each is
 * written under its .tmp name and renamed.  A write error loses the file
 * being written, never the rendition: the muxer does not see it.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_pipeline_int.h"


int
sl_fmp4_open_file(sl_fmp4_t *out, const char *name)
{
    (void) sl_name_path(out->path, sizeof(out->path), out->dir, name);
    (void) sl_name_tmp(out->tmp_path, sizeof(out->tmp_path), out->path);

    out->written = 0;
    out->fd = open(out->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                   0644);

    if (out->fd < 0) {
        sl_fmp4_fail(out, "create", out->tmp_path, errno);
        return SL_ERROR;
    }

    return SL_OK;
}


/* SL_ERROR: the file is lost (or there was none) */
int
sl_fmp4_close_file(sl_fmp4_t *out)
{
    int  fd = out->fd;

    out->fd = -1;

    if (fd < 0) {
        return SL_ERROR;
    }

    if (out->lost) {
        close(fd);
        unlink(out->tmp_path);
        return SL_ERROR;
    }

    if (close(fd) != 0 || rename(out->tmp_path, out->path) != 0) {
        sl_fmp4_fail(out, "write", out->path, errno);
        unlink(out->tmp_path);
        return SL_ERROR;
    }

    return SL_OK;
}


/*
 * The muxer's output.  It never sees a write error: avio would keep it
 * for good.  The file being written is lost instead (the bytes go nowhere
 * until it ends), and the next file is tried afresh.  A segment's bytes
 * are also kept for the part being written.
 */
int
sl_fmp4_io_write(void *opaque, uint8_t *buf, int size)
{
    sl_fmp4_t  *out = opaque;
    ssize_t     n;
    int         left;
    size_t      nsize;
    uint8_t    *nbuf;

    if (out->fd < 0 || out->lost) {
        /* no file (lost, or muxer output outside any file): dropped */
        return size;
    }

    if (out->seg_open) {
        if (out->part_len + size > out->part_size) {
            nsize = (out->part_len + size) * 2;
            nbuf = realloc(out->part_buf, nsize);

            if (nbuf == NULL) {
                sl_fmp4_fail(out, "buffer a part of", out->tmp_path, ENOMEM);
                return size;
            }

            out->part_buf = nbuf;
            out->part_size = nsize;
        }

        memcpy(out->part_buf + out->part_len, buf, size);
        out->part_len += size;
    }

    for (left = size; left > 0; left -= n, buf += n) {
        n = write(out->fd, buf, left);

        if (n < 0) {
            if (errno == EINTR) {
                n = 0;
                continue;
            }

            sl_fmp4_fail(out, "write", out->tmp_path, errno);
            return size;
        }
    }

    out->written += size;

    return size;
}


/* the bytes of the part just flushed, as a file of its own */
int
sl_fmp4_write_part(sl_fmp4_t *out)
{
    int     err;
    char    name[SL_NAME_MAX], path[4200];
    size_t  len;

    (void) sl_name_part(name, sizeof(name), out->seg.msn,
                        out->seg.nparts - 1);
    (void) sl_name_path(path, sizeof(path), out->dir, name);

    len = out->part_len;
    out->part_len = 0;

    /* not synced: a part is played within seconds or not at all */
    err = sl_file_replace(path, out->part_buf, len, 0);

    if (err) {
        sl_fmp4_fail(out, "write", path, err);
        return SL_ERROR;
    }

    return SL_OK;
}


/*
 * The file being written is lost.  One log line when failures begin (the
 * rendition was writing), none while they go on: a full disk would
 * otherwise log every packet.
 */
void
sl_fmp4_fail(sl_fmp4_t *out, const char *what, const char *path, int err)
{
    out->lost = 1;

    if (out->failing) {
        return;
    }

    out->failing = 1;

    pthread_mutex_lock(&out->p->stats_lock);
    out->stats->write_errors++;
    pthread_mutex_unlock(&out->p->stats_lock);

    sl_pipeline_log(out->p, 1, "rendition \"%s\": cannot %s \"%s\": %s; "
                    "segments are lost (gaps) until writing works again",
                    out->name, what, path ? path : "", strerror(err));
}


/*
 * The file at path becomes data whole, or stays as it was: written under
 * a temporary name, synced first if durable, renamed over it.
 */
int
sl_file_replace(const char *path, const void *data, size_t len, int durable)
{
    int      fd, err;
    char     tmp[4300];
    size_t   off;
    ssize_t  n;

    if (sl_name_tmp(tmp, sizeof(tmp), path) >= sizeof(tmp)) {
        return ENAMETOOLONG;
    }

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return errno;
    }

    err = 0;

    for (off = 0; off < len; off += n) {
        n = write(fd, (const uint8_t *) data + off, len - off);

        if (n < 0) {
            if (errno == EINTR) {
                n = 0;
                continue;
            }

            err = errno;
            break;
        }
    }

    if (err == 0 && durable && fsync(fd) != 0) {
        err = errno;
    }

    if (close(fd) != 0 && err == 0) {
        err = errno;
    }

    if (err == 0 && rename(tmp, path) != 0) {
        err = errno;
    }

    if (err) {
        unlink(tmp);
    }

    return err;
}
