// Saved plans (`kiln plan --out`, `kiln deploy PLAN`): exactly the reviewed steps run, or the plan is
// refused as stale with what changed; NoEcho values are sealed in the file. And during any deploy,
// reality that needs another step than the plan says stops the resource and rolls the stack back.
import { afterEach, describe, expect, test } from 'vitest';
import { harness, fake } from './harness.js';
import { KilnError } from '../../src/core/errors.js';
import { parsePlanDocument, type PlanDocument } from '../../src/deploy/planfile.js';
import { Engine } from '../../src/exec/engine.js';
import { resolveRuntime } from '../../src/stack/runtime.js';
import { SqliteStackStore } from '../../src/state/stacks.js';
import { openState } from '../../src/state/db.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let h: ReturnType<typeof harness>;
afterEach(() => h?.cleanup());

const v1 = { Resources: { A: fake({ Value: 'one' }), B: fake({ Value: { Ref: 'A' } }) } };
const v2 = { Resources: { A: fake({ Value: 'two' }), B: fake({ Value: { Ref: 'A' } }), C: fake({ Value: 'new' }) } };
const v3 = { Resources: { A: fake({ Value: 'three' }), B: fake({ Value: { Ref: 'A' } }) } };

/** The plan document `kiln plan --out` would write, through a JSON round trip as a file would. */
async function savedPlan(template: object, params?: Record<string, string>): Promise<PlanDocument> {
  const r = await h.planDoc(template, params);
  return parsePlanDocument(JSON.stringify(r.document), 'plan.json');
}

async function refusal(p: Promise<unknown>): Promise<KilnError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(KilnError.is(e), `expected a refusal, got ${String(e)}`).toBe(true);
  return e as KilnError;
}

describe('a saved plan', () => {
  test('deploys exactly its steps, even when the template file changed since', async () => {
    h = harness();
    await h.deploy(v1);
    const doc = await savedPlan(v2);
    expect(doc.steps.map((s) => `${s.kind} ${s.id}`)).toEqual(['update A', 'create C', 'noop B']);
    h.provider.calls.length = 0;
    const r = await h.deploy(v3, { saved: doc });
    expect(r.outcome).toBe('complete');
    expect(h.provider.calls.filter((c) => c.phase === 'end').map((c) => `${c.op} ${c.logicalId}`)).toEqual(['update A', 'create C']);
    expect(h.live('A')!.properties.Value).toBe('two');
    expect(h.store.deployment(r.deployment!)!.template).toBe(doc.template.text);
  });

  test('is refused as stale after another deploy, saying which, and nothing changes', async () => {
    h = harness();
    await h.deploy(v1);
    const doc = await savedPlan(v2);
    const other = await h.deploy(v3);
    const calls = h.provider.calls.length;
    const e = await refusal(h.deploy(v2, { saved: doc }));
    expect(e.code).toBe('PLAN_STALE');
    expect(e.message).toContain(`deployment ${other.deployment} (deploy, COMPLETE) ran after the plan was made`);
    expect(e.message).toMatch(/Plan again/);
    expect(h.provider.calls.length).toBe(calls);
    expect(h.live('A')!.properties.Value).toBe('three');
  });

  test('is refused as stale after a deploy that was rolled back', async () => {
    h = harness();
    await h.deploy(v1);
    const doc = await savedPlan(v2);
    const failed = await h.deploy({ Resources: { ...v1.Resources, Bad: fake({ Fail: 'create' }) } });
    expect(failed.finalStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    const e = await refusal(h.deploy(v2, { saved: doc }));
    expect(e.message).toContain(`deployment ${failed.deployment} (deploy, ROLLED_BACK) ran after the plan was made`);
  });

  test('is refused as stale when a resource was deleted by hand', async () => {
    h = harness();
    await h.deploy(v1);
    const doc = await savedPlan(v2);
    const a = h.live('A')!.physicalId;
    h.provider.tamper(a, { remove: true });
    const e = await refusal(h.deploy(v2, { saved: doc }));
    expect(e.message).toContain(`A (${a}) no longer exists: it was deleted outside kiln`);
    expect(h.provider.calls.filter((c) => (c.op === 'update' || c.op === 'create') && c.phase === 'end').length).toBe(2); // the first deploy's only
  });

  test('is refused as stale when a resource was changed by hand', async () => {
    h = harness();
    await h.deploy(v1);
    const doc = await savedPlan(v2);
    const b = h.live('B')!.physicalId;
    h.provider.tamper(b, { properties: { Value: 'by hand' } });
    const e = await refusal(h.deploy(v2, { saved: doc }));
    expect(e.message).toContain(`B (${b}) was changed outside kiln (Value differ from what was deployed)`);
  });

  test('for another stack is refused', async () => {
    h = harness();
    const doc = await savedPlan(v1);
    const e = await refusal(h.deploy(v1, { stack: 'other', saved: doc }));
    expect(e.message).toBe('the plan is for stack demo, not other');
  });

  test('keeps a NoEcho parameter sealed: the secret is not readable in the file, and the deploy uses it', async () => {
    h = harness();
    const t = { Parameters: { Secret: { Type: 'String', NoEcho: true } }, Resources: { A: fake({ Value: { 'Fn::Sub': 'pw=${Secret}' } }) } };
    const r = await h.planDoc(t, { Secret: 'hunter2-sealed' });
    const text = JSON.stringify(r.document);
    expect(text).not.toContain('hunter2');
    expect(Buffer.from(text).toString('base64')).not.toContain(Buffer.from('hunter2-sealed').toString('base64'));
    expect(r.document!.given.Secret).toEqual({ sealed: expect.stringMatching(/^v1\./) });
    expect(r.document!.parameters.Secret).toBe('****');
    const out = await h.deploy(t, { saved: parsePlanDocument(text, 'plan.json') });
    expect(out.finalStatus).toBe('CREATE_COMPLETE');
    expect(h.provider.all()[0]!.properties.Value).toBe('pw=hunter2-sealed');
  });

  test('sealed by another state directory cannot be opened', async () => {
    h = harness();
    const t = { Parameters: { Secret: { Type: 'String', NoEcho: true } }, Resources: { A: fake({ Value: { Ref: 'Secret' } }) } };
    const doc = await savedPlan(t, { Secret: 's3cret' });
    const dir = mkdtempSync(join(tmpdir(), 'kiln-other-'));
    try {
      const other = new SqliteStackStore(openState(dir));
      const e = await refusal(h.deploy(t, { store: other, saved: doc }));
      expect(e.message).toMatch(/NoEcho parameter Secret of this plan cannot be opened/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('that changes nothing deploys as no change', async () => {
    h = harness();
    await h.deploy(v1);
    const doc = await savedPlan(v1);
    const r = await h.deploy(v1, { saved: doc });
    expect(r.outcome).toBe('no-changes');
  });
});

describe('reality differs from the plan', () => {
  test('a planned update the provider cannot make in place stops the resource, names both steps, and rolls back', async () => {
    h = harness();
    await h.deploy(v1);
    const before = h.live('A')!.physicalId;
    h.provider.requireReplacement('A');
    h.log.events.length = 0;
    const r = await h.deploy({ Resources: { A: fake({ Value: 'two' }), B: fake({ Value: { Ref: 'A' } }) } });
    expect(r.plan.steps.find((s) => s.id === 'A')).toMatchObject({ kind: 'update' });
    expect(r.finalStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(r.reason).toMatch(/^A: planned update, but the provider cannot update it in place .*, which needs a replacement: kiln runs only the plan that was reviewed/);
    expect(h.log.events.filter((e) => e.kind === 'deviation')).toEqual([
      { kind: 'deviation', logicalId: 'A', planned: 'update', needed: 'replace', reason: expect.stringMatching(/cannot update it in place/) },
    ]);
    // no replacement was made behind the plan's back
    expect(h.provider.calls.filter((c) => c.op === 'create' && c.phase === 'end').map((c) => c.logicalId)).toEqual(['A', 'B']);
    expect(h.live('A')!.physicalId).toBe(before);
  });

  test('a resource that vanished is not recreated behind the plan: the update stops and the stack rolls back', async () => {
    h = harness();
    await h.deploy(v1);
    h.provider.tamper(h.live('A')!.physicalId, { remove: true });
    const r = await h.deploy({ Resources: { A: fake({ Value: 'two' }), B: fake({ Value: { Ref: 'A' } }) } });
    expect(r.finalStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(r.reason).toMatch(/^A: planned update, but .* no longer exists .*, which needs a new resource \(create\)/);
    expect(h.statuses((e) => e.logicalId === 'A')).toContain('A UPDATE_FAILED');
    // state forgets what is gone, so the next plan says what is true
    expect(h.live('A')).toBeUndefined();
    const next = await h.plan({ Resources: { A: fake({ Value: 'two' }), B: fake({ Value: { Ref: 'A' } }) } });
    expect(next.plan.steps.find((s) => s.id === 'A')).toMatchObject({ kind: 'create' });
  });

  test('a planned update whose real values need a replacement stops before the provider is called', async () => {
    h = harness();
    await h.deploy(v1);
    // GIVEN the plan for a change of Value (an update in place)…
    const planned = (await h.plan({ Resources: { A: fake({ Value: 'two' }), B: fake({ Value: { Ref: 'A' } }) } })).plan;
    expect(planned.steps[0]).toMatchObject({ kind: 'update', id: 'A' });
    // …WHEN the values at run time change the create-only Name instead
    const desired = {
      resources: {
        A: { logicalId: 'A', type: 'Test::Fake::Resource', properties: { Value: 'two', Name: 'renamed' }, dependsOn: [], deletionPolicy: 'Delete' as const, updateReplacePolicy: 'Delete' as const },
        B: { logicalId: 'B', type: 'Test::Fake::Resource', properties: { Value: { Ref: 'A' } }, dependsOn: ['A'], deletionPolicy: 'Delete' as const, updateReplacePolicy: 'Delete' as const },
      },
      outputs: {},
    };
    const deployment = 'd-test-deviation';
    h.store.beginDeployment({ id: deployment, stack: 'demo', kind: 'deploy', templateHash: null, template: null, parameters: {}, outputs: {}, prior: h.store.resources('demo'), images: {} });
    const engine = new Engine({
      store: h.store,
      provider: h.provider,
      stack: 'demo',
      deployment,
      events: h.log,
      resolve: (v, l) => resolveRuntime(v, { ref: (id) => l.ref(id) ?? '', getAtt: (id, a) => l.getAtt(id, a) ?? '' }),
      replacement: () => undefined,
    });
    h.provider.calls.length = 0;
    const out = await engine.deploy(desired, planned, { rollback: true });
    // THEN A stops with both steps named, nothing is created or updated, and the stack rolls back
    expect(out.status).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(out.reason).toMatch(/^A: planned update, but with the real values Name changes, which needs a replacement/);
    expect(h.provider.calls.filter((c) => c.op !== 'read')).toEqual([]);
  });

  test('a conditional step takes its lesser branch when the value known after apply did not change', async () => {
    h = harness();
    // GIVEN B's create-only Name follows an attribute of A that an update of A leaves as it is
    const t = (v: string) => ({ Resources: { A: fake({ Value: v, Label: 'same' }), B: fake({ Name: { 'Fn::GetAtt': ['A', 'Label'] } }) } });
    await h.deploy(t('one'));
    const r = await h.deploy(t('two'));
    const b = r.plan.steps.find((s) => s.id === 'B')!;
    expect(b).toMatchObject({ kind: 'replace', conditional: { on: ['Name'], otherwise: 'noop' } });
    expect(r.finalStatus).toBe('UPDATE_COMPLETE');
    // THEN B was neither replaced nor updated
    expect(h.provider.calls.filter((c) => c.logicalId === 'B' && c.phase === 'end').map((c) => c.op)).toEqual(['create']);
  });
});
