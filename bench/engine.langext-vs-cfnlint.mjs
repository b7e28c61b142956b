#!/usr/bin/env node
// Differential check (not a test: needs cfn-lint 1.51.0 from the machine's Python): kiln's
// Fn::ForEach expansion (dist/stack/langext.js) against cfn-lint's own LanguageExtensions transform
// (cfnlint.template.transforms._language_extensions) on a set of loop shapes. Differences in key
// order only are reported as such; cfn-lint drops an Fn::Sub left without variables, so both sides
// are compared with such a Sub replaced by its string.
//
//   npm run build && node bench/engine.langext-vs-cfnlint.mjs
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const { expandLanguageExtensions } = await import(join(repo, 'dist/stack/langext.js'));
const { resolveParameters } = await import(join(repo, 'dist/stack/params.js'));

const PY = `
import json, sys
from cfnlint.decode import decode_str
from cfnlint.template import Template
from cfnlint.template.transforms._language_extensions import language_extension
for line in sys.stdin:
    try:
        tpl, _ = decode_str(line)
        matches, cfn = language_extension(Template('x.json', tpl, ['us-east-1']))
        print(json.dumps({"error": [str(m) for m in matches]} if matches else cfn, default=str))
    except Exception as e:
        print(json.dumps({"error": repr(e)}))
`;
const cases = [];
const coll = [['a', 'b'], ['Web-1', 'api_2', 'x.y'], ['one']];
for (const c of coll) {
  cases.push({
    Transform: 'AWS::LanguageExtensions',
    Resources: { 'Fn::ForEach::L': ['N', c, { 'Topic&{N}': { Type: 'AWS::SNS::Topic', Properties: { TopicName: { 'Fn::Sub': '${N}-t' }, DisplayName: { Ref: 'N' }, Plain: 'x-${N}' } } }] },
  });
  cases.push({
    Transform: 'AWS::LanguageExtensions',
    Parameters: { P: { Type: 'CommaDelimitedList', Default: c.join(',') } },
    Resources: { 'Fn::ForEach::L': ['N', { Ref: 'P' }, { 'Q${N}': { Type: 'AWS::SQS::Queue' } }] },
  });
  cases.push({
    Transform: 'AWS::LanguageExtensions',
    Conditions: { 'Fn::ForEach::C': ['N', c, { 'Is&{N}': { 'Fn::Equals': [{ Ref: 'N' }, 'a'] } }] },
    Resources: { R: { Type: 'AWS::SQS::Queue' } },
    Outputs: { 'Fn::ForEach::O': ['N', c, { 'Out&{N}': { Value: { 'Fn::Sub': '${N}' } } }] },
  });
  cases.push({
    Transform: 'AWS::LanguageExtensions',
    Resources: { 'Fn::ForEach::A': ['X', c, { 'Fn::ForEach::B': ['Y', ['p', 'q'], { 'R&{X}&{Y}': { Type: 'AWS::SQS::Queue', Properties: { QueueName: '${X}-${Y}' } } }] }] },
  });
}
cases.push({
  Transform: 'AWS::LanguageExtensions',
  Mappings: { M: { prod: { L: ['A', 'B'] } } },
  Resources: {
    'Fn::ForEach::L': [
      'N',
      { 'Fn::FindInMap': ['M', 'prod', 'L'] },
      {
        'S${N}': {
          Type: 'AWS::S3::Bucket',
          Properties: { X: { 'Fn::GetAtt': [{ 'Fn::Sub': 'S${N}' }, 'Arn'] }, Y: { 'Fn::If': ['C${N}', { Ref: 'N' }, { 'Fn::Sub': ['${N}-${V}', { V: { Ref: 'N' } }] }] } },
        },
      },
    ],
  },
});
cases.push({ Transform: 'AWS::LanguageExtensions', Resources: { R: { Type: 'AWS::S3::Bucket', Properties: { Tags: [{ 'Fn::ForEach::T': ['K', ['k1', 'k2'], { 'Key${K}': { Ref: 'K' } }] }] } } } });
cases.push({
  Transform: 'AWS::LanguageExtensions',
  Resources: { 'Fn::ForEach::L': ['N', ['a', 'b'], { 'Q${N}': { Type: 'AWS::SQS::Queue', DependsOn: { 'Fn::Sub': 'X${N}' } } }], Xa: { Type: 'AWS::SQS::Queue' }, Xb: { Type: 'AWS::SQS::Queue' } },
});
const dir = mkdtempSync(join(tmpdir(), 'kiln-le-'));
writeFileSync(join(dir, 'le.py'), PY);
const py = spawnSync('python3', [join(dir, 'le.py')], { input: cases.map((c) => JSON.stringify(c)).join('\n'), encoding: 'utf8' });
if (py.status !== 0) {
  console.error(py.stderr || 'python3 with cfn-lint is needed');
  process.exit(2);
}
const theirs = py.stdout
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
const norm = (v) =>
  Array.isArray(v)
    ? v.map(norm)
    : v && typeof v === 'object'
      ? Object.keys(v).length === 1 && typeof v['Fn::Sub'] === 'string' && !v['Fn::Sub'].includes('${')
        ? v['Fn::Sub']
        : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]))
      : v;
const sorted = (v) =>
  Array.isArray(v)
    ? v.map(sorted)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, sorted(v[k])]),
        )
      : v;
let same = 0;
let orderOnly = 0;
cases.forEach((c, i) => {
  const m = expandLanguageExtensions(c, resolveParameters(c, {}).values).template;
  const a = norm({ R: m.Resources, C: m.Conditions, O: m.Outputs });
  const b = norm({ R: theirs[i].Resources, C: theirs[i].Conditions, O: theirs[i].Outputs });
  if (JSON.stringify(a) === JSON.stringify(b)) same++;
  else if (JSON.stringify(sorted(a)) === JSON.stringify(sorted(b))) orderOnly++;
  else console.log(`case ${i}: differs\n  kiln    ${JSON.stringify(a)}\n  cfn-lint ${JSON.stringify(b)}`);
});
console.log(`${cases.length} loop shapes: ${same} identical, ${orderOnly} identical but for key order, ${cases.length - same - orderOnly} different`);
