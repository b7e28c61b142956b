// The pure parts of the AWS target: request signing (checked against the SDK's own signer), the
// DescribeImages Query request and its answer, settings (region, endpoint, credentials), polling,
// and what the amazon-ebs build key covers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@smithy/core/checksum';
import { signRequest } from '../../src/aws/sigv4.js';
import { describeImagesOutput, describeImagesParams, parseXml, queryError } from '../../src/aws/query.js';
import { awsSettings, endpointFor, maskSecrets } from '../../src/aws/settings.js';
import { pollSettings, waitUntil } from '../../src/aws/wait.js';
import { isRetryable, withRetry, type Ec2Api } from '../../src/aws/ec2.js';
import { amazonEbsKey, amiArtifact, checkSupported } from '../../src/image/builders/amazon-ebs-plan.js';
import { parsePackerTemplate } from '../../src/image/template.js';
import { prepareBuilds } from '../../src/image/prepare.js';
import type { AmazonEbsBuilderConfig, PreparedBuild } from '../../src/image/types.js';
import { fakeClock } from './scripted.js';

describe('signing', () => {
  it('signs a Query POST exactly as the SDK signer does', async () => {
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'token/with+chars' };
    const date = new Date('2026-12-01T12:34:56Z');
    const body = 'Action=DescribeImages&Version=2016-11-15&Owner.1=self&Filter.1.Name=tag%3Akiln%3Abuild-key&Filter.1.Value.1=abc';
    const url = new URL('http://127.0.0.1:5077/');
    const ours = signRequest({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body, region: 'eu-west-1', service: 'ec2', credentials, date });
    const sdk = new SignatureV4({ service: 'ec2', region: 'eu-west-1', credentials, sha256: Sha256 });
    const theirs = await sdk.sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 5077,
        path: '/',
        query: {},
        headers: { host: '127.0.0.1:5077', 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'x-amz-content-sha256': ours['x-amz-content-sha256']! },
        body,
      },
      { signingDate: date },
    );
    expect(ours.authorization).toBe(theirs.headers['authorization']);
    expect(ours['x-amz-security-token']).toBe('token/with+chars');
  });
});

describe('DescribeImages over the Query protocol', () => {
  it('flattens the input as the Query protocol wants it', () => {
    const p = describeImagesParams({
      ImageIds: ['ami-1'],
      Owners: ['self', '123'],
      Filters: [
        { Name: 'name', Values: ['a*', 'b'] },
        { Name: 'state', Values: ['available'] },
      ],
    });
    expect(p.toString()).toBe(
      'Action=DescribeImages&Version=2016-11-15&ImageId.1=ami-1&Owner.1=self&Owner.2=123&Filter.1.Name=name&Filter.1.Value.1=a*&Filter.1.Value.2=b&Filter.2.Name=state&Filter.2.Value.1=available',
    );
  });

  it("reads an answer into the SDK's shapes (items, tags, block devices, entities)", () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<DescribeImagesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r1</requestId>
  <imagesSet>
    <item>
      <imageId>ami-0abc</imageId><imageState>available</imageState><imageOwnerId>123456789012</imageOwnerId>
      <creationDate>2026-12-01T00:00:00.000Z</creationDate><isPublic>false</isPublic><name>web &amp; co &lt;1&gt;</name>
      <blockDeviceMapping><item><deviceName>/dev/xvda</deviceName><ebs><snapshotId>snap-1</snapshotId><volumeSize>8</volumeSize><deleteOnTermination>true</deleteOnTermination></ebs></item></blockDeviceMapping>
      <tagSet><item><key>kiln:build-key</key><value>k1</value></item><item><key>empty</key><value/></item></tagSet>
    </item>
  </imagesSet>
</DescribeImagesResponse>`;
    expect(describeImagesOutput(xml)).toEqual({
      Images: [
        {
          ImageId: 'ami-0abc',
          State: 'available',
          OwnerId: '123456789012',
          CreationDate: '2026-12-01T00:00:00.000Z',
          Public: false,
          Name: 'web & co <1>',
          BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-1', VolumeSize: 8, DeleteOnTermination: true } }],
          Tags: [
            { Key: 'kiln:build-key', Value: 'k1' },
            { Key: 'empty', Value: '' },
          ],
        },
      ],
    });
  });

  it('turns an error answer into an error named by its code, and refuses malformed XML', () => {
    const e = queryError(
      400,
      '<Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able to validate the provided access credentials</Message></Error></Errors><RequestID>x</RequestID></Response>',
    );
    expect([e.name, e.message, e.$metadata.httpStatusCode]).toEqual(['AuthFailure', 'AWS was not able to validate the provided access credentials', 400]);
    expect(queryError(500, '<html><title>500</title></html>').name).toBe('InternalError');
    expect(() => parseXml('<a><b></a>')).toThrow(/malformed XML/);
  });
});

describe('settings', () => {
  it('takes the service endpoint before the general one, and the builder field before both', () => {
    const env = { AWS_ENDPOINT_URL: 'http://general:1', AWS_ENDPOINT_URL_EC2: 'http://ec2-only:2' };
    expect(endpointFor('ec2', undefined, env)).toBe('http://ec2-only:2');
    expect(endpointFor('cloudformation', undefined, env)).toBe('http://general:1');
    expect(endpointFor('ec2', 'custom.example:3', env)).toBe('https://custom.example:3');
    expect(endpointFor('ec2', undefined, {})).toBeUndefined();
    expect(() => endpointFor('ec2', 'ftp://x', {})).toThrow(/must be http/);
  });

  it('takes the region from the builder, then AWS_REGION, and says so when there is none', () => {
    expect(awsSettings('ec2', { region: 'eu-west-1', env: { AWS_REGION: 'us-east-1' } }).region).toBe('eu-west-1');
    expect(awsSettings('ec2', { env: { AWS_DEFAULT_REGION: 'ap-south-1' } }).region).toBe('ap-south-1');
    expect(() => awsSettings('ec2', { env: {} })).toThrow(/no AWS region: set "region" in the builder, or AWS_REGION/);
    expect(() => awsSettings('ec2', { region: 'Europe', env: {} })).toThrow(/not an AWS region/);
  });

  it('advises a command its flags, not a builder it does not have', async () => {
    expect(() => awsSettings('cloudformation', { env: {}, from: 'command' })).toThrow(/no AWS region: give --region, or AWS_REGION/);
    const empty = mkdtempSync(join(tmpdir(), 'kiln-nocreds-'));
    const env = { HOME: empty, AWS_CONFIG_FILE: join(empty, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(empty, 'credentials'), AWS_EC2_METADATA_DISABLED: 'true' };
    const saved = { ...process.env };
    Object.assign(process.env, env);
    for (const k of [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_PROFILE',
      'AWS_SESSION_TOKEN',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
      'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
    ])
      delete process.env[k];
    try {
      const forCommand = awsSettings('cloudformation', { region: 'eu-west-1', env, from: 'command' }).credentials();
      await expect(forCommand).rejects.toThrow(/Set AWS_PROFILE, or AWS_ACCESS_KEY_ID/);
      await expect(forCommand).rejects.not.toThrow(/builder/);
      await expect(awsSettings('ec2', { region: 'eu-west-1', env }).credentials()).rejects.toThrow(/profile in the builder/);
    } finally {
      process.env = saved;
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("prefers the template's keys, then the environment's, and lists them for masking", async () => {
    const env = { AWS_ACCESS_KEY_ID: 'AKIAENV', AWS_SECRET_ACCESS_KEY: 'env-secret' };
    const fromTemplate = awsSettings('ec2', { region: 'eu-west-1', accessKey: 'AKIATPL', secretKey: 'tpl-secret', env });
    expect((await fromTemplate.credentials()).accessKeyId).toBe('AKIATPL');
    const fromEnv = awsSettings('ec2', { region: 'eu-west-1', env });
    expect(await fromEnv.credentials()).toEqual({ accessKeyId: 'AKIAENV', secretAccessKey: 'env-secret' });
    expect(maskSecrets('key AKIAENV secret env-secret', fromEnv.secrets())).toBe('key <sensitive> secret <sensitive>');
  });
});

describe('polling and retries', () => {
  it("follows Packer's knobs: aws_polling, then AWS_POLL_DELAY_SECONDS/AWS_MAX_ATTEMPTS, then AWS_TIMEOUT_SECONDS", () => {
    expect(pollSettings(600_000, { delayMs: 5000, maxAttempts: 10 })).toEqual({ delayMs: 5000, timeoutMs: 50_000 });
    expect(pollSettings(600_000, { env: { AWS_POLL_DELAY_SECONDS: '2', AWS_MAX_ATTEMPTS: '3' } })).toEqual({ delayMs: 2000, timeoutMs: 6000 });
    expect(pollSettings(600_000, { env: { AWS_TIMEOUT_SECONDS: '30' } })).toEqual({ delayMs: 0, timeoutMs: 30_000 });
    expect(pollSettings(600_000, {})).toEqual({ delayMs: 0, timeoutMs: 600_000 });
  });

  it('looks at once, then backs off from 1 s to 15 s, and times out with the last state', async () => {
    const clock = fakeClock();
    await expect(waitUntil(async () => ({ done: false, state: 'pending' }), { delayMs: 0, timeoutMs: 60_000, what: 'the thing', clock })).rejects.toThrow(
      /timed out waiting for the thing: still pending after 45s and 7 look/,
    );
    expect(clock.slept).toEqual([1000, 2000, 4000, 8000, 15_000, 15_000]);
  });

  it('retries throttling and server errors, not client errors', async () => {
    expect(isRetryable(Object.assign(new Error('x'), { name: 'RequestLimitExceeded' }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('x'), { name: 'Whatever', $metadata: { httpStatusCode: 503 } }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('x'), { name: 'InvalidAMIID.NotFound', $metadata: { httpStatusCode: 400 } }))).toBe(false);
    let calls = 0;
    const api: Ec2Api = {
      region: 'eu-west-1',
      call: async () => {
        calls++;
        throw Object.assign(new Error('slow down'), { name: 'Throttling' });
      },
    };
    const clock = fakeClock();
    await expect(withRetry(api, { clock, maxAttempts: 4 }).call('DescribeImages', {})).rejects.toThrow('slow down');
    expect(calls).toBe(4);
    expect(clock.slept).toEqual([500, 1000, 2000]);
  });
});

function prepared(builder: Record<string, unknown>, provisioners: unknown[] = [{ type: 'shell', inline: ['echo 1'] }]): PreparedBuild {
  const text = JSON.stringify({
    builders: [{ type: 'amazon-ebs', region: 'eu-west-1', source_ami: 'ami-1', instance_type: 't3.micro', ssh_username: 'admin', ami_name: 'web {{timestamp}}', ...builder }],
    provisioners,
  });
  const t = parsePackerTemplate(text, 'k.json', '/tmp').template!;
  const r = prepareBuilds(t, { cwd: '/tmp', env: {}, fileExists: () => 'file' });
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return r.builds[0]!;
}

describe('the amazon-ebs build key', () => {
  const key = (b: PreparedBuild, source = 'ami-1'): string => amazonEbsKey(b, b.builder as AmazonEbsBuilderConfig, 'eu-west-1', source, () => 'digest');
  const base = key(prepared({}));

  it('is the same for the same inputs, whatever the AMI name, tags, description or permissions', () => {
    expect(key(prepared({ ami_name: 'other {{timestamp}}', tags: { A: 'b' }, ami_description: 'x', ami_users: ['1'], snapshot_tags: { s: '1' }, run_tags: { r: '1' } }))).toBe(base);
  });

  it('changes with the resolved source AMI, the instance type, user data, block devices, copies and every provisioner', () => {
    const changed = [
      key(prepared({}), 'ami-2'),
      key(prepared({ instance_type: 'm5.large' })),
      key(prepared({ user_data: '#!/bin/sh' })),
      key(prepared({ launch_block_device_mappings: [{ device_name: '/dev/sdf', volume_size: 5 }] })),
      key(prepared({ ami_regions: ['us-east-1'] })),
      key(prepared({}, [{ type: 'shell', inline: ['echo 2'] }])),
    ];
    for (const k of changed) expect(k).not.toBe(base);
    expect(new Set(changed).size).toBe(changed.length);
  });

  it('lists every region in the artifact, sorted, as Packer does', () => {
    const a = amiArtifact({ 'us-east-1': 'ami-b', 'eu-west-1': 'ami-a' });
    expect(a.id).toBe('eu-west-1:ami-a,us-east-1:ami-b');
    expect(a.string).toBe('AMIs were created:\neu-west-1: ami-a\nus-east-1: ami-b');
  });

  it('refuses options it cannot honour before any AWS call', () => {
    const b = prepared({ spot_price: 'auto', encrypt_boot: true });
    expect(() => checkSupported(b, b.builder as AmazonEbsBuilderConfig)).toThrow(/does not support spot_price \(spot instances\), encrypt_boot \(encrypted AMIs\) yet; nothing was created in AWS/);
  });
});
