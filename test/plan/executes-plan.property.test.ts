// The plan is the contract, as a property: for random templates and random edits of them, deploying a saved
// plan makes exactly the provider calls its steps call for (a conditional step one of its branches),
// in an order the plan's graph allows (a step after what it waits for; the cleanup deletes after
// every create and update, each one after the deletes of what depended on it), and planning again
// afterwards plans no change.
import { afterAll, expect, test } from 'vitest';
import fc from 'fast-check';
import { harness } from '../deploy/harness.js';
import { editedTemplateArb, templateArb } from './arbitraries.js';
import { parsePlanDocument } from '../../src/deploy/planfile.js';
import { deployGraph } from '../../src/exec/graph.js';
import type { DesiredStack, Step } from '../../src/stack/plan.js';

const harnesses: Array<ReturnType<typeof harness>> = [];
afterAll(() => harnesses.forEach((h) => h.cleanup()));

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, unknown>; DependsOn?: string }> };

/** What each resource of a template depends on: what its Link refers to (the only property that refers to another resource) and its DependsOn. */
function dependencies(t: Template): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [id, res] of Object.entries(t.Resources)) {
    const refs = JSON.stringify(res.Properties.Link ?? null).match(/R\d+/g) ?? [];
    out[id] = [...new Set([...refs, ...(res.DependsOn ? [res.DependsOn] : [])])].filter((d) => d !== id);
  }
  return out;
}

/** How many (dependent, dependency) pairs of deletes the runs checked: the delete-order check must have had work. */
let deletePairs = 0;

/** The provider calls (op per logical id, in order) each branch of a step may make. */
function allowed(s: Step): string[][] {
  const branch = (k: string): string[] => (k === 'create' ? ['create'] : k === 'update' ? ['update'] : k === 'replace' ? ['create', 'delete'] : k === 'delete' ? ['delete'] : []);
  const out = [branch(s.kind)];
  if ((s.kind === 'update' || s.kind === 'replace') && s.conditional) {
    out.push(branch(s.conditional.otherwise));
    if (s.kind === 'replace' && s.conditional.otherwise === 'noop') out.push(branch('update'));
  }
  return out;
}

test('a deployed saved plan makes exactly its steps, in an order its graph allows, and a second plan is empty', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.tuple(templateArb, templateArb), editedTemplateArb), async ([t1, t2]) => {
      const h = harness();
      harnesses.push(h);
      expect((await h.deploy(t1)).finalStatus).toBe('CREATE_COMPLETE');
      const doc = parsePlanDocument(JSON.stringify((await h.planDoc(t2)).document), 'plan.json');
      h.provider.calls.length = 0;
      const r = await h.deploy(t2, { saved: doc });
      expect(r.outcome === 'no-changes' || r.finalStatus === 'UPDATE_COMPLETE', r.reason).toBe(true);

      // exactly the planned steps: per logical id, the calls one branch of its steps allows
      const ends = h.provider.calls.filter((c) => c.phase === 'end');
      const ids = new Set([...doc.steps.map((s) => s.id), ...ends.map((c) => c.logicalId)]);
      for (const id of ids) {
        const made = ends.filter((c) => c.logicalId === id).map((c) => c.op);
        const steps = doc.steps.filter((s) => s.id === id);
        const options = steps.reduce<string[][]>((acc, s) => acc.flatMap((a) => allowed(s).map((b) => [...a, ...b])), [[]]);
        expect(
          options.map((o) => o.join(' ')),
          `${id}: made ${made.join(' ')}`,
        ).toContain(made.join(' '));
      }

      // in an order the plan's graph allows: nothing starts before what it waits for has ended,
      // and the cleanup deletes come after every create and update
      const desired = { resources: {}, outputs: {} } as DesiredStack;
      for (const [id, dependsOn] of Object.entries(dependencies(t2 as Template)))
        desired.resources[id] = { logicalId: id, type: (t2 as Template).Resources[id]!.Type, properties: {}, dependsOn, deletionPolicy: 'Delete', updateReplacePolicy: 'Delete' };
      const g = deployGraph({ steps: doc.steps, diagnostics: [], changes: doc.changes }, desired, () => undefined);
      const seq = (id: string, phase: 'start' | 'end') => h.provider.calls.find((c) => c.logicalId === id && c.phase === phase && c.op !== 'delete')?.seq;
      for (const [n, d] of g.edges()) {
        const started = seq(n, 'start');
        const ended = seq(d, 'end');
        if (started !== undefined && ended !== undefined) expect(ended, `${n} waits for ${d}`).toBeLessThan(started);
      }
      const lastForward = Math.max(-1, ...h.provider.calls.filter((c) => c.op !== 'delete').map((c) => c.seq));
      for (const c of h.provider.calls.filter((x) => x.op === 'delete')) expect(c.seq).toBeGreaterThan(lastForward);
      // What is deleted (a dropped resource, the old copy of a replaced one) was made by t1: a delete
      // starts only after the deletes of everything that depended on it there have ended.
      const deleteSeq = (id: string, phase: 'start' | 'end') => h.provider.calls.find((c) => c.logicalId === id && c.phase === phase && c.op === 'delete')?.seq;
      for (const [dependent, on] of Object.entries(dependencies(t1 as Template)))
        for (const d of on) {
          const ended = deleteSeq(dependent, 'end');
          const started = deleteSeq(d, 'start');
          if (ended === undefined || started === undefined) continue;
          deletePairs++;
          expect(ended, `the delete of ${d} waits for the delete of ${dependent}, which depended on it`).toBeLessThan(started);
        }

      // and planning again plans no change
      expect((await h.plan(t2)).plan.changes).toBe(false);
      h.cleanup();
    }),
    { numRuns: 60 },
  );
  expect(deletePairs).toBeGreaterThan(0);
}, 180_000);
