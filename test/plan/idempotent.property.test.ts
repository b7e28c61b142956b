// For random templates (and random template changes), deploying and then planning the same template
// again plans no change: plan(apply(plan)) is empty.
import { afterAll, expect, test } from 'vitest';
import fc from 'fast-check';
import { harness } from '../deploy/harness.js';
import { templateArb } from './arbitraries.js';

const harnesses: Array<ReturnType<typeof harness>> = [];
afterAll(() => harnesses.forEach((h) => h.cleanup()));

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
      expect(
        h.provider
          .all()
          .map((o) => o.physicalId)
          .sort(),
      ).toEqual(
        h.store
          .resources('demo')
          .map((r) => r.physicalId)
          .sort(),
      );
      h.cleanup();
    }),
    { numRuns: 40 },
  );
}, 60_000);
