/*
 * sl_pipeline_feed FILE.flv DIR [segment_ms part_ms nrungs]: feeds the packets of
 * an FLV file (as nginx-rtmp would hand them over: AVCC NAL units, raw AAC,
 * millisecond timestamps) to the media pipeline and prints one line per
 * segment.  Used by t/02-pipeline.t to test the pipeline without nginx.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavformat/avformat.h>

#include "sl_core.h"
#include "sl_pipeline.h"


static void
on_segment(void *data, const sl_segment_info_t *seg)
{
    size_t  i;

    (void) data;

    printf("segment %s msn=%llu init=%u duration_us=%lld bytes=%llu "
           "disc=%u parts=%zu", seg->rendition,
           (unsigned long long) seg->msn, seg->init_id,
           (long long) seg->duration_us, (unsigned long long) seg->bytes,
           seg->discontinuity, seg->nparts);

    for (i = 0; i < seg->nparts; i++) {
        printf(" %lld@%llu+%llu%s", (long long) seg->parts[i].duration_us,
               (unsigned long long) seg->parts[i].offset,
               (unsigned long long) seg->parts[i].bytes,
               seg->parts[i].independent ? "i" : "");
    }

    printf("\n");
    fflush(stdout);
}


static void
on_log(void *data, int error, const char *msg)
{
    (void) data;
    fprintf(stderr, "pipeline: %s%s\n", error ? "error: " : "", msg);
}


int
main(int argc, char **argv)
{
    int                  vi, ai, rc;
    AVPacket            *pkt;
    AVStream            *st;
    sl_pipeline_t       *p;
    AVFormatContext     *ic;
    sl_pipeline_conf_t   conf;
    sl_pipeline_stats_t  stats;

    static const sl_rung_t  rungs[] = {
        { "480p", 854, 480, 1200, "veryfast", "main" },
        { "360p", 640, 360, 700, "veryfast", "main" },
    };

    if (argc < 3) {
        fprintf(stderr, "usage: %s FILE.flv DIR [segment_ms part_ms nrungs]\n",
                argv[0]);
        return 2;
    }

    ic = NULL;
    if (avformat_open_input(&ic, argv[1], NULL, NULL) < 0
        || avformat_find_stream_info(ic, NULL) < 0)
    {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }

    memset(&conf, 0, sizeof(conf));
    conf.dir = argv[2];
    conf.rendition = SL_NAME_SOURCE;
    conf.rungs = rungs;
    conf.nrungs = argc > 5 ? (size_t) atoi(argv[5]) : 0;
    conf.segment_us = (argc > 3 ? atoll(argv[3]) : 2000) * 1000;
    conf.part_us = (argc > 4 ? atoll(argv[4]) : 500) * 1000;
    conf.queue_max = 1000000;
    conf.max_lag_us = -1;           /* as fast as it goes: nothing late */
    conf.queue_bytes = (size_t) 1 << 30;     /* a whole file at once */
    conf.on_segment = on_segment;
    conf.on_log = on_log;

    p = sl_pipeline_start(&conf);
    if (p == NULL) {
        return 1;
    }

    vi = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    ai = av_find_best_stream(ic, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);

    if (vi >= 0) {
        st = ic->streams[vi];
        sl_pipeline_video_header(p, st->codecpar->extradata,
                                 st->codecpar->extradata_size,
                                 st->codecpar->width, st->codecpar->height,
                                 (int) av_q2d(st->avg_frame_rate));
    }

    if (ai >= 0) {
        st = ic->streams[ai];
        sl_pipeline_audio_header(p, st->codecpar->extradata,
                                 st->codecpar->extradata_size,
                                 st->codecpar->sample_rate,
                                 st->codecpar->ch_layout.nb_channels);
    }

    pkt = av_packet_alloc();

    while ((rc = av_read_frame(ic, pkt)) >= 0) {
        if (pkt->stream_index == vi || pkt->stream_index == ai) {
            sl_pipeline_push(p, pkt->stream_index == vi, pkt->dts,
                             (int32_t) (pkt->pts - pkt->dts),
                             (pkt->flags & AV_PKT_FLAG_KEY) != 0,
                             1795658595275LL + pkt->dts,
                             pkt->data, pkt->size);
        }

        av_packet_unref(pkt);
    }

    sl_pipeline_stats(p, &stats);
    sl_pipeline_stop(p);

    fprintf(stderr, "packets in %llu dropped %llu\n",
            (unsigned long long) stats.packets_in,
            (unsigned long long) stats.packets_dropped);

    av_packet_free(&pkt);
    avformat_close_input(&ic);

    return 0;
}
