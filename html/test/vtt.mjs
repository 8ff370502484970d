// node html/test/vtt.mjs FILE: parses a WebVTT file with videojs-vtt.js
// (the parser Video.js uses, a library we did not write) and prints
// {cues: [{id, start, end, text}], errors: [...]} as JSON.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const WebVTT = require('videojs-vtt.js/lib/vtt.js');
const VTTCue = require('videojs-vtt.js/lib/vttcue.js');
const VTTRegion = require('videojs-vtt.js/lib/vttregion.js');

const text = readFileSync(process.argv[2], 'utf8');
const cues = [];
const errors = [];
const parser = new WebVTT.Parser({ VTTCue, VTTRegion },
                                 WebVTT.StringDecoder());
parser.oncue = (c) => cues.push({ id: c.id, start: c.startTime,
                                  end: c.endTime, text: c.text });
parser.onparsingerror = (e) => errors.push(String(e.message || e));
parser.parse(text);
parser.flush();
console.log(JSON.stringify({ cues, errors }));
