// A NoEcho value shorter than 4 characters (a PIN, a one-letter flag) is masked where it is a whole
// value — the parameter itself, a short piece of a Fn::Split of a secret, what Fn::Join or Fn::Sub
// built from it — and nowhere else: unrelated text holding the same letters is printed as it is.
// An export name built from a secret is refused; an export whose value was built from one is kept
// masked, and a stack importing it is told why it cannot.
import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';
import { closeAllStates } from '../../src/state/db.js';
import { Secrets } from '../../src/exec/secrets.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-short-secret-'));
const state = join(dir, 'state');
const store = join(dir, 'fake.json');
const env = { ...process.env, KILN_PROVIDER: 'fake', KILN_FAKE_STORE: store };

async function kiln(...args: string[]) {
  const io = memoryIO({ cwd: dir, env });
  const code = await main([...args, '--state-dir', state], io);
  return { code, out: io.stdout, err: io.stderr };
}
const write = (name: string, t: unknown) => writeFileSync(join(dir, name), JSON.stringify(t));
afterAll(() => {
  closeAllStates();
  rmSync(dir, { recursive: true, force: true });
});

describe('masking a secret', () => {
  const s = new Secrets([
    { name: 'Pin', value: 'a', salt: 's1' },
    { name: 'Pw', value: 'long-secret', salt: 's2' },
  ]);
  test('of 4 characters or more: wherever it occurs; shorter: only as a whole value', () => {
    expect(s.mask('a banana')).toBe('a banana');
    expect(s.mask('a')).toBe('****');
    expect(s.mask('pw=long-secret; a')).toBe('pw=****; a');
    expect(s.maskJson({ Pin: 'a', Text: 'a cat', List: ['a', 'b'] })).toEqual({ Pin: '****', Text: 'a cat', List: ['****', 'b'] });
  });
  test('a value holds a secret by what it was built from, not by how its masked text looks', () => {
    const t = new Secrets([{ name: 'Pw', value: 'long-secret', salt: 's2' }]);
    const b64 = Buffer.from('long-secret').toString('base64');
    expect(t.holds({ Text: '****', Stars: ['a ****'] })).toBe(false);
    expect(t.holds(b64)).toBe(false);
    t.addDerived('Pw', b64); // what an intrinsic built from it at deploy time
    expect(t.holds({ Deep: [b64] })).toBe(true);
    expect(t.holds('x-long-secret-y')).toBe(true);
    expect(t.holds(t.tokenise({ Pw: 'long-secret' }))).toBe(true);
  });
  test('state keeps a token for a whole short value, and gets the value back from it', () => {
    const stored = s.tokenise({ Pin: 'a', Text: 'a cat' });
    expect(stored.Text).toBe('a cat');
    expect(stored.Pin).toMatch(/^\{\{kiln:noecho:Pin:[0-9a-f]{16}\}\}$/);
    expect(s.reveal(stored)).toEqual({ Pin: 'a', Text: 'a cat' });
  });
});

describe('a deployed stack with a short NoEcho parameter', () => {
  const template = {
    Parameters: { Pin: { Type: 'String', NoEcho: true }, Pw: { Type: 'String', NoEcho: true } },
    Resources: {
      Web: {
        Type: 'Test::Fake::Resource',
        Properties: {
          Value: {
            Pin: { Ref: 'Pin' },
            Joined: { 'Fn::Join': ['', ['pin=', { Ref: 'Pin' }]] },
            Piece: { 'Fn::Select': [0, { 'Fn::Split': [',', { Ref: 'Pw' }] }] },
            Text: 'a 7x7 grid, visible',
          },
        },
      },
    },
    Outputs: {
      Pin: { Value: { Ref: 'Pin' } },
      Subbed: { Value: { 'Fn::Sub': 'pin-${Pin}-end' } },
      Piece: { Value: { 'Fn::Select': [0, { 'Fn::Split': [',', { Ref: 'Pw' }] }] } },
      Text: { Value: 'a 7x7 grid, visible' },
      Shared: { Value: { 'Fn::Base64': { Ref: 'Pw' } }, Export: { Name: 'shared-secret' } },
    },
  };
  const forbidden = ['pin=7x', 'pin-7x-end', 'q9,long-piece-of-it', Buffer.from('q9,long-piece-of-it').toString('base64')];

  test('masks it where it is a field value, and only there', async () => {
    write('short.json', template);
    const r = await kiln('deploy', 'short.json', '--stack', 'short', '--param', 'Pin=7x', '--param', 'Pw=q9,long-piece-of-it', '--yes');
    expect(r.code, r.err).toBe(0);
    const out = await kiln('outputs', '--stack', 'short', '--json');
    expect(out.code, out.err).toBe(0);
    const values = Object.fromEntries(Object.entries(JSON.parse(out.out) as Record<string, { value: string } | string>).map(([k, v]) => [k, typeof v === 'string' ? v : v.value]));
    expect(values).toMatchObject({ Pin: '****', Subbed: '****', Piece: '****', Text: 'a 7x7 grid, visible', Shared: '****' });
    for (const text of [r.out + r.err, out.out]) for (const f of forbidden) expect(text).not.toContain(f);
    // The state database: the fields built from the secret are tokens; the unrelated text is as it was.
    const db = (readdirSync(state, { recursive: true }) as string[])
      .filter((f) => statSync(join(state, f)).isFile())
      .map((f) => readFileSync(join(state, f)).toString('latin1'))
      .join('\n');
    for (const f of forbidden) expect(db).not.toContain(f);
    expect(db).toContain('a 7x7 grid, visible');
    // The cloud (the fake provider's store) gets the values.
    expect(readFileSync(store, 'utf8')).toContain('pin=7x');
  });

  test('an importer of an export built from a secret is told that kiln does not keep it', async () => {
    write('importer.json', { Resources: { User: { Type: 'Test::Fake::Resource', Properties: { Value: { 'Fn::ImportValue': 'shared-secret' } } } } });
    const r = await kiln('deploy', 'importer.json', '--stack', 'importer', '--yes');
    expect(r.code).not.toBe(0);
    expect(r.out + r.err).toContain('export shared-secret holds a value built from a NoEcho parameter');
  });

  test('an export name built from a secret is refused at plan, with its position', async () => {
    write('named.json', { ...template, Outputs: { Named: { Value: 'x', Export: { Name: { 'Fn::Sub': 'exp-${Pw}' } } } } });
    const r = await kiln('plan', 'named.json', '--stack', 'named', '--param', 'Pin=7x', '--param', 'Pw=q9,long-piece-of-it');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/named\.json:\d+:\d+/);
    expect(r.err).toContain('Outputs.Named.Export.Name');
    expect(r.err).toContain('export names are public');
    expect(r.out + r.err).not.toContain('long-piece-of-it');
  });

  test('an export whose text is a literal **** is not a secret: it is imported as it is', async () => {
    write('stars.json', { Resources: { S: { Type: 'Test::Fake::Resource', Properties: { Value: 'x' } } }, Outputs: { Stars: { Value: 'rating ****', Export: { Name: 'stars' } } } });
    const r = await kiln('deploy', 'stars.json', '--stack', 'stars', '--yes');
    expect(r.code, r.err).toBe(0);
    write('stars-user.json', {
      Resources: { U: { Type: 'Test::Fake::Resource', Properties: { Value: { 'Fn::ImportValue': 'stars' } } } },
      Outputs: { Got: { Value: { 'Fn::ImportValue': 'stars' } } },
    });
    const u = await kiln('deploy', 'stars-user.json', '--stack', 'stars-user', '--yes');
    expect(u.code, u.out + u.err).toBe(0);
    const out = await kiln('outputs', '--stack', 'stars-user', '--json');
    expect(out.out).toContain('rating ****');
  });

  test('an export built from a secret carries the flag in state and is refused by it (a short piece of a Fn::Split)', async () => {
    // A piece shorter than 4 characters is a secret by what it was built from (the evaluator's taint),
    // not by any text it shares with the parameter.
    write('piece.json', {
      Parameters: { Pw: { Type: 'String', NoEcho: true } },
      Resources: { S: { Type: 'Test::Fake::Resource', Properties: { Value: 'x' } } },
      Outputs: { Piece: { Value: { 'Fn::Select': [0, { 'Fn::Split': [',', { Ref: 'Pw' }] }] }, Export: { Name: 'piece' } } },
    });
    const r = await kiln('deploy', 'piece.json', '--stack', 'piece', '--param', 'Pw=zz,rest-of-it', '--yes');
    expect(r.code, r.err).toBe(0);
    write('piece-user.json', { Resources: { U: { Type: 'Test::Fake::Resource', Properties: { Value: { 'Fn::ImportValue': 'piece' } } } } });
    const u = await kiln('deploy', 'piece-user.json', '--stack', 'piece-user', '--yes');
    expect(u.code).not.toBe(0);
    expect(u.out + u.err).toContain('export piece holds a value built from a NoEcho parameter');
    expect(u.out + u.err).not.toContain('zz');
    const db = (readdirSync(state, { recursive: true }) as string[])
      .filter((f) => statSync(join(state, f)).isFile())
      .map((f) => readFileSync(join(state, f)).toString('latin1'))
      .join('\n');
    expect(db).toContain('"exportName":"piece","secret":true');
    expect(db).toContain('"exportName":"stars","secret":false');
  });
});
