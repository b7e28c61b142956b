// Deploy-time resolution: the intrinsics that evaluateTemplate left in a ResolvedTemplate (they
// depend on resources) turned into plain values once those resources exist.
//
//   resolveRuntime(value, ctx) -> Json                  throws RuntimeResolveError
//   resolveResourceProperties(resource, ctx) -> JsonObject
//   dependenciesOf(resource) -> string[]                resources a resolved resource waits for
//
// `ctx.ref(id)` / `ctx.getAtt(id, attr)` answer for resources that exist (the executor's state);
// they may throw (e.g. "unknown attribute") and the message is carried in the error with the path.
// The same Evaluator as render time does the work (evaluate.ts), so every function behaves
// identically: Fn::Sub `${R.A}`, Fn::Join over GetAtt lists, Fn::Select bounds, Fn::Cidr of a
// VPC's CidrBlock, … Pure: no I/O.
import { KilnError } from '../core/errors.js';
import { formatPath } from '../core/source.js';
import type { Diagnostic } from '../core/diagnostics.js';
import type { Json, JsonObject, PseudoValues } from './model.js';
import { Evaluator, NO_VALUE, type ResolvedResource, type ResolvedTemplate, type RuntimeHooks } from './evaluator.js';
import { pseudoValues } from './intrinsics.js';
import { collectReferences } from './refs.js';

interface RuntimeContext extends RuntimeHooks {
  /** Pseudo values of the deployment (take them from ResolvedTemplate.pseudo). */
  pseudo?: PseudoValues;
  /** Mappings, should a Fn::FindInMap remain (ResolvedTemplate.mappings). */
  mappings?: JsonObject;
  /** Secret values (NoEcho values and what was built from them) → their parameter: a string that
   * holds one taints what an intrinsic builds from it, and `derived` hears of each such result. */
  secrets?: { values: ReadonlyMap<string, string>; derived(parameter: string, value: string): void };
}

/** A value could not be resolved at deploy time; the executor fails the resource with `message`. */
export class RuntimeResolveError extends KilnError {
  constructor(readonly diagnostics: Diagnostic[]) {
    super('RUNTIME_RESOLVE', diagnostics.map((d) => (d.segments?.length ? `${d.message} (at ${formatPath(d.segments)})` : d.message)).join('; '), 'user');
    this.name = 'RuntimeResolveError';
  }
}

/**
 * Resolves every remaining intrinsic in `value`. `path` prefixes the logical path in messages
 * (e.g. `['Resources', 'Web', 'Properties']`). AWS::NoValue at the top gives `null`.
 */
export function resolveRuntime(value: Json, ctx: RuntimeContext, path: readonly (string | number)[] = []): Json {
  const ev = new Evaluator({
    parameters: {},
    pseudo: ctx.pseudo ?? pseudoValues(),
    mappings: ctx.mappings ?? {},
    mask: false,
    ...(ctx.secrets ? { secretStrings: ctx.secrets.values } : {}),
    hooks: {
      ref: (id) => ctx.ref(id),
      getAtt: (id, a) => ctx.getAtt(id, a),
      ...(ctx.importValue ? { importValue: (n: string) => ctx.importValue!(n) } : {}),
      ...(ctx.getStackOutput ? { getStackOutput: (q: { StackName: string; OutputName: string; Region?: string }) => ctx.getStackOutput!(q) } : {}),
    },
  });
  const out = ev.value(value, [...path]);
  if (ctx.secrets) for (const [v, name] of ev.derived) ctx.secrets.derived(name, v);
  const errors = ev.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new RuntimeResolveError(errors);
  if (out !== NO_VALUE && !ev.known(out)) throw new RuntimeResolveError([{ severity: 'error', code: 'RUNTIME_UNRESOLVED', message: 'a value could not be resolved', segments: [...path] }]);
  return out === NO_VALUE ? null : out;
}

/** The Properties of one resource of a ResolvedTemplate, fully resolved. */
export function resolveResourceProperties(logicalId: string, resource: ResolvedResource, ctx: RuntimeContext): JsonObject {
  return resolveRuntime(resource.Properties, ctx, ['Resources', logicalId, 'Properties']) as JsonObject;
}

/** The outputs of a ResolvedTemplate, resolved once every resource exists. */
export function resolveOutputs(t: ResolvedTemplate, ctx: RuntimeContext): Record<string, { value: Json; exportName?: Json; description?: string }> {
  // A template evaluated for printing holds `****` instead of NoEcho values: never deploy from it.
  if (t.masked) throw new KilnError('MASKED_TEMPLATE', 'resolveOutputs: this ResolvedTemplate was evaluated with maskNoEcho (for printing); evaluate again without it to deploy', 'internal');
  const out: Record<string, { value: Json; exportName?: Json; description?: string }> = {};
  for (const [name, o] of Object.entries(t.Outputs)) {
    out[name] = {
      value: resolveRuntime(o.Value, ctx, ['Outputs', name, 'Value']),
      ...(o.Export ? { exportName: resolveRuntime(o.Export.Name, ctx, ['Outputs', name, 'Export', 'Name']) } : {}),
      ...(o.Description !== undefined ? { description: o.Description } : {}),
    };
  }
  return out;
}

/**
 * The logical ids a resolved resource waits for: its DependsOn plus every resource named by a Ref,
 * Fn::GetAtt or Fn::Sub left in its Properties, Metadata, CreationPolicy and UpdatePolicy (sorted,
 * without itself). `known` limits the result to those ids (pass the template's resource ids so a
 * Sub variable name is not mistaken for a resource).
 */
export function dependenciesOf(resource: ResolvedResource, known?: ReadonlySet<string>, self?: string): string[] {
  const ids = new Set<string>(resource.DependsOn);
  for (const part of [resource.Properties, resource.Metadata, resource.CreationPolicy, resource.UpdatePolicy]) {
    if (part !== undefined) for (const r of collectReferences(part)) if (r.kind !== 'Condition' && r.kind !== 'If') ids.add(r.target);
  }
  if (self !== undefined) ids.delete(self);
  return [...ids].filter((id) => !known || known.has(id)).sort();
}
