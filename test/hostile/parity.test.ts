// Issue 12, hole 2: validate reports every error render would meet on the same inputs, with the
// position of the intrinsic, and render never dies on a template (exit 70).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTemplate } from '../../src/stack/load.js';
import { validateTemplate } from '../../src/stack/validate.js';
import { evaluateTemplate } from '../../src/stack/evaluate.js';
import { crashed, kiln } from './cli.js';

const topic = (name: unknown) => ({ Resources: { T: { Type: 'AWS::SNS::Topic', Properties: { TopicName: name } } } });

/** `depth` nested Fn::Sub, each using its inner one `times` times: a short text, a huge string. */
function subBomb(depth: number, times: number): unknown {
  let node: unknown = 'x'.repeat(10);
  for (let i = 0; i < depth; i++) node = { 'Fn::Sub': ['${v}'.repeat(times), { v: node }] };
  return node;
}
function joinBomb(depth: number): unknown {
  let node: unknown = 'y'.repeat(64);
  for (let i = 0; i < depth; i++) node = { 'Fn::Join': ['-', [{ 'Fn::Sub': ['${v}${v}${v}${v}', { v: node }] }, 'z']] };
  return node;
}

const CASES: Array<[string, unknown, string, string]> = [
  ['an unclosed ${ in Fn::Sub', topic({ 'Fn::Sub': 'abc-${AWS::Region' }), 'E1019', 'Resources.T.Properties.TopicName.Fn::Sub'],
  ['an unclosed ${ after a closed one', topic({ 'Fn::Sub': ['${x}-${', { x: 'a' }] }), 'E1019', 'Resources.T.Properties.TopicName.Fn::Sub[0]'],
  ['Fn::Select 7 of a list of 2', topic({ 'Fn::Select': [7, ['a', 'b']] }), 'SELECT_OUT_OF_RANGE', 'Resources.T.Properties.TopicName.Fn::Select'],
  ['Fn::Select -1', topic({ 'Fn::Select': [-1, ['a', 'b']] }), 'SELECT_ARGUMENT', 'Resources.T.Properties.TopicName.Fn::Select'],
  ['Fn::Select of a list with a null', topic({ 'Fn::Select': [0, [null]] }), 'SELECT_NULL', 'Resources.T.Properties.TopicName.Fn::Select'],
  ['Fn::Cidr asking 12 host bits of a /24', topic({ 'Fn::Select': [0, { 'Fn::Cidr': ['10.0.0.0/24', 2, 12] }] }), 'CIDR_ARGUMENT', 'Resources.T.Properties.TopicName.Fn::Select[1].Fn::Cidr'],
  ['Fn::Cidr asking 300 blocks', topic({ 'Fn::Select': [0, { 'Fn::Cidr': ['10.0.0.0/16', 300, 8] }] }), 'E1024', 'Resources.T.Properties.TopicName.Fn::Select[1].Fn::Cidr'],
  [
    'circular Conditions',
    { Conditions: { A: { Condition: 'B' }, B: { 'Fn::Not': [{ Condition: 'A' }] } }, Resources: { T: { Type: 'AWS::SNS::Topic', Condition: 'A' } } },
    'CONDITION_CYCLE',
    'Conditions.A',
  ],
  [
    'circular Conditions through Fn::And and Fn::Or',
    {
      Conditions: { A: { 'Fn::And': [{ Condition: 'B' }, { 'Fn::Equals': ['a', 'a'] }] }, B: { 'Fn::Or': [{ Condition: 'A' }, { 'Fn::Equals': ['a', 'b'] }] } },
      Resources: { T: { Type: 'AWS::SNS::Topic', Condition: 'A' } },
    },
    'CONDITION_CYCLE',
    'Conditions.A',
  ],
  ['nested Fn::Sub that expand to 10^12 characters', topic(subBomb(12, 10)), 'INTRINSIC_TOO_LARGE', 'Resources.T.Properties.TopicName'],
  ['nested Fn::Join and Fn::Sub that expand to gigabytes', topic(joinBomb(15)), 'INTRINSIC_TOO_LARGE', 'Resources.T.Properties.TopicName'],
  ['Fn::Base64 of a string past the budget', topic({ 'Fn::Base64': subBomb(6, 10) }), 'INTRINSIC_TOO_LARGE', 'Resources.T.Properties.TopicName'],
];

describe('validate reports what render would meet', () => {
  it.each(CASES)('%s: validate and render both refuse it, at the intrinsic', (_what, template, code, path) => {
    const doc = loadTemplate(JSON.stringify(template, null, 1), 't.json');
    const v = validateTemplate(doc).filter((d) => d.severity === 'error');
    expect(v.map((d) => d.code)).toContain(code);
    const d = v.find((x) => x.code === code)!;
    expect(d.path?.startsWith(path)).toBe(true);
    expect(d.range?.start.line).toBeGreaterThan(1);
    const r = evaluateTemplate(template);
    expect(r.diagnostics.filter((x) => x.severity === 'error').length).toBeGreaterThan(0);
  });

  it('a string built within the budget is fine', () => {
    const t = topic(subBomb(4, 10)); // 100,000 characters
    expect(validateTemplate(loadTemplate(JSON.stringify(t), 't.json')).filter((d) => d.severity === 'error')).toEqual([]);
    expect(evaluateTemplate(t).diagnostics).toEqual([]);
  });

  it('a literal ${ written as ${!Literal} is still text', () => {
    const t = topic({ 'Fn::Sub': 'a-${!Literal}-b' });
    expect(validateTemplate(loadTemplate(JSON.stringify(t), 't.json')).filter((d) => d.severity === 'error')).toEqual([]);
    expect(evaluateTemplate(t).template.Resources.T!.Properties.TopicName).toBe('a-${Literal}-b');
  });
});

describe('the commands never die on these templates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-hostile-parity-'));
  it.each(CASES.filter(([what]) => /expand|budget|Select 7|unclosed \$\{ in/.test(what)))('%s: validate, render and plan exit 1 with the position', async (_what, template, code) => {
    const f = join(dir, `t${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(f, JSON.stringify(template, null, 1));
    for (const argv of [
      ['validate', f],
      ['render', f],
      ['plan', f, '--stack', 'hostile-parity'],
    ]) {
      const r = await kiln(argv, { env: { KILN_PROVIDER: 'fake', KILN_HOME: dir }, timeoutMs: 20_000 });
      expect(r.timedOut).toBe(false);
      expect(crashed(r)).toBe(false);
      expect([argv[0], r.code]).toEqual([argv[0], 1]);
      expect(r.stderr).toMatch(new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: error\\[${code === 'E1019' ? 'E1019' : code}\\]`));
    }
  });
});
