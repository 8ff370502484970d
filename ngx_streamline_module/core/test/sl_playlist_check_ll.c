
/*
 * Streamline core tests: the LL-HLS tags of a media playlist (parts,
 * preload hints, server control), for the playlist checker.
 */


#include "sl_playlist_check_internal.h"


int
sl_check_part(sl_check_t *c, sl_span_t *v)
{
    int                  rc;
    uint64_t             us, a, b;
    sl_attr_t            attr;
    sl_playlist_info_t  *info;
    unsigned             duration, uri;

    info = c->info;

    if (info->part_target_us == 0) {
        c->err = "EXT-X-PART without EXT-X-PART-INF";
        return SL_ERROR;
    }

    if (!c->seen_map) {
        c->err = "no EXT-X-MAP before the first segment";
        return SL_ERROR;
    }

    duration = 0;
    uri = 0;
    us = 0;

    while ((rc = sl_check_attr_next(v, &attr)) == SL_OK) {
        if (sl_check_span_is(&attr.name, "DURATION")) {
            if (attr.quoted || sl_check_duration(&attr.value, &us) != SL_OK) {
                rc = SL_ERROR;
                break;
            }

            duration = 1;

        } else if (sl_check_span_is(&attr.name, "URI")) {
            if (!attr.quoted || attr.value.p == attr.value.end) {
                rc = SL_ERROR;
                break;
            }

            uri = 1;

            if (sl_check_name(&attr.value, "part-", &a, &b) == SL_OK
                && (a != sl_check_msn(c) || b != c->cur_parts))
            {
                c->err = "part URI does not match its segment and index";
                return SL_ERROR;
            }
        }
    }

    if (rc == SL_ERROR || !duration || !uri) {
        c->err = "bad EXT-X-PART";
        return SL_ERROR;
    }

    if (us > info->part_target_us) {
        c->err = "EXT-X-PART longer than PART-TARGET";
        return SL_ERROR;
    }

    c->cur_parts++;
    c->cur_parts_us += us;
    c->seen_media = 1;
    info->parts++;

    return SL_OK;
}


int
sl_check_hint(sl_check_t *c, sl_span_t *v)
{
    int                  rc;
    uint64_t             a, b, msn;
    sl_attr_t            attr;
    unsigned             part, named, uri;
    sl_playlist_info_t  *info;

    info = c->info;

    if (info->preload_hint) {
        /* one hint per type is allowed; one is all we render */
        c->err = "EXT-X-PRELOAD-HINT repeated";
        return SL_ERROR;
    }

    part = 0;
    uri = 0;
    named = 0;
    a = 0;
    b = 0;

    while ((rc = sl_check_attr_next(v, &attr)) == SL_OK) {
        if (sl_check_span_is(&attr.name, "TYPE")) {
            if (attr.quoted) {
                rc = SL_ERROR;
                break;
            }

            part = sl_check_span_is(&attr.value, "PART");

            if (!part && !sl_check_span_is(&attr.value, "MAP")) {
                rc = SL_ERROR;
                break;
            }

        } else if (sl_check_span_is(&attr.name, "URI")) {
            if (!attr.quoted || attr.value.p == attr.value.end) {
                rc = SL_ERROR;
                break;
            }

            uri = 1;
            named = (sl_check_name(&attr.value, "part-", &a, &b) == SL_OK);
        }
    }

    if (rc == SL_ERROR || !uri) {
        c->err = "bad EXT-X-PRELOAD-HINT";
        return SL_ERROR;
    }

    if (part && named) {
        /* the next part: of the segment whose parts are being listed, or
         * the first of the next segment */

        msn = sl_check_msn(c);

        if (!((a == msn && b == c->cur_parts)
              || (c->cur_parts > 0 && a == msn + 1 && b == 0)))
        {
            c->err = "EXT-X-PRELOAD-HINT is not the next part";
            return SL_ERROR;
        }
    }

    info->preload_hint = 1;
    c->hint_line = info->line;

    return SL_OK;
}


int
sl_check_server_control(sl_check_t *c, sl_span_t *v)
{
    int         rc;
    sl_attr_t   a;
    uint64_t   *us;

    if (c->info->server_control) {
        c->err = "EXT-X-SERVER-CONTROL repeated";
        return SL_ERROR;
    }

    while ((rc = sl_check_attr_next(v, &a)) == SL_OK) {
        if (sl_check_span_is(&a.name, "CAN-SKIP-UNTIL")) {
            us = &c->can_skip_until_us;

        } else if (sl_check_span_is(&a.name, "HOLD-BACK")) {
            us = &c->hold_back_us;

        } else if (sl_check_span_is(&a.name, "PART-HOLD-BACK")) {
            us = &c->part_hold_back_us;
            c->seen_part_hold_back = 1;

        } else if (sl_check_span_is(&a.name, "CAN-BLOCK-RELOAD")) {
            if (a.quoted || !sl_check_span_is(&a.value, "YES")) {
                rc = SL_ERROR;
                break;
            }

            continue;

        } else {
            continue;
        }

        if (a.quoted || sl_check_duration(&a.value, us) != SL_OK) {
            rc = SL_ERROR;
            break;
        }
    }

    if (rc == SL_ERROR) {
        c->err = "bad EXT-X-SERVER-CONTROL";
        return SL_ERROR;
    }

    c->info->server_control = 1;

    return SL_OK;
}

