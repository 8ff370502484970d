
/*
 * Streamline core, the media pipeline: the ladder's overload policy (see
 * sl_overload_t in sl_pipeline.h).  Pure: the clock and the lag come from
 * the caller, so the unit tests drive it through any timeline.
 */


#include <string.h>

#include "sl_pipeline.h"


void
sl_overload_init(sl_overload_t *o, int64_t max_lag_ms, int64_t quiet_ms)
{
    memset(o, 0, sizeof(sl_overload_t));
    o->max_lag_ms = max_lag_ms;
    o->quiet_ms = quiet_ms;
}


int
sl_overload_video(sl_overload_t *o, int key, int64_t lag_ms, int64_t now_ms,
    int *event)
{
    int  late;

    *event = SL_OVERLOAD_NONE;

    /* no drop for quiet_ms: the episode is over (also when a new one
     * begins with this frame after a pause of the video) */
    if (o->episode && now_ms - o->last_drop_ms >= o->quiet_ms) {
        o->episode = 0;
        *event |= SL_OVERLOAD_ENDED;
    }

    late = lag_ms > o->max_lag_ms;

    if (key && !late) {
        o->skipping = 0;
        return 0;
    }

    if (!o->skipping && !late) {
        return 0;
    }

    /* this frame and the rest up to a keyframe on time */
    o->skipping = 1;

    if (!o->episode) {
        o->episode = 1;
        o->began_ms = now_ms;
        o->worst_lag_ms = 0;
        o->dropped = 0;
        *event |= SL_OVERLOAD_BEGAN;
    }

    if (lag_ms > o->worst_lag_ms) {
        o->worst_lag_ms = lag_ms;
    }

    o->last_drop_ms = now_ms;
    o->dropped++;

    return 1;
}


int
sl_overload_stop(sl_overload_t *o)
{
    int  episode;

    episode = o->episode;
    o->episode = 0;
    o->skipping = 0;

    return episode;
}
