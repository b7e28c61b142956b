// Every reference a template value makes, with the path where it is written: `Ref`, `Fn::GetAtt`
// (list and dotted-string forms), `Fn::Sub` variables (`${X}`, `${X.Attr}`, never `${!X}`, and not
// names its own variable map defines), `DependsOn`, and condition names (`{Condition: X}`, the first
// argument of `Fn::If`). Pure functions over plain data; the graph and the validator build on them.
import { graphCycles } from '../core/dag.js';
import type { Path, PathSegment } from '../core/source.js';
import { PSEUDO_PARAMETERS as PSEUDO_PARAMETER_LIST, parseSub } from './intrinsics.js';

export type ReferenceKind = 'Ref' | 'GetAtt' | 'Sub' | 'DependsOn' | 'Condition' | 'If';

export interface Reference {
  kind: ReferenceKind;
  /** Logical id, parameter, pseudo parameter (`AWS::Region`) or condition name. */
  target: string;
  /** For GetAtt and `${X.Attr}`: the attribute (`RedisEndpoint.Address`); undefined when computed. */
  attribute?: string;
  /** Path of the node that names the target (for GetAtt: the logical id element when it exists). */
  path: PathSegment[];
}

/** The pseudo parameters (`AWS::Region`, …) as a set; the list lives in intrinsics.ts. */
export const PSEUDO_PARAMETERS: ReadonlySet<string> = new Set<string>(PSEUDO_PARAMETER_LIST);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One `${...}` of a Sub string: the text inside the braces and its offset in the string. */
interface SubVariable {
  name: string;
  offset: number;
}

/** The variables of a `Fn::Sub` string, in order; `${!Literal}` is text, not a variable. */
export function subVariables(s: string): SubVariable[] {
  // One reading of Sub strings for validation and evaluation alike (intrinsics.ts parseSub).
  return parseSub(s).flatMap((p) => ('name' in p ? [{ name: p.name, offset: p.offset ?? 0 }] : []));
}

/** Splits `Res.Attr.With.Dots` at the first dot, as CloudFormation does. */
function splitDotted(s: string): [string, string | undefined] {
  const dot = s.indexOf('.');
  return dot < 0 ? [s, undefined] : [s.slice(0, dot), s.slice(dot + 1)];
}

/** A path shared between siblings while walking (materialised only where a reference is found). */
interface Trail {
  seg: PathSegment;
  up: Trail | undefined;
}

function materialise(base: readonly PathSegment[], t: Trail | undefined, ...more: PathSegment[]): PathSegment[] {
  const segs: PathSegment[] = [];
  for (let n = t; n; n = n.up) segs.push(n.seg);
  segs.reverse();
  return [...base, ...segs, ...more];
}

/**
 * Every reference inside `value`, which sits at `path` in the template. Walks the whole value
 * iteratively (no recursion, linear in its size) and appends to `out`.
 */
export function collectReferences(value: unknown, path: Path = [], out: Reference[] = []): Reference[] {
  const stack: Array<{ v: unknown; t: Trail | undefined }> = [{ v: value, t: undefined }];
  const at = (t: Trail | undefined, ...more: PathSegment[]) => materialise(path, t, ...more);
  const child = (t: Trail | undefined, seg: PathSegment): Trail => ({ seg, up: t });
  while (stack.length) {
    const { v, t } = stack.pop()!;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], t: child(t, i) });
      continue;
    }
    if (!isObject(v)) continue;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const k = keys[0]!;
      const arg = v[k];
      if (k === 'Ref') {
        if (typeof arg === 'string') out.push({ kind: 'Ref', target: arg, path: at(t, 'Ref') });
        else stack.push({ v: arg, t: child(t, 'Ref') }); // LanguageExtensions allows nested functions
        continue;
      }
      if (k === 'Condition' && typeof arg === 'string') {
        out.push({ kind: 'Condition', target: arg, path: at(t, 'Condition') });
        continue;
      }
      if (k === 'Fn::GetAtt') {
        const ft = child(t, 'Fn::GetAtt');
        if (typeof arg === 'string') {
          const [target, attribute] = splitDotted(arg);
          out.push({ kind: 'GetAtt', target, attribute, path: at(ft) });
        } else if (Array.isArray(arg) && typeof arg[0] === 'string') {
          const attribute = typeof arg[1] === 'string' ? arg[1] : undefined;
          out.push({ kind: 'GetAtt', target: arg[0], attribute, path: at(ft, 0) });
          for (let i = arg.length - 1; i >= 1; i--) if (typeof arg[i] !== 'string') stack.push({ v: arg[i], t: child(ft, i) });
        } else stack.push({ v: arg, t: ft });
        continue;
      }
      if (k === 'Fn::Sub') {
        const ft = child(t, 'Fn::Sub');
        let template: unknown = arg;
        let shadow: Record<string, unknown> | undefined;
        let tt = ft;
        if (Array.isArray(arg)) {
          template = arg[0];
          tt = child(ft, 0);
          if (isObject(arg[1])) shadow = arg[1];
          for (let i = arg.length - 1; i >= 1; i--) stack.push({ v: arg[i], t: child(ft, i) });
        }
        if (typeof template === 'string') {
          const vars = subVariables(template);
          const where = vars.length ? at(tt) : [];
          for (const sv of vars) {
            if (shadow && Object.prototype.hasOwnProperty.call(shadow, sv.name)) continue;
            const [target, attribute] = sv.name.includes('::') ? [sv.name, undefined] : splitDotted(sv.name);
            out.push({ kind: 'Sub', target, attribute, path: where });
          }
        } else stack.push({ v: template, t: tt });
        continue;
      }
      if (k === 'Fn::If' && Array.isArray(arg)) {
        const ft = child(t, 'Fn::If');
        if (typeof arg[0] === 'string') out.push({ kind: 'If', target: arg[0], path: at(ft, 0) });
        for (let i = arg.length - 1; i >= 1; i--) stack.push({ v: arg[i], t: child(ft, i) });
        continue;
      }
    }
    for (let i = keys.length - 1; i >= 0; i--) stack.push({ v: v[keys[i]!], t: child(t, keys[i]!) });
  }
  return out;
}

/** The names in a resource's `DependsOn` (string or list), with their paths. */
export function dependsOnReferences(resource: unknown, path: Path): Reference[] {
  if (!isObject(resource)) return [];
  const d = resource.DependsOn;
  const at = [...path, 'DependsOn'];
  if (typeof d === 'string') return [{ kind: 'DependsOn', target: d, path: at }];
  if (Array.isArray(d)) {
    const out: Reference[] = [];
    d.forEach((x, i) => {
      if (typeof x === 'string') out.push({ kind: 'DependsOn', target: x, path: [...at, i] });
    });
    return out;
  }
  return [];
}

/** Every reference made by one resource: its DependsOn and all it contains (Properties, Metadata…). */
function resourceReferences(logicalId: string, resource: unknown): Reference[] {
  const path: PathSegment[] = ['Resources', logicalId];
  const out = dependsOnReferences(resource, path);
  if (!isObject(resource)) return out;
  for (const key of Object.keys(resource)) {
    if (key === 'DependsOn' || key === 'Condition' || key === 'Type') continue;
    collectReferences(resource[key], [...path, key], out);
  }
  return out;
}

export interface Dependency {
  /** The resource depended on. */
  on: string;
  via: ReferenceKind;
  path: PathSegment[];
}

/**
 * For each resource of a template, the resources it depends on (Ref, GetAtt, Sub, DependsOn), in
 * the order written; references to parameters, pseudo parameters and unknown names are left out.
 */
export function resourceDependencies(template: unknown): Map<string, Dependency[]> {
  const deps = new Map<string, Dependency[]>();
  const resources = isObject(template) && isObject(template.Resources) ? template.Resources : {};
  for (const id of Object.keys(resources)) {
    const list: Dependency[] = [];
    for (const r of resourceReferences(id, resources[id])) {
      if (r.kind === 'Condition' || r.kind === 'If') continue;
      if (!Object.prototype.hasOwnProperty.call(resources, r.target)) continue;
      list.push({ on: r.target, via: r.kind, path: r.path });
    }
    deps.set(id, list);
  }
  return deps;
}

/**
 * Dependency cycles, each as the path that closes it: `['A', 'B', 'C', 'A']`. One cycle per
 * strongly connected component (a self-reference is `['A', 'A']`); deterministic for a given input.
 */
export function findCycles(graph: ReadonlyMap<string, ReadonlyArray<string | Dependency>>): string[][] {
  const targets = (n: string): string[] => (graph.get(n) ?? []).map((d) => (typeof d === 'string' ? d : d.on)).filter((t) => graph.has(t));
  return graphCycles([...graph.keys()], targets);
}
