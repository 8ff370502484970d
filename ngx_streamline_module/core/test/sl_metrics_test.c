/*
 * Unit tests of the metrics (sl_metrics.c): status classes, file kinds,
 * channel and rendition slots (reuse, a full table, a changed ladder),
 * totals over a base, the delay and wake histograms, and the text
 * rendering (snprintf-like sizes, cumulative buckets, dead workers left
 * out).  The exposition format itself is checked by promtool in t/.
 * Prints TAP; exits 1 when a test fails.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_metrics.h"
#include "sl_tap.h"


static int
gone(int64_t pid)
{
    return pid == 666;
}


static int
has(const char *text, const char *line)
{
    return strstr(text, line) != NULL;
}


static char *
render(const sl_metrics_t *m, size_t *len)
{
    char    small[64];
    char   *buf;
    size_t  n;

    n = sl_metrics_render(m, gone, small, sizeof(small));
    buf = malloc(n + 1);
    if (buf == NULL) {
        abort();
    }

    *len = sl_metrics_render(m, gone, buf, n + 1);

    return buf;
}


int
main(void)
{
    size_t                   i, len;
    char                    *text, name[16];
    sl_tap_t                 t;
    sl_delay_t               d;
    sl_metrics_t            *m;
    sl_metrics_totals_t      base;
    sl_rendition_stats_t     st;
    sl_metrics_channel_t    *c, *c2;
    sl_metrics_rendition_t  *r;

    t.n = 0;
    t.failed = 0;

    sl_ok(&t, sl_metrics_code(200) == 0 && sl_metrics_code(206) == 0
              && sl_metrics_code(304) == 1 && sl_metrics_code(404) == 2
              && sl_metrics_code(503) == 3 && sl_metrics_code(0) == 3
              && sl_metrics_code(101) == 3 && sl_metrics_code(999) == 3,
          "status classes");

#define kind(s)  sl_metrics_file_kind((const unsigned char *) s, strlen(s))

    sl_ok(&t, kind("/hls/main/source/index.m3u8") == SL_FILE_PLAYLIST
              && kind("/hls/main/master.m3u8") == SL_FILE_PLAYLIST
              && kind("/hls/main/480p/part-12.3.m4s") == SL_FILE_PART
              && kind("/hls/main/480p/seg-12.m4s") == SL_FILE_SEGMENT
              && kind("/hls/main/480p/init-2.mp4") == SL_FILE_INIT
              && kind("/hls/main/480p/init-2.m4s") == SL_FILE_OTHER
              && kind("/hls/main/480p/x.m4s") == SL_FILE_OTHER
              && kind("/hls/part-/seg-") == SL_FILE_OTHER
              && kind("") == SL_FILE_OTHER && kind("/") == SL_FILE_OTHER,
          "file kinds");

    memset(&d, 0, sizeof(d));
    sl_delay_add(&d, 0);
    sl_delay_add(&d, 5);
    sl_delay_add(&d, 6);
    sl_delay_add(&d, 5000);
    sl_delay_add(&d, 5001);
    sl_ok(&t, d.count == 5 && d.sum_ms == 10012 && d.max_ms == 5001
              && d.last_ms == 5001 && d.bucket[0] == 2 && d.bucket[1] == 1
              && d.bucket[SL_DELAY_BUCKETS - 1] == 1
              && d.bucket[SL_DELAY_BUCKETS] == 1,
          "delays: bounds are inclusive, above the last is +Inf");

    m = calloc(1, sizeof(sl_metrics_t));
    if (m == NULL) {
        return 1;
    }

    /* channel slots */

    c = sl_metrics_channel(m, (const unsigned char *) "main", 4);
    sl_ok(&t, c && strcmp(c->name, "main") == 0, "a channel takes a slot");
    sl_ok(&t, sl_metrics_channel(m, (const unsigned char *) "main", 4) == c,
          "and finds it again");
    sl_ok(&t, sl_metrics_channel(m, (const unsigned char *) "", 0) == NULL
              && sl_metrics_channel(m, (const unsigned char *) "x",
                                    SL_CHANNEL_MAX + 1) == NULL,
          "no slot for an empty or over-long name");

    c->live = 1;
    c->rtmp_bytes = 7;

    for (i = 1; i < SL_METRICS_CHANNELS; i++) {
        snprintf(name, sizeof(name), "c%zu", i);
        c2 = sl_metrics_channel(m, (const unsigned char *) name,
                                strlen(name));
        if (c2 == NULL) {
            break;
        }
        c2->live = 1;
    }

    sl_ok(&t, i == SL_METRICS_CHANNELS
              && sl_metrics_channel(m, (const unsigned char *) "new", 3)
                 == NULL,
          "every slot live: no slot for one more");

    m->ch[5].live = 0;
    m->ch[5].idle_ms = 2000;
    m->ch[9].live = 0;
    m->ch[9].idle_ms = 1000;
    m->ch[9].rtmp_bytes = 99;

    c2 = sl_metrics_channel(m, (const unsigned char *) "new", 3);
    sl_ok(&t, c2 == &m->ch[9] && strcmp(c2->name, "new") == 0
              && c2->rtmp_bytes == 0 && c->rtmp_bytes == 7,
          "the slot idle the longest is taken, from zero");

    /* renditions */

    r = sl_metrics_rendition(c, "source");
    sl_ok(&t, r == &c->r[0] && c->nrenditions == 1, "a rendition");
    r = sl_metrics_rendition(c, "480p");
    sl_ok(&t, r == &c->r[1] && sl_metrics_rendition(c, "source") == &c->r[0]
              && c->nrenditions == 2, "renditions keep their index");

    for (i = 2; i < SL_METRICS_RENDITIONS; i++) {
        snprintf(name, sizeof(name), "r%zu", i);
        if (sl_metrics_rendition(c, name) == NULL) {
            break;
        }
    }

    sl_ok(&t, i == SL_METRICS_RENDITIONS
              && sl_metrics_rendition(c, "one-more") == NULL
              && sl_metrics_rendition(c, "") == NULL,
          "at most %d renditions", SL_METRICS_RENDITIONS);

    /* totals: a new stream adds to what the channel had */

    memset(&base, 0, sizeof(base));
    base.segments = 10;
    base.parts = 80;
    base.part_bucket[2] = 80;
    base.part_sum_ms = 1600;

    memset(&st, 0, sizeof(st));
    st.segments = 3;
    st.frames_in = 90;
    st.frames_out = 88;
    sl_delay_add(&st.part_delay, 30);
    sl_delay_add(&st.part_delay, 70);

    r = &c->r[1];
    sl_metrics_totals(&r->t, &base, &st);
    sl_ok(&t, r->t.segments == 13 && r->t.parts == 82
              && r->t.part_sum_ms == 1700 && r->t.part_bucket[2] == 80
              && r->t.part_bucket[3] == 1 && r->t.part_bucket[4] == 1
              && r->t.frames_in == 90 && r->t.frames_out == 88,
          "totals are the base plus the stream's");

    /* rendering */

    m->publishes_accepted = 3;
    m->publishes_refused[SL_REFUSED_BAD_KEY] = 2;
    m->hls_requests[SL_FILE_PART][0] = 41;
    m->workers[0].pid = 100;
    m->workers[0].redis_used = 1;
    m->workers[0].redis_connected = 1;
    m->workers[0].held = 4;
    m->workers[1].pid = 666;            /* gone: left out */
    m->workers[1].redis_used = 1;
    m->workers[1].redis_queue = 50;
    m->workers[1].held = 1000;
    m->workers[2].pid = 101;
    m->workers[2].redis_used = 1;
    m->workers[2].redis_queue = 2;
    m->workers[2].redis_oldest_ms = 1700000000123LL;
    sl_metrics_wake(&m->wake, 50);
    sl_metrics_wake(&m->wake, 3000);
    c->r[1].encode_lag_ms = 1250;
    m->ch[10].pid = 666;                /* live in a killed worker */
    c->overloads = 2;
    c->overloaded = 1;
    m->ch[10].overloaded = 1;           /* not live: not overloaded */
    m->redis_master_changes = 2;

    text = render(m, &len);
    sl_ok(&t, len == strlen(text), "rendered %zu bytes, NUL ended", len);

    sl_ok(&t, has(text, "\nstreamline_publishes_accepted_total 3\n")
              && has(text, "\nstreamline_publishes_refused_total"
                           "{reason=\"bad_key\"} 2\n")
              && has(text, "\nstreamline_publishes_refused_total"
                           "{reason=\"limit\"} 0\n"),
          "publishes");
    sl_ok(&t, has(text, "\nstreamline_hls_requests_total{kind=\"part\","
                        "code=\"2xx\"} 41\n"), "HLS requests");
    sl_ok(&t, has(text, "\nstreamline_hls_held_requests 4\n")
              && has(text, "\nstreamline_redis_workers 2\n")
              && has(text, "\nstreamline_redis_connected_workers 1\n")
              && has(text, "\nstreamline_redis_queue_length 2\n")
              && has(text, "\nstreamline_redis_master_changes_total 2\n")
              && has(text, "\nstreamline_redis_queue_oldest_timestamp_seconds"
                           " 1700000000.123\n"),
          "worker gauges summed over running workers only");
    sl_ok(&t, has(text, "\nstreamline_hls_wake_seconds_bucket{le=\"0.0001\"}"
                        " 1\n")
              && has(text, "\nstreamline_hls_wake_seconds_bucket{le=\"0.0025\"}"
                           " 1\n")
              && has(text, "\nstreamline_hls_wake_seconds_bucket{le=\"0.005\"}"
                           " 2\n")
              && has(text, "\nstreamline_hls_wake_seconds_bucket{le=\"+Inf\"}"
                           " 2\n")
              && has(text, "\nstreamline_hls_wake_seconds_sum 0.003050\n")
              && has(text, "\nstreamline_hls_wake_seconds_count 2\n"),
          "a histogram without labels: cumulative buckets, sum in seconds");
    sl_ok(&t, has(text, "\nstreamline_part_write_seconds_bucket{channel="
                        "\"main\",rendition=\"480p\",le=\"0.025\"} 80\n")
              && has(text, "\nstreamline_part_write_seconds_bucket{channel="
                           "\"main\",rendition=\"480p\",le=\"0.1\"} 82\n")
              && has(text, "\nstreamline_part_write_seconds_bucket{channel="
                           "\"main\",rendition=\"480p\",le=\"+Inf\"} 82\n")
              && has(text, "\nstreamline_part_write_seconds_sum{channel="
                           "\"main\",rendition=\"480p\"} 1.700000\n")
              && has(text, "\nstreamline_part_write_seconds_count{channel="
                           "\"main\",rendition=\"480p\"} 82\n"),
          "a histogram with labels");
    sl_ok(&t, has(text, "\nstreamline_channel_live{channel=\"main\"} 1\n")
              && has(text, "\nstreamline_channel_live{channel=\"new\"} 0\n")
              && has(text, "\nstreamline_rtmp_bytes_total{channel=\"main\"}"
                           " 7\n")
              && has(text, "\nstreamline_segments_total{channel=\"main\","
                           "rendition=\"480p\"} 13\n")
              && has(text, "\nstreamline_encoder_lag_seconds{channel=\"main\","
                           "rendition=\"480p\"} 1.250\n")
              && has(text, "\nstreamline_frames_total{channel=\"main\","
                           "rendition=\"480p\",result=\"out\"} 88\n")
              && !has(text, "rendition=\"source\",result="),
          "per channel and rendition");
    sl_ok(&t, has(text, "\nstreamline_ladder_overloaded{channel=\"main\"} 1\n")
              && has(text, "\nstreamline_ladder_overloaded{channel=\"c10\"}"
                           " 0\n")
              && has(text, "\nstreamline_ladder_overloads_total{channel="
                           "\"main\"} 2\n")
              && has(text, "# TYPE streamline_ladder_overloads_total "
                           "counter\n"),
          "the ladder's overload, per channel (0 in a killed worker)");
    sl_ok(&t, has(text, "\nstreamline_channels_live 61\n")
              && has(text, "\nstreamline_channel_live{channel=\"c10\"} 0\n"),
          "channels live: 61 of 64, not one whose worker was killed");
    sl_ok(&t, has(text, "# TYPE streamline_part_write_seconds histogram\n")
              && has(text, "# TYPE streamline_rtmp_bytes_total counter\n")
              && has(text, "# TYPE streamline_channels_live gauge\n")
              && text[len - 1] == '\n',
          "TYPE lines; the text ends with a newline");

    {
        char    *cut;
        size_t   n;

        cut = malloc(len);
        n = sl_metrics_render(m, gone, cut, len);
        sl_ok(&t, cut && n == len && cut[len - 1] == '\0'
                  && memcmp(cut, text, len - 1) == 0,
              "one byte short: the same length back, the text cut and "
              "NUL ended");
        free(cut);
    }

    free(text);
    free(m);

    return sl_tap_done(&t);
}
