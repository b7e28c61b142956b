// The stack commands end to end through the CLI dispatcher, on the fake provider (KILN_PROVIDER=fake,
// objects kept in a file), with output captured.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';

let dir: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-cli-stack-'));
  env = { ...process.env, KILN_PROVIDER: 'fake', KILN_FAKE_STORE: join(dir, 'fake.json') };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function kiln(...args: string[]) {
  const io = memoryIO({ cwd: dir, env });
  const code = await main(
    [...args, ...(['plan', 'deploy', 'destroy', 'status', 'events', 'outputs', 'exports', 'drift'].includes(args[0]!) && !args.includes('--help') ? ['--state-dir', join(dir, 'state')] : [])],
    io,
  );
  return { code, out: io.stdout, err: io.stderr };
}

function template(name: string, t: object): string {
  writeFileSync(join(dir, name), JSON.stringify(t, null, 2));
  return name;
}

const objects = () => (existsSync(join(dir, 'fake.json')) ? (JSON.parse(readFileSync(join(dir, 'fake.json'), 'utf8')) as Array<{ logicalId: string; properties: Record<string, unknown> }>) : []);

const WEB = {
  Parameters: { Greeting: { Type: 'String', Default: 'hello' }, Secret: { Type: 'String', NoEcho: true } },
  Resources: {
    Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16' } },
    Group: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'web', VpcId: { Ref: 'Vpc' } } },
    Web: { Type: 'Test::Fake::Resource', Properties: { Value: { 'Fn::Sub': '${Greeting} ${Secret} ${Group}' } } },
    Role: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: {} } },
  },
  Outputs: { Greeting: { Value: { 'Fn::GetAtt': ['Web', 'Value'] } }, GroupId: { Value: { Ref: 'Group' } } },
};

describe('kiln plan / deploy / status / events / outputs / destroy', () => {
  test('plan shows what a first deploy creates, marks no-local-effect types, and changes nothing', async () => {
    const f = template('web.json', WEB);
    const r = await kiln('plan', f, '--stack', 'web', '--param', 'Secret=s3cr3t');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\+\s+Vpc\s+AWS::EC2::VPC\s+create$/m);
    expect(r.out).toMatch(/Role .*\[no local effect\]/);
    expect(r.out).toContain('Plan for stack web: 4 to create, 0 to update, 0 to replace, 0 to delete, 0 unchanged.');
    expect(objects()).toEqual([]);
  });

  test('plan --json gives the steps and the summary for scripts, NoEcho parameters masked', async () => {
    const f = template('web.json', WEB);
    const r = await kiln('plan', f, '--stack', 'web', '--param', 'Secret=s3cr3t', '--json');
    const j = JSON.parse(r.out);
    expect(j.summary).toEqual({ create: 4, update: 0, replace: 0, delete: 0, noop: 0 });
    expect(j.steps.map((s: { kind: string; id: string }) => `${s.kind} ${s.id}`)).toEqual(['create Vpc', 'create Group', 'create Web', 'create Role']);
    expect(j.parameters).toEqual({ Greeting: 'hello', Secret: '****' });
    expect(r.out).not.toContain('s3cr3t');
  });

  test('deploy piped proceeds without asking, prints plain progress lines and the outputs', async () => {
    const f = template('web.json', WEB);
    const r = await kiln('deploy', f, '--stack', 'web', '--param', 'Secret=s3cr3t');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/web\s+CREATE_IN_PROGRESS/);
    expect(r.err).toMatch(/Vpc\s+CREATE_COMPLETE\s+vpc-[0-9a-f]{17}/);
    expect(r.out).toContain('Stack web: CREATE_COMPLETE');
    expect(r.out).toMatch(/Greeting\s+hello \*\*\*\* sg-[0-9a-f]{17}/);
    expect(objects()).toHaveLength(4);
    const st = await kiln('status', '--stack', 'web');
    expect(st.out).toContain('Stack web: CREATE_COMPLETE');
    expect(st.out).toMatch(/Role\s+AWS::IAM::Role\s+\S+\s+live \(no local effect\)/);
    const ev = await kiln('events', '--stack', 'web');
    expect(ev.out.split('\n').filter((l) => l.includes('CREATE_COMPLETE'))).toHaveLength(5);
    const out = await kiln('outputs', '--stack', 'web', '--json');
    expect(JSON.parse(out.out).GroupId).toMatch(/^sg-/);
    const gone = await kiln('destroy', '--stack', 'web');
    expect(gone.code).toBe(0);
    expect(gone.out).toContain('Stack web: DELETE_COMPLETE');
    expect(objects()).toEqual([]);
  });

  test('deploy --json and destroy --json: stdout is JSON lines only (plan, events, result), secrets masked', async () => {
    const f = template('web.json', WEB);
    const r = await kiln('deploy', f, '--stack', 'web', '--param', 'Secret=s3cr3t-json', '--json');
    expect(r.code).toBe(0);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; [k: string]: unknown });
    expect(lines[0]).toMatchObject({ kind: 'plan', stack: 'web', isCreate: true, summary: { create: 4 } });
    expect(lines.filter((l) => l.kind === 'stack-event' && l.status === 'CREATE_COMPLETE').map((l) => l.logicalId)).toEqual(expect.arrayContaining(['Vpc', 'Group', 'Web', 'Role', 'web']));
    expect(lines.at(-1)).toMatchObject({ kind: 'result', outcome: 'complete', status: 'CREATE_COMPLETE' });
    expect((lines.at(-1)!.outputs as Record<string, { value: string }>).Greeting.value).toMatch(/^hello \*\*\*\* sg-/);
    expect(r.out + r.err).not.toContain('s3cr3t-json');
    const again = await kiln('deploy', f, '--stack', 'web', '--param', 'Secret=s3cr3t-json', '--json');
    expect(JSON.parse(again.out.trim())).toMatchObject({ kind: 'result', outcome: 'no-changes' });
    const gone = await kiln('destroy', '--stack', 'web', '--json');
    const last = gone.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(last.at(-1)).toEqual({ kind: 'result', stack: 'web', outcome: 'complete', status: 'DELETE_COMPLETE' });
    expect(objects()).toEqual([]);
  });

  test('outputs name their export and who imports it; destroy of the exporter is refused with exit 1', async () => {
    const net = template('net.json', {
      Resources: { Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16' } } },
      Outputs: { VpcId: { Value: { Ref: 'Vpc' }, Export: { Name: 'net-VpcId' } } },
    });
    const app = template('app.json', { Resources: { Sg: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'app', VpcId: { 'Fn::ImportValue': 'net-VpcId' } } } } });
    expect((await kiln('deploy', net, '--stack', 'net')).code).toBe(0);
    expect((await kiln('deploy', app, '--stack', 'app')).code).toBe(0);
    expect((await kiln('outputs', '--stack', 'net')).out).toMatch(/VpcId\s+vpc-[0-9a-f]{17}\s+export net-VpcId \(imported by app\)/);
    expect((await kiln('exports')).out).toMatch(/^EXPORT\s+STACK\s+VALUE\s+IMPORTED BY\nnet-VpcId\s+net\s+vpc-[0-9a-f]{17}\s+app\n$/);
    expect(JSON.parse((await kiln('exports', '--json')).out)).toEqual([{ name: 'net-VpcId', stack: 'net', output: 'VpcId', value: expect.stringMatching(/^vpc-/), importers: ['app'] }]);
    const refused = await kiln('destroy', '--stack', 'net');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('Stack net cannot be deleted: Export net-VpcId cannot be deleted as it is in use by app');
    expect((await kiln('destroy', '--stack', 'app')).code).toBe(0);
    expect((await kiln('destroy', '--stack', 'net')).code).toBe(0);
    expect(objects()).toEqual([]);
  });

  test('a NoEcho value never reaches output, events, or the state file', async () => {
    const f = template('web.json', WEB);
    const r = await kiln('deploy', f, '--stack', 'web', '--param', 'Secret=s3cr3t-value');
    expect(r.code).toBe(0);
    const ev = await kiln('events', '--stack', 'web', '--json');
    const out = await kiln('outputs', '--stack', 'web');
    const st = await kiln('status', '--stack', 'web', '--json');
    for (const text of [r.out, r.err, ev.out, out.out, st.out]) expect(text).not.toContain('s3cr3t-value');
    const { readdirSync, statSync } = await import('node:fs');
    // The state and its backups (a directory of copies taken around each deploy).
    for (const file of readdirSync(join(dir, 'state'), { recursive: true }) as string[])
      if (statSync(join(dir, 'state', file)).isFile()) expect(readFileSync(join(dir, 'state', file)).includes(Buffer.from('s3cr3t-value'))).toBe(false);
    // the provider itself got the real value
    expect(objects().find((o) => o.logicalId === 'Web')!.properties.Value).toContain('s3cr3t-value');
  });

  test('parameters are remembered between deploys; a NoEcho one must be given again', async () => {
    const f = template('web.json', WEB);
    await kiln('deploy', f, '--stack', 'web', '--param', 'Secret=x1', '--param', 'Greeting=bonjour');
    const again = await kiln('deploy', f, '--stack', 'web');
    expect(again.code).toBe(1);
    expect(again.err).toContain("parameter 'Secret' is NoEcho");
    const same = await kiln('deploy', f, '--stack', 'web', '--param', 'Secret=x1');
    expect(same.code).toBe(0);
    expect(same.out).toContain('no changes');
    const changed = await kiln('deploy', f, '--stack', 'web', '--param', 'Secret=x2');
    expect(changed.out).toMatch(/~\s+Web\s+Test::Fake::Resource\s+update \(Value\)/);
    expect(objects().find((o) => o.logicalId === 'Web')!.properties.Value).toMatch(/^bonjour x2 /);
  });

  test('an invalid template or a bad parameter creates nothing and says where', async () => {
    const f = template('bad.json', { Resources: { A: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: { Ref: 'Nope' } } } } });
    const r = await kiln('deploy', f, '--stack', 'web');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad\.json:\d+:\d+: error/);
    const g = template('web.json', WEB);
    const p = await kiln('deploy', g, '--stack', 'web', '--param', 'Nope=1', '--param', 'Secret=x');
    expect(p.code).toBe(1);
    expect(p.err).toContain("'Nope'");
    expect(objects()).toEqual([]);
    const st = await kiln('status');
    expect(st.out).toContain('No stacks.');
  });

  test('a type with no local realisation is refused at plan time', async () => {
    const f = template('s3.json', { Resources: { B: { Type: 'AWS::S3::Bucket' } } });
    const r = await kiln('plan', f, '--stack', 'web');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/s3\.json:\d+:\d+: error\[UNSUPPORTED_RESOURCE_TYPE\]: Resource type AWS::S3::Bucket/);
  });

  test('a failed deploy exits 1 with the first failure reason', async () => {
    const f = template('fail.json', { Resources: { A: { Type: 'Test::Fake::Resource', Properties: { Fail: 'create' } } } });
    const r = await kiln('deploy', f, '--stack', 'web');
    expect(r.code).toBe(1);
    expect(r.err).toContain('kiln deploy: stack web ROLLBACK_COMPLETE: A: Fake failure requested');
  });

  test('drift finds changed, deleted and extra objects; --replace-drifted replaces them', async () => {
    const f = template('d.json', { Resources: { A: { Type: 'Test::Fake::Resource', Properties: { Value: 'v' } }, B: { Type: 'Test::Fake::Resource', Properties: { Value: 'w' } } } });
    await kiln('deploy', f, '--stack', 'web');
    expect((await kiln('drift', '--stack', 'web')).code).toBe(0);
    const objs = JSON.parse(readFileSync(join(dir, 'fake.json'), 'utf8')) as Array<Record<string, unknown>>;
    (objs[0]!.properties as Record<string, unknown>).Value = 'tampered';
    objs[1]!.mutations = [{ path: '/etc/passwd', kind: 'C' }];
    writeFileSync(join(dir, 'fake.json'), JSON.stringify(objs));
    const d = await kiln('drift', '--stack', 'web');
    expect(d.code).toBe(1);
    expect(d.out).toContain('Stack web: DRIFTED');
    expect(d.out).toContain('A.Value: NOT_EQUAL expected "v", actual "tampered"');
    expect(d.out).toContain('B: 1 file(s) changed since start: C /etc/passwd');
    const r = await kiln('deploy', f, '--stack', 'web', '--replace-drifted');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\+\/-\s+A/);
    expect(r.out).toMatch(/\+\/-\s+B/);
    expect((await kiln('drift', '--stack', 'web')).code).toBe(0);
  });
});

describe('kiln plan --out / kiln deploy PLAN', () => {
  test('a saved plan deploys exactly, without asking, NoEcho sealed in the file; deploying it again is refused as stale', async () => {
    const f = template('web.json', WEB);
    const p = await kiln('plan', f, '--stack', 'web', '--param', 'Secret=s3cr3t-plan', '--out', 'web.plan');
    expect(p.code).toBe(0);
    expect(p.out).toContain('Plan saved to web.plan; deploy exactly it with: kiln deploy web.plan');
    const saved = readFileSync(join(dir, 'web.plan'), 'utf8');
    expect(saved).not.toContain('s3cr3t-plan');
    expect(JSON.parse(saved)).toMatchObject({ format: 'kiln-plan', version: 1, stack: 'web', summary: { create: 4 } });
    // the template file may change after planning: the plan carries its own
    template('web.json', { Resources: {} });
    const d = await kiln('deploy', 'web.plan');
    expect(d.code, d.err).toBe(0);
    expect(d.out).toContain('Stack web: CREATE_COMPLETE');
    expect(d.out).toMatch(/Greeting\s+hello \*\*\*\* sg-/);
    expect(objects().find((o) => o.logicalId === 'Web')!.properties.Value).toMatch(/^hello s3cr3t-plan sg-/);
    const again = await kiln('deploy', '--plan', 'web.plan');
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/kiln: the saved plan for stack web is stale, so nothing was changed: deployment d-\S+ \(deploy, COMPLETE\) ran after the plan was made/);
  });

  test('plan --json prints the plan document the file holds', async () => {
    const f = template('web.json', WEB);
    const j = JSON.parse((await kiln('plan', f, '--stack', 'web', '--param', 'Secret=x', '--json')).out);
    expect(Object.keys(j)).toEqual(expect.arrayContaining(['format', 'version', 'steps', 'template', 'given', 'basis', 'live', 'imports', 'images']));
    expect(j.given.Secret).toEqual({ sealed: expect.stringMatching(/^v1\./) });
  });

  test('a saved plan takes no --param', async () => {
    const f = template('web.json', WEB);
    await kiln('plan', f, '--stack', 'web', '--param', 'Secret=x', '--out', 'p.json');
    const r = await kiln('deploy', 'p.json', '--param', 'Greeting=hi');
    expect(r.code).toBe(2);
    expect(r.err).toContain('a saved plan carries its parameters');
  });
});
