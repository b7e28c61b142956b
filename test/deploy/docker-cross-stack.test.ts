// Two stacks on the real Docker engine, wired as people wire them on AWS: a network stack exports its
// VPC, subnet and groups; an application stack imports them (Fn::ImportValue), adds a group of its
// own in the imported VPC and runs instances there. Security groups hold across the two stacks, and
// the network stack cannot be deleted while the application imports from it.
import { afterAll, expect, test } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { client, docker } from '../docker.js';
import { localProvider } from '../../src/providers/docker/index.js';
import { listVpcNamespaces } from '../../src/providers/docker/network.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';
import { openState } from '../../src/state/db.js';
import { deployStack, destroyStack } from '../../src/deploy/index.js';
import { webImage } from '../providers/docker/elb.helpers.js';
import { cleanupDeployed, httpGet, sh } from '../providers/docker/ctx.js';

const id = randomBytes(3).toString('hex');
const net = `kt-net-${id}`;
const app = `kt-app-${id}`;
const dir = mkdtempSync(join(tmpdir(), 'kiln-cross-stack-'));
const store = new StackStore(openState(dir));
const provider = localProvider({ docker: client });
const image = `kiln-test/cross-web:${id}`;

afterAll(() => cleanupDeployed([app, net], `cross-${id}`, dir), 60_000);

const networkStack = {
  Resources: {
    Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.81.0.0/16' } },
    Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.81.1.0/24' } },
    ClientSg: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'clients', VpcId: { Ref: 'Vpc' } } },
  },
  Outputs: {
    VpcId: { Value: { Ref: 'Vpc' }, Export: { Name: { 'Fn::Sub': '${AWS::StackName}-VpcId' } } },
    SubnetId: { Value: { Ref: 'Subnet' }, Export: { Name: { 'Fn::Sub': '${AWS::StackName}-SubnetId' } } },
    ClientSg: { Value: { Ref: 'ClientSg' }, Export: { Name: { 'Fn::Sub': '${AWS::StackName}-ClientSg' } } },
  },
};

const imp = (what: string) => ({ 'Fn::ImportValue': `${net}-${what}` });
const appStack = (img: string) => ({
  Resources: {
    // A group of this stack in the imported VPC, open to the imported client group only.
    WebSg: {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: { GroupDescription: 'web', VpcId: imp('VpcId'), SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, SourceSecurityGroupId: imp('ClientSg') }] },
    },
    Web: { Type: 'AWS::EC2::Instance', Properties: { ImageId: img, SubnetId: imp('SubnetId'), SecurityGroupIds: [{ Ref: 'WebSg' }] } },
    Client: { Type: 'AWS::EC2::Instance', Properties: { ImageId: img, SubnetId: imp('SubnetId'), SecurityGroupIds: [imp('ClientSg')] } },
    Other: { Type: 'AWS::EC2::Instance', Properties: { ImageId: img, SubnetId: imp('SubnetId') } },
  },
});

const containerOf = (stack: string, logicalId: string) => String((store.liveResources(stack).get(logicalId)!.state.data!.containers as Array<{ id: string }>)[0]!.id);

test('an application stack runs in the VPC another stack exports, groups enforced across both; the exporter outlives its importers', async () => {
  await webImage(image, { 'kiln.test': `cross-${id}` });
  const n = await deployStack({ stack: net, store, provider, file: 'net.json', text: JSON.stringify(networkStack) });
  expect(n.finalStatus, n.reason).toBe('CREATE_COMPLETE');
  const a = await deployStack({ stack: app, store, provider, file: 'app.json', text: JSON.stringify(appStack(image)) });
  expect(a.finalStatus, a.reason).toBe('CREATE_COMPLETE');

  // The instances are in the network stack's subnet and VPC.
  const web = store.liveResources(app).get('Web')!.state.attributes;
  expect(web.VpcId).toBe(store.liveResources(net).get('Vpc')!.physicalId);
  expect(String(web.PrivateIp)).toMatch(/^10\.81\.1\./);
  // A member of the imported client group reaches port 80; an instance in neither group does not.
  expect((await sh(containerOf(app, 'Client'), httpGet(String(web.PrivateIp), 80))).out).toMatch(/^v1 /m);
  expect((await sh(containerOf(app, 'Other'), httpGet(String(web.PrivateIp), 80))).out).not.toMatch(/^v1 /m);

  // The exporting stack cannot go first, and nothing of it is touched by the refusal.
  await expect(destroyStack({ stack: net, store, provider })).rejects.toThrow(`Export ${net}-VpcId cannot be deleted as it is in use by ${app}`);
  expect(store.stack(net)!.status).toBe('CREATE_COMPLETE');
  expect((await sh(containerOf(app, 'Client'), httpGet(String(web.PrivateIp), 80))).out).toMatch(/^v1 /m);

  // In the right order both go, and nothing labelled for either remains.
  expect((await destroyStack({ stack: app, store, provider })).outcome).toBe('complete');
  expect((await destroyStack({ stack: net, store, provider })).outcome).toBe('complete');
  const d = await docker();
  for (const s of [net, app]) {
    const filters = JSON.stringify({ label: [`kiln.stack=${s}`] });
    expect(await d.listContainers({ all: true, filters })).toEqual([]);
    expect(await d.listNetworks({ filters })).toEqual([]);
    expect(await listVpcNamespaces(s)).toEqual([]);
  }
}, 120_000);
