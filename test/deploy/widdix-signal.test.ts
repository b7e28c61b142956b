// issue 11: the Amazon Linux EC2 templates of the widdix corpus need packages from the internet inside
// cfn-init. On the local target (a Debian stand-in for the AMI, no way to a package mirror) the
// faithful outcome is the one AWS gives an instance that cannot install them: cfn-init's error, the
// failure signal its user data's ERR trap sends, and a clean rollback that follows that signal at
// once rather than waiting out the CreationPolicy's PT10M. ec2/al2-mutable-public.yaml, unchanged,
// on vpc/vpc-2azs.yaml (its ParentVPCStack).
import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { client } from '../docker.js';
import { localProvider } from '../../src/providers/docker/index.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';
import { openState } from '../../src/state/db.js';
import { cleanupDeployed } from '../providers/docker/ctx.js';
import { labelled, widdix } from './widdix.js';

const id = randomBytes(3).toString('hex');
const [vpc, vm] = ['vpc', 'vm'].map((s) => `kx${id}${s}`) as [string, string];
const dir = mkdtempSync(join(tmpdir(), 'kiln-widdix-signal-'));
const store = new StackStore(openState(dir));
const { attempt, deploy, destroy } = widdix(store, localProvider({ docker: client }));

afterAll(() => cleanupDeployed([vm, vpc], `widdix-signal-${id}`, dir), 180_000);

describe('a widdix EC2 template whose cfn-init cannot install its packages', () => {
  test('shows cfn-init’s error, fails on the failure signal (not the timeout) and rolls back cleanly', async () => {
    await deploy(vpc, 'vpc/vpc-2azs.yaml');
    const { result, events } = await attempt(vm, 'ec2/al2-mutable-public.yaml', { ParentVPCStack: vpc, AmazonLinux2Version: '20240109.0' });
    expect(result.finalStatus, result.reason).toBe('ROLLBACK_COMPLETE');

    const history = store.events(vm).map((e) => ({ id: e.logicalId, status: e.status, reason: e.reason ?? '' }));
    const failedAt = history.findIndex((e) => e.id === 'VirtualMachine' && e.status === 'CREATE_FAILED');
    expect(failedAt, JSON.stringify(history)).toBeGreaterThan(0);
    const failed = history[failedAt]!;
    // The failure signal the user data's ERR trap sent, with what cfn-init logged in the instance.
    expect(failed.reason).toMatch(/^Received FAILURE signal with UniqueId i-[0-9a-f]{17}/);
    expect(failed.reason).toMatch(/cfn-init\.log of i-[0-9a-f]{17}: Error encountered during build of \w+: /);
    // The instance was waiting for its signal, and the signal, not the timeout, ended the wait.
    const progress = events.flatMap((e) => (e.kind === 'provider' && e.event.logicalId === 'VirtualMachine' ? [e.event.message] : []));
    expect(progress).toContain('waiting for 1 success signal(s) within 600 s');
    expect(history.filter((e) => /within the specified duration|SIGNAL_TIMEOUT/.test(e.reason))).toEqual([]);
    // The rollback follows that failure: the stack's ROLLBACK_IN_PROGRESS comes after it, and names it.
    const rollbackAt = history.findIndex((e) => e.id === vm && e.status === 'ROLLBACK_IN_PROGRESS');
    expect(rollbackAt).toBeGreaterThan(failedAt);
    expect(history.at(-1)).toMatchObject({ id: vm, status: 'ROLLBACK_COMPLETE' });
    expect(history.filter((e) => e.status.endsWith('_FAILED') && e.id !== 'VirtualMachine' && e.id !== vm && !/cancelled|canceled/i.test(e.reason))).toEqual([]);
    // Nothing of the stack is left: no container, no network carries its label.
    expect(await labelled(vm)).toBe(0);

    await destroy(vpc);
    expect(await labelled(vpc)).toBe(0);
  }, 600_000);
});
