// node html/test/browser.mjs: Debian's chromium (headless, through
// playwright-core) driven line by line from stdin, so that a test in
// another language can script a page while it starts and stops publishers.
//
// Each input line is one JSON command; each answer is one JSON line:
//   {"cmd":"goto","url":"..."}                -> {"ok":true}
//   {"cmd":"eval","js":"expression"}          -> {"ok":true,"value":...}
//   {"cmd":"wait","js":"expression","timeout":ms}
//        -> {"ok":true,"value":...} once the expression is truthy,
//           {"ok":false,"error":"timeout",...} otherwise
//   {"cmd":"click","selector":"css"}          -> {"ok":true}
//   {"cmd":"hover","selector":"css"}          -> {"ok":true}
//   {"cmd":"download","selector":"css","path":"file"}
//        -> {"ok":true,"value":{"url","filename","size"}}: a click on it
//           starts a download (within "timeout" ms), saved to path
//   {"cmd":"key","key":"ArrowLeft"}           -> {"ok":true}
//   {"cmd":"screenshot","path":"file.png"}    -> {"ok":true}
//   {"cmd":"viewport","width":w,"height":h}   -> {"ok":true}
//   {"cmd":"requests"}  -> {"ok":true,"value":[urls requested so far]}
//   {"cmd":"console"}   -> {"ok":true,"value":[console lines so far]}
//   {"cmd":"metrics"}   -> {"ok":true,"value":{CDP Performance metrics}}
//   {"cmd":"delay","match":"regexp","ms":n}   -> {"ok":true}
//        requests whose URL matches go out n ms late (a network hiccup),
//        until {"cmd":"delay"} without "match" ends it
//   {"cmd":"close"}     -> exits
// Any failure answers {"ok":false,"error":"..."} and the session goes on.
import { launch } from './chromium.mjs';
import { createInterface } from 'node:readline';

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
const page = await context.newPage();
const requests = [];
const consoleLines = [];
let cdp = null;

page.on('request', (r) => requests.push(r.url()));
page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));

function answer(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

async function run(c) {
    switch (c.cmd) {
    case 'goto':
        await page.goto(c.url, { waitUntil: 'load' });
        return undefined;
    case 'eval':
        return await page.evaluate(c.js);
    case 'wait': {
        const h = await page.waitForFunction(c.js, null,
                                             { timeout: c.timeout || 10000, polling: 100 });
        return await h.jsonValue();
    }
    case 'click': {
        // the mouse travels to the element first, as a hand does: players
        // show their controls on that movement
        const box = await page.locator(c.selector).boundingBox({ timeout: c.timeout || 5000 });
        if (box) {
            await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 5 });
            await page.waitForTimeout(300);
        }
        await page.click(c.selector, { timeout: c.timeout || 5000 });
        return undefined;
    }
    case 'download': {
        const box = await page.locator(c.selector).boundingBox({ timeout: 5000 });
        if (box) {
            await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 5 });
            await page.waitForTimeout(300);
        }
        const [dl] = await Promise.all([
            page.waitForEvent('download', { timeout: c.timeout || 30000 }),
            page.click(c.selector, { timeout: 5000 })
        ]);
        await dl.saveAs(c.path);
        const { statSync } = await import('node:fs');
        return { url: dl.url(), filename: dl.suggestedFilename(),
                 size: statSync(c.path).size };
    }
    case 'hover': {
        // as a hand does: onto the element, then a few pixels further in
        // small steps (one jump is a single mousemove, which players such
        // as Video.js do not count as the user's activity)
        await page.hover(c.selector, { timeout: c.timeout || 5000 });
        const box = await page.locator(c.selector).boundingBox();
        await page.mouse.move(box.x + box.width / 2 + 20, box.y + box.height / 2 + 10,
                              { steps: 3 });
        return undefined;
    }
    case 'hover_at': {
        // onto a point of the element (x: a fraction of its width), in
        // small steps as a hand moves
        const box = await page.locator(c.selector).boundingBox({ timeout: c.timeout || 5000 });
        if (!box) {
            throw new Error('no box for ' + c.selector);
        }
        const [x, y] = [box.x + box.width * c.x, box.y + box.height / 2];
        await page.mouse.move(x, y, { steps: 5 });
        // a control bar that was faded out takes pointer events only once
        // the player has seen the movement: move again a moment later
        await page.waitForTimeout(400);
        await page.mouse.move(x + 1, y);
        await page.mouse.move(x, y);
        return undefined;
    }
    case 'key':
        await page.keyboard.press(c.key);
        return undefined;
    case 'screenshot':
        await page.screenshot({ path: c.path });
        return undefined;
    case 'viewport':
        await page.setViewportSize({ width: c.width, height: c.height });
        return undefined;
    case 'requests':
        return requests;
    case 'console':
        return consoleLines;
    case 'metrics': {
        cdp = cdp || await context.newCDPSession(page);
        if (!cdp.enabled) {
            await cdp.send('Performance.enable');
            cdp.enabled = true;
        }
        const m = await cdp.send('Performance.getMetrics');
        return Object.fromEntries(m.metrics.map((x) => [x.name, x.value]));
    }
    case 'delay':
        await page.unrouteAll();
        if (c.match) {
            const re = new RegExp(c.match);
            await page.route((url) => re.test(url.href), async (route) => {
                await new Promise((ok) => setTimeout(ok, c.ms || 1000));
                await route.continue().catch(() => {});
            });
        }
        return undefined;
    default:
        throw new Error(`unknown command ${c.cmd}`);
    }
}

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
    if (!line.trim()) {
        continue;
    }
    let c;
    try {
        c = JSON.parse(line);
    } catch (e) {
        answer({ ok: false, error: `bad command: ${e.message}` });
        continue;
    }
    if (c.cmd === 'close') {
        break;
    }
    try {
        const value = await run(c);
        answer({ ok: true, value: value === undefined ? null : value });
    } catch (e) {
        // the first line, and what playwright saw in the way
        const lines = String(e.message || e).split('\n');
        const why = lines.filter((l) => /intercepts|not visible|not stable/.test(l));
        answer({ ok: false, error: [lines[0], ...why.slice(-1)].join(' / ')
                                   .replace(/\x1b\[[0-9;]*m/g, '') });
    }
}
await browser.close();
