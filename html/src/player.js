/*
 * The Streamline player page.
 *
 * The page asks /api/stream/<channel> whether the channel is live before it
 * loads anything: while idle it shows the offline slate and requests no
 * manifest; when the state turns live it loads the master playlist and
 * plays; when it turns idle again it unloads and shows the slate.  A live
 * state with another updatedAt is another stream (the broadcaster came back,
 * or another origin took the channel over after its origin died, with a DVR
 * of its own): the page loads the master again and plays on.
 *
 * URLs are relative to the page, so the page works under any path prefix:
 *   <prefix>/            channel "main"
 *   <prefix>/<channel>   another channel
 * Query parameters: engine=hlsjs|vhs|native (the default is measured, see
 * README "Player"), channel=<name>.
 */
(function (videojs) {
    'use strict';

    var DEFAULT_ENGINE = 'hlsjs';
    var POLL_IDLE_MS = 2000;       // while idle: how soon a stream is noticed
    var POLL_LIVE_MS = 5000;       // while live: how soon its end is noticed
    var POLL_MAX_MS = 30000;       // backoff ceiling while the API fails
    var RETRY_MIN_MS = 1000;       // playback errors: 1, 2, 4, 8, 15 s
    var RETRY_MAX_MS = 15000;
    var SEEK_STEP = 10;

    var params = new URLSearchParams(location.search);
    var last = location.pathname.slice(location.pathname.lastIndexOf('/') + 1);
    var name = /^[A-Za-z0-9_-]{1,64}$/;
    var channel = params.get('channel') || (name.test(last) ? last : 'main');

    if (!name.test(channel)) {
        channel = 'main';
    }

    var apiUrl = 'api/stream/' + channel;
    var hlsUrl = 'hls/' + channel + '/master.m3u8';
    var previewsUrl = 'hls/' + channel + '/previews.vtt';

    var video = document.createElement('video');
    var native = !!video.canPlayType('application/vnd.apple.mpegurl')
                 && /^((?!chrome|chromium|android|crios|fxios|edg).)*safari/i
                    .test(navigator.userAgent);
    var engine = params.get('engine') || (native ? 'native' : DEFAULT_ENGINE);

    if (engine === 'hlsjs' && !(window.Hls && window.Hls.isSupported())) {
        engine = 'vhs';
    }

    var el = {
        body: document.body,
        slate: document.getElementById('slate'),
        title: document.getElementById('slate-title'),
        text: document.getElementById('slate-text'),
        badge: document.getElementById('badge'),
        viewers: document.getElementById('viewers')
    };

    var page = window.streamline = {
        channel: channel,
        engine: engine,
        api: null,            // last state from the API: 'live' | 'idle'
        since: null,          // updatedAt of the live stream playing
                              // (null: not known yet since the last load)
        updatedAt: null,      // the API's last updatedAt
        restarts: 0,          // new streams picked up while live
        viewers: null,        // the API's viewer count while live
        stalled: false,       // waiting for data since the last 'playing'
        loaded: false,        // a source is set
        retries: 0,
        backoff: 0,           // the delay of the retry last scheduled, ms
        errors: [],
        preview: null,        // the tile on show: {url, x, y, w, h, msn}
        player: null
    };

    var pollTimer = null;
    var pollDelay = POLL_IDLE_MS;
    var retryTimer = null;
    var retryDelay = RETRY_MIN_MS;

    document.getElementById('channel').textContent = channel;

    function show(state, title, text) {
        el.body.setAttribute('data-state', state);
        el.badge.textContent = state === 'playing' || state === 'loading'
                               ? 'live' : state;
        if (title === null) {
            el.slate.hidden = true;
        } else {
            el.title.textContent = title;
            el.text.textContent = text;
            el.slate.hidden = false;
        }
    }

    /* ---- the player ---- */

    function hotkeys(event) {
        var p = page.player;
        var k = event.key;
        var seekable, t;

        if (event.ctrlKey || event.altKey || event.metaKey) {
            return;
        }

        if (k === ' ' || k === 'k' || k === 'K') {
            if (p.paused()) { p.play(); } else { p.pause(); }
        } else if (k === 'f' || k === 'F') {
            if (p.isFullscreen()) { p.exitFullscreen(); } else { p.requestFullscreen(); }
        } else if (k === 'm' || k === 'M') {
            p.muted(!p.muted());
        } else if (k === 'ArrowLeft' || k === 'ArrowRight') {
            seekable = p.seekable();
            if (!seekable.length) {
                return;
            }
            t = p.currentTime() + (k === 'ArrowLeft' ? -SEEK_STEP : SEEK_STEP);
            t = Math.max(seekable.start(0), Math.min(t, seekable.end(seekable.length - 1)));
            p.currentTime(t);
        } else if (k === 'Home') {
            seekable = p.seekable();
            if (seekable.length) {
                p.currentTime(seekable.start(0));
            }
        } else if (k === 'l' || k === 'L' || k === 'End') {
            if (p.liveTracker && p.liveTracker.isLive()) {
                // the LIVE button's own action; it does nothing while the
                // tracker still thinks we are at the edge (a seek away from
                // it in progress), so the position is set as well
                p.liveTracker.seekToLiveEdge();
                p.currentTime(p.liveTracker.liveCurrentTime());
            }
        } else {
            return;
        }

        event.preventDefault();
    }

    var player = page.player = videojs('player', {
        fluid: true,
        aspectRatio: '16:9',
        liveui: true,
        // the DVR window starts empty: scrubber and LIVE button from the
        // first second (Video.js waits for 20 s by default)
        liveTracker: { trackingThreshold: 0 },
        autoplay: 'any',
        preload: 'auto',
        controlBar: { pictureInPictureToggle: false },
        userActions: { hotkeys: hotkeys },
        html5: {
            vhs: {
                overrideNative: engine === 'vhs',
                useDevicePixelRatio: true
            },
            nativeAudioTracks: engine === 'native',
            nativeVideoTracks: engine === 'native',
            streamlineHls: {
                enabled: engine === 'hlsjs',
                onFatal: function (reason) { failed(reason); }
            }
        }
    });

    player.qualityMenu({ useResolutionLabels: true });

    /* ---- the scrubber: wall-clock time and distance from live ---- */

    /* "1:23:45", "3:07" */
    function hms(s) {
        var h, m;
        s = Math.max(0, Math.round(s));
        h = Math.floor(s / 3600);
        m = Math.floor(s / 60) % 60;
        s = s % 60;
        return (h ? h + ':' + (m < 10 ? '0' : '') : '') + m + ':'
               + (s < 10 ? '0' : '') + s;
    }

    /* the hls.js fragment (segment) that holds media time t, or null */
    function fragAt(t) {
        var tech = player.tech(true);
        var hls = tech && tech.sourceHandler_ && tech.sourceHandler_.hls;
        var level = hls && hls.levels
                    && hls.levels[Math.max(hls.currentLevel, 0)];
        var frags = level && level.details && level.details.fragments;
        var i, f;

        for (i = 0; frags && i < frags.length; i++) {
            f = frags[i];
            if (t >= f.start && t < f.start + f.duration) {
                return f;
            }
        }

        return null;
    }

    /*
     * The wall-clock time (ms) of media time t: from the PROGRAM-DATE-TIME
     * of the fragment that holds it (hls.js), else from the live edge.
     */
    function clockAt(t) {
        var f = fragAt(t);

        if (f && f.programDateTime) {
            return f.programDateTime + (t - f.start) * 1000;
        }

        return Date.now() - (player.liveTracker.liveCurrentTime() - t) * 1000;
    }

    function clockText(ms) {
        return new Date(ms).toLocaleTimeString('en-GB', { hour12: false });
    }

    /*
     * Scrubber previews: previews.vtt (README, Scrubber previews) lists a
     * tile of a sprite sheet for each run of segments, its cue identifier
     * the media sequence number of the run's first segment; the fragment
     * under the mouse (its sn) picks the tile.  Fetched when the mouse
     * comes over the scrubber, at most every 5 s.
     */
    var previews = { cues: [], fetched: 0, loading: false };

    function previewsParse(text) {
        var cues = [];
        text.split(/\r?\n\r?\n/).forEach(function (block) {
            var lines = block.split(/\r?\n/);
            var i = lines[0].indexOf('-->') < 0 ? 1 : 0;
            var m = lines[i + 1]
                    && /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(lines[i + 1]);
            if (i === 1 && m && lines[i] && lines[i].indexOf('-->') > 0
                && /^\d+$/.test(lines[0]))
            {
                cues.push({ msn: Number(lines[0]),
                            url: new URL(m[1], new URL(previewsUrl,
                                                       location.href)).href,
                            x: +m[2], y: +m[3], w: +m[4], h: +m[5] });
            }
        });
        return cues;
    }

    function previewsFetch() {
        if (previews.loading || Date.now() - previews.fetched < 5000) {
            return;
        }
        previews.loading = true;
        fetch(previewsUrl, { cache: 'no-cache' })
            .then(function (r) { return r.ok ? r.text() : ''; })
            .then(function (text) {
                previews.cues = previewsParse(text);
            }, function () { /* none: times only */ })
            .then(function () {
                previews.loading = false;
                previews.fetched = Date.now();
            });
    }

    /* the tile of media time t: the last cue that starts at or before
     * its segment */
    function previewAt(t) {
        var f = fragAt(t);
        var cues = previews.cues;
        var lo = 0, hi = cues.length - 1, mid, found = null;

        if (!f || typeof f.sn !== 'number') {
            return null;
        }
        while (lo <= hi) {
            mid = (lo + hi) >> 1;
            if (cues[mid].msn <= f.sn) {
                found = cues[mid];
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found;
    }

    var tip = document.createElement('div');
    tip.className = 'sl-scrub-tip';
    tip.hidden = true;

    var tipImg = document.createElement('div');
    tipImg.className = 'sl-scrub-img';
    tipImg.hidden = true;

    var tipText = document.createElement('div');
    tip.appendChild(tipImg);
    tip.appendChild(tipText);

    var behindEl = document.createElement('span');
    behindEl.className = 'sl-behind';
    behindEl.hidden = true;

    player.ready(function () {
        var bar = player.controlBar.progressControl.seekBar.el();

        bar.appendChild(tip);
        player.controlBar.el().insertBefore(behindEl,
            player.controlBar.progressControl.el().nextSibling);

        bar.addEventListener('mousemove', function (event) {
            var seekable = player.seekable();
            var rect = bar.getBoundingClientRect();
            var frac, t, behind;

            if (!seekable.length || !rect.width) {
                return;
            }

            frac = Math.max(0, Math.min(1,
                       (event.clientX - rect.left) / rect.width));
            t = seekable.start(0)
                + frac * (seekable.end(seekable.length - 1) - seekable.start(0));
            behind = player.liveTracker.liveCurrentTime() - t;

            tipText.textContent = clockText(clockAt(t))
                              + (behind >= 1 ? '  \u2212' + hms(behind) : '  LIVE');
            showPreview(previewAt(t));
            tip.style.left = (frac * 100) + '%';
            tip.hidden = false;
        });

        bar.addEventListener('mouseenter', previewsFetch);

        bar.addEventListener('mouseleave', function () {
            tip.hidden = true;
        });
    });

    function showPreview(c) {
        page.preview = c;
        tipImg.hidden = !c;
        if (c) {
            tipImg.style.width = c.w + 'px';
            tipImg.style.height = c.h + 'px';
            tipImg.style.backgroundImage = 'url("' + c.url + '")';
            tipImg.style.backgroundPosition = (-c.x) + 'px ' + (-c.y) + 'px';
        }
        previewsFetch();
    }

    /* while rewound: how far behind live, "-1:23:45" */
    player.on('timeupdate', function () {
        var behind = player.liveTracker && player.liveTracker.isLive()
                     ? player.liveTracker.liveCurrentTime()
                       - player.currentTime()
                     : 0;

        page.behind = behind;
        behindEl.hidden = !(behind > 10);
        if (behind > 10) {
            behindEl.textContent = '\u2212' + hms(behind);
            behindEl.title = hms(behind) + ' behind live';
        }
    });

    /* keys work when nothing else has the focus, not only on the player */
    document.addEventListener('keydown', function (event) {
        if (event.target === document.body && page.loaded) {
            hotkeys.call(player, event);
        }
    });

    /*
     * A stall while live may be the stream moving to another origin (its
     * own dies): the API is asked at once, and every POLL_IDLE_MS while
     * the stall lasts, so that a new stream is loaded within seconds.
     */
    player.on('waiting', function () {
        page.stalled = true;
        pollNow();
    });

    player.on('playing', function () {
        page.stalled = false;
        if (page.loaded && page.since === null) {
            /* what plays since the last load: the stream the API said */
            page.since = page.updatedAt;
        }
        retryDelay = RETRY_MIN_MS;
        if (page.loaded) {
            show('playing', null);
        }
    });

    player.on('error', function () {
        var e = player.error();
        failed(e ? 'MEDIA_ERR ' + e.code + ': ' + (e.message || '') : 'error');
    });

    function load() {
        clearTimeout(retryTimer);
        retryTimer = null;
        page.loaded = true;
        page.since = null;
        show('loading', null);
        player.error(null);
        player.src({ src: hlsUrl, type: 'application/x-mpegURL' });
        var p = player.play();
        if (p && p.catch) {
            p.catch(function () { /* autoplay refused: the big play button */ });
        }
    }

    function note(reason) {
        page.errors.push(reason);
        if (page.errors.length > 20) {
            page.errors.shift();
        }
    }

    function unload() {
        clearTimeout(retryTimer);
        retryTimer = null;
        if (page.loaded) {
            page.loaded = false;
            player.reset();
        }
    }

    /*
     * A playback error while the channel is live (the master is not there
     * yet, the network went away, a decoder error hls.js could not recover
     * from): unload, and load again after a backoff.  The API poll goes on
     * meanwhile; if the channel went idle, the slate wins.
     */
    function failed(reason) {
        note(reason);

        if (!page.loaded || retryTimer) {
            return;
        }

        unload();
        pollNow();            // a new stream elsewhere is found sooner
        page.retries++;
        page.backoff = retryDelay;
        show('reconnecting', 'Reconnecting…',
             'Playback was interrupted; trying again in '
             + Math.round(retryDelay / 1000) + ' s.');

        retryTimer = setTimeout(function () {
            retryTimer = null;
            if (page.api === 'live') {
                load();
            }
        }, retryDelay);

        retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
    }

    /* ---- the channel's state ---- */

    function state(status) {
        page.api = status;

        if (status === 'live') {
            if (!page.loaded && !retryTimer) {
                load();
            }
            return;
        }

        unload();
        retryDelay = RETRY_MIN_MS;
        show('offline', 'Offline',
             'The stream starts here by itself when the channel goes live.');
    }

    function poll() {
        pollTimer = null;

        fetch(apiUrl, { cache: 'no-store', headers: { Accept: 'application/json' } })
            .then(function (r) {
                if (!r.ok) {
                    throw new Error('HTTP ' + r.status);
                }
                return r.json();
            })
            .then(function (s) {
                var live = s.status === 'live';

                page.updatedAt = s.updatedAt;
                showViewers(live && typeof s.viewers === 'number'
                            ? s.viewers : null);

                if (!live || !page.loaded) {
                    page.since = null;

                } else if (page.since === null) {
                    /* what plays since the last load is this stream */
                    if (el.body.getAttribute('data-state') === 'playing') {
                        page.since = s.updatedAt;
                    }

                } else if (s.updatedAt !== page.since
                           && (page.stalled || !(page.behind > 10)))
                {
                    /* another stream: its playlists start over */
                    note('new stream since ' + s.updatedAt);
                    page.restarts++;
                    unload();
                    retryDelay = RETRY_MIN_MS;

                } else if (s.updatedAt !== page.since) {
                    /*
                     * A viewer rewound into the DVR, playing: a broadcaster
                     * back on the same origin continues this DVR, so play
                     * on; if the stream moved to another origin, the DVR
                     * is gone and the next error or stall loads the new one.
                     */
                    page.since = s.updatedAt;
                }

                state(live ? 'live' : 'idle');
                pollDelay = page.api === 'live' && !page.stalled
                            ? POLL_LIVE_MS : POLL_IDLE_MS;
            }, function (e) {
                // keep what is playing; back off
                note('api: ' + e.message);
                pollDelay = Math.min(Math.max(pollDelay, POLL_IDLE_MS) * 2, POLL_MAX_MS);
                if (page.api === null) {
                    show('offline', 'Offline',
                         'The channel\'s state is unavailable; trying again.');
                }
            })
            .then(function () {
                pollTimer = setTimeout(poll, pollDelay);
            });
    }

    /* the viewer count while live: distinct viewers over the last 30-40 s
     * on every node, approximate */
    function showViewers(n) {
        page.viewers = n;
        el.viewers.hidden = n === null;
        if (n !== null) {
            el.viewers.textContent = n === 1 ? '1 watching'
                                     : n.toLocaleString('en') + ' watching';
        }
    }

    /* ask now (unless a request is on its way): one poll chain only */
    function pollNow() {
        if (pollTimer) {
            clearTimeout(pollTimer);
            poll();
        }
    }

    /* a playlist that ended (EXT-X-ENDLIST) means the stream ended */
    player.on('ended', pollNow);

    /* ---- timed metadata: EXT-X-DATERANGE of CLASS com.streamline.metadata ---- */

    /*
     * hls.js parses every rendition's EXT-X-DATERANGE tags into its level
     * details (dateRanges, with startTime: the media time of START-DATE from
     * the fragments' PROGRAM-DATE-TIME).  Each ID becomes one cue of a
     * Video.js "metadata" text track; a cue that becomes active (playback
     * reaches it, again after a seek back into the DVR) is dispatched as a
     * "streamline-metadata" event (it bubbles to document and window) and
     * recorded in window.streamline.metadata.
     */
    var META_CLASS = 'com.streamline.metadata';
    var META_CUE_S = 0.5;             // how long a cue stays active
    var meta = { hls: null, track: null, cues: {}, fired: {} };

    page.metadata = [];               // the events dispatched, in order

    function metaTrack() {
        if (!meta.track) {
            meta.track = player.addTextTrack('metadata', 'streamline');
            meta.track.mode = 'hidden';
            meta.track.addEventListener('cuechange', metaActive);
        }
        return meta.track;
    }

    /* "0x48656c6c6f" -> bytes -> text (UTF-8, lossy) */
    function metaText(hex) {
        var bytes, i;
        hex = /^0x([0-9a-fA-F]*)$/.exec(hex || '');
        if (!hex || hex[1].length % 2) {
            return null;
        }
        bytes = new Uint8Array(hex[1].length / 2);
        for (i = 0; i < bytes.length; i++) {
            bytes[i] = parseInt(hex[1].substr(i * 2, 2), 16);
        }
        return new TextDecoder('utf-8').decode(bytes);
    }

    /*
     * Cues from the level playing first (hls.js corrects its fragments'
     * start times from the media it parses: a cue is moved with them while
     * it is not active), then new IDs from the other levels.
     */
    function metaSync() {
        var hls = meta.hls;
        var levels = (hls && hls.levels) || [];
        var order = [];
        var i, j, id, dr, t, cue, ranges;

        if (hls.currentLevel >= 0 && levels[hls.currentLevel]) {
            order.push(hls.currentLevel);
        }
        for (i = 0; i < levels.length; i++) {
            if (i !== hls.currentLevel) {
                order.push(i);
            }
        }

        for (j = 0; j < order.length; j++) {
            ranges = levels[order[j]].details
                     && levels[order[j]].details.dateRanges;
            for (id in ranges || {}) {
                dr = ranges[id];
                t = dr.startTime;
                cue = meta.cues[id];
                if (dr.class !== META_CLASS || !isFinite(t)
                    || (cue && (j > 0 || meta.fired[id]
                                || Math.abs(cue.startTime - t) < 0.02)))
                {
                    continue;
                }
                if (cue) {
                    metaTrack().removeCue(cue);
                }
                cue = new window.VTTCue(t, t + META_CUE_S, '');
                cue.id = id;
                cue.streamline = {
                    id: id,
                    startDate: dr.startDate.toISOString(),
                    data: metaText(dr.attr['X-STREAMLINE-DATA']),
                    mediaTime: t
                };
                meta.cues[id] = cue;
                metaTrack().addCue(cue);
            }
        }
    }

    function metaActive() {
        var active = meta.track.activeCues || [];
        var now = {};
        var i, d;

        /* by ID: Video.js may hold a copy of the cue added */
        for (i = 0; i < active.length; i++) {
            d = active[i].streamline;
            if (!d) {
                continue;
            }
            now[d.id] = true;
            if (meta.fired[d.id]) {
                continue;
            }
            d = Object.assign({}, d);
            page.metadata.push(Object.assign({
                at: Date.now(),
                currentTime: player.currentTime()
            }, d));
            player.el().dispatchEvent(new CustomEvent('streamline-metadata',
                { bubbles: true, detail: d }));
        }

        /* a cue left behind fires again when reached again (a seek back
         * into the DVR) */
        meta.fired = now;
    }

    /* hls.js is made anew for every source: its events, once each */
    function metaHook() {
        var tech = player.tech(true);
        var hls = tech && tech.sourceHandler_ && tech.sourceHandler_.hls;

        if (!hls || hls === meta.hls || !window.Hls) {
            return;
        }
        meta.hls = hls;
        hls.on(window.Hls.Events.LEVEL_LOADED, metaSync);
        hls.on(window.Hls.Events.LEVEL_UPDATED, metaSync);
        metaSync();
    }

    /* a new source is a new media timeline: its cues start afresh */
    player.on('loadstart', function () {
        var id;
        for (id in meta.cues) {
            if (meta.track) {
                meta.track.removeCue(meta.cues[id]);
            }
        }
        meta.cues = {};
        meta.fired = {};
        metaHook();
    });
    player.on('loadedmetadata', metaHook);
    player.on('timeupdate', metaHook);

    document.addEventListener('visibilitychange', function () {
        if (!document.hidden) {
            pollNow();
        }
    });

    /* ---- "Clip last 30 s": the DVR's last 30 s as an MP4 download ---- */

    var CLIP_MS = 30000;

    /*
     * The range to clip, ms since the epoch: up to the end of the newest
     * complete segment in the playlist hls.js has (its PROGRAM-DATE-TIME;
     * the origin has that segment, since the playlist said so), 30 s back
     * or to the start of the window.  Without hls.js (native, VHS): up to
     * three segments before now.
     */
    function clipRange() {
        var tech = player.tech(true);
        var hls = tech && tech.sourceHandler_ && tech.sourceHandler_.hls;
        var level = hls && hls.levels
                    && hls.levels[Math.max(hls.currentLevel, 0)];
        var frags = level && level.details && level.details.fragments;
        var first = frags && frags[0];
        var f = frags && frags[frags.length - 1];
        var end, start;

        if (f && f.programDateTime && first.programDateTime) {
            end = Math.floor(f.programDateTime + f.duration * 1000);
            start = Math.max(end - CLIP_MS, Math.ceil(first.programDateTime));
        } else {
            end = Date.now() - 6000;
            start = end - CLIP_MS;
        }

        return { start: start, end: end };
    }

    function clipUrl(range) {
        return 'hls/' + channel + '/clip.mp4?start='
               + encodeURIComponent(new Date(range.start).toISOString())
               + '&end=' + encodeURIComponent(new Date(range.end).toISOString());
    }

    /*
     * HEAD first: the origin makes the clip (or says why not, shown as the
     * button's title), then the download is that same file.
     */
    function clip(button) {
        var url = clipUrl(clipRange());

        button.addClass('sl-clip-busy');
        page.clipUrl = url;

        fetch(url, { method: 'HEAD' })
            .then(function (r) {
                var a;

                if (!r.ok) {
                    throw new Error('HTTP ' + r.status);
                }

                a = document.createElement('a');
                a.href = url;
                a.download = '';
                document.body.appendChild(a);
                a.click();
                a.remove();
                button.controlText('Clip last 30 s');
            })
            .catch(function (e) {
                note('clip: ' + e.message);
                button.controlText('Clip last 30 s (failed: ' + e.message
                                   + ')');
            })
            .then(function () {
                button.removeClass('sl-clip-busy');
            });
    }

    /* in the control bar, before the fullscreen toggle; shown while live
     * (player.css: body[data-state="playing"]) */
    function clipButton() {
        var bar = player.controlBar;
        var fs = bar.getChild('FullscreenToggle');
        var button = bar.addChild('Button', {
            className: 'sl-clip',
            controlText: 'Clip last 30 s'
        }, fs ? bar.children().indexOf(fs) : undefined);
        var label = document.createElement('span');

        label.className = 'sl-clip-label';
        label.setAttribute('aria-hidden', 'true');
        label.textContent = 'Clip 30s';
        button.el().appendChild(label);
        button.on('click', function () { clip(button); });
    }

    player.ready(clipButton);

    show('offline', 'Offline', 'Checking the channel…');
    poll();
})(window.videojs);
