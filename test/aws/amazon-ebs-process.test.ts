// The real `kiln` process against the emulator: Ctrl-C (SIGINT) cleans up and exits 130; a run
// killed outright (SIGKILL) leaves its tagged objects, which `kiln gc --target aws` finds and
// removes — without touching the objects of a run that is still alive.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { bundleCli } from '../deploy/cli-bundle.js';
import { startMoto, type Moto } from './moto.js';
import { startStandIn, instanceAgent, type StandIn, type InstanceAgent } from './standin.js';
import { census, tmpWorkspace, NOTHING_LEFT, REGION } from './helpers.js';

let moto: Moto;
let box: StandIn;
let agent: InstanceAgent;
let ws: ReturnType<typeof tmpWorkspace>;
let source: string;
let cli: { entry: string; env: NodeJS.ProcessEnv };
beforeAll(async () => {
  ws = tmpWorkspace('ebs-process');
  cli = await bundleCli('aws-process');
  moto = await startMoto();
  box = await startStandIn(ws.testId);
  agent = instanceAgent(moto.url, REGION, box, ['kiln.test', ws.testId]);
  // One of the emulator's built-in images: it reports an EBS root device, as amazon-ebs requires
  // (images registered in the emulator say "standard"; the in-process tests script that answer).
  source = 'ami-785db401';
});
afterAll(async () => {
  agent?.stop();
  await box?.stop();
  await moto?.stop();
  ws?.cleanup();
});

let n = 0;
function template(inline: string[]): string {
  n++;
  const builder = {
    type: 'amazon-ebs',
    region: REGION,
    source_ami: source,
    instance_type: 't3.micro',
    ssh_username: 'admin',
    ssh_host: box.host,
    ssh_port: box.port,
    ami_name: `process-${ws.testId}-${n}`,
  };
  return ws.write(`t${n}.json`, JSON.stringify({ builders: [builder], provisioners: [{ type: 'shell', inline }] }));
}

interface Run {
  child: ChildProcess;
  out: () => string;
  exit: Promise<number | null>;
  /** Resolves once the output contains `text`; rejects if the process ends first. */
  when(text: string): Promise<void>;
}

function kiln(args: string[]): Run {
  const child = spawn(process.execPath, [cli.entry, ...args], {
    cwd: ws.dir,
    env: { ...process.env, ...cli.env, ...moto.env, KILN_LABELS: `kiln.test=${ws.testId}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: Array<{ text: string; resolve: () => void; reject: (e: Error) => void }> = [];
  const onData = (c: Buffer): void => {
    out += c.toString();
    for (const w of waiters.splice(0)) {
      if (out.includes(w.text)) w.resolve();
      else waiters.push(w);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exit = new Promise<number | null>((resolve) =>
    child.on('close', (c, sig) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`kiln ended (${c ?? sig}) before printing "${w.text}":\n${out}`));
      resolve(c ?? (sig ? -1 : null));
    }),
  );
  return {
    child,
    out: () => out,
    exit,
    when: (text) => (out.includes(text) ? Promise.resolve() : new Promise((resolve, reject) => waiters.push({ text, resolve, reject }))),
  };
}

describe('the kiln process and AWS', () => {
  it('Ctrl-C during provisioning cleans up everything and exits 130', async () => {
    const state = join(ws.dir, 'state-sigint');
    const run = kiln(['build', '--state-dir', state, template(['echo started', 'sleep 60'])]);
    await run.when('amazon-ebs: started');
    run.child.kill('SIGINT');
    const code = await run.exit;
    expect(code, run.out()).toBe(130);
    expect(run.out()).toContain('Interrupt received. Cancelling builds and cleaning up...');
    expect(run.out()).toContain('Terminating the source AWS instance...');
    expect(run.out()).toContain('Deleting temporary keypair...');
    expect(await census(moto, ws.testId)).toMatchObject({ ...NOTHING_LEFT, images: [] });
  }, 120_000);

  it('kiln gc --target aws removes what a killed run left, and leaves a live run alone', async () => {
    const state = join(ws.dir, 'state-gc');
    const killed = kiln(['build', '--state-dir', state, template(['echo first started', 'sleep 120'])]);
    await killed.when('amazon-ebs: first started');
    killed.child.kill('SIGKILL');
    await killed.exit;
    const left = await census(moto, ws.testId);
    expect(left.instances).toHaveLength(1);
    expect(left.keyPairs).toHaveLength(1);
    expect(left.groups).toHaveLength(1);

    // A second build is alive while gc runs: its objects must survive the sweep.
    const alive = kiln(['build', '--state-dir', state, template(['echo second started', 'sleep 120'])]);
    await alive.when('amazon-ebs: second started');
    const during = await census(moto, ws.testId);
    const aliveInstance = during.instances.find((i) => !left.instances.includes(i))!;
    expect(aliveInstance).toBeDefined();

    const dry = kiln(['gc', '--target', 'aws', '--region', REGION, '--state-dir', state, '--dry-run']);
    expect(await dry.exit, dry.out()).toBe(0);
    expect(dry.out()).toContain(`would terminate ${left.instances[0]}`);
    expect(dry.out()).not.toContain(aliveInstance);
    expect((await census(moto, ws.testId)).instances).toHaveLength(2);

    const gc = kiln(['gc', '--target', 'aws', '--region', REGION, '--state-dir', state]);
    expect(await gc.exit, gc.out()).toBe(0);
    expect(gc.out()).toContain(`terminate ${left.instances[0]}`);
    expect(gc.out()).toContain(`delete key pair ${left.keyPairs[0]}`);
    expect(gc.out()).toContain(`delete security group ${left.groups[0]}`);
    expect(gc.out()).toContain('3 object(s) removed in eu-west-1');
    expect((await census(moto, ws.testId)).instances).toEqual([aliveInstance]);

    alive.child.kill('SIGINT');
    expect(await alive.exit, alive.out()).toBe(130);
    expect(await census(moto, ws.testId)).toMatchObject({ ...NOTHING_LEFT, images: [] });
  }, 180_000);
});
