// `kiln ui` on the AWS target: a stack deployed with `kiln deploy --target aws` (against the
// emulator's CloudFormation) is listed and drawn from what CloudFormation reports, in a real
// Chromium; states the emulator cannot produce (a failed create, ROLLBACK_COMPLETE, with the failing
// resource and its reason) come from a scripted SDK client; and a region whose CloudFormation has no
// credentials, refuses connections or never answers gives a page that says so, in bounded time.
// A NoEcho value is nowhere in what the server sends.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as C from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import type { Browser } from 'puppeteer-core';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';
import { startUi, type UiServer } from '../../src/ui/server.js';
import { awsStackView, type UiAws } from '../../src/ui/aws.js';
import { awsSide } from '../../src/cli/commands/ui.js';
import { sdkCfn, openCfn, type CfnApi } from '../../src/aws/cfn.js';
import { awsSettings } from '../../src/aws/settings.js';
import { knownAwsStacks } from '../../src/aws/known-stacks.js';
import { FakeProvider } from '../../src/providers/fake/index.js';
import { closeAllStates } from '../../src/state/db.js';
import { client as docker } from '../docker.js';
import { startMoto, type Moto } from '../aws/moto.js';
import { hasChromium, launch, NO_CHROMIUM, recordingPage, visit } from './chromium.js';

const REGION = 'eu-west-1';
const dir = mkdtempSync(join(tmpdir(), 'kiln-ui-aws-'));
const state = join(dir, 'state');
const SECRET = `Aws-${Date.now().toString(36)}-n0echo`;
const stack = `ui-aws-${Date.now().toString(36)}`;

// The emulator runs VPCs, subnets and groups (not ElastiCache); a NoEcho parameter and a plain one.
writeFileSync(
  join(dir, 'net.json'),
  JSON.stringify({
    Parameters: { DbPassword: { Type: 'String', NoEcho: true }, Env: { Type: 'String', Default: 'staging' } },
    Resources: {
      MainVpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.42.0.0/16', Tags: [{ Key: 'env', Value: { Ref: 'Env' } }] } },
      AppSubnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'MainVpc' }, CidrBlock: '10.42.1.0/24' } },
      WebGroup: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: { 'Fn::Sub': 'web ${DbPassword}' }, VpcId: { Ref: 'MainVpc' } } },
    },
  }),
);

// ---- a scripted CloudFormation: a first create that failed and was rolled back ------------------

const FAILED = 'failed-web';
const FAILED_ID = 'arn:aws:cloudformation:us-east-2:123456789012:stack/failed-web/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const REASON = 'The instance type t9.huge is not supported in us-east-2 (Service: Ec2, Status Code: 400)';

function scriptedRollback(): Promise<CfnApi> {
  const c = new C.CloudFormationClient({ region: 'us-east-2', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const stub = mockClient(c);
  const t = (s: number) => new Date(Date.parse('2026-12-01T10:00:00Z') + s * 1000);
  const ev = (n: number, s: number, logicalId: string, type: string, status: string, physicalId?: string, reason?: string): C.StackEvent => ({
    StackId: FAILED_ID,
    StackName: FAILED,
    EventId: `ev-${n}`,
    LogicalResourceId: logicalId,
    ResourceType: type,
    ResourceStatus: status as C.ResourceStatus,
    Timestamp: t(s),
    ...(physicalId ? { PhysicalResourceId: physicalId } : {}),
    ...(reason ? { ResourceStatusReason: reason } : {}),
  });
  const S = 'AWS::CloudFormation::Stack';
  // Oldest first here; CloudFormation answers newest first, in pages.
  const events = [
    ev(1, 0, FAILED, S, 'REVIEW_IN_PROGRESS', FAILED_ID, 'User Initiated'),
    ev(2, 2, FAILED, S, 'CREATE_IN_PROGRESS', FAILED_ID, 'User Initiated'),
    ev(3, 3, 'MainVpc', 'AWS::EC2::VPC', 'CREATE_IN_PROGRESS'),
    ev(4, 4, 'MainVpc', 'AWS::EC2::VPC', 'CREATE_IN_PROGRESS', 'vpc-0f1e2d3c', 'Resource creation Initiated'),
    ev(5, 15, 'MainVpc', 'AWS::EC2::VPC', 'CREATE_COMPLETE', 'vpc-0f1e2d3c'),
    ev(6, 16, 'Web', 'AWS::EC2::Instance', 'CREATE_IN_PROGRESS'),
    ev(7, 18, 'Web', 'AWS::EC2::Instance', 'CREATE_FAILED', '', REASON),
    ev(8, 19, FAILED, S, 'ROLLBACK_IN_PROGRESS', FAILED_ID, 'The following resource(s) failed to create: [Web]. Rollback requested by user.'),
    ev(9, 20, 'Web', 'AWS::EC2::Instance', 'DELETE_COMPLETE'),
    ev(10, 21, 'MainVpc', 'AWS::EC2::VPC', 'DELETE_IN_PROGRESS', 'vpc-0f1e2d3c'),
    ev(11, 30, 'MainVpc', 'AWS::EC2::VPC', 'DELETE_COMPLETE', 'vpc-0f1e2d3c'),
    ev(12, 31, FAILED, S, 'ROLLBACK_COMPLETE', FAILED_ID),
  ].reverse();
  stub.on(C.DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: FAILED,
        StackId: FAILED_ID,
        StackStatus: 'ROLLBACK_COMPLETE',
        StackStatusReason: 'The following resource(s) failed to create: [Web]. Rollback requested by user.',
        CreationTime: t(0),
        Parameters: [
          { ParameterKey: 'DbPassword', ParameterValue: '****' },
          { ParameterKey: 'InstanceType', ParameterValue: 't9.huge' },
        ],
        DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
      },
    ],
  });
  stub.on(C.DescribeStackResourcesCommand).resolves({
    StackResources: [
      {
        StackName: FAILED,
        LogicalResourceId: 'MainVpc',
        PhysicalResourceId: 'vpc-0f1e2d3c',
        ResourceType: 'AWS::EC2::VPC',
        ResourceStatus: 'DELETE_COMPLETE',
        Timestamp: t(30),
        DriftInformation: { StackResourceDriftStatus: 'MODIFIED', LastCheckTimestamp: t(25) },
      },
      { StackName: FAILED, LogicalResourceId: 'Web', ResourceType: 'AWS::EC2::Instance', ResourceStatus: 'DELETE_COMPLETE', Timestamp: t(20) },
    ],
  });
  stub.on(C.GetTemplateCommand).resolves({
    TemplateBody: JSON.stringify({
      Parameters: { DbPassword: { Type: 'String', NoEcho: 'true' }, InstanceType: { Type: 'String' } },
      Resources: {
        MainVpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16' } },
        Web: { Type: 'AWS::EC2::Instance', DependsOn: 'MainVpc', Properties: { ImageId: 'ami-12345678', InstanceType: { Ref: 'InstanceType' } } },
      },
    }),
  });
  // Two pages: the first 7 events, then the rest.
  stub
    .on(C.DescribeStackEventsCommand)
    .callsFake((input: C.DescribeStackEventsInput) => (input.NextToken === 'p2' ? { StackEvents: events.slice(7) } : { StackEvents: events.slice(0, 7), NextToken: 'p2' }));
  return sdkCfn(c, 'us-east-2');
}

// ---- endpoints that fail: refusing connections, and accepting them without ever answering ----------

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

let moto: Moto;
let silent: Server;
const held: Socket[] = [];
let ui: UiServer;
let base = '';
let browser: Browser | undefined;
let closeBrowser = async () => undefined as void;
const asked: string[] = [];

beforeAll(async () => {
  moto = await startMoto();
  const env = { ...process.env, ...moto.env, AWS_REGION: REGION };
  const io = memoryIO({ cwd: dir, env });
  const code = await main(['deploy', 'net.json', '--target', 'aws', '--stack', stack, '--param', `DbPassword=${SECRET}`, '--yes', '--state-dir', state], io);
  expect(io.stderr).not.toContain(SECRET);
  expect(code, io.stderr).toBe(0);

  silent = createServer((s) => void held.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  const silentUrl = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
  const refused = `http://127.0.0.1:${await freePort()}`;

  const motoCfn = await sdkCfn(new C.CloudFormationClient({ region: REGION, endpoint: moto.url, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } }), REGION);
  const rollback = await scriptedRollback();
  // kiln's own client, as `kiln ui` opens it, with no credential anywhere (no keys, no profile file, no instance metadata).
  const none = { AWS_CONFIG_FILE: join(dir, 'no-config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'), AWS_EC2_METADATA_DISABLED: 'true' };
  Object.assign(process.env, none);
  delete process.env.AWS_ACCESS_KEY_ID;
  delete process.env.AWS_SECRET_ACCESS_KEY;
  delete process.env.AWS_PROFILE;
  const clients: Record<string, CfnApi> = {
    [REGION]: motoCfn,
    'us-east-2': rollback,
    'ap-south-1': openCfn(awsSettings('cloudformation', { region: 'ap-south-1', env: { ...none, AWS_ENDPOINT_URL: moto.url } })),
    'ca-central-1': openCfn(awsSettings('cloudformation', { region: 'ca-central-1', env: { AWS_ENDPOINT_URL: refused, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' } })),
    'sa-east-1': openCfn(awsSettings('cloudformation', { region: 'sa-east-1', env: { AWS_ENDPOINT_URL: silentUrl, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' } })),
  };
  const aws: UiAws = {
    stacks: () => [
      ...knownAwsStacks(state),
      { stack: FAILED, region: 'us-east-2' },
      { stack: 'nocreds', region: 'ap-south-1' },
      { stack: 'refused', region: 'ca-central-1' },
      { stack: 'silent', region: 'sa-east-1' },
    ],
    cfn: (region) => {
      asked.push(region);
      return clients[region]!;
    },
    timeoutMs: 2000,
  };
  ui = await startUi({ stateDir: state, host: '127.0.0.1', port: 0, provider: async () => new FakeProvider(), docker, aws });
  base = `http://127.0.0.1:${ui.port}`;
  if (hasChromium) {
    const b = await launch();
    browser = b.browser;
    closeBrowser = b.close;
  }
}, 120_000);

afterAll(async () => {
  await closeBrowser();
  await ui?.close();
  for (const s of held) s.destroy();
  silent?.close();
  await moto?.stop();
  closeAllStates();
  rmSync(dir, { recursive: true, force: true });
});

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}${path.includes('?') ? '&' : '?'}token=${ui.token}`, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('kiln ui on the AWS target', () => {
  test('kiln deploy --target aws notes the stack and its region in the state directory', () => {
    expect(knownAwsStacks(state)).toEqual([{ stack, region: REGION, deployedAt: expect.stringMatching(/^\d{4}-/) }]);
  });

  test('kiln ui asks CloudFormation with the environment it was started with (AWS_ENDPOINT_URL, the credentials)', async () => {
    const side = await awsSide(state, { ...moto.env });
    expect(side.stacks().map((s) => s.stack)).toEqual([stack]);
    const view = await awsStackView(side, side.stacks()[0]!);
    expect(view.kind).toBe('found');
    if (view.kind === 'found') expect(view.detail.stack.status).toBe('CREATE_COMPLETE');
  });

  test.skipIf(!hasChromium)(
    'a stack made in the emulator: listed, then drawn as CloudFormation reports it (resources with physical ids, parameters with NoEcho masked, events)',
    async () => {
      const { page, errors } = await recordingPage(browser!);
      await visit(page, `${base}/?token=${ui.token}`);
      const card = await page.$eval(`a[data-aws-stack="${stack}"]`, (a) => ({ text: a.textContent ?? '', href: a.getAttribute('href') }));
      expect(card.text).toContain('CREATE_COMPLETE');
      expect(card.text).toContain(`AWS ${REGION}`);
      expect(card.href).toBe(`/aws/${REGION}/${stack}`);

      await Promise.all([page.waitForNavigation(), page.click(`a[data-aws-stack="${stack}"]`)]);
      expect(await page.$eval('h1', (h) => h.textContent)).toBe(stack);
      expect(await page.$eval('#stack-status .pill', (p) => p.getAttribute('data-status'))).toBe('CREATE_COMPLETE');
      const rows = await page.$$eval('tr[data-id]', (trs) =>
        trs.map((tr) => ({ id: tr.getAttribute('data-id'), cells: Array.from(tr.querySelectorAll('td')).map((td) => (td.textContent ?? '').trim()) })),
      );
      const row = (id: string) => rows.find((r) => r.id === id)!.cells;
      expect(rows.map((r) => r.id).sort()).toEqual(['AppSubnet', 'MainVpc', 'WebGroup']);
      expect(row('MainVpc')[2]).toMatch(/^vpc-[0-9a-f]+$/);
      expect(row('AppSubnet')[2]).toMatch(/^subnet-[0-9a-f]+$/);
      expect(row('WebGroup')[2]).toMatch(/^sg-[0-9a-f]+$/);
      for (const r of rows) expect(r.cells[3]).toContain('CREATE_COMPLETE');
      // Drift as CloudFormation last found it, in the words of a local stack's page: never checked here.
      for (const r of rows) expect(r.cells[5]).toBe('not checkedkiln drift --target aws checks it');
      // Every resource is a node of the graph, coloured by its status.
      expect(await page.$$eval('#graph .node[data-id]', (ns) => ns.map((n) => `${n.getAttribute('data-id')} ${n.getAttribute('data-status')}`).sort())).toEqual([
        'AppSubnet CREATE_COMPLETE',
        'MainVpc CREATE_COMPLETE',
        'WebGroup CREATE_COMPLETE',
      ]);
      // The edges come from the stack's template (GetTemplate), drawn from what is needed first.
      expect((await page.$$eval('#graph path.edge', (es) => es.map((e) => `${e.getAttribute('data-from')}>${e.getAttribute('data-to')}`))).sort()).toEqual(['MainVpc>AppSubnet', 'MainVpc>WebGroup']);
      // The emulator answers a change-set stack's NoEcho value as is: the template's NoEcho masks it.
      const params = await page.$$eval('.card', (cs) => cs.find((c) => c.querySelector('h2')?.textContent === 'Parameters')?.textContent ?? '');
      expect(params).toContain('DbPassword****');
      expect(params).toContain('Envstaging');
      expect(await page.$eval('#stack-body .sub', (p) => p.textContent)).toContain(`CloudFormation · ${REGION}`);
      // The events of the create, as CloudFormation reports them (the emulator reports the stack's own).
      const events = await page.$$eval('.card', (cs) => cs.find((c) => c.querySelector('h2')?.textContent === 'Events of the last operation')?.textContent ?? '');
      expect(events).toContain('CREATE_COMPLETE');
      // The NoEcho value is nowhere: not in the page, not in its data.
      expect(await page.content()).not.toContain(SECRET);
      expect((await get(`/api/aws/${REGION}/${stack}`)).body).not.toContain(SECRET);
      expect((await get('/')).body).not.toContain(SECRET);
      expect(errors).toEqual([]);
      await page.close();
    },
    60_000,
  );

  test.skipIf(!hasChromium)(
    'a ROLLBACK_COMPLETE stack (scripted: the emulator never rolls back) shows the failing resource, its reason, what to do, and the timeline of the failed create',
    async () => {
      const { page, errors } = await recordingPage(browser!);
      await visit(page, `${base}/aws/us-east-2/${FAILED}?token=${ui.token}`);
      expect(await page.$eval('#stack-status .pill', (p) => p.getAttribute('data-status'))).toBe('ROLLBACK_COMPLETE');
      const headline = await page.$eval('#headline', (h) => h.textContent ?? '');
      expect(headline).toContain('The following resource(s) failed to create: [Web]. Rollback requested by user.');
      expect(headline).toContain(`First failure: Web (AWS::EC2::Instance): ${REASON}`);
      expect(headline).toContain(`kiln destroy --target aws --stack ${FAILED} --region us-east-2`);
      const web = await page.$eval('tr[data-id="Web"]', (tr) => Array.from(tr.querySelectorAll('td')).map((td) => (td.textContent ?? '').trim()));
      expect(web[1]).toContain('Instance');
      expect(web[3]).toContain('DELETE_COMPLETE');
      expect(web[3]).toContain(REASON);
      const vpc = await page.$eval('tr[data-id="MainVpc"]', (tr) => Array.from(tr.querySelectorAll('td')).map((td) => (td.textContent ?? '').trim()));
      expect(vpc[2]).toBe('vpc-0f1e2d3c');
      expect(vpc[5]).toBe('modifiedchecked 2026-12-01 10:00:25 UTC');
      // The graph draws the template's dependency; the node of the failing resource carries the reason.
      expect(await page.$$eval('#graph path.edge', (es) => es.map((e) => `${e.getAttribute('data-from')}>${e.getAttribute('data-to')}`))).toEqual(['MainVpc>Web']);
      expect(await page.$eval('#graph .node[data-id="Web"]', (n) => n.textContent ?? '')).toContain('t9.huge');
      // The timeline: one bar row per resource of the create (both pages of events were read; the
      // change set's REVIEW_IN_PROGRESS before the create is not part of it), the failure marked.
      const timeline = await page.$$eval('.card', (cs) => cs.find((c) => c.querySelector('h2')?.textContent?.startsWith('Timeline of the last operation'))?.innerHTML ?? '');
      expect(timeline).toContain('MainVpc');
      expect(timeline).toContain('Web');
      expect(timeline).toContain(REASON);
      const events = await page.$$eval('.card', (cs) => cs.find((c) => c.querySelector('h2')?.textContent === 'Events of the last operation')?.textContent ?? '');
      expect(events).toContain('ROLLBACK_COMPLETE');
      expect(events).toContain('CREATE_IN_PROGRESS');
      expect(events).not.toContain('REVIEW_IN_PROGRESS');
      const params = await page.$$eval('.card', (cs) => cs.find((c) => c.querySelector('h2')?.textContent === 'Parameters')?.textContent ?? '');
      expect(params).toContain('DbPassword****');
      expect(params).toContain('InstanceTypet9.huge');
      expect(errors).toEqual([]);
      await page.close();
    },
    60_000,
  );

  test('no credentials, a refused connection, an endpoint that never answers: each stack page says so, and the index lists them all', async () => {
    const nocreds = await get('/aws/ap-south-1/nocreds');
    expect(nocreds.status).toBe(200);
    expect(nocreds.body).toContain('CloudFormation unavailable');
    expect(nocreds.body).toContain('no AWS credentials from');
    const refused = await get('/aws/ca-central-1/refused');
    expect(refused.body).toContain('CloudFormation unavailable');
    expect(refused.body).toMatch(/DescribeStacks: cannot reach the CloudFormation \(ca-central-1\) endpoint \(.*ECONNREFUSED/);
    const silentPage = await get('/aws/sa-east-1/silent');
    expect(silentPage.body).toContain('CloudFormation (sa-east-1) did not answer DescribeStacks within 2 s');
    // The index answers too, with each stack's own state.
    const index = await get('/');
    expect(index.status).toBe(200);
    for (const name of [stack, FAILED, 'nocreds', 'refused', 'silent']) expect(index.body).toContain(`data-aws-stack="${name}"`);
    expect(index.body).toContain('ROLLBACK_COMPLETE');
    expect(index.body).toContain('did not answer DescribeStacks');
    // And the server still serves the local side.
    expect((await get('/history')).status).toBe(200);
  }, 30_000);

  test('an AWS stack address with a bad region or name is a 400 page; a stack kiln did not deploy is a 404 page', async () => {
    for (const path of ['/aws/eu-west-1/%00', `/aws/eu-west-1/${'x'.repeat(300)}`, '/aws/nowhere/web', '/aws/eu-west-1/a%2Fb']) {
      const r = await get(path);
      expect(r.status, path).toBe(400);
      expect(r.body, path).toMatch(/is not (a stack name|an AWS region name)/);
    }
    const before = asked.length;
    const unknown = await get(`/aws/${REGION}/someone-elses`);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toContain(`kiln has not deployed a stack someone-elses in ${REGION} from this state directory`);
    // Nothing was asked of CloudFormation for it.
    expect(asked.length).toBe(before);
    expect((await get(`/api/aws/${REGION}/%00`)).status).toBe(400);
  });

  test('when the template cannot be read to tell which parameters are NoEcho, no parameter value is shown', async () => {
    const c = new C.CloudFormationClient({ region: 'eu-north-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const stub = mockClient(c);
    stub.on(C.DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'opaque', StackId: 'id-opaque', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Parameters: [{ ParameterKey: 'Token', ParameterValue: SECRET }] }],
    });
    stub.on(C.DescribeStackResourcesCommand).resolves({ StackResources: [] });
    stub.on(C.DescribeStackEventsCommand).resolves({ StackEvents: [] });
    stub.on(C.GetTemplateCommand).rejects(Object.assign(new Error('User is not authorized to perform cloudformation:GetTemplate'), { name: 'AccessDenied' }));
    const cfn = await sdkCfn(c, 'eu-north-1');
    const view = await awsStackView({ stacks: () => [], cfn: () => cfn }, { stack: 'opaque', region: 'eu-north-1' });
    expect(view.kind).toBe('found');
    if (view.kind !== 'found') return;
    expect(view.detail.parameters).toEqual([{ name: 'Token', unknown: true }]);
    const { awsStackPage } = await import('../../src/ui/pages.js');
    const html = awsStackPage({ nonce: 'n', stateDir: state }, view.detail);
    expect(html).not.toContain(SECRET);
    expect(html).toContain('not shown: the template could not be read to tell whether it is NoEcho');
  });

  test('kiln destroy --target aws forgets the stack: the page of it is then a 404', async () => {
    const io = memoryIO({ cwd: dir, env: { ...process.env, ...moto.env, AWS_REGION: REGION } });
    expect(await main(['destroy', '--target', 'aws', '--stack', stack, '--yes', '--state-dir', state], io), io.stderr).toBe(0);
    expect(knownAwsStacks(state)).toEqual([]);
    expect((await get(`/aws/${REGION}/${stack}`)).status).toBe(404);
  });
});

if (!hasChromium) console.warn(`kiln test: ${NO_CHROMIUM}`);
