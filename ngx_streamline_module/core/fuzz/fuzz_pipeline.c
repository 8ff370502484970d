
/*
 * libFuzzer target: the media pipeline fed what a publisher sends, through
 * the RTMP tap's parser: sequence headers and packets of any bytes, any
 * timestamps, go to sl_pipeline (packager, mp4 muxer, and with the first
 * byte's bit 0 a one-rung ladder: H.264 decoder, scaler, libx264) under
 * ASan.  Input: one byte of settings, then records of
 *
 *     1 byte    bit 0: video; bits 1-7: timestamp step in ms
 *     2 bytes   body length, big endian
 *     body      an RTMP audio/video message body (FLV tag data)
 *
 * fuzz/corpus/fuzz_pipeline holds a few real streams in that form.
 */


#define _GNU_SOURCE

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "sl_naming.h"
#include "sl_pipeline.h"


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_rm(const char *path, const struct stat *sb, int type,
    struct FTW *ftw);
static void fuzz_exit(void);


static char  fuzz_dir[] = "/tmp/fuzz_pipeline.XXXXXX";


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;

    av_log_set_level(AV_LOG_QUIET);

    if (mkdtemp(fuzz_dir) == NULL) {
        abort();
    }

    atexit(fuzz_exit);

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t              len;
    int64_t             dts;
    sl_flv_tag_t        tag;
    sl_pipeline_t      *p;
    sl_pipeline_conf_t  conf;

    static const sl_rung_t  rungs[] = {
        { "low", 64, 36, 100, "ultrafast", "baseline" },
    };

    if (size < 1) {
        return 0;
    }

    memset(&conf, 0, sizeof(conf));
    conf.dir = fuzz_dir;
    conf.rendition = SL_NAME_SOURCE;
    conf.rungs = rungs;
    conf.nrungs = data[0] & 1;
    conf.threads = 1;
    conf.segment_us = 1000000;
    conf.part_us = (data[0] & 2) ? 100000 : 250000;
    conf.queue_max = 4096;
    conf.max_lag_us = -1;

    p = sl_pipeline_start(&conf);
    if (p == NULL) {
        return 0;
    }

    data++;
    size--;
    dts = 0;

    while (size >= 3) {
        len = ((size_t) data[1] << 8) | data[2];

        if (len > size - 3) {
            len = size - 3;
        }

        dts += data[0] >> 1;

        switch (sl_flv_parse(data[0] & 1, data + 3, len, &tag)) {

        case SL_FLV_HEADER:
            if (tag.video) {
                (void) sl_pipeline_video_header(p, tag.data, tag.len, 0, 0,
                                                0);
            } else {
                (void) sl_pipeline_audio_header(p, tag.data, tag.len, 48000,
                                                2);
            }

            break;

        case SL_FLV_PACKET:
            (void) sl_pipeline_push(p, tag.video, dts, tag.cts_ms, tag.key,
                                    1795658595000LL + dts, tag.data,
                                    tag.len);
            break;

        default:
            break;
        }

        data += 3 + len;
        size -= 3 + len;
    }

    sl_pipeline_stop(p);

    /* what the run wrote: the next one starts from an empty directory */
    (void) nftw(fuzz_dir, fuzz_rm, 16, FTW_DEPTH | FTW_PHYS);

    return 0;
}


static void
fuzz_exit(void)
{
    (void) nftw(fuzz_dir, fuzz_rm, 16, FTW_DEPTH | FTW_PHYS);
    (void) rmdir(fuzz_dir);
}


static int
fuzz_rm(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void) sb;
    (void) type;

    if (ftw->level > 0) {
        (void) remove(path);
    }

    return 0;
}
