// node bench/player.mjs URL SECONDS [SRC_WIDTH]: opens the Streamline player
// page (or any page with one <video>) in Debian's headless chromium
// through playwright-core, waits until it plays, warms up 5 s, then for
// SECONDS measures and prints one JSON line:
//   latency[]   glass-to-glass, ms, for every frame shown: the source paints
//               its wall clock (ms mod 2^32) as 32 black/white blocks of
//               16x32 px at the top left of a SRC_WIDTH-wide frame (default
//               640; bench/player.sh); the page reads them back, scaled to
//               the rendition it plays, and compares with its own clock;
//   stalls      'waiting' events of the <video> after the warm-up;
//   heap0/heap1 JS heap in use (CDP Performance.getMetrics JSHeapUsedSize)
//               at the start and end of the measurement, after a GC;
//   task        main-thread busy seconds (CDP TaskDuration) during it;
//   playlists   playlist responses and their body bytes during it
//               (unknown: responses whose size chromium did not report);
//   height      the rendition height at the end; errors: the page's own;
//   seekable    the span of the player's seekable range at the end, s
//               (what the DVR scrubber covers; the player page only).
import { launch } from '../html/test/chromium.mjs';

const [url, secs, srcWidth] = [process.argv[2], Number(process.argv[3] || 60),
                               Number(process.argv[4] || 640)];
const browser = await launch(['--js-flags=--expose-gc']);
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
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

await page.goto(url);
await page.waitForFunction(() => {
    const v = document.querySelector('video');
    return v && v.currentTime > 0 && !v.paused && v.readyState >= 3;
}, null, { timeout: 60000, polling: 200 });

await page.evaluate((w) => {
    const video = document.querySelector('video');
    const canvas = document.createElement('canvas');
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const s = window.glass = { latency: [], stalls: 0, on: false };
    video.addEventListener('waiting', () => { if (s.on) s.stalls++; });
    function frame() {
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
            let d = (Date.now() % 4294967296) - v;
            if (d < 0) d += 4294967296;
            if (d < 120000) s.latency.push(d);
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
    stalls: window.glass.stalls,
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
console.log(JSON.stringify(out));
await browser.close();
