// Issue 12, the fuzz suite: generated templates, kiln.yaml files, parameter values and patterns fed
// to the CLI entry points (validate, render, plan, build's validate path, inspect, kiln.yaml
// loading). Every case ends within 5 s (and, for the cases run as a real process, 512 MB) with exit
// 0, 1 or 2 and no stack trace. Seeded: a failure prints its seed; FUZZ_SEED=N replays it.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';
import { loadConfig } from '../../src/pipeline/load.js';
import { DiagnosticsError } from '../../src/core/diagnostics.js';
import { KilnError } from '../../src/core/errors.js';
import { crashed, kiln } from './cli.js';

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
// FUZZ_SCALE=N multiplies every case count, for a longer local run (CI runs the counts below).
const scale = process.env.FUZZ_SCALE ? Math.max(1, Number(process.env.FUZZ_SCALE)) : 1;
const runs = (n: number) => Math.round(n * scale);
console.log(`fuzz seed ${seed} (replay: FUZZ_SEED=${seed} npx vitest run test/hostile/fuzz.test.ts)`);
const dir = mkdtempSync(join(tmpdir(), 'kiln-fuzz-'));
const env = { ...process.env, KILN_PROVIDER: 'fake', KILN_FAKE_STORE: join(dir, 'fake.json'), KILN_HOME: join(dir, 'state') };

// ---- generators -------------------------------------------------------------------------------
const names = fc.constantFrom('A', 'B', 'P', 'Q', 'Net', 'Cond', 'Map', 'AWS::Region', 'AWS::NoValue', 'AWS::StackName', 'Nope', '');
const patternPiece = fc.constantFrom(
  'a',
  '(a|aa)+',
  '(a|a)*',
  '(.*a){25}',
  '[a-z]',
  '\\d+',
  '\\1',
  '(?=a)',
  '(?<n>x)',
  '\\k<n>',
  '{2,3}',
  '*+',
  '.',
  '$',
  '^',
  '\\p{Alpha}',
  '[a&&b]',
  '(?i)',
  '\\Q.\\E',
  '(',
  ')',
  '[',
  '\\',
  '{1001}',
);
const pattern = fc.array(patternPiece, { minLength: 1, maxLength: 6 }).map((p) => p.join(''));
const value = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('a'.repeat(60) + 'b', '10.0.0.0/16', '-1', '7', ''), fc.integer().map(String));
const leaf = fc.oneof(fc.string({ maxLength: 10 }), fc.integer({ min: -3, max: 300 }), fc.boolean(), fc.constant(null), names, fc.constantFrom('${', 'a-${A}', '${!x}', '10.0.0.0/24'));
const expr: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    leaf,
    names.map((n) => ({ Ref: n })),
    fc.tuple(tie('v'), tie('v')).map(([a, b]) => ({ 'Fn::Join': ['', [a, b]] })),
    fc.tuple(fc.integer({ min: -2, max: 5 }), fc.array(tie('v'), { maxLength: 3 })).map(([i, l]) => ({ 'Fn::Select': [i, l] })),
    fc.tuple(leaf, tie('v')).map(([t, v]) => ({ 'Fn::Sub': [typeof t === 'string' ? t + '${v}${v}' : t, { v }] })),
    tie('v').map((v) => ({ 'Fn::Base64': v })),
    fc.tuple(fc.constantFrom(',', ''), tie('v')).map(([d, v]) => ({ 'Fn::Split': [d, v] })),
    fc.tuple(fc.constantFrom('10.0.0.0/16', '10.0.0.0/24', 'x', '::/64'), fc.integer({ min: -1, max: 300 }), fc.integer({ min: -1, max: 40 })).map(([b, n, k]) => ({ 'Fn::Cidr': [b, n, k] })),
    fc.tuple(names, tie('v'), tie('v')).map(([c, a, b]) => ({ 'Fn::If': [c, a, b] })),
    fc.tuple(names, leaf, leaf).map(([m, a, b]) => ({ 'Fn::FindInMap': [m, a, b] })),
    names.map((r) => ({ 'Fn::GetAZs': r === 'AWS::Region' ? '' : r })),
    fc.array(tie('v'), { maxLength: 3 }),
  ),
})).v;
const condition: fc.Arbitrary<unknown> = fc.oneof(
  fc.tuple(expr, expr).map(([a, b]) => ({ 'Fn::Equals': [a, b] })),
  names.map((n) => ({ 'Fn::Not': [{ Condition: n }] })),
  fc.tuple(names, names).map(([a, b]) => ({ 'Fn::And': [{ Condition: a }, { Condition: b }] })),
);
const parameter = fc.record(
  { Type: fc.constantFrom('String', 'Number', 'CommaDelimitedList', 'List<Number>'), Default: value, AllowedPattern: pattern, NoEcho: fc.boolean(), MaxLength: fc.integer({ min: 0, max: 40 }) },
  { requiredKeys: ['Type'] },
);
const resource = fc.record(
  {
    Type: fc.constantFrom('AWS::EC2::VPC', 'AWS::EC2::SecurityGroup', 'AWS::SNS::Topic', 'Custom::X', 'AWS::Nope::Nope'),
    Properties: fc.dictionary(fc.constantFrom('CidrBlock', 'GroupDescription', 'TopicName', 'Tags'), expr, { maxKeys: 3 }),
    Condition: names,
    DependsOn: names,
  },
  { requiredKeys: ['Type'] },
);
const cfn = fc.record(
  {
    Parameters: fc.dictionary(
      names.filter((n) => /^[A-Za-z]+$/.test(n)),
      parameter,
      { maxKeys: 3 },
    ),
    Mappings: fc.constant({ Map: { 'us-east-1': { a: 'x', b: ['1', '2'] } } }),
    Conditions: fc.dictionary(
      names.filter((n) => /^[A-Za-z]+$/.test(n)),
      condition,
      { maxKeys: 3 },
    ),
    Resources: fc.dictionary(
      names.filter((n) => /^[A-Za-z]+$/.test(n)),
      resource,
      { minKeys: 1, maxKeys: 4 },
    ),
    Outputs: fc.dictionary(
      names.filter((n) => /^[A-Za-z]+$/.test(n)),
      fc.record({ Value: expr }),
      { maxKeys: 2 },
    ),
  },
  { requiredKeys: ['Resources'] },
);
const packer = fc.record(
  {
    variables: fc.dictionary(fc.constantFrom('a', 'b', 'secret'), fc.oneof(fc.string({ maxLength: 8 }), fc.constant(null)), { maxKeys: 2 }),
    builders: fc.array(fc.record({ type: fc.constantFrom('nope', 'amazon-nope', 'docker-x'), name: fc.string({ maxLength: 6 }), image: fc.constantFrom('{{user `a`}}', '{{ bad', 'x') }), {
      maxLength: 2,
    }),
    provisioners: fc.array(fc.record({ type: fc.constantFrom('shell', 'file', 'nope'), inline: fc.array(fc.string({ maxLength: 8 }), { maxLength: 2 }) }, { requiredKeys: ['type'] }), {
      maxLength: 2,
    }),
  },
  { requiredKeys: ['builders'] },
);
const kilnYaml = fc.record(
  {
    stack: fc.oneof(fc.constantFrom('app', '1bad', ''), fc.string({ maxLength: 8 })),
    images: fc.dictionary(
      fc.constantFrom('web', 'x y', '1'),
      fc.record(
        { template: fc.constantFrom('missing.json', '../x.json', ''), builds: fc.dictionary(fc.constantFrom('local', 'aws', 'mars'), fc.string({ maxLength: 5 }), { maxKeys: 2 }) },
        { requiredKeys: [] },
      ),
      { maxKeys: 2 },
    ),
    stack_template: fc.constantFrom('missing.json', 'stack.json', ''),
    parameters: fc.dictionary(fc.constantFrom('AmiId', 'P'), fc.constantFrom('${images.web}', '${images.nope}', '${', 'x'), { maxKeys: 2 }),
  },
  { requiredKeys: [] },
);
const text = (v: unknown, yaml: boolean) => (yaml ? stringify(v) : JSON.stringify(v, null, 1));

let n = 0;
function file(name: string, body: string): string {
  const f = join(dir, `${n++}-${name}`);
  writeFileSync(f, body);
  return f;
}

/** One CLI run in this process: exit 0/1/2, no internal error, within 5 s. */
async function runCli(argv: string[]): Promise<void> {
  const io = memoryIO({ cwd: dir, env });
  const started = Date.now();
  const code = await main(argv, io);
  const ms = Date.now() - started;
  expect([0, 1, 2], `${argv.join(' ')}\n${io.stderr}`).toContain(code);
  expect(crashed({ stdout: io.stdout, stderr: io.stderr }), `${argv.join(' ')}\n${io.stderr}`).toBe(false);
  expect(ms, argv.join(' ')).toBeLessThan(5000);
}

describe('fuzz: the CLI entry points on generated input', () => {
  it('validate, render and plan of generated CloudFormation templates, with generated --param values', async () => {
    // Loading the commands' modules the first time is not the case's time (a first case on a busy
    // machine measured 5005 ms for that alone).
    const warm = file('warm.json', '{"Resources": {}}');
    for (const cmd of [
      ['validate', warm],
      ['render', warm],
      ['plan', warm, '--stack', 'fuzz'],
    ])
      await main(cmd, memoryIO({ cwd: dir, env }));
    await fc.assert(
      fc.asyncProperty(cfn, fc.boolean(), fc.dictionary(fc.constantFrom('A', 'B', 'P', 'Q'), value, { maxKeys: 2 }), async (t, yaml, params) => {
        const f = file(yaml ? 't.yaml' : 't.json', text(t, yaml));
        const ps = Object.entries(params).flatMap(([k, v]) => ['--param', `${k}=${v}`]);
        await runCli(['validate', f, ...ps]);
        await runCli(['render', f, ...ps]);
        await runCli(['plan', f, '--stack', 'fuzz', ...ps]);
      }),
      { seed, numRuns: runs(150) },
    );
  });

  it("validate, inspect and build's validate path on generated Packer templates", async () => {
    await fc.assert(
      fc.asyncProperty(packer, async (t) => {
        const f = file('p.json', JSON.stringify(t));
        await runCli(['validate', f]);
        await runCli(['inspect', f]);
        await runCli(['build', f]);
      }),
      { seed, numRuns: runs(60) },
    );
  });

  it('kiln.yaml loading: a config or a positioned error, never anything else', async () => {
    await fc.assert(
      fc.asyncProperty(kilnYaml, fc.boolean(), async (cfg, garbage) => {
        const d = join(dir, `k${n++}`);
        mkdirSync(d);
        writeFileSync(join(d, 'stack.json'), '{"Resources": {}}');
        writeFileSync(join(d, 'kiln.yaml'), garbage ? text(cfg, true).replace(/:/g, ': [') : text(cfg, true));
        try {
          await loadConfig(d, d);
        } catch (e) {
          expect(e instanceof DiagnosticsError || KilnError.is(e), String(e)).toBe(true);
        }
      }),
      { seed, numRuns: runs(100) },
    );
  });

  it('as real processes: each case ends within 5 s and 512 MB, exit 0, 1 or 2, no stack trace', async () => {
    const cases = fc.sample(fc.tuple(cfn, fc.boolean(), fc.constantFrom('validate', 'render', 'plan')), { seed, numRuns: runs(12) });
    for (const [t, yaml, cmd] of cases) {
      const f = file(yaml ? 'r.yaml' : 'r.json', text(t, yaml));
      const r = await kiln(cmd === 'plan' ? [cmd, f, '--stack', 'fuzz'] : [cmd, f], { env, timeoutMs: 5000, maxOldSpaceMb: 512 });
      expect(r.timedOut, `${cmd} ${f} (seed ${seed})`).toBe(false);
      expect(r.signal).toBe(null);
      expect([0, 1, 2]).toContain(r.code);
      expect(crashed(r), r.stderr).toBe(false);
    }
  });
});
