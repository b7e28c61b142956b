// A value an intrinsic computes from a NoEcho parameter is as secret as the parameter: a piece of a
// Fn::Split picked by Fn::Select, a Fn::Base64, a Fn::Sub, a Fn::Join, the branch of a Fn::If, nested
// in one another, also when built at deploy time with another resource's attribute. None of them, nor the value itself, appears in what kiln prints, in its state
// database (the file's bytes), in its events, in a saved plan's readable part or in `kiln ui`.
// (The fake provider's store stands for the cloud: it receives the values, as AWS would.)
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';
import { closeAllStates } from '../../src/state/db.js';
import { startUi } from '../../src/ui/server.js';
import { FakeProvider } from '../../src/providers/fake/index.js';
import { client } from '../docker.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-taint-'));
const state = join(dir, 'state');
const store = join(dir, 'fake.json');
const env = { ...process.env, KILN_PROVIDER: 'fake', KILN_FAKE_STORE: store };
const SECRET = 'Tk7q-alpha,Zr9w-bravo';
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Every clear form a derivation below produces: none may be seen. */
const forbidden = [SECRET, 'Tk7q-alpha', 'Zr9w-bravo', b64(SECRET), b64('Zr9w-bravo'), b64('Tk7q-alpha'), b64(`user:${SECRET}`), b64('db=Zr9w-bravo;'), b64(`h=${SECRET}@host-one`)];
/** Built at deploy time: the attribute of another resource is known only then. */
const late = { 'Fn::Base64': { 'Fn::Join': ['', ['h=', { Ref: 'Password' }, '@', { 'Fn::GetAtt': ['Host', 'Value'] }]] } };

const template = {
  Parameters: { Password: { Type: 'String', NoEcho: true }, Flag: { Type: 'String', Default: 'yes' } },
  Conditions: { On: { 'Fn::Equals': [{ Ref: 'Flag' }, 'yes'] } },
  Resources: {
    Host: { Type: 'Test::Fake::Resource', Properties: { Value: 'host-one' } },
    Late: { Type: 'Test::Fake::Resource', Properties: { Value: late } },
    Web: {
      Type: 'Test::Fake::Resource',
      Properties: {
        Value: {
          Second: { 'Fn::Select': [1, { 'Fn::Split': [',', { Ref: 'Password' }] }] },
          Encoded: { 'Fn::Base64': { Ref: 'Password' } },
          Basic: { 'Fn::Base64': { 'Fn::Sub': 'user:${Password}' } },
          Joined: { 'Fn::Base64': { 'Fn::Join': ['', ['db=', { 'Fn::Select': [1, { 'Fn::Split': [',', { Ref: 'Password' }] }] }, ';']] } },
          Chosen: { 'Fn::If': ['On', { 'Fn::Base64': { 'Fn::Select': [0, { 'Fn::Split': [',', { Ref: 'Password' }] }] } }, 'none'] },
          Plain: 'visible-value',
        },
      },
    },
  },
  Outputs: {
    Second: { Value: { 'Fn::Select': [1, { 'Fn::Split': [',', { Ref: 'Password' }] }] } },
    Encoded: { Value: { 'Fn::Base64': { Ref: 'Password' } } },
    Joined: { Value: { 'Fn::Base64': { 'Fn::Join': ['', ['db=', { 'Fn::Select': [1, { 'Fn::Split': [',', { Ref: 'Password' }] }] }, ';']] } } },
    Chosen: { Value: { 'Fn::If': ['On', { 'Fn::Base64': { 'Fn::Select': [0, { 'Fn::Split': [',', { Ref: 'Password' }] }] } }, 'none'] } },
    Echoed: { Value: { 'Fn::GetAtt': ['Web', 'Value'] } },
    Late: { Value: late },
    LateEchoed: { Value: { 'Fn::GetAtt': ['Late', 'Value'] } },
    Plain: { Value: 'visible-output' },
  },
};
writeFileSync(join(dir, 'stack.json'), JSON.stringify(template));

async function kiln(...args: string[]) {
  const io = memoryIO({ cwd: dir, env });
  const code = await main([...args, '--state-dir', state], io);
  return { code, out: io.stdout, err: io.stderr };
}

function clean(what: string, text: string): void {
  for (const f of forbidden) expect(text.includes(f), `${what} holds ${f}`).toBe(false);
}

/** Every file under a directory, as bytes read as latin1 (the sqlite database, its WAL, backups). */
function filesUnder(d: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const n of readdirSync(d)) {
    const p = join(d, n);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push([p, readFileSync(p).toString('latin1')]);
  }
  return out;
}

const printed: Array<[string, string]> = [];
beforeAll(async () => {
  const plan = await kiln('plan', 'stack.json', '--stack', 'web', '--param', `Password=${SECRET}`, '--out', join(dir, 'plan.json'));
  expect(plan.code, plan.err).toBe(0);
  printed.push(['plan', plan.out + plan.err]);
  // The saved plan is deployed (its sealed value reaches the resource), then the template again (no change).
  const r = await kiln('deploy', join(dir, 'plan.json'));
  expect(r.code, r.err).toBe(0);
  printed.push(['deploy PLAN', r.out + r.err]);
  const again = await kiln('deploy', 'stack.json', '--stack', 'web', '--param', `Password=${SECRET}`, '--yes');
  expect(again.code, again.err).toBe(0);
  expect(again.out).toMatch(/no change/i);
  printed.push(['deploy', again.out + again.err]);
  for (const args of [
    ['outputs', '--stack', 'web'],
    ['outputs', '--stack', 'web', '--json'],
    ['events', '--stack', 'web'],
    ['status', '--stack', 'web'],
    ['history', '--stack', 'web'],
  ]) {
    const x = await kiln(...args);
    printed.push([`kiln ${args.join(' ')} (exit ${x.code})`, x.out + x.err]);
  }
});
afterAll(() => {
  closeAllStates();
  rmSync(dir, { recursive: true, force: true });
});

describe('values derived from a NoEcho parameter', () => {
  test('reach the resource in clear (the provider needs them)', () => {
    const live = readFileSync(store, 'utf8');
    expect(live).toContain(b64(SECRET));
    expect(live).toContain('Zr9w-bravo');
    expect(live).toContain(b64(`h=${SECRET}@host-one`));
  });

  test('appear in no output: plan, deploy, outputs, events, status, history', () => {
    for (const [what, text] of printed) clean(what, text);
    const outputs = printed.find(([w]) => w.startsWith('kiln outputs --stack web --json'))![1];
    expect(outputs).toContain('visible-output');
    expect(outputs).toContain('****');
  });

  test('are not in the state database, its WAL or its backups, read as bytes', () => {
    const files = filesUnder(state);
    expect(files.length).toBeGreaterThan(0);
    for (const [p, bytes] of files) clean(p, bytes);
    expect(files.some(([, b]) => b.includes('visible-value'))).toBe(true);
  });

  test('are not in the readable part of a saved plan', () => {
    clean('plan.json', readFileSync(join(dir, 'plan.json'), 'utf8'));
  });

  test('are not in anything kiln ui serves', async () => {
    const ui = await startUi({ stateDir: state, host: '127.0.0.1', port: 0, provider: async () => new FakeProvider({ file: store }), docker: client });
    try {
      for (const p of ['/api/stacks', '/api/stacks/web', '/api/history', '/stacks/web']) {
        const res = await fetch(`http://127.0.0.1:${ui.port}${p}?token=${ui.token}`);
        const body = await res.text();
        expect(res.status, p).toBe(200);
        clean(`kiln ui ${p}`, body);
      }
    } finally {
      await ui.close();
    }
  });
});
