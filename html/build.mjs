// node html/build.mjs [outdir]: builds the player page into html/dist (or
// outdir).  No bundler: the npm packages' own dist files and ours are
// copied to assets/ under names carrying a hash of their content, so the
// server and a CDN can cache them as immutable; index.html names them and
// is the one file a client must revalidate.  Everything is served from the
// origin (no CDN scripts), and every URL in the page is relative, so the
// page works under any path prefix.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync, rmSync, renameSync,
         existsSync } from 'node:fs';
import { dirname, join, resolve, basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || join(here, 'dist'));
const nm = join(here, 'node_modules');

// the page's assets, in the order index.html loads them
const assets = [
    ['vjs_css',   join(nm, 'video.js/dist/video-js.min.css')],
    ['menu_css',  join(nm, 'videojs-contrib-quality-menu/dist/videojs-contrib-quality-menu.css')],
    ['css',       join(here, 'src/player.css')],
    ['vjs_js',    join(nm, 'video.js/dist/video.min.js')],
    ['menu_js',   join(nm, 'videojs-contrib-quality-menu/dist/videojs-contrib-quality-menu.min.js')],
    ['hls_js',    join(nm, 'hls.js/dist/hls.min.js')],
    ['handler_js', join(here, 'src/hlsjs-handler.js')],
    ['js',        join(here, 'src/player.js')],
];

function fail(msg) {
    console.error(`html/build.mjs: ${msg}`);
    process.exit(1);
}

for (const [, file] of assets) {
    if (!existsSync(file)) {
        fail(`${file} is missing` + (file.startsWith(nm)
             ? ': run "npm ci" in html/ (make npm)' : ''));
    }
}

// build next to the target, then swap, so a running server never sees a
// half-written page
const tmp = `${out}.tmp-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });
mkdirSync(join(tmp, 'assets'), { recursive: true });

const names = {};
for (const [id, file] of assets) {
    let body = readFileSync(file);
    // source map comments point at files we do not ship
    body = Buffer.from(body.toString('utf8')
        .replace(/\n\/[/*][#@] sourceMappingURL=[^\n]*\s*$/, '\n'));
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
    const ext = extname(file);
    const name = `${basename(file, ext).replace(/\.min$/, '')}.${hash}${ext}`;
    writeFileSync(join(tmp, 'assets', name), body);
    names[id] = `assets/${name}`;
}

const versions = {};
for (const p of ['video.js', 'hls.js', 'videojs-contrib-quality-menu']) {
    versions[p] = JSON.parse(readFileSync(join(nm, p, 'package.json'))).version;
}

let html = readFileSync(join(here, 'src/index.html'), 'utf8');
html = html.replace(/@([a-z_]+)@/g, (m, id) => {
    if (id === 'versions') {
        return Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', ');
    }
    if (!(id in names)) fail(`src/index.html: unknown placeholder ${m}`);
    return names[id];
});
writeFileSync(join(tmp, 'index.html'), html);

const old = `${out}.old-${process.pid}`;
if (existsSync(out)) renameSync(out, old);
renameSync(tmp, out);
rmSync(old, { recursive: true, force: true });
console.log(`html/build.mjs: ${out} (${Object.keys(names).length} assets; `
            + Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', ') + ')');
