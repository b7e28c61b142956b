// On the local target an AWS::EC2::Image::Id parameter may name a local Docker image; the template
// then sees that image's ami- id, as it would see an AMI on AWS (issue 4).
import { afterAll, describe, expect, it } from 'vitest';
import { harness, fake } from './harness.js';
import { localProvider } from '../../src/providers/docker/index.js';
import { amiIdFor, resolveImage } from '../../src/providers/docker/images.js';
import { client } from '../docker.js';
import { DiagnosticsError, formatDiagnostic } from '../../src/core/diagnostics.js';

const h = harness();
// The fake provider realises the resources; the local provider says what an image reference means.
Object.assign(h.provider, { normalizeParameter: localProvider({ docker: client }).normalizeParameter });
afterAll(() => h.cleanup());

const template = {
  Parameters: { Img: { Type: 'AWS::EC2::Image::Id' }, More: { Type: 'List<AWS::EC2::Image::Id>', Default: 'ami-0123456789abcdef0' } },
  Resources: { Thing: fake({ Image: { Ref: 'Img' } }) },
};

describe('image parameters on the local target', () => {
  it('turn a Docker reference into the ami- id of that image', async () => {
    const id = (await resolveImage(client, 'busybox:latest')).id;
    const r = await h.plan(template, { Img: 'busybox:latest', More: `${id}, ami-0123456789abcdef0` });
    expect(r.parameters.Img).toBe(amiIdFor(id));
    expect(r.parameters.More).toEqual([amiIdFor(id), 'ami-0123456789abcdef0']);
  });

  it('keep an ami- id as written', async () => {
    const r = await h.plan(template, { Img: 'ami-0123456789abcdef0' });
    expect(r.parameters.Img).toBe('ami-0123456789abcdef0');
  });

  it('name the parameter and its position when the image does not exist', async () => {
    const err = await h.plan(template, { Img: 'no-such/image:1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiagnosticsError);
    const lines = (err as DiagnosticsError).diagnostics.map((d) => formatDiagnostic(d));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^template\.json:3:\d+: error\[PARAM_VALUE\]: Parameter 'Img': .*no-such\/image:1.* \(at Parameters\.Img\)$/);
  });
});
