
/*
 * Helpers of the pipeline's unit tests, see sl_test_files.h.
 */


#define _GNU_SOURCE

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavformat/avformat.h>

#include "sl_test_files.h"


#define SL_TEST_DIRS  16


static int sl_test_rm_one(const char *path, const struct stat *sb, int type,
    struct FTW *ftw);


static char   *sl_test_dirs[SL_TEST_DIRS];
static size_t  sl_test_ndirs;


char *
sl_test_tmp_dir(const char *name)
{
    char  *dir;

    if (asprintf(&dir, "/tmp/%s.XXXXXX", name) < 0) {
        dir = NULL;
    }

    if (dir == NULL || mkdtemp(dir) == NULL || sl_test_ndirs == SL_TEST_DIRS)
    {
        fprintf(stderr, "cannot create a temporary directory\n");
        exit(2);
    }

    sl_test_dirs[sl_test_ndirs++] = dir;

    return dir;
}


void
sl_test_rm_dirs(void)
{
    char    path[4200];
    size_t  i;

    for (i = 0; i < sl_test_ndirs; i++) {
        nftw(sl_test_dirs[i], sl_test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
        snprintf(path, sizeof(path), "%s.names", sl_test_dirs[i]);
        unlink(path);
        free(sl_test_dirs[i]);
    }

    sl_test_ndirs = 0;
}


static int
sl_test_rm_one(const char *path, const struct stat *sb, int type,
    struct FTW *ftw)
{
    (void) sb;
    (void) type;
    (void) ftw;

    remove(path);

    return 0;
}


int
sl_test_video_frames(const char *dir, const char *rendition,
    unsigned init_id, uint64_t msn)
{
    int               n;
    char              path[1024], cat[4400];
    FILE             *out, *in;
    size_t            k;
    uint8_t           buf[65536];
    AVPacket         *pkt;
    AVFormatContext  *ic;
    const char       *parts[2];
    char              init[4200], seg[4200];

    snprintf(path, sizeof(path), "%s/%s", dir, rendition);
    snprintf(init, sizeof(init), "%s/init-%u.mp4", path, init_id);
    snprintf(seg, sizeof(seg), "%s/seg-%llu.m4s", path,
             (unsigned long long) msn);
    snprintf(cat, sizeof(cat), "%s/check-%llu.mp4", path,
             (unsigned long long) msn);

    out = fopen(cat, "wb");
    if (out == NULL) {
        return -1;
    }

    parts[0] = init;
    parts[1] = seg;

    for (k = 0; k < 2; k++) {
        in = fopen(parts[k], "rb");
        if (in == NULL) {
            fclose(out);
            return -1;
        }

        while ((n = (int) fread(buf, 1, sizeof(buf), in)) > 0) {
            fwrite(buf, 1, n, out);
        }

        fclose(in);
    }

    fclose(out);

    ic = NULL;
    if (avformat_open_input(&ic, cat, NULL, NULL) < 0) {
        return -1;
    }

    pkt = av_packet_alloc();
    n = 0;

    while (pkt && av_read_frame(ic, pkt) >= 0) {
        if (ic->streams[pkt->stream_index]->codecpar->codec_type
            == AVMEDIA_TYPE_VIDEO)
        {
            n++;
        }

        av_packet_unref(pkt);
    }

    av_packet_free(&pkt);
    avformat_close_input(&ic);

    return n;
}
