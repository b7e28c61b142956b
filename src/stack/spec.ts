// Resource facts from @aws-cdk/aws-service-spec: which types exist, their properties (required,
// replacement behaviour, shape), GetAtt attributes and what Ref returns.
//
// The build (scripts/build-spec.mjs) extracts them into dist/spec/resources.dat: one JSON index line,
// then one JSON chunk per resource type. Loading reads the file once and parses the index (~2 ms);
// each type's chunk is parsed the first time it is asked for. The full spec database (15 MB, ~0.4 s)
// is never loaded at run time.
//
// Public API (small on purpose; other layers such as the planner call it):
//   resourceType(type)          -> ResourceTypeSpec | undefined   (properties, attributes, refIdentifier)
//   hasResourceType(type)       -> boolean
//   resourceTypeNames()         -> string[]  (every known CloudFormation type)
//   replacementProperties(type) -> { always, maybe } | undefined  (top-level property names)
//   attributes(type)            -> string[] | undefined           (GetAtt names, dotted ones included)
//   specSource()                -> "@aws-cdk/aws-service-spec@<version>"
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export type Replacement = 'yes' | 'maybe' | 'no';

export type Shape = { kind: 'string' | 'integer' | 'number' | 'boolean' | 'date-time' | 'json' | 'tag' | 'any' } | { kind: 'array' | 'map'; element: Shape } | ObjectShape;

interface ObjectShape {
  kind: 'object';
  /** Name of the nested property type, e.g. `BlockDeviceMapping`. */
  name: string;
  /** Its properties (decoded on first access; nested types may be recursive). */
  readonly properties: Readonly<Record<string, PropertySpec>>;
}

export interface PropertySpec {
  name: string;
  required: boolean;
  /** `yes`: changing it replaces the resource; `maybe`: it may (e.g. EC2 InstanceType). */
  replacement: Replacement;
  shape: Shape;
}

interface ResourceTypeSpec {
  type: string;
  properties: Readonly<Record<string, PropertySpec>>;
  /** GetAtt attribute names, dotted ones included (`RedisEndpoint.Address`). */
  attributes: readonly string[];
  /** The property (or properties) whose value `Ref` returns; empty when the spec does not say. */
  refIdentifier: readonly string[];
}

interface Chunk {
  p: Record<string, string>;
  a: string[];
  i?: string[];
  t?: Array<{ n: string; p: Record<string, string> }>;
}

interface Loaded {
  source: string;
  index: Record<string, [number, number]>;
  body: Buffer;
  bodyStart: number;
  cache: Map<string, ResourceTypeSpec>;
}

let loaded: Loaded | undefined;

/** Where the extracted spec lives: `KILN_SPEC_FILE`, beside the compiled code, or the repo's dist/. */
function specFile(): string {
  const env = process.env.KILN_SPEC_FILE;
  if (env) return env;
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, '..', 'spec', 'resources.dat'), join(here, '..', '..', 'dist', 'spec', 'resources.dat')];
  for (const c of candidates) if (existsSync(c)) return c;
  // Running from sources before any build (a fresh test run): extract it now, once.
  const root = join(here, '..', '..');
  const script = join(root, 'scripts', 'build-spec.mjs');
  if (existsSync(script)) {
    execFileSync(process.execPath, [script], { cwd: root, stdio: 'ignore' });
    for (const c of candidates) if (existsSync(c)) return c;
  }
  throw new Error('resource spec not found: run `npm run build` (it writes dist/spec/resources.dat)');
}

function load(): Loaded {
  if (loaded) return loaded;
  const body = readFileSync(specFile());
  const nl = body.indexOf(10);
  const header = JSON.parse(body.toString('utf8', 0, nl)) as { v: number; source: string; index: Record<string, [number, number]> };
  if (header.v !== 1) throw new Error(`resource spec format ${header.v} is not supported; rebuild kiln`);
  loaded = { source: header.source, index: header.index, body, bodyStart: nl + 1, cache: new Map() };
  return loaded;
}

function decodeProps(raw: Record<string, string>, chunk: Chunk, objects: Map<number, ObjectShape>): Record<string, PropertySpec> {
  const out: Record<string, PropertySpec> = Object.create(null) as Record<string, PropertySpec>;
  for (const name of Object.keys(raw)) {
    const enc = raw[name]!;
    const colon = enc.indexOf(':');
    const flags = enc.slice(0, colon);
    out[name] = {
      name,
      required: flags.includes('r'),
      replacement: flags.includes('y') ? 'yes' : flags.includes('m') ? 'maybe' : 'no',
      shape: decodeShape(enc, colon + 1, chunk, objects),
    };
  }
  return out;
}

function decodeShape(enc: string, at: number, chunk: Chunk, objects: Map<number, ObjectShape>): Shape {
  const c = enc[at];
  switch (c) {
    case 's':
      return { kind: 'string' };
    case 'i':
      return { kind: 'integer' };
    case 'n':
      return { kind: 'number' };
    case 'b':
      return { kind: 'boolean' };
    case 'd':
      return { kind: 'date-time' };
    case 'j':
      return { kind: 'json' };
    case 't':
      return { kind: 'tag' };
    case '[':
      return { kind: 'array', element: decodeShape(enc, at + 1, chunk, objects) };
    case '{':
      return { kind: 'map', element: decodeShape(enc, at + 1, chunk, objects) };
    case '#': {
      const n = Number(enc.slice(at + 1));
      const existing = objects.get(n);
      if (existing) return existing;
      const def = chunk.t?.[n];
      if (!def) return { kind: 'any' };
      let props: Record<string, PropertySpec> | undefined;
      const shape: ObjectShape = {
        kind: 'object',
        name: def.n,
        get properties() {
          props ??= decodeProps(def.p, chunk, objects);
          return props;
        },
      };
      objects.set(n, shape);
      return shape;
    }
    default:
      return { kind: 'any' };
  }
}

/** The facts about one CloudFormation resource type, or undefined when the spec does not know it. */
export function resourceType(type: string): ResourceTypeSpec | undefined {
  const l = load();
  const hit = l.cache.get(type);
  if (hit) return hit;
  if (!Object.prototype.hasOwnProperty.call(l.index, type)) return undefined;
  const [start, end] = l.index[type]!;
  const chunk = JSON.parse(l.body.toString('utf8', l.bodyStart + start, l.bodyStart + end)) as Chunk;
  const spec: ResourceTypeSpec = {
    type,
    properties: decodeProps(chunk.p, chunk, new Map()),
    attributes: chunk.a,
    refIdentifier: chunk.i ?? [],
  };
  l.cache.set(type, spec);
  return spec;
}

export function hasResourceType(type: string): boolean {
  return Object.prototype.hasOwnProperty.call(load().index, type);
}

export function resourceTypeNames(): string[] {
  return Object.keys(load().index);
}

/** Top-level properties whose change replaces the resource (`always`) or may (`maybe`). */
export function replacementProperties(type: string): { always: string[]; maybe: string[] } | undefined {
  const spec = resourceType(type);
  if (!spec) return undefined;
  const always: string[] = [];
  const maybe: string[] = [];
  for (const p of Object.values(spec.properties)) {
    if (p.replacement === 'yes') always.push(p.name);
    else if (p.replacement === 'maybe') maybe.push(p.name);
  }
  return { always, maybe };
}

export function attributes(type: string): readonly string[] | undefined {
  return resourceType(type)?.attributes;
}

export function specSource(): string {
  return load().source;
}
