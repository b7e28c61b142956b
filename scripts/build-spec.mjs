// Build step: extracts the resource facts kiln needs from @aws-cdk/aws-service-spec (a 15 MB
// database that takes ~0.4 s to load) into one compact file, dist/spec/resources.dat (a JSON index line, then JSON chunks), which
// src/stack/spec.ts parses in a few milliseconds. Run by `npm run build` after tsc.
//
// Format (version 1), built so that a lookup parses only the resource types it asks for:
//   line 1: { "v": 1, "source": "<package>@<version>", "index": { "<type>": [start, end] } }
//   then, per resource type, one self-contained JSON chunk at byte offsets [start, end) counted from
//   the first byte after line 1:
//     { "p": {<prop>: "<flags>:<shape>"}, "a": [attr...], "i": [ref identifier...],
//       "t": [ { "n": "<nested type name>", "p": {<prop>: "<flags>:<shape>"} } ] }
//   (nested type definitions in the spec belong to exactly one resource type, so each chunk carries
//   its own, numbered from 0).
// flags: any of r (required), y (causes replacement), m (may cause replacement).
// shape: s string, i integer, n number, b boolean, d date-time, j json (anything), t tag {Key,Value},
//        #N nested type t[N] of the same chunk, [X array of X, {X map of string to X, * anything (unions, or a
//        property whose type changed over time: both old and new shapes are legal).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { loadAwsServiceSpec } = await import('@aws-cdk/aws-service-spec');
const pkg = require('@aws-cdk/aws-service-spec/package.json');

const db = await loadAwsServiceSpec();
let typeIndex = new Map(); // spec $id -> index in the current chunk's `t`
let types = [];

function shape(t) {
  switch (t.type) {
    case 'string':
      return 's';
    case 'integer':
      return 'i';
    case 'number':
      return 'n';
    case 'boolean':
      return 'b';
    case 'date-time':
      return 'd';
    case 'json':
      return 'j';
    case 'tag':
      return 't';
    case 'array':
      return '[' + shape(t.element);
    case 'map':
      return '{' + shape(t.element);
    case 'ref':
      return '#' + typeRef(t.reference.$ref);
    default:
      return '*'; // union and anything newer: do not check its shape
  }
}

function prop(p) {
  let flags = '';
  if (p.required) flags += 'r';
  if (p.causesReplacement === 'yes') flags += 'y';
  else if (p.causesReplacement === 'maybe') flags += 'm';
  const s = p.previousTypes && p.previousTypes.length > 0 ? '*' : shape(p.type);
  return `${flags}:${s}`;
}

function props(record) {
  const out = {};
  for (const name of Object.keys(record).sort()) out[name] = prop(record[name]);
  return out;
}

function typeRef(id) {
  let n = typeIndex.get(id);
  if (n !== undefined) return n;
  n = types.length;
  typeIndex.set(id, n);
  const def = db.get('typeDefinition', id);
  const entry = { n: def.name, p: {} };
  types.push(entry);
  entry.p = props(def.properties);
  return n;
}

const index = {};
const chunks = [];
let offset = 0;
const all = [...db.all('resource')].sort((a, b) => (a.cloudFormationType < b.cloudFormationType ? -1 : 1));
for (const r of all) {
  typeIndex = new Map();
  types = [];
  const entry = { p: props(r.properties), a: Object.keys(r.attributes).sort() };
  const id = r.cfnRefIdentifier ?? r.primaryIdentifier;
  if (id && id.length) entry.i = id;
  if (types.length) entry.t = types;
  const chunk = Buffer.from(JSON.stringify(entry), 'utf8');
  index[r.cloudFormationType] = [offset, offset + chunk.length];
  offset += chunk.length;
  chunks.push(chunk);
}

const header = Buffer.from(JSON.stringify({ v: 1, source: `${pkg.name}@${pkg.version}`, index }) + '\n', 'utf8');
const file = join(root, 'dist', 'spec', 'resources.dat');
mkdirSync(dirname(file), { recursive: true });
const body = Buffer.concat([header, ...chunks]);
writeFileSync(file, body);
process.stdout.write(`spec: ${all.length} resource types, ${(body.length / 1024).toFixed(0)} KiB -> ${file}\n`);
