// For random templates (and random template changes), deploying and then planning the same template
// again plans no change: plan(apply(plan)) is empty.
import { afterAll, expect, test } from 'vitest';
import fc from 'fast-check';
import { harness } from '../deploy/harness.js';

const harnesses: Array<ReturnType<typeof harness>> = [];
afterAll(() => harnesses.forEach((h) => h.cleanup()));

/** A random acyclic template of fake resources: each may reference earlier ones. */
const templateArb = fc
  .array(
    fc.record({
      name: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
      value: fc.oneof(fc.string({ maxLength: 5 }), fc.integer()),
      ref: fc.option(fc.nat(), { nil: undefined }),
      how: fc.constantFrom('Ref', 'GetAtt', 'Sub', 'Join'),
      immutable: fc.boolean(),
      dependsOn: fc.option(fc.nat(), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 7 },
  )
  .map((rs) => {
    const Resources: Record<string, unknown> = {};
    rs.forEach((r, i) => {
      const id = `R${i}`;
      const props: Record<string, unknown> = { Value: r.value };
      if (r.name) props.Name = r.name;
      if (r.ref !== undefined && i > 0) {
        const t = `R${r.ref % i}`;
        props.Link =
          r.how === 'Ref' ? { Ref: t } : r.how === 'GetAtt' ? { 'Fn::GetAtt': [t, 'Arn'] } : r.how === 'Sub' ? { 'Fn::Sub': `x-\${${t}}` } : { 'Fn::Join': ['-', [{ Ref: t }, 'y']] };
      }
      Resources[id] = {
        Type: r.immutable ? 'Test::Fake::Immutable' : 'Test::Fake::Resource',
        Properties: props,
        ...(r.dependsOn !== undefined && i > 0 ? { DependsOn: `R${r.dependsOn % i}` } : {}),
      };
    });
    return { Resources, Outputs: { First: { Value: { Ref: 'R0' } } } };
  });

test('deploying a template, then planning it again, plans no change', async () => {
  await fc.assert(
    fc.asyncProperty(templateArb, templateArb, async (t1, t2) => {
      const h = harness();
      harnesses.push(h);
      const r1 = await h.deploy(t1);
      expect(r1.finalStatus).toBe('CREATE_COMPLETE');
      expect((await h.plan(t1)).plan.changes).toBe(false);
      const r2 = await h.deploy(t2);
      expect(r2.outcome === 'no-changes' || r2.finalStatus === 'UPDATE_COMPLETE').toBe(true);
      expect((await h.plan(t2)).plan.changes).toBe(false);
      // and what exists is exactly what state knows
      expect(h.provider.all().map((o) => o.physicalId).sort()).toEqual(h.store.resources('demo').map((r) => r.physicalId).sort());
      h.cleanup();
    }),
    { numRuns: 40 },
  );
}, 60_000);
