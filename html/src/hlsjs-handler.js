/*
 * A Video.js source handler that plays HLS through hls.js in the Html5
 * tech, so that Video.js's controls (liveui, quality menu) drive hls.js's
 * LL-HLS engine.  It registers itself ahead of VHS; the page decides which
 * engine plays (player.js, option html5.streamlineHls.enabled).
 *
 * What it adds to plain hls.js:
 *  - the renditions as Video.js quality levels (player.qualityLevels()),
 *    and "enabled" flags mapped back to hls.js: one enabled level pins it,
 *    all enabled is Auto (ABR);
 *  - duration Infinity while live (liveDurationInfinity), which is what
 *    Video.js's liveTracker and liveui look for;
 *  - seekable = the whole DVR window, from the first segment of the
 *    playlist to hls.js's live sync position (the target latency), so the
 *    LIVE button lands where hls.js wants to play;
 *  - fatal errors: media errors are recovered in place once, network
 *    errors go to the page (options.onFatal), which retries with backoff;
 *  - catch-up at the live edge (see catchUp below).
 */
(function (videojs, Hls) {
    'use strict';

    if (!videojs || !Hls) {
        return;
    }

    /*
     * Catch-up: hls.js plays at its target latency (PART-HOLD-BACK, 0.75 s
     * on the shipped defaults) but speeds up towards it only with
     * more than 1 s buffered, which a sub-second target never has, and
     * every stall adds to the target.  So while the viewer is "at live"
     * (not rewound into the DVR: a pause or a seek back of more than
     * REWIND_MIN seconds rewinds, a seek to the live position, such as
     * the LIVE button's, returns) and behind the
     * target by more than CATCHUP_SLACK, playback runs up to
     * CATCHUP_MAX_RATE times faster (pitch kept), as long as more than two
     * parts are buffered ahead (at 1.15 with one part hls.js stalled now
     * and then); more than a target duration behind (a long
     * stall, a tab in the background), it jumps to the live position.
     * Back at the target, or rewound, it runs at 1.  What stalls added to
     * hls.js's target is forgotten after STALL_FORGET_MS without one.
     */
    var CATCHUP_EVERY_MS = 250;
    var CATCHUP_SLACK = 0.05;       // s behind the target that is fine
    var CATCHUP_GAIN = 0.5;         // rate per second behind, above 1
    var CATCHUP_MAX_RATE = 1.1;
    // the first playlist may come from a CDN's cache, up to half a target
    // duration old: in the first seconds, a jump rather than a long run
    var START_MS = 10000;
    var START_JUMP = 0.5;           // s behind the target
    var REWIND_MIN = 1;             // s
    // hls.js adds to its target for every stall, for good; after this long
    // without one the target is the playlist's PART-HOLD-BACK again
    var STALL_FORGET_MS = 30000;
    // back buffer kept behind the position, s, and how much more may
    // pile up before a trim (one flush per BACK_SLACK of playback)
    var BACK_KEEP = 30;
    var BACK_SLACK = 10;
    var BACK_MAX = 60;      // past this, trim whatever hls.js is doing

    function HlsjsHandler(source, tech, options) {
        var self = this;
        var opts = (options && options.streamlineHls) || {};
        var config = {
            lowLatencyMode: true,
            liveDurationInfinity: true,
            // a 4-hour window must not pile up in memory as it plays, but
            // hls.js's own back-buffer flush runs as playback enters a
            // segment, while that segment's next part may be between
            // loaded and buffered: hls.js then forgets the parts it
            // buffered before, and at the segment's end it waits for them
            // and stalls for good.  The handler trims instead (trimBack).
            backBufferLength: Infinity,
            // after a seek into the DVR, buffer ahead like on demand
            maxBufferLength: 30,
            // a stall adds this to the target latency (hls.js: 1 s): one
            // part of the shipped defaults, caught up with afterwards
            liveSyncOnStallIncrease: 0.25
        };

        Object.keys(opts.config || {}).forEach(function (k) {
            config[k] = opts.config[k];
        });

        this.tech = tech;
        this.player = videojs.getPlayer(tech.options_.playerId);
        this.opts = opts;
        this.levels = [];
        this.enabled = [];
        this.applying = false;
        this.recovered = 0;
        this.hls = new Hls(config);

        this.hls.on(Hls.Events.MANIFEST_PARSED, function (ev, data) {
            self.addLevels(data.levels);
        });
        this.hls.on(Hls.Events.LEVEL_SWITCHED, function (ev, data) {
            var ql = self.qualityLevels();
            if (ql) {
                ql.selectedIndex_ = data.level;
                ql.trigger({ type: 'change', selectedIndex: data.level });
            }
        });
        this.hls.on(Hls.Events.FRAG_BUFFERED, function (ev, data) {
            self.recovered = 0;
            self.trimBack(data);
        });
        this.hls.on(Hls.Events.ERROR, function (ev, data) {
            if (data.details === Hls.ErrorDetails.BUFFER_STALLED_ERROR) {
                self.lastStall = Date.now();
            }
            self.onError(data);
        });

        this.hls.loadSource(source.src);
        this.hls.attachMedia(tech.el());

        this.atLive = true;
        this.started = Date.now();
        this.lastStall = 0;
        this.lastTime = 0;
        this.ownSeek = false;
        this.onSeeking = function () { self.seeking(); };
        this.onTimeupdate = function () {
            if (!self.tech.el().seeking) {
                self.lastTime = self.tech.el().currentTime;
            }
        };
        // a pause leaves the live edge too: play goes on from there
        this.onPause = function () { self.atLive = false; };
        tech.el().addEventListener('seeking', this.onSeeking);
        tech.el().addEventListener('timeupdate', this.onTimeupdate);
        tech.el().addEventListener('pause', this.onPause);

        this.catchUpTimer = setInterval(function () {
            self.catchUp();
        }, CATCHUP_EVERY_MS);
    }

    /* a seek back rewinds into the DVR; one to the live position returns */
    HlsjsHandler.prototype.seeking = function () {
        var t = this.tech.el().currentTime;
        var sync = this.hls && this.hls.liveSyncPosition;

        if (this.ownSeek) {
            this.ownSeek = false;

        } else if (t < this.lastTime - REWIND_MIN) {
            this.atLive = false;

        } else if (typeof sync === 'number' && t >= sync - REWIND_MIN) {
            this.atLive = true;
        }

        this.lastTime = t;
    };

    HlsjsHandler.prototype.catchUp = function () {
        var hls = this.hls;
        var video = this.tech.el();
        var details = hls && hls.latestLevelDetails;
        var rate = 1;
        var behind, ahead, b, i;

        if (!details || !details.live || video.paused || video.seeking) {
            return;
        }

        if (this.lastStall && Date.now() - this.lastStall > STALL_FORGET_MS
            && details.partHoldBack)
        {
            this.lastStall = 0;
            hls.targetLatency = details.partHoldBack;
        }

        behind = this.atLive ? hls.latency - hls.targetLatency : 0;

        if ((behind > details.targetduration
             || (behind > START_JUMP && Date.now() - this.started < START_MS))
            && typeof hls.liveSyncPosition === 'number')
        {
            this.ownSeek = true;
            video.currentTime = hls.liveSyncPosition;
            behind = 0;
        }

        b = video.buffered;
        ahead = 0;

        for (i = 0; i < b.length; i++) {
            if (b.start(i) <= video.currentTime + 0.1 && video.currentTime < b.end(i)) {
                ahead = b.end(i) - video.currentTime;
            }
        }

        if (behind > CATCHUP_SLACK && ahead > 2 * (details.partTarget || 1))
        {
            rate = Math.min(CATCHUP_MAX_RATE, 1 + behind * CATCHUP_GAIN);
            rate = Math.round(rate * 100) / 100;
        }

        if (video.playbackRate !== rate) {
            video.playbackRate = rate;
        }
    };

    /*
     * The back buffer is trimmed right after a part or segment is
     * buffered, when hls.js has nothing between loaded and buffered: after
     * a whole segment (never forgotten) or after the last part the
     * playlist lists (the next one is a playlist reload away).  Trimming
     * BACK_SLACK seconds at a time keeps flushes rare.
     */
    HlsjsHandler.prototype.trimBack = function (data) {
        var hls = this.hls;
        var video = this.tech.el();
        var details = hls && hls.latestLevelDetails;
        var b = video.buffered;
        var last, end, back;

        if (!details || !b.length) {
            return;
        }

        end = video.currentTime - BACK_KEEP;
        back = end - b.start(0);

        if (back < BACK_SLACK) {
            return;
        }

        last = details.partList && details.partList[details.partList.length - 1];

        if (data && data.part && back < BACK_MAX
            && !(last && last.index === data.part.index
                 && last.fragment.sn === data.part.fragment.sn))
        {
            return;
        }

        hls.trigger(Hls.Events.BUFFER_FLUSHING, {
            startOffset: 0,
            endOffset: end,
            type: null
        });
    };

    HlsjsHandler.prototype.qualityLevels = function () {
        var p = this.player;
        return (p && typeof p.qualityLevels === 'function') ? p.qualityLevels() : null;
    };

    HlsjsHandler.prototype.addLevels = function (levels) {
        var self = this;
        var ql = this.qualityLevels();

        if (!ql) {
            return;
        }

        this.removeLevels();

        levels.forEach(function (level, i) {
            self.enabled[i] = true;
            self.levels.push(ql.addQualityLevel({
                id: 'hlsjs-' + i,
                width: level.width,
                height: level.height,
                bandwidth: level.bitrate,
                frameRate: level.frameRate,
                enabled: function (on) {
                    if (on === undefined) {
                        return self.enabled[i];
                    }
                    self.enabled[i] = !!on;
                    self.scheduleApply();
                }
            }));
        });
    };

    HlsjsHandler.prototype.removeLevels = function () {
        var ql = this.qualityLevels();

        if (ql) {
            this.levels.forEach(function (l) { ql.removeQualityLevel(l); });
        }
        this.levels = [];
        this.enabled = [];
    };

    /* a menu flips the flags one by one: act once, after the last */
    HlsjsHandler.prototype.scheduleApply = function () {
        var self = this;

        if (this.applying) {
            return;
        }
        this.applying = true;

        Promise.resolve().then(function () {
            var on = [];

            self.applying = false;

            if (!self.hls) {
                return;
            }

            self.enabled.forEach(function (e, i) { if (e) { on.push(i); } });

            if (on.length === 1) {
                // a level chosen: switch now (flushes the buffer ahead)
                self.hls.currentLevel = on[0];
            } else {
                self.hls.currentLevel = -1;
                self.hls.autoLevelCapping = -1;
            }
        });
    };

    HlsjsHandler.prototype.onError = function (data) {
        if (!data.fatal) {
            return;
        }

        if (data.type === Hls.ErrorTypes.MEDIA_ERROR && this.recovered < 2) {
            this.recovered++;
            this.hls.recoverMediaError();
            return;
        }

        if (typeof this.opts.onFatal === 'function') {
            this.opts.onFatal(data.type + ': ' + data.details, data);
        }
    };

    HlsjsHandler.prototype.seekable = function () {
        var hls = this.hls;
        var i = hls ? (hls.currentLevel >= 0 ? hls.currentLevel : hls.loadLevel) : -1;
        var details = i >= 0 && hls.levels && hls.levels[i] && hls.levels[i].details;
        var start, end;

        if (!details || !details.live || !details.fragments.length) {
            return this.tech.el().seekable;
        }

        start = details.fragments[0].start;
        end = hls.liveSyncPosition;

        if (typeof end !== 'number' || !isFinite(end) || end < start) {
            end = details.edge;
        }

        return videojs.time.createTimeRanges([[start, end]]);
    };

    HlsjsHandler.prototype.dispose = function () {
        clearInterval(this.catchUpTimer);
        this.tech.el().removeEventListener('seeking', this.onSeeking);
        this.tech.el().removeEventListener('timeupdate', this.onTimeupdate);
        this.tech.el().removeEventListener('pause', this.onPause);
        this.removeLevels();
        if (this.hls) {
            this.hls.destroy();
            this.hls = null;
        }
    };

    var handler = {
        name: 'streamline-hlsjs',

        canPlayType: function (type) {
            return (Hls.isSupported()
                    && /^(application\/(x-|vnd\.apple\.)mpegurl|audio\/mpegurl)$/i.test(type))
                   ? 'maybe' : '';
        },

        canHandleSource: function (source, options) {
            var opts = (options && options.streamlineHls) || {};

            if (!opts.enabled) {
                return '';
            }

            return handler.canPlayType(source.type || '');
        },

        handleSource: function (source, tech, options) {
            return new HlsjsHandler(source, tech, options);
        }
    };

    videojs.getTech('Html5').registerSourceHandler(handler, 0);
    videojs.StreamlineHlsjs = handler;
})(window.videojs, window.Hls);
