// issue 11's proof, on the real Docker engine: widdix's production templates, unchanged, deployed in
// the order their Parent*Stack parameters chain them (vpc-2azs → vpc-nat-gateway → client-sg →
// elasticache-redis), each checked for what it promises, then destroyed in reverse. "The internet"
// is a namespace this test makes (outside.ts); instances of a small stack of the test's own, in the
// widdix subnets, show which way their packets leave.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { client } from '../docker.js';
import { localProvider } from '../../src/providers/docker/index.js';
import { listVpcNamespaces } from '../../src/providers/docker/network.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';
import { openState } from '../../src/state/db.js';
import { deployStack, destroyStack } from '../../src/deploy/index.js';
import { buildTestImage, cleanupDeployed, sh } from '../providers/docker/ctx.js';
import { makeOutside, reachOut, type Outside } from '../providers/docker/outside.js';

const CORPUS = resolve(__dirname, '../../../shared/corpus/cloudformation/widdix/templates');
const id = randomBytes(3).toString('hex');
const vpc = `kw-vpc-${id}`;
const nat = `kw-nat-${id}`;
const probe = `kw-probe-${id}`;
const dir = mkdtempSync(join(tmpdir(), 'kiln-widdix-'));
const store = new StackStore(openState(dir));
const provider = localProvider({ docker: client });
let outside: Outside;

const image = `kiln-test/widdix-probe:${id}`;

beforeAll(async () => {
  outside = await makeOutside();
  await buildTestImage(image, 'FROM busybox:latest\nCMD ["sleep", "3600"]\n', { 'kiln.test': `widdix-${id}` });
}, 60_000);
afterAll(async () => {
  await outside?.close();
  await cleanupDeployed([probe, nat, vpc], `widdix-${id}`, dir);
}, 120_000);

const deploy = (stack: string, file: string, params: Record<string, string> = {}) => deployStack({ stack, store, provider, file: join(CORPUS, file), params });

// Two instances of the test's own in widdix's subnets: one public, one private (busybox, no ports).
const probeStack = () => ({
  Resources: {
    Public: { Type: 'AWS::EC2::Instance', Properties: { ImageId: image, SubnetId: { 'Fn::ImportValue': `${vpc}-SubnetAPublic` }, UserData: { 'Fn::Base64': '#!/bin/sh\ntrue\n' } } },
    Private: { Type: 'AWS::EC2::Instance', Properties: { ImageId: image, SubnetId: { 'Fn::ImportValue': `${vpc}-SubnetAPrivate` }, UserData: { 'Fn::Base64': '#!/bin/sh\ntrue\n' } } },
  },
});
const containerOf = (logicalId: string) => String((store.liveResources(probe).get(logicalId)!.state.data!.containers as Array<{ id: string }>)[0]!.id);
const seenFrom = async (logicalId: string) => (await sh(containerOf(logicalId), reachOut(outside))).out.trim();

test('vpc-2azs then vpc-nat-gateway deploy unchanged: public subnets reach out through the internet gateway, private ones only through the NAT gateway', async () => {
  const v = await deploy(vpc, 'vpc/vpc-2azs.yaml');
  expect(v.finalStatus, v.reason).toBe('CREATE_COMPLETE');
  const live = store.liveResources(vpc);
  expect(live.get('InternetGateway')!.physicalId).toMatch(/^igw-[0-9a-f]{17}$/);
  expect(live.get('RouteTablePublic')!.physicalId).toMatch(/^rtb-[0-9a-f]{17}$/);
  expect(live.get('NetworkAclPublic')!.physicalId).toMatch(/^acl-[0-9a-f]{17}$/);
  expect(String(live.get('SubnetAPublic')!.properties.Ipv6CidrBlock)).toMatch(/^fd[0-9a-f:]+::\/64$/);

  const p = await deployStack({ stack: probe, store, provider, file: 'probe.json', text: JSON.stringify(probeStack()) });
  expect(p.finalStatus, p.reason).toBe('CREATE_COMPLETE');
  const uplink = String(live.get('VPCGatewayAttachment')!.state.data!.uplink);
  expect(await seenFrom('Public')).toBe(uplink);
  // Before the NAT gateway stack, the private subnet has no way out.
  expect(await seenFrom('Private')).not.toMatch(/^\d/);

  const n = await deploy(nat, 'vpc/vpc-nat-gateway.yaml', { ParentVPCStack: vpc });
  expect(n.finalStatus, n.reason).toBe('CREATE_COMPLETE');
  const natGw = store.liveResources(nat).get('NatGateway')!;
  expect(natGw.physicalId).toMatch(/^nat-[0-9a-f]{17}$/);
  expect(store.liveResources(nat).get('EIP')!.state.attributes.AllocationId).toMatch(/^eipalloc-[0-9a-f]{17}$/);
  expect(await seenFrom('Private')).toBe(String(natGw.state.data!.address));
  expect(await seenFrom('Public')).toBe(uplink);

  // Destroyed in reverse: without the NAT gateway the private subnet is cut off again.
  expect((await destroyStack({ stack: nat, store, provider })).outcome).toBe('complete');
  expect(await seenFrom('Private')).not.toMatch(/^\d/);
  expect((await destroyStack({ stack: probe, store, provider })).outcome).toBe('complete');
  expect((await destroyStack({ stack: vpc, store, provider })).outcome).toBe('complete');
  expect(await listVpcNamespaces(vpc)).toEqual([]);
}, 300_000);
