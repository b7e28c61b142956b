// What kiln puts in every instance, prepared once per deploy: the tool scripts of images/instance are
// read once and the AWS::CloudFormation::Init of a resource compiled once for all the instances a
// deploy launches, and both are prepared again for the next deploy (an edited tool or template shows).
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InstanceKit, instanceToolFiles } from '../../../src/providers/docker/cfn-init.js';
import { serviceTemplatePath } from '../../../src/providers/docker/service-images.js';

const init = { config: { commands: { '01': { command: 'echo hi > /tmp/hi' } } } };

describe('InstanceKit', () => {
  test('reads a tool once per deploy, again for the next deploy', () => {
    const kit = new InstanceKit();
    const first = kit.tool('d1', 'cfn-signal');
    expect(first.toString('utf8')).toMatch(/^#!\/bin\/sh\n# kiln's cfn-signal/);
    expect(kit.tool('d1', 'cfn-signal')).toBe(first);
    const next = kit.tool('d2', 'cfn-signal');
    expect(next).not.toBe(first);
    expect(next.equals(first)).toBe(true);
  });

  test('compiles a resource’s Init once per deploy and metadata, again when either changes', () => {
    const kit = new InstanceKit();
    const files = kit.init('d1', 'Web', init);
    expect(files.map((f) => f.path)).toEqual(['/.kiln/cfn-init/Web/configs/config.sh', '/.kiln/cfn-init/Web/sets/default']);
    expect(kit.init('d1', 'Web', JSON.parse(JSON.stringify(init)) as typeof init)).toBe(files);
    expect(kit.init('d1', 'Other', init)).not.toBe(files);
    const changed = kit.init('d1', 'Web', { config: { commands: { '01': { command: 'echo bye > /tmp/hi' } } } });
    expect(String(changed[0]!.content)).toContain('echo bye');
    expect(kit.init('d2', 'Web', init)).not.toBe(files);
  });

  test('the instance’s files: the tools at /opt/aws/bin (the library not executable) and its facts', () => {
    const kit = new InstanceKit();
    const files = instanceToolFiles((n) => kit.tool('d1', n), { instanceId: 'i-0123456789abcdef0', region: 'eu-west-1', stack: 'st' });
    expect(files.map((f) => [f.path, (f.mode ?? 0).toString(8)])).toEqual([
      ['/opt/aws/bin/cfn-init', '755'],
      ['/opt/aws/bin/cfn-signal', '755'],
      ['/opt/aws/bin/cfn-hup', '755'],
      ['/opt/aws/bin/kiln-aws-lib.sh', '644'],
      ['/.kiln/instance.env', '644'],
    ]);
    expect(String(files.at(-1)!.content)).toBe("KILN_INSTANCE_ID='i-0123456789abcdef0'\nKILN_REGION='eu-west-1'\nKILN_STACK='st'\n");
  });

  test('files shipped with kiln are found by one lookup (the service template beside the instance tools)', () => {
    const path = serviceTemplatePath();
    expect(path.endsWith(join('images', 'service.json'))).toBe(true);
    expect(readFileSync(join(path, '..', 'instance', 'cfn-init'), 'utf8')).toBe(new InstanceKit().tool('d', 'cfn-init').toString('utf8'));
  });
});
