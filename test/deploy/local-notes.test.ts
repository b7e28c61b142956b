// What `kiln plan` says, on the local target, about resources realised in part: properties recorded
// without local effect are plan warnings at their resource, properties the target cannot realise are
// refused before anything is created (Auto Scaling launch configurations, policies, scheduled
// actions and lifecycle hooks). Plans only: nothing here touches the engine but to look images up.
import { afterAll, describe, expect, it } from 'vitest';
import { harness } from './harness.js';
import { localProvider } from '../../src/providers/docker/index.js';
import { client } from '../docker.js';
import { DiagnosticsError, formatDiagnostic } from '../../src/core/diagnostics.js';
import { planStack } from '../../src/deploy/index.js';
import { MemoryParameterStore } from '../../src/state/ssm.js';

const h = harness();
const provider = localProvider({ docker: client });
afterAll(() => h.cleanup());

const plan = (template: object) => planStack({ stack: 'notes', store: h.store, provider, parameters: new MemoryParameterStore(), file: 'template.json', text: JSON.stringify(template, null, 2) });
const warnings = (r: Awaited<ReturnType<typeof plan>>) => r.plan.diagnostics.filter((d) => d.severity === 'warning' && d.code === 'LOCAL_EFFECT').map((d) => d.message);
const refusal = async (template: object) => {
  const e = await plan(template).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(DiagnosticsError);
  return (e as DiagnosticsError).diagnostics.map((d) => formatDiagnostic(d));
};

const LC = { Type: 'AWS::AutoScaling::LaunchConfiguration', Properties: { ImageId: 'busybox:latest', InstanceType: 't2.micro' } };

describe('AWS::AutoScaling::LaunchConfiguration at plan', () => {
  it('creates it as a real resource and names the properties recorded without local effect', async () => {
    const r = await plan({ Resources: { Lc: { ...LC, Properties: { ...LC.Properties, IamInstanceProfile: 'web', AssociatePublicIpAddress: true } } } });
    expect(r.plan.steps.map((s) => [s.kind, s.id, s.noLocalEffect])).toEqual([['create', 'Lc', false]]);
    expect(warnings(r)).toEqual([expect.stringMatching(/^Lc: IamInstanceProfile, AssociatePublicIpAddress recorded with no local effect/)]);
    expect(warnings(await plan({ Resources: { Lc: LC } }))).toEqual([]);
  });

  it('refuses EC2-Classic settings at plan, with the position', async () => {
    const lines = await refusal({ Resources: { Lc: { ...LC, Properties: { ...LC.Properties, ClassicLinkVPCId: 'vpc-12345678' } } } });
    expect(lines.join('\n')).toMatch(/UNSUPPORTED_ON_LOCAL.*ClassicLinkVPCId: EC2-Classic .*nothing was deployed.*Resources\.Lc\.Properties/);
  });
});
