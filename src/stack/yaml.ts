// CloudFormation YAML: parsed with the npm `yaml` package (v2), turned into plain JSON-like data
// with the position of every node, the way src/core/json.ts does for JSON.
//
// Decisions (CloudFormation reads YAML 1.1, as PyYAML — cfn-lint — and SnakeYAML do):
// - Plain scalars resolve as PyYAML's implicit resolvers do: booleans are exactly
//   yes/Yes/YES/no/No/NO/true/True/TRUE/false/False/FALSE/on/On/ON/off/Off/OFF (not y/n);
//   integers are decimal, 0b binary, 0-prefixed octal (`010` is 8), 0x hex and sexagesimal
//   (`1:30` is 90); a leading zero that is not octal (`0123456789`, an account id) stays a string;
//   floats need a dot (`1e3` stays a string); `~`, `null`, `Null`, `NULL` and empty are null.
// - Dates (`2010-09-09`) stay strings: CloudFormation has no timestamp type.
// - Anchors/aliases and merge keys (`<<`) are errors; so are `!!binary`, `!!omap`, `!!pairs`,
//   `!!set`, `!!timestamp` and any unknown tag (yaml only warns: promoted to errors here).
// - Mapping keys must be scalars. A scalar key is taken as written (`1: x` has the key "1",
//   `yes: x` the key "yes"); a null, sequence or mapping key is an error.
// - Duplicate keys are errors; more than one document is an error.
// - Nesting deeper than MAX_DEPTH is an error; the parse never recurses without bound. Aliases are
//   never expanded (the walk below reports them instead of calling toJS), so no alias bomb.
import { createRequire } from 'node:module';
import type * as YamlLib from 'yaml';
import type { CollectionTag, Node as YamlNode, Scalar, ScalarTag, Tags } from 'yaml';
import { error, type Diagnostic } from '../core/diagnostics.js';
import { PositionIndex, formatPath, type PathSegment, type SourceDoc } from '../core/source.js';

// The yaml package is loaded on first use (synchronously, its CommonJS build), so that validating a
// JSON template never pays for it.
const requireCjs = createRequire(import.meta.url);
let yamlLib: typeof YamlLib | undefined;
const Y = (): typeof YamlLib => (yamlLib ??= requireCjs('yaml') as typeof YamlLib);

export const MAX_DEPTH = 256;
const MAX_PARSE_DIAGNOSTICS = 20;
const CORE_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'seq', 'map'].map((t) => `tag:yaml.org,2002:${t}`));

/** The CloudFormation short forms and the long-form key each becomes. */
const SHORT_FORMS = [
  'Ref',
  'Condition',
  'GetAtt',
  'Sub',
  'Join',
  'Select',
  'Split',
  'FindInMap',
  'GetAZs',
  'Base64',
  'Cidr',
  'ImportValue',
  'GetStackOutput',
  'If',
  'Equals',
  'And',
  'Or',
  'Not',
  'Transform',
  // Rules-only functions (`intrinsic-function-reference-rules.md` shows their short forms too).
  'Contains',
  'EachMemberEquals',
  'EachMemberIn',
  'RefAll',
  'ValueOf',
  'ValueOfAll',
] as const;

const LONG_FORM = new Map<string, string>(SHORT_FORMS.map((n) => [`!${n}`, n === 'Ref' || n === 'Condition' ? n : `Fn::${n}`]));

// Each short form registered once per node kind (yaml v2 looks tags up per kind). The resolvers
// keep the node as it is: the walk below turns a tagged node into `{ "Fn::X": value }` itself, so
// that the nodes inside keep their positions.
const CFN_TAGS: Array<ScalarTag | CollectionTag> = SHORT_FORMS.flatMap((n): Array<ScalarTag | CollectionTag> => [
  { tag: `!${n}`, resolve: (s: string) => s },
  { tag: `!${n}`, collection: 'seq', resolve: (seq) => seq },
  { tag: `!${n}`, collection: 'map', resolve: (map) => map },
]);

const YAML_BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const YAML_INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const YAML_FLOAT = /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const YAML_NULL = /^(?:~|null|Null|NULL|)$/;

function sexagesimal(body: string): number {
  let n = 0;
  for (const part of body.split(':')) n = n * 60 + Number(part);
  return n;
}

function resolveInt(src: string): number {
  let s = src.replace(/_/g, '');
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s.startsWith('0b')) return sign * parseInt(s.slice(2), 2);
  if (s.startsWith('0x')) return sign * parseInt(s.slice(2), 16);
  if (s.startsWith('0')) return sign * parseInt(s.slice(1), 8);
  if (s.includes(':')) return sign * sexagesimal(s);
  return sign * Number(s);
}

function resolveFloat(src: string): number {
  let s = src.replace(/_/g, '').toLowerCase();
  if (s.endsWith('.nan')) return NaN;
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '.inf') return sign * Infinity;
  if (s.includes(':')) return sign * sexagesimal(s);
  return sign * Number(s);
}

// PyYAML's implicit resolvers, in yaml's terms. `default: true` makes them apply to untagged plain
// scalars; they also serve explicit `!!bool` / `!!int` / `!!float` / `!!null`.
const PY_SCALARS: ScalarTag[] = [
  { tag: 'tag:yaml.org,2002:null', default: true, test: YAML_NULL, resolve: () => new (Y().Scalar)(null) },
  { tag: 'tag:yaml.org,2002:bool', default: true, test: YAML_BOOL, resolve: (s: string) => /^(?:y|Y|t|T|o[nN]|O[nN])/.test(s) },
  { tag: 'tag:yaml.org,2002:float', default: true, test: YAML_FLOAT, resolve: resolveFloat },
  { tag: 'tag:yaml.org,2002:int', default: true, test: YAML_INT, resolve: resolveInt },
];

function customTags(tags: Tags): Tags {
  // Keep the failsafe map/seq/str of the core schema; replace its scalar resolvers with PyYAML's.
  const keep = tags.filter((t) => typeof t === 'object' && (t.tag === 'tag:yaml.org,2002:map' || t.tag === 'tag:yaml.org,2002:seq' || (t.tag === 'tag:yaml.org,2002:str' && !('test' in t && t.test))));
  return [...keep, ...PY_SCALARS, ...CFN_TAGS];
}

class TooDeep extends Error {}

/** Parses CloudFormation YAML into a SourceDoc; problems are diagnostics, never exceptions. */
export function parseYamlSource(text: string, file: string): SourceDoc {
  const positions = new PositionIndex(file, text);
  const diagnostics: Diagnostic[] = [];
  const at = (code: string, message: string, offset: number, path: readonly PathSegment[] = []) =>
    diagnostics.push(error(code, message, { path: formatPath(path) || undefined, range: { file, start: positions.pos(Math.max(0, Math.min(offset, text.length))) } }));

  const { parseDocument, LineCounter, isAlias, isMap, isPair, isScalar, isSeq } = Y();
  const lineCounter = new LineCounter();
  let doc;
  try {
    doc = parseDocument(text, {
      customTags,
      schema: 'core',
      merge: false,
      uniqueKeys: false, // duplicates are reported below, with the key and its path
      lineCounter,
      prettyErrors: false,
      strict: true,
      keepSourceTokens: false,
    });
  } catch (e) {
    const deep = e instanceof RangeError;
    at(deep ? 'YAML_TOO_DEEP' : 'YAML_SYNTAX', deep ? `document nested too deeply to read` : `cannot read YAML: ${(e as Error).message}`, 0);
    return { file, text, format: 'yaml', value: undefined, positions, diagnostics };
  }

  // yaml may repeat one problem many times (a deep or broken flow collection): keep distinct ones,
  // and at most MAX_PARSE_DIAGNOSTICS of them.
  const seen = new Set<string>();
  let tooDeep = false;
  const report = (code: string, message: string, offset: number) => {
    if (/call stack/i.test(message)) {
      if (tooDeep) return;
      tooDeep = true;
      code = 'YAML_TOO_DEEP';
      message = 'document nested too deeply to read';
    }
    const k = `${code}\u0000${message}`;
    if (seen.has(k) || seen.size >= MAX_PARSE_DIAGNOSTICS) return;
    seen.add(k);
    at(code, message, offset);
  };
  for (const e of doc.errors) report('YAML_SYNTAX', firstLine(e.message), e.pos[0]);
  // TAG_RESOLVE_FAILED (unknown tag, or a tag on a node kind it does not fit) and the rest: errors.
  for (const w of doc.warnings) report(w.code === 'TAG_RESOLVE_FAILED' ? 'YAML_UNKNOWN_TAG' : 'YAML_SYNTAX', firstLine(w.message), w.pos[0]);
  if (tooDeep) return { file, text, format: 'yaml', value: undefined, positions, diagnostics };

  const path: PathSegment[] = [];
  const tagStart = (start: number, tag: string): number => {
    // The node's range starts at its value; a diagnostic about `!GetAtt x.y` should point at the tag.
    const i = text.lastIndexOf(tag, start);
    if (i < 0 || !/^\s*$/.test(text.slice(i + tag.length, start))) return start;
    return i;
  };

  const walk = (node: unknown, depth: number): unknown => {
    if (depth > MAX_DEPTH) {
      const r = (node as { range?: number[] } | null)?.range;
      at('YAML_TOO_DEEP', `document nested more than ${MAX_DEPTH} levels deep`, r?.[0] ?? 0, path);
      throw new TooDeep();
    }
    if (node === null || node === undefined) return null;
    const n = node as YamlNode;
    const range = n.range ?? [0, 0, 0];
    const short = n.tag ? LONG_FORM.get(n.tag) : undefined;
    if (short !== undefined && !isAlias(n)) {
      const start = tagStart(range[0], n.tag!);
      positions.set(path, { start, end: range[1], keyStart: positions.span(path)?.keyStart });
      path.push(short);
      let inner: unknown;
      if (short === 'Fn::GetAtt' && isScalar(n)) {
        inner = getAttScalar(n, range);
      } else {
        inner = plain(n, depth, range, true);
      }
      path.pop();
      return { [short]: inner };
    }
    // Map members and sequence items had their span set by the collection; only the root has not.
    return plain(n, depth, range, path.length === 0);
  };

  const getAttScalar = (n: Scalar, range: [number, number, number]): unknown => {
    positions.set(path, { start: range[0], end: range[1] });
    const s = typeof n.value === 'string' ? n.value : String(n.value);
    const dot = s.indexOf('.');
    if (dot < 0) {
      path.push(0);
      positions.set(path, { start: range[0], end: range[1] });
      path.pop();
      return [s];
    }
    const plainText = n.type === 'PLAIN' || n.type === undefined;
    const cut = plainText ? range[0] + dot : range[0];
    path.push(0);
    positions.set(path, { start: range[0], end: plainText ? cut : range[1] });
    path[path.length - 1] = 1;
    positions.set(path, { start: plainText ? cut + 1 : range[0], end: range[1] });
    path.pop();
    return [s.slice(0, dot), s.slice(dot + 1)];
  };

  const plain = (n: YamlNode, depth: number, range: [number, number, number], own: boolean): unknown => {
    if (own) positions.set(path, { start: range[0], end: range[1] });
    if (isAlias(n)) {
      at('YAML_ALIAS', `aliases (*${n.source}) are not supported by CloudFormation; write the value out`, range[0], path);
      return null;
    }
    if (n.tag && !LONG_FORM.has(n.tag) && !CORE_TAGS.has(n.tag)) {
      if (n.tag.startsWith('tag:yaml.org,2002:')) {
        at('YAML_UNKNOWN_TAG', `the !!${n.tag.slice(18)} tag is not supported by CloudFormation`, range[0], path);
      }
      if (isScalar(n)) return typeof n.value === 'string' ? n.value : null;
    }
    if (isScalar(n)) {
      if (n.anchor) at('YAML_ANCHOR', `anchors (&${n.anchor}) are not supported by CloudFormation`, range[0], path);
      const v = n.value;
      if (typeof v === 'number' && !Number.isFinite(v)) return String(n.source ?? v);
      if (v === undefined) return null;
      if (v !== null && typeof v === 'object') return null; // a tag that resolved to something odd
      return v;
    }
    if (n.anchor) at('YAML_ANCHOR', `anchors (&${n.anchor}) are not supported by CloudFormation`, range[0], path);
    if (isSeq(n)) {
      const out: unknown[] = [];
      for (let i = 0; i < n.items.length; i++) {
        path.push(i);
        const item = n.items[i] as YamlNode | null;
        if (item && item.range) positions.set(path, { start: item.range[0], end: item.range[1] });
        if (isPair(item)) {
          at('YAML_SYNTAX', 'a key/value pair inside a sequence is not supported here; use a mapping', (item.key as YamlNode | null)?.range?.[0] ?? range[0], path);
          out.push(null);
        } else out.push(walk(item, depth + 1));
        path.pop();
      }
      return out;
    }
    if (isMap(n)) {
      const out: Record<string, unknown> = {};
      for (const pair of n.items) {
        const keyNode = pair.key as YamlNode | null;
        const keyOffset = keyNode?.range?.[0] ?? range[0];
        let key: string | undefined;
        if (isScalar(keyNode)) {
          if (keyNode.tag && LONG_FORM.has(keyNode.tag)) key = undefined;
          else if (keyNode.value === null || keyNode.value === undefined) key = undefined;
          else key = typeof keyNode.value === 'string' ? keyNode.value : String(keyNode.source ?? keyNode.value);
          if (keyNode.anchor) at('YAML_ANCHOR', `anchors (&${keyNode.anchor}) are not supported by CloudFormation`, keyOffset, path);
        } else if (isAlias(keyNode)) {
          at('YAML_ALIAS', `aliases (*${keyNode.source}) are not supported by CloudFormation`, keyOffset, path);
          continue;
        }
        if (key === undefined) {
          at('YAML_KEY', 'mapping keys must be strings (a null, tagged, sequence or mapping key is not allowed)', keyOffset, path);
          continue;
        }
        if (key === '<<' && isScalar(keyNode) && keyNode.type === 'PLAIN') {
          at('YAML_MERGE_KEY', 'merge keys (<<) are not supported by CloudFormation; write the keys out', keyOffset, path);
          continue;
        }
        if (Object.prototype.hasOwnProperty.call(out, key)) {
          at('DUPLICATE_KEY', `duplicate key "${key}"`, keyOffset, [...path, key]);
          continue;
        }
        path.push(key);
        const valueNode = pair.value as YamlNode | null;
        const vr = valueNode?.range;
        positions.set(path, { start: vr ? vr[0] : (keyNode?.range?.[1] ?? keyOffset), end: vr ? vr[1] : (keyNode?.range?.[1] ?? keyOffset), keyStart: keyOffset });
        const v = walk(valueNode, depth + 1);
        path.pop();
        if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
        else out[key] = v;
      }
      return out;
    }
    return null;
  };

  let value: unknown;
  try {
    value = walk(doc.contents, 0);
    if (doc.contents === null) {
      positions.set([], { start: 0, end: text.length });
      value = null;
    }
  } catch (e) {
    if (e instanceof TooDeep) value = undefined;
    else if (e instanceof RangeError) {
      at('YAML_TOO_DEEP', 'document nested too deeply to read', 0);
      value = undefined;
    } else throw e;
  }
  if (diagnostics.some((d) => d.code === 'YAML_SYNTAX' || d.code === 'YAML_TOO_DEEP') && value === undefined) value = undefined;
  return { file, text, format: 'yaml', value, positions, diagnostics };
}

function firstLine(message: string): string {
  const nl = message.indexOf(' at line ');
  const s = nl > 0 ? message.slice(0, nl) : message.split('\n')[0]!;
  return s.trim();
}
