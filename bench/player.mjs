// node bench/player.mjs URL SECONDS [SRC_WIDTH] [HEIGHT]: opens the
// Streamline player page (or any page with one <video>) in Debian's headless
// chromium through playwright-core, waits until it plays, warms up 5 s,
// then for SECONDS measures and prints one JSON line:
//   latency[]   glass-to-glass, ms, for every frame shown: the source paints
//               its wall clock (ms mod 2^32, taken as the frame is made) as
//               32 black/white blocks of 16x32 px at the top left of a
//               SRC_WIDTH-wide frame (default 640; bench/player.sh); the
//               page reads them back, scaled to the rendition it plays, and
//               compares with its own clock;
//   stages      where each frame's latency went, ms per frame, when the
//               page's hls.js is reachable (window.hls, or the player
//               page's source handler): capture -> ingest (the frame's
//               EXT-X-PROGRAM-DATE-TIME, which the origin takes from the
//               RTMP message's arrival, minus the painted clock), the wait
//               for the rest of its part (ingest of the part's end minus
//               the frame's), part end -> first byte of the part at the
//               player (packaging, encoding, the request), the part's
//               transfer, and loaded -> shown (the player's buffer and
//               the compositor); they add up to the latency;
//   stalls      'waiting' events of the <video> after the warm-up;
//   stallLog    each: the position, what was buffered ahead, how long
//               until 'playing' (ms, null: still stalled), the distance to
//               the playlist's edge and the last parts loaded;
//   hlsErrors   hls.js's error events (most are not fatal), up to 50;
//   heap0/heap1 JS heap in use (CDP Performance.getMetrics JSHeapUsedSize)
//               at the start and end of the measurement, after a GC;
//   task        main-thread busy seconds (CDP TaskDuration) during it;
//   playlists   playlist responses and their body bytes during it
//               (unknown: responses whose size chromium did not report);
//   height      the rendition height at the end; errors: the page's own;
//   seekable    the span of the player's seekable range at the end, s
//               (what the DVR scrubber covers; the player page only).
// HEIGHT pins the player page to the rendition of that height (its
// quality menu's levels), as a viewer choosing it would.
// HLS_DEBUG=FILE (environment) writes hls.js's debug log to FILE, with
// each stall and, 300 ms into it, hls.js's stream controller state (what
// it thinks is loaded and buffered): how the edge stalls were found.
// Debugging only; the log slows the page a little.
import { launch } from '../html/test/chromium.mjs';

const [url, secs, srcWidth, height] = [process.argv[2], Number(process.argv[3] || 60),
                                       Number(process.argv[4] || 640),
                                       Number(process.argv[5] || 0)];
const browser = await launch(['--js-flags=--expose-gc']);
// IGNORE_HTTPS_ERRORS=1: a test's own certificate (t/80 checks it with curl)
const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    ignoreHTTPSErrors: process.env.IGNORE_HTTPS_ERRORS === '1',
});
const page = await context.newPage();
const cdp = await context.newCDPSession(page);
await cdp.send('Performance.enable');

let measuring = false;
const playlists = { count: 0, bytes: 0 };
page.on('requestfinished', async (req) => {
    if (!measuring || !/\.m3u8(\?|$)/.test(req.url())) {
        return;
    }
    const sizes = await req.sizes().catch(() => null);
    playlists.count++;
    if (sizes && sizes.responseBodySize >= 0) {
        playlists.bytes += sizes.responseBodySize;
    } else {
        playlists.unknown = (playlists.unknown || 0) + 1;
    }
});

async function metrics() {
    await page.evaluate(() => window.gc && window.gc());
    const m = await cdp.send('Performance.getMetrics');
    return Object.fromEntries(m.metrics.map((x) => [x.name, x.value]));
}

// HLS_DEBUG=FILE: hls.js's debug log (and each stall) into FILE, with
// the page's clock in ms; hls.js is wrapped as the page loads it
const debugFile = process.env.HLS_DEBUG;
if (debugFile) {
    await page.addInitScript(() => {
        const log = window.__hlslog = [];
        const put = (k) => (...a) => {
            if (log.length < 200000) {
                log.push(`${performance.now().toFixed(0)} ${k} ${a.join(' ')}`);
            }
        };
        const logger = { log: put('L'), debug: put('D'), info: put('I'),
                         warn: put('W'), error: put('E') };
        let H;
        Object.defineProperty(window, 'Hls', {
            configurable: true,
            get: () => H,
            set: (v) => {
                H = class extends v {
                    constructor(c) {
                        super(Object.assign({}, c, { debug: logger }));
                        window.__hlsInst = this;
                    }
                };
            },
        });
        document.addEventListener('waiting', () => {
            const v = document.querySelector('video');
            log.push(`${performance.now().toFixed(0)} STALL at ${v && v.currentTime}`);
            // what hls.js's stream controller thinks, for the stalls that
            // it does not load its way out of
            setTimeout(() => {
                try {
                    const h = window.__hlsInst, sc = h.streamController;
                    const d = h.latestLevelDetails, ft = sc.fragmentTracker;
                    const fp = sc.fragPrevious;
                    const fr = d.fragments.slice(-2).concat(d.fragmentHint ? [d.fragmentHint] : []);
                    log.push(`${performance.now().toFixed(0)} STATE ${JSON.stringify({
                        state: sc.state, loadingParts: sc.loadingParts,
                        nextLoadPosition: sc.nextLoadPosition,
                        fragPrevious: fp && [fp.sn, fp.start, fp.end],
                        frags: fr.map((f) => [f.sn, f.start, f.end, ft.getState(f)]),
                        parts: d.partList.map((p) => `${p.fragment.sn}.${p.index}:${p.loaded ? 1 : 0}`).join(' '),
                        buffered: v && Array.from({ length: v.buffered.length }, (_, i) => [v.buffered.start(i), v.buffered.end(i)]),
                        edge: d.edge, partEnd: d.partEnd, fragmentEnd: d.fragmentEnd,
                    })}`);
                } catch (e) {
                    log.push(`STATE error ${e}`);
                }
            }, 300);
        }, true);
        document.addEventListener('playing', () => {
            log.push(`${performance.now().toFixed(0)} PLAYING`);
        }, true);
    });
}

await page.goto(url);
await page.waitForFunction(() => {
    const v = document.querySelector('video');
    return v && v.currentTime > 0 && !v.paused && v.readyState >= 3;
}, null, { timeout: 60000, polling: 200 });

if (height) {
    await page.evaluate((h) => {
        const ql = window.streamline.player.qualityLevels();
        for (let i = 0; i < ql.length; i++) {
            ql[i].enabled = ql[i].height === h;
        }
    }, height);
}

await page.evaluate((w) => {
    const video = document.querySelector('video');
    const canvas = document.createElement('canvas');
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const s = window.glass = { latency: [], stages: [], stalls: 0, on: false };
    const hls = window.hls || (window.streamline && window.streamline.player
        && window.streamline.player.tech(true).sourceHandler_
        && window.streamline.player.tech(true).sourceHandler_.hls);
    const parts = [];        // the parts loaded lately: where frames came from
    s.hlsErrors = [];
    if (hls) {
        hls.on('hlsError', (ev, d) => {
            if (s.on && s.hlsErrors.length < 50) {
                s.hlsErrors.push(`${video.currentTime.toFixed(2)} ${d.details}${d.fatal ? ' (fatal)' : ''}`);
            }
        });
        hls.on('hlsFragLoaded', (ev, d) => {
            const seg = d.part || d.frag;
            if (d.frag.sn === 'initSegment' || !d.frag.programDateTime) {
                return;
            }
            parts.push({ seg: seg, frag: d.frag, level: d.frag.level,
                         first: performance.timeOrigin + seg.stats.loading.first,
                         end: performance.timeOrigin + seg.stats.loading.end });
            if (parts.length > 200) {
                parts.shift();
            }
        });
    }
    function stages(mediaTime, painted, now) {
        const level = hls.currentLevel >= 0 ? hls.currentLevel : hls.loadLevel;
        for (let i = parts.length - 1; i >= 0; i--) {
            const p = parts[i], st = p.seg.start, en = st + p.seg.duration;
            if (p.level !== level || mediaTime < st - 0.001 || mediaTime >= en) {
                continue;
            }
            const pdt = p.frag.programDateTime + (mediaTime - p.frag.start) * 1000;
            const pdtEnd = p.frag.programDateTime + (en - p.frag.start) * 1000;
            return [pdt - painted, pdtEnd - pdt, p.first - pdtEnd, p.end - p.first,
                    now - p.end];
        }
        return null;
    }
    // each stall: how long until playing again, and what was buffered
    s.stallLog = [];
    let stalledAt = 0;
    video.addEventListener('waiting', () => {
        if (!s.on) return;
        s.stalls++;
        stalledAt = performance.now();
        const b = video.buffered;
        const ahead = b.length ? b.end(b.length - 1) - video.currentTime : 0;
        const now = performance.timeOrigin + performance.now();
        s.stallLog.push({ at: video.currentTime, ahead: ahead, ms: null,
                          // the last parts in: sn.part, ms ago, ms in flight
                          parts: parts.slice(-4).map((p) => [
                              `${p.frag.sn}.${p.seg.index === undefined ? '-' : p.seg.index}`,
                              Math.round(now - p.end), Math.round(p.end - p.first)]),
                          edge: hls && hls.latestLevelDetails
                                ? hls.latestLevelDetails.edge - video.currentTime : null });
    });
    video.addEventListener('playing', () => {
        if (stalledAt && s.stallLog.length) {
            s.stallLog[s.stallLog.length - 1].ms = performance.now() - stalledAt;
        }
        stalledAt = 0;
    });
    function frame(t, meta) {
        const vw = video.videoWidth, vh = video.videoHeight;
        if (s.on && vw) {
            const k = vw / w;                  // the rendition's scale
            canvas.width = Math.ceil(512 * k);
            canvas.height = Math.ceil(32 * k);
            ctx.drawImage(video, 0, 0, canvas.width, canvas.height,
                          0, 0, canvas.width, canvas.height);
            const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
            let v = 0;
            for (let b = 0; b < 32; b++) {
                const x = Math.floor((b * 16 + 8) * k), y = Math.floor(16 * k);
                if (px[(y * canvas.width + x) * 4] > 128) v += 2 ** b;
            }
            const now = Date.now();
            let d = (now % 4294967296) - v;
            if (d < 0) d += 4294967296;
            if (d < 120000) {
                s.latency.push(d);
                const b = hls && meta && stages(meta.mediaTime, now - d, now);
                if (b) {
                    s.stages.push(b);
                }
            }
        }
        video.requestVideoFrameCallback(frame);
    }
    video.requestVideoFrameCallback(frame);
}, srcWidth);

await page.waitForTimeout(5000);
const m0 = await metrics();
measuring = true;
await page.evaluate(() => { window.glass.on = true; });
await page.waitForTimeout(secs * 1000);
await page.evaluate(() => { window.glass.on = false; });
measuring = false;
const m1 = await metrics();

const out = await page.evaluate(() => ({
    latency: window.glass.latency,
    stages: window.glass.stages,
    stalls: window.glass.stalls,
    stallLog: window.glass.stallLog,
    hlsErrors: window.glass.hlsErrors,
    height: document.querySelector('video').videoHeight,
    errors: (window.streamline && window.streamline.errors) || [],
    engine: window.streamline && window.streamline.engine,
    // what the DVR scrubber spans, s (the player page only)
    seekable: (() => {
        const p = window.streamline && window.streamline.player;
        const r = p && p.seekable();
        return r && r.length ? r.end(r.length - 1) - r.start(0) : null;
    })(),
}));
out.heap0 = m0.JSHeapUsedSize;
out.heap1 = m1.JSHeapUsedSize;
out.task = m1.TaskDuration - m0.TaskDuration;
out.playlists = playlists;
if (debugFile) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(debugFile, (await page.evaluate(() => window.__hlslog)).join('\n') + '\n');
}
console.log(JSON.stringify(out));
await browser.close();
