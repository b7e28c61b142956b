// Cross-stack references as CloudFormation keeps them (reference: Fn::ImportValue, Outputs.Export):
//   * an export name belongs to one stack at a time;
//   * an export another stack imports can be neither removed nor changed, and its stack cannot be
//     deleted, until no stack imports it any more;
//   * an import of a name nobody exports fails before anything is created.
// What a deployment imports is recorded with it (the stack's current deployment is what counts), found
// by scanning the evaluated template: neither an export name nor an ImportValue argument may depend
// on a resource, so both resolve before the run.
import { KilnError, errorMessage } from '../core/errors.js';
import { MASK } from '../exec/secrets.js';
import type { Json } from '../stack/model.js';
import type { DesiredStack, RuntimeResolve } from '../stack/plan.js';
import type { DeploymentRecord, StackStore } from '../state/store.js';

const noResources = {
  ref: (id: string): Json => {
    throw new Error(`depends on resource ${id}`);
  },
  getAtt: (id: string): Json => {
    throw new Error(`depends on resource ${id}`);
  },
};

function isObj(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The export names `desired` imports (Fn::ImportValue anywhere in resources and outputs), sorted. */
export function importedNames(desired: DesiredStack, resolve: RuntimeResolve): string[] {
  const names = new Set<string>();
  const stack: unknown[] = [];
  for (const r of Object.values(desired.resources)) stack.push(r.properties, r.policies ?? null);
  for (const o of Object.values(desired.outputs)) stack.push(o.value);
  while (stack.length) {
    const v = stack.pop();
    if (Array.isArray(v)) stack.push(...v);
    else if (isObj(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === 'Fn::ImportValue') {
        try {
          const name = resolve(v['Fn::ImportValue']!, noResources);
          if (typeof name === 'string') names.add(name);
        } catch {
          // Not resolvable before the run: the validator reports it, the run fails on it.
        }
      }
      stack.push(...Object.values(v));
    }
  }
  return [...names].sort();
}

/** Output name → export name of `desired`'s outputs that export (names resolved before the run). */
export function exportedNames(desired: DesiredStack, resolve: RuntimeResolve): Map<string, string> {
  const out = new Map<string, string>();
  for (const [output, o] of Object.entries(desired.outputs)) {
    if (o.exportName === undefined) continue;
    try {
      const name = resolve(o.exportName, noResources);
      if (typeof name === 'string') out.set(output, name);
    } catch (e) {
      throw new KilnError('INVALID_EXPORT', `Outputs.${output}.Export.Name cannot be resolved before the run (it may not depend on a resource): ${errorMessage(e)}`, 'user');
    }
  }
  return out;
}

/**
 * The value an import of export `name` gets. An export built from a NoEcho parameter is stored masked
 * (kiln never keeps the secret), so it cannot be imported: refused, saying why. Exports recorded
 * before the flag existed carry none; for them the masked text is all there is to go by.
 */
export function importedValue(name: string, hit: { value: Json; secret?: boolean }): Json {
  const secret = hit.secret ?? JSON.stringify(hit.value).includes(MASK);
  if (secret)
    throw new Error(`export ${name} holds a value built from a NoEcho parameter, which kiln does not keep: it cannot be imported (give this stack the secret as a NoEcho parameter of its own)`);
  return hit.value;
}

/** The export names of a deployment's outputs. */
export function exportsOf(d: DeploymentRecord | undefined): Map<string, { output: string; value: Json }> {
  const out = new Map<string, { output: string; value: Json }>();
  for (const [output, o] of Object.entries(d?.outputs ?? {})) if (o.exportName !== undefined) out.set(o.exportName, { output, value: o.value });
  return out;
}

/**
 * Refuses a deploy that would break a cross-stack reference, before anything changes: an export name
 * another stack owns, an import of a name nobody exports, an imported export removed. Every problem
 * is listed.
 */
export function checkDeployExports(store: StackStore, stack: string, current: DeploymentRecord | undefined, exporting: ReadonlyMap<string, string>, importing: readonly string[]): void {
  const problems: string[] = [];
  const mine = new Set(exporting.values());
  for (const name of mine) {
    const owner = store.exportedValue(name)?.stack;
    if (owner !== undefined && owner !== stack) problems.push(`Export with name ${name} is already exported by stack ${owner}`);
  }
  for (const name of importing) {
    if (store.exportedValue(name) === undefined) problems.push(`No export named ${name} found`);
  }
  problems.push(
    ...exportsInUse(
      store,
      stack,
      [...exportsOf(current).keys()].filter((n) => !mine.has(n)),
    ),
  );
  if (problems.length) throw new KilnError('EXPORT_IN_USE', problems.join('; '), 'user');
}

/**
 * After the run, before the new outputs count: an imported export whose value changed fails the
 * update (it is then rolled back), as CloudFormation does. Returns the reason, or undefined.
 */
export function changedImportedExports(store: StackStore, stack: string, current: DeploymentRecord | undefined, outputs: DeploymentRecord['outputs']): string | undefined {
  const before = exportsOf(current);
  const problems: string[] = [];
  for (const o of Object.values(outputs)) {
    if (o.exportName === undefined) continue;
    const old = before.get(o.exportName);
    if (!old || JSON.stringify(old.value) === JSON.stringify(o.value)) continue;
    const users = store.importersOf(o.exportName, stack);
    if (users.length) problems.push(`Cannot update export ${o.exportName} as it is in use by ${users.join(', ')}`);
  }
  return problems.length ? problems.join('; ') : undefined;
}

/** What keeps these exports of `stack` from going away: one line per export another stack imports. */
function exportsInUse(store: StackStore, stack: string, names: Iterable<string>): string[] {
  const problems: string[] = [];
  for (const name of names) {
    const users = store.importersOf(name, stack);
    if (users.length) problems.push(`Export ${name} cannot be deleted as it is in use by ${users.join(', ')}`);
  }
  return problems;
}

/** Refuses to delete a stack while another stack imports one of its exports. */
export function checkDestroyExports(store: StackStore, stack: string, current: DeploymentRecord | undefined): void {
  const problems = exportsInUse(store, stack, exportsOf(current).keys());
  if (problems.length) throw new KilnError('EXPORT_IN_USE', `Stack ${stack} cannot be deleted: ${problems.join('; ')}`, 'user');
}
