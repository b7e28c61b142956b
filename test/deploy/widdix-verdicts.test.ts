// issue 11's verdict list: every widdix template (../shared/corpus/cloudformation/widdix) with what the
// local target does with it, recorded by scripts/widdix-verdicts.mjs in test/fixtures/widdix-verdicts.json.
// This test re-checks the plan-level half on the real engine: the parent stacks the corpus chains to
// are deployed as the script deployed them, then every template is planned with the recorded
// parameters and must be accepted, or refused for the recorded reason, exactly as recorded. (The
// deploys behind "deploys" / "fails faithfully" are the script's; widdix-chain.test.ts deploys the
// chain that matters most.)
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';
import { shared } from '../shared.js';

interface Verdict {
  parameters: Record<string, string>;
  plan: 'ok' | 'refused';
  verdict: string;
  reason?: string;
}
interface Fixture {
  parents: Record<string, { template: string; parameters: Record<string, string>; deployed: boolean; reason?: string }>;
  counts: Record<string, number>;
  templates: Record<string, Verdict>;
}

const CORPUS = shared('corpus/cloudformation/widdix/templates');
const fixture = JSON.parse(readFileSync(join(__dirname, '../fixtures/widdix-verdicts.json'), 'utf8')) as Fixture;
const id = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'kiln-widdix-verdicts-'));
const stackOf = (parent: string) => `wt${id}${parent}`;
let vpcOutputs: Record<string, string> = {};

async function kiln(...args: string[]) {
  const env = { ...process.env };
  delete env.KILN_PROVIDER;
  const io = memoryIO({ cwd: dir, env });
  const code = await main([...args, '--state-dir', join(dir, 'state')], io);
  return { code, out: io.stdout, err: io.stderr };
}

/** The recorded parameters with this run's names: `<vpc>` is the parent stack, `<vpc:SubnetAPublic>` its output. */
function paramArgs(params: Record<string, string>): string[] {
  return Object.entries(params).flatMap(([k, v]) => {
    const m = /^<(\w+)(?::(\w+))?>$/.exec(v);
    const value = !m ? v : m[2] ? vpcOutputs[m[2]]! : stackOf(m[1]!);
    return ['--param', `${k}=${value}`];
  });
}

const deployedParents = Object.entries(fixture.parents).filter(([, p]) => p.deployed);

beforeAll(async () => {
  for (const [name, p] of deployedParents) {
    const r = await kiln('deploy', join(CORPUS, p.template), '--stack', stackOf(name), '--yes', ...paramArgs(p.parameters));
    expect(r.code, `${p.template}: ${r.err}`).toBe(0);
    if (name === 'vpc') vpcOutputs = JSON.parse((await kiln('outputs', '--stack', stackOf('vpc'), '--json')).out) as Record<string, string>;
  }
}, 600_000);
afterAll(async () => {
  for (const [name] of [...deployedParents].reverse()) await kiln('destroy', '--stack', stackOf(name), '--yes');
  rmSync(dir, { recursive: true, force: true });
}, 600_000);

/** The first error of a recorded reason, without its position: what the plan must say again. */
const firstError = (reason: string) =>
  /error\[(\w+)\]: ([^|(]+)/
    .exec(reason)
    ?.slice(1, 3)
    .map((s) => s.trim()) ?? [
    undefined,
    reason
      .split(' | ')[0]!
      .replace(/^kiln \w+: /, '')
      .trim(),
  ];

describe('the widdix corpus on the local target, as recorded in test/fixtures/widdix-verdicts.json', () => {
  test('lists all 65 templates, and none fails for a reason the plan could have known', () => {
    expect(Object.keys(fixture.templates)).toHaveLength(65);
    const knowable = Object.entries(fixture.templates).filter(([, v]) => v.verdict === 'fails, plan could have known');
    expect(knowable.map(([f, v]) => `${f}: ${v.reason}`)).toEqual([]);
  });

  test.each(Object.entries(fixture.templates))(
    '%s plans as recorded',
    async (file, v) => {
      const r = await kiln('plan', join(CORPUS, file), '--stack', `wt${id}plan`, ...paramArgs(v.parameters));
      expect(r.code === 0 ? 'ok' : 'refused', r.err).toBe(v.plan);
      if (v.plan === 'refused') {
        const [code, message] = firstError(v.reason!);
        if (code) expect(r.err).toContain(`error[${code}]`);
        expect(r.err).toContain(message);
      }
    },
    60_000,
  );
});
