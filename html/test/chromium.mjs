// Debian's chromium, headless, through playwright-core: the one launch
// the browser tests (browser.mjs, play.mjs) and bench/player.mjs share.
// CHROMIUM overrides the binary; extra arguments are appended.
import { chromium } from 'playwright-core';

export function launch(extra = []) {
    return chromium.launch({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic',
               '--no-first-run', '--disable-background-networking',
               '--disable-component-update', '--disable-sync',
               '--autoplay-policy=no-user-gesture-required', ...extra],
    });
}
