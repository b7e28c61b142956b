// kiln's internet router namespace on the real engine: made when the first VPC is attached to an
// internet gateway, kept while any VPC (or other host) is plugged into it, removed with the last one
// (destroy of its last user, orphan removal, `kiln gc`). This file watches a namespace of its own
// (KILN_INTERNET_NETNS), so stacks of other runs on the shared `kiln-internet` do not disturb it.
import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { connectDocker } from '../../src/docker/client.js';
import { localProvider, removeOrphans } from '../../src/providers/docker/index.js';
import { namespaceExists, run } from '../../src/providers/docker/network.js';
import { internetNs, releaseInternet } from '../../src/providers/docker/routing.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';
import { openState } from '../../src/state/db.js';
import { MemoryParameterStore } from '../../src/state/ssm.js';
import { deployStack, destroyStack } from '../../src/deploy/index.js';

const id = randomBytes(3).toString('hex');
process.env.KILN_INTERNET_NETNS = `kt-inet-${id}`;
const dir = mkdtempSync(join(tmpdir(), 'kiln-internet-'));
const store = new StackStore(openState(dir));
const client = connectDocker();
const provider = localProvider({ docker: client });
const parameters = new MemoryParameterStore();
const stacks = [`kt-inet-a-${id}`, `kt-inet-b-${id}`];

afterAll(async () => {
  for (const s of stacks) await removeOrphans(client, s, new Set()).catch(() => undefined);
  await run('ip', ['netns', 'delete', internetNs()]).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** A VPC attached to an internet gateway (the second octet keeps the two stacks' ranges apart). */
const template = (octet: number) => ({
  Resources: {
    Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: `10.${octet}.0.0/16` } },
    Igw: { Type: 'AWS::EC2::InternetGateway' },
    Attach: { Type: 'AWS::EC2::VPCGatewayAttachment', Properties: { VpcId: { Ref: 'Vpc' }, InternetGatewayId: { Ref: 'Igw' } } },
  },
});
const input = (i: number) => ({ stack: stacks[i]!, store, provider, parameters, file: 'stack.json', text: JSON.stringify(template(190 + i)) });

describe.sequential('the internet namespace', () => {
  test('is made by the first VPC attached to an internet gateway and shared by the next', async () => {
    expect(await namespaceExists(internetNs())).toBe(false);
    expect((await deployStack(input(0))).outcome).toBe('complete');
    expect(await namespaceExists(internetNs())).toBe(true);
    expect((await deployStack(input(1))).outcome).toBe('complete');
  }, 120_000);

  test('stays while a VPC is still plugged in, and goes with the destroy of the last one', async () => {
    expect((await destroyStack({ stack: stacks[0]!, store, provider, parameters })).status).toBe('DELETE_COMPLETE');
    expect(await namespaceExists(internetNs())).toBe(true);
    expect((await destroyStack({ stack: stacks[1]!, store, provider, parameters })).status).toBe('DELETE_COMPLETE');
    expect(await namespaceExists(internetNs())).toBe(false);
  }, 120_000);

  test('an empty one left behind (a killed run) is released (as orphan removal and kiln gc do); one with a host plugged in stays', async () => {
    await run('ip', ['netns', 'add', internetNs()]);
    const host = `kt-ih-${id}`;
    await run('ip', ['netns', 'add', host]);
    try {
      await run('ip', ['-n', internetNs(), 'link', 'add', 'name', `p${id}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host]);
      expect(await releaseInternet()).toBe(false);
      expect(await namespaceExists(internetNs())).toBe(true);
    } finally {
      await run('ip', ['netns', 'delete', host]);
    }
    // The host gone (its end of the pair with it), nothing is plugged in: a dry run says so, a real one removes it.
    expect(await releaseInternet({ dryRun: true })).toBe(true);
    expect(await namespaceExists(internetNs())).toBe(true);
    expect(await releaseInternet()).toBe(true);
    expect(await namespaceExists(internetNs())).toBe(false);
  }, 60_000);
});
