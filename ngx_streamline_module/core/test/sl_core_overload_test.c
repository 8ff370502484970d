/*
 * Unit tests of the core, continued (see sl_core_test.c): the ladder's
 * overload policy, frame by frame and over simulated streams.
 */


#include <stdio.h>
#include <string.h>

#include "sl_core_test.h"
#include "sl_pipeline.h"


/* a simulated ladder: what happened to a stream of frames */
typedef struct {
    int64_t   encode_ms;        /* what encoding a frame costs, from ... */
    int64_t   slow_from_ms;     /* ... here ... */
    int64_t   slow_until_ms;    /* ... to here; before and after: fast_ms */
    int64_t   fast_ms;
    int64_t   stall_at_ms;      /* one frame's encoding takes stall_ms */
    int64_t   stall_ms;

    unsigned  frames;
    unsigned  encoded;
    unsigned  dropped;
    unsigned  keys_encoded;
    unsigned  began;
    unsigned  ended;
    int64_t   worst_encoded_lag_ms;   /* at the start of an encoding */
    int64_t   last_dropped_ms;        /* the stream time of the last drop */
    int64_t   ended_at_ms;
} sl_sim_t;


/* 30 fps, a keyframe every gop frames, for ms of stream */
static void
sl_sim_run(sl_sim_t *s, sl_overload_t *o, unsigned gop, int64_t ms)
{
    int       drop, event, stalled;
    int64_t   now, in, lag, cost;
    unsigned  i, n;

    n = (unsigned) (ms * 30 / 1000);
    now = 0;
    stalled = 0;

    for (i = 0; i < n; i++) {
        in = (int64_t) i * 1000 / 30;

        if (now < in) {
            now = in;
        }

        lag = now - in;
        drop = sl_overload_video(o, i % gop == 0, lag, now, &event);

        s->frames++;
        s->began += (event & SL_OVERLOAD_BEGAN) != 0;

        if (event & SL_OVERLOAD_ENDED) {
            s->ended++;
            s->ended_at_ms = now;
        }

        if (drop) {
            s->dropped++;
            s->last_dropped_ms = now;
            continue;
        }

        s->encoded++;
        s->keys_encoded += i % gop == 0;

        if (lag > s->worst_encoded_lag_ms) {
            s->worst_encoded_lag_ms = lag;
        }

        cost = (now >= s->slow_from_ms && now < s->slow_until_ms)
               ? s->encode_ms : s->fast_ms;

        if (s->stall_ms && !stalled && now >= s->stall_at_ms) {
            cost = s->stall_ms;
            stalled = 1;
        }

        now += cost;
    }
}


void
test_overload(sl_tap_t *t)
{
    int            ev, drop;
    sl_overload_t  o;

    sl_overload_init(&o, 1000, 10000);

    /* on time: everything passes, nothing happens */
    drop = sl_overload_video(&o, 1, 0, 0, &ev);
    sl_ok(t, drop == 0 && ev == SL_OVERLOAD_NONE, "overload: a keyframe on "
          "time passes");
    drop = sl_overload_video(&o, 0, 1000, 33, &ev);
    sl_ok(t, drop == 0 && ev == SL_OVERLOAD_NONE, "overload: a frame exactly "
          "max_lag late passes");
    drop = sl_overload_video(&o, 0, -1, 66, &ev);
    sl_ok(t, drop == 0 && ev == SL_OVERLOAD_NONE, "overload: a frame of "
          "unknown lag passes");

    /* late: dropped, an episode begins; the rest of the GOP follows */
    drop = sl_overload_video(&o, 0, 1001, 100, &ev);
    sl_ok(t, drop == 1 && ev == SL_OVERLOAD_BEGAN && o.episode,
          "overload: a late frame is dropped and begins an episode");
    drop = sl_overload_video(&o, 0, 0, 133, &ev);
    sl_ok(t, drop == 1 && ev == SL_OVERLOAD_NONE, "overload: a frame on time "
          "after a drop is dropped too (its references are gone)");

    /* a late keyframe is dropped as well; one on time resumes */
    drop = sl_overload_video(&o, 1, 1500, 166, &ev);
    sl_ok(t, drop == 1 && ev == SL_OVERLOAD_NONE, "overload: a late keyframe "
          "is dropped");
    drop = sl_overload_video(&o, 1, 10, 200, &ev);
    sl_ok(t, drop == 0 && ev == SL_OVERLOAD_NONE && o.episode,
          "overload: a keyframe on time resumes, the episode goes on");
    sl_ok(t, o.dropped == 3 && o.worst_lag_ms == 1500 && o.began_ms == 100
          && o.last_drop_ms == 166, "overload: the episode's figures "
          "(3 dropped, worst 1500 ms, 100..166)");

    /* quiet for 10 s: the next frame ends it */
    drop = sl_overload_video(&o, 0, 0, 10165, &ev);
    sl_ok(t, drop == 0 && ev == SL_OVERLOAD_NONE && o.episode,
          "overload: 9999 ms without a drop: the episode goes on");
    drop = sl_overload_video(&o, 0, 0, 10166, &ev);
    sl_ok(t, drop == 0 && ev == SL_OVERLOAD_ENDED && !o.episode,
          "overload: 10 s without a drop end the episode");
    sl_ok(t, o.dropped == 3, "overload: its figures stay for the log line");

    /* a late frame after a long video pause: one ends, another begins */
    drop = sl_overload_video(&o, 0, 2000, 11000, &ev);
    sl_ok(t, drop == 1 && ev == SL_OVERLOAD_BEGAN && o.dropped == 1,
          "overload: a new episode starts its own figures");
    drop = sl_overload_video(&o, 0, 2000, 30000, &ev);
    sl_ok(t, drop == 1 && ev == (SL_OVERLOAD_ENDED|SL_OVERLOAD_BEGAN),
          "overload: a drop after a quiet pause ends one episode and "
          "begins the next");

    sl_ok(t, sl_overload_stop(&o) == 1 && !o.episode && !o.skipping,
          "overload: the stream's end ends the episode");
    sl_ok(t, sl_overload_stop(&o) == 0, "overload: and only once");
}


void
test_overload_streams(sl_tap_t *t)
{
    sl_sim_t       s;
    sl_overload_t  o;

    /* fast enough: nothing dropped, no episode */
    memset(&s, 0, sizeof(sl_sim_t));
    s.fast_ms = 30;
    sl_overload_init(&o, 1000, 10000);
    sl_sim_run(&s, &o, 60, 120000);
    sl_ok(t, s.dropped == 0 && s.began == 0 && s.encoded == 3600,
          "overload: a ladder that keeps up drops nothing");

    /*
     * Twice too slow for 60 s, then fast again: one episode, no frame
     * encoded more than max_lag late, every keyframe on time encoded,
     * about half the frames dropped; it ends 10 s after the last drop.
     */
    memset(&s, 0, sizeof(sl_sim_t));
    s.fast_ms = 10;
    s.encode_ms = 66;
    s.slow_from_ms = 20000;
    s.slow_until_ms = 80000;
    sl_overload_init(&o, 1000, 10000);
    sl_sim_run(&s, &o, 60, 120000);
    sl_ok(t, s.began == 1 && s.ended == 1, "overload: 60 s twice too slow: "
          "one episode (began %u, ended %u)", s.began, s.ended);
    sl_ok(t, s.worst_encoded_lag_ms <= 1000, "overload: no frame encoded "
          "more than 1 s late (worst %lld ms)",
          (long long) s.worst_encoded_lag_ms);
    sl_ok(t, s.dropped > 600 && s.dropped < 1200, "overload: %u of the 1800 "
          "slow frames dropped", s.dropped);
    sl_ok(t, s.last_dropped_ms >= 79000 && s.last_dropped_ms < 81000
          && s.ended_at_ms >= s.last_dropped_ms + 10000
          && s.ended_at_ms < s.last_dropped_ms + 10100,
          "overload: it ends 10 s after the last drop (%lld, %lld)",
          (long long) s.last_dropped_ms, (long long) s.ended_at_ms);
    sl_ok(t, s.encoded + s.dropped == 3600, "overload: every frame counted");

    /* ten times too slow: keyframes on time still get through */
    memset(&s, 0, sizeof(sl_sim_t));
    s.fast_ms = 10;
    s.encode_ms = 333;
    s.slow_from_ms = 0;
    s.slow_until_ms = 60000;
    sl_overload_init(&o, 1000, 10000);
    sl_sim_run(&s, &o, 60, 60000);
    sl_ok(t, s.began == 1 && s.worst_encoded_lag_ms <= 1000
          && s.keys_encoded >= 25, "overload: ten times too slow: one "
          "episode, lag bounded (%lld ms), %u of 30 keyframes encoded",
          (long long) s.worst_encoded_lag_ms, s.keys_encoded);

    /* one stall of 3 s mid-GOP: the frames it delayed are dropped up to the
     * keyframe on time (the next is late too), then all is well */
    memset(&s, 0, sizeof(sl_sim_t));
    s.fast_ms = 10;
    s.stall_at_ms = 30500;
    s.stall_ms = 3000;
    sl_overload_init(&o, 1000, 10000);
    sl_sim_run(&s, &o, 60, 60000);
    sl_ok(t, s.began == 1 && s.ended == 1 && s.worst_encoded_lag_ms <= 1000
          && s.dropped >= 90 && s.dropped <= 180, "overload: a 3 s stall: "
          "one episode, %u frames dropped, worst lag %lld ms", s.dropped,
          (long long) s.worst_encoded_lag_ms);
}
