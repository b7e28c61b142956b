// Random templates never crash the template layer: every user mistake comes back as diagnostics.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prepareBuilds } from '../../src/image/prepare.js';
import { parsePackerTemplate } from '../../src/image/template.js';

const str = fc.oneof(
  fc.constantFrom('', 'x', 'docker', 'null', 'file', 'shell', '{{user `a`}}', '{{ build `ID` }}', '{{timestamp}}', '{{nope}}', '{{', '1s', 'true', 'a=b', '/tmp/x/'),
  fc.string({ maxLength: 6 }),
);
const scalar = fc.oneof(str, fc.integer(), fc.boolean(), fc.constant(null));
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    scalar,
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(
      fc.constantFrom(
        'type',
        'name',
        'image',
        'commit',
        'inline',
        'script',
        'source',
        'destination',
        'only',
        'except',
        'override',
        'timeout',
        'pause_before',
        'max_retries',
        'target',
        'content',
        'communicator',
        'x',
      ),
      tie('v'),
      { maxKeys: 4 },
    ),
  ),
})).v;
const plugin = (types: string[]) =>
  fc.record(
    {
      type: fc.oneof(fc.constantFrom(...types), str),
      name: str,
      image: str,
      commit: scalar,
      inline: value,
      source: str,
      destination: str,
      only: value,
      except: value,
      override: value,
      timeout: str,
      max_retries: scalar,
      communicator: fc.constantFrom('none', 'ssh'),
      target: str,
      content: str,
    },
    { requiredKeys: [] },
  );
const template = fc.record(
  {
    variables: fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.oneof(str, fc.constant(null))),
    'sensitive-variables': fc.array(fc.constantFrom('a', 'b', 'z')),
    builders: fc.array(plugin(['docker', 'null', 'file', 'amazon-ebs']), { maxLength: 3 }),
    provisioners: fc.array(plugin(['shell', 'file', 'shell-local', 'sleep']), { maxLength: 3 }),
    'post-processors': fc.array(fc.oneof(str, plugin(['manifest', 'docker-tag', 'checksum']), fc.array(fc.oneof(str, plugin(['manifest', 'docker-tag'])), { maxLength: 2 })), { maxLength: 2 }),
    min_packer_version: fc.constantFrom('1.0', '9.9', 'bad'),
    bogus: value,
  },
  { requiredKeys: [] },
);

describe('prepareBuilds on random templates', () => {
  it('returns builds or located diagnostics, never throws', () => {
    fc.assert(
      fc.property(template, fc.array(fc.tuple(fc.constantFrom('a', 'b', 'd'), str), { maxLength: 2 }), (t, vars) => {
        const p = parsePackerTemplate(JSON.stringify(t), 't.json', '/tpl');
        if (!p.template) {
          expect(p.diagnostics.length).toBeGreaterThan(0);
          return;
        }
        const r = prepareBuilds(p.template, { cwd: '/work', vars, initTime: 0, fileExists: () => undefined });
        for (const d of r.diagnostics) expect(d.message.length).toBeGreaterThan(0);
        if (r.diagnostics.some((d) => d.severity === 'error')) return;
        for (const b of r.builds) expect(typeof b.renderLate('{{.ID}}', { ID: 'x' })).toBe('string');
      }),
      { numRuns: 1500 },
    );
  });
});
