// node html/test/play.mjs URL SECONDS: opens URL in Debian's chromium
// (headless, through playwright-core) for SECONDS and prints the page's
// window.stats as JSON, with the playback position at the start and end.
import { launch } from './chromium.mjs';

const [url, seconds] = [process.argv[2], Number(process.argv[3] || 15)];
const browser = await launch();
const page = await browser.newPage();
const console_ = [];
page.on('console', (m) => console_.push(m.text()));
page.on('pageerror', (e) => console_.push('pageerror: ' + e.message));
await page.goto(url);
await page.waitForFunction(() => window.stats && window.stats.ready,
                           null, { timeout: 15000 }).catch(() => {});
await page.waitForTimeout(2000);
// what follows the warm-up counts
await page.evaluate(() => { window.stats.latency = []; window.stats.stalls = 0; });
const start = await page.evaluate(() => document.getElementById('v').currentTime);
await page.waitForTimeout(seconds * 1000);
const stats = await page.evaluate(() => window.stats);
stats.start = start;
stats.end = await page.evaluate(() => document.getElementById('v').currentTime);
stats.console = console_.slice(-20);
console.log(JSON.stringify(stats));
await browser.close();
