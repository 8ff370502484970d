
/*
 * Unit tests of the pipeline's sequence headers and codec strings
 * (sl_codecs.c): when a header counts as new, the codec parameters taken
 * from it, and the RFC 6381 strings of avcC and Annex B extradata and of
 * AAC object types.  Prints TAP.
 */


#include <stdlib.h>
#include <string.h>

#include "sl_pipeline_int.h"
#include "sl_tap.h"


static void test_headers(sl_tap_t *t);
static void test_codecpar(sl_tap_t *t);
static void test_strings(sl_tap_t *t);
static sl_msg_t *header(int type, const uint8_t *data, size_t len,
    const sl_stream_params_t *params);
static void set_extradata(AVCodecParameters *par, const uint8_t *data,
    size_t len);


/* avcC: version 1, High profile (0x64), no constraints, level 3.1 */
static const uint8_t  avcc[] = {
    0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x64, 0x00, 0x1f,
    0x01, 0x00, 0x02, 0x68, 0xee
};

/* AudioSpecificConfig: AAC LC (2), 48 kHz, 2 channels */
static const uint8_t  asc_lc[] = { 0x11, 0x90 };


int
main(void)
{
    sl_tap_t  t = { 0, 0 };

    test_headers(&t);
    test_codecpar(&t);
    test_strings(&t);

    return sl_tap_done(&t);
}


static void
test_headers(sl_tap_t *t)
{
    sl_msg_t            *m;
    sl_seq_header_t      h;
    sl_stream_params_t   params;

    memset(&h, 0, sizeof(h));
    memset(&params, 0, sizeof(params));
    params.width = 1280;
    params.height = 720;
    params.fps = 30;

    m = header(SL_MSG_VIDEO_HEADER, avcc, sizeof(avcc), &params);
    sl_ok(t, sl_seq_header_set(&h, m) == 1 && h.len == sizeof(avcc)
             && memcmp(h.data, avcc, h.len) == 0 && h.params.width == 1280
             && h.params.height == 720 && h.params.fps == 30,
          "headers: the first is new, kept with its parameters");
    sl_ok(t, sl_seq_header_set(&h, m) == 0, "headers: the same again is not");
    free(m);

    params.fps = 25;
    m = header(SL_MSG_VIDEO_HEADER, avcc, sizeof(avcc), &params);
    sl_ok(t, sl_seq_header_set(&h, m) == 0 && h.params.fps == 25,
          "headers: another frame rate is taken, and is no new header");
    free(m);

    params.height = 360;
    m = header(SL_MSG_VIDEO_HEADER, avcc, sizeof(avcc), &params);
    sl_ok(t, sl_seq_header_set(&h, m) == 1 && h.params.height == 360,
          "headers: another size is");
    free(m);

    m = header(SL_MSG_VIDEO_HEADER, avcc, sizeof(avcc) - 1, &params);
    sl_ok(t, sl_seq_header_set(&h, m) == 1 && h.len == sizeof(avcc) - 1,
          "headers: other bytes are");
    free(m);
    free(h.data);

    memset(&h, 0, sizeof(h));
    memset(&params, 0, sizeof(params));
    params.sample_rate = 48000;
    params.channels = 2;

    m = header(SL_MSG_AUDIO_HEADER, asc_lc, sizeof(asc_lc), &params);
    sl_ok(t, sl_seq_header_set(&h, m) == 1 && sl_seq_header_set(&h, m) == 0
             && h.params.sample_rate == 48000 && h.params.channels == 2,
          "headers: audio, with its rate and channels");
    free(m);

    params.channels = 1;
    m = header(SL_MSG_AUDIO_HEADER, asc_lc, sizeof(asc_lc), &params);
    sl_ok(t, sl_seq_header_set(&h, m) == 1,
          "headers: other channels are new");
    free(m);

    m = header(SL_MSG_AUDIO_HEADER, NULL, 0, &params);
    sl_ok(t, sl_seq_header_set(&h, m) == 1 && h.len == 0 && h.data != NULL,
          "headers: an empty one is kept (as a header that is there)");
    free(m);
    free(h.data);
}


static void
test_codecpar(sl_tap_t *t)
{
    AVCodecParameters   *par;
    sl_seq_header_t      h;

    memset(&h, 0, sizeof(h));
    h.data = (uint8_t *) avcc;
    h.len = sizeof(avcc);
    h.params.width = 640;
    h.params.height = 360;

    par = avcodec_parameters_alloc();
    sl_ok(t, par && sl_codecpar_video(par, &h) == SL_OK
             && par->codec_type == AVMEDIA_TYPE_VIDEO
             && par->codec_id == AV_CODEC_ID_H264 && par->width == 640
             && par->height == 360
             && par->extradata_size == (int) sizeof(avcc)
             && memcmp(par->extradata, avcc, sizeof(avcc)) == 0,
          "codecpar: H.264 with the avcC as extradata");
    avcodec_parameters_free(&par);

    memset(&h, 0, sizeof(h));
    h.data = (uint8_t *) asc_lc;
    h.len = sizeof(asc_lc);
    h.params.sample_rate = 44100;
    h.params.channels = 1;

    par = avcodec_parameters_alloc();
    sl_ok(t, par && sl_codecpar_audio(par, &h) == SL_OK
             && par->codec_type == AVMEDIA_TYPE_AUDIO
             && par->codec_id == AV_CODEC_ID_AAC
             && par->sample_rate == 44100 && par->ch_layout.nb_channels == 1
             && par->frame_size == 1024 && par->extradata_size == 2,
          "codecpar: AAC with its rate, channels and config");
    avcodec_parameters_free(&par);
}


static void
test_strings(sl_tap_t *t)
{
    char                buf[64];
    AVCodecParameters  *video, *audio;

    /* libx264's global header: SPS and PPS with start codes */
    static const uint8_t  annexb[] = {
        0x00, 0x00, 0x00, 0x01, 0x67, 0x4d, 0x40, 0x1e, 0xab, 0xcd,
        0x00, 0x00, 0x00, 0x01, 0x68, 0xee, 0x3c, 0x80
    };
    static const uint8_t  no_sps[] = {
        0x00, 0x00, 0x00, 0x01, 0x68, 0xee, 0x3c, 0x80, 0x00, 0x00
    };
    static const uint8_t  asc_he[] = { 0x2b, 0x92, 0x08, 0x00 };
    static const uint8_t  asc_escape[] = { 0xf8, 0x00 };

    video = avcodec_parameters_alloc();
    audio = avcodec_parameters_alloc();

    if (video == NULL || audio == NULL) {
        sl_ok(t, 0, "strings: out of memory");
        return;
    }

    set_extradata(video, avcc, sizeof(avcc));
    set_extradata(audio, asc_lc, sizeof(asc_lc));

    sl_codecs_string(buf, sizeof(buf), video, audio);
    sl_ok(t, strcmp(buf, "avc1.64001f,mp4a.40.2") == 0,
          "strings: avcC and AAC LC: %s", buf);

    sl_codecs_string(buf, sizeof(buf), video, NULL);
    sl_ok(t, strcmp(buf, "avc1.64001f") == 0, "strings: video only");

    sl_codecs_string(buf, sizeof(buf), NULL, audio);
    sl_ok(t, strcmp(buf, "mp4a.40.2") == 0, "strings: audio only");

    set_extradata(video, annexb, sizeof(annexb));
    sl_codecs_string(buf, sizeof(buf), video, NULL);
    sl_ok(t, strcmp(buf, "avc1.4d401e") == 0,
          "strings: the SPS found in Annex B extradata: %s", buf);

    set_extradata(video, no_sps, sizeof(no_sps));
    sl_codecs_string(buf, sizeof(buf), video, audio);
    sl_ok(t, strcmp(buf, "mp4a.40.2") == 0,
          "strings: no SPS, no video codec: %s", buf);

    set_extradata(audio, asc_he, sizeof(asc_he));
    sl_codecs_string(buf, sizeof(buf), NULL, audio);
    sl_ok(t, strcmp(buf, "mp4a.40.5") == 0, "strings: HE-AAC: %s", buf);

    set_extradata(audio, asc_escape, sizeof(asc_escape));
    sl_codecs_string(buf, sizeof(buf), NULL, audio);
    sl_ok(t, strcmp(buf, "mp4a.40.2") == 0,
          "strings: an escaped object type is taken as LC: %s", buf);

    set_extradata(audio, NULL, 0);
    sl_codecs_string(buf, sizeof(buf), NULL, audio);
    sl_ok(t, strcmp(buf, "mp4a.40.2") == 0,
          "strings: no AudioSpecificConfig: LC");

    set_extradata(video, avcc, sizeof(avcc));
    set_extradata(audio, asc_lc, sizeof(asc_lc));
    sl_codecs_string(buf, 12, video, audio);
    sl_ok(t, strcmp(buf, "avc1.64001f") == 0,
          "strings: cut to the buffer, audio left out");

    avcodec_parameters_free(&video);
    avcodec_parameters_free(&audio);
}


static sl_msg_t *
header(int type, const uint8_t *data, size_t len,
    const sl_stream_params_t *params)
{
    sl_msg_t  *m;

    m = sl_msg_new(type, data, len);
    if (m == NULL) {
        exit(1);
    }

    m->params = *params;

    return m;
}


static void
set_extradata(AVCodecParameters *par, const uint8_t *data, size_t len)
{
    av_freep(&par->extradata);
    par->extradata_size = 0;

    if (len == 0) {
        return;
    }

    par->extradata = av_mallocz(len + AV_INPUT_BUFFER_PADDING_SIZE);
    if (par->extradata == NULL) {
        exit(1);
    }

    memcpy(par->extradata, data, len);
    par->extradata_size = (int) len;
}
