// A plugin body (`source "amazon-ebs" "x" { … }`) against the builder's schema (config/*-schema.ts),
// as Packer's HCL2 decoding judges it: unknown names (with HCL's "Did you mean" suggestion), an
// argument written as a block or a block as an argument, a single block given twice, and values
// that do not convert to the argument's type (strict, as cty converts: no list from a lone string).
// Pure: returns the issues with their ranges.
import type { Path } from '../../core/source.js';
import { editDistance } from '../../core/text.js';
import type { ArgKind, Schema } from '../config/amazon-ebs-schema.js';

/** HCL's suggestion for a misspelt name: the closest known one within an edit distance of 2. */
function suggestName(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = editDistance(name, k, bestD);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best;
}
import type { Body, Range } from './ast.js';
import { convert, isObj, isUnknown, type Ty, type Value } from './values.js';

export interface SchemaIssue {
  summary: string;
  detail: string;
  r: Range;
}

const didYouMean = (name: string, schema: Schema): string => {
  const s = suggestName(name, Object.keys(schema));
  return s ? ` Did you mean "${s}"?` : '';
};

function unknownArg(name: string, r: Range, schema: Schema): SchemaIssue {
  return { summary: 'Unsupported argument', detail: `An argument named "${name}" is not expected here.${didYouMean(name, schema)}`, r };
}

/** Names and shapes of a body written in HCL's native syntax (the JSON variant has no blocks to tell apart). */
export function checkBodyShape(body: Body, schema: Schema, skip: readonly string[] = []): SchemaIssue[] {
  const out: SchemaIssue[] = [];
  for (const a of body.attrs) {
    if (skip.includes(a.name)) continue;
    const e = schema[a.name];
    if (e === undefined) out.push(unknownArg(a.name, a.nameR, schema));
    else if (typeof e !== 'string' && !body.json)
      out.push({ summary: 'Unsupported argument', detail: `An argument named "${a.name}" is not expected here. Did you mean to define a block of type "${a.name}"?`, r: a.nameR });
  }
  const singles = new Map<string, Range>();
  for (const b of body.blocks) {
    if (skip.includes(b.type)) continue;
    const dynamic = b.type === 'dynamic';
    const type = dynamic ? b.labels[0]?.v : b.type;
    if (type === undefined) continue; // the dynamic block's own check reports it
    const r = dynamic ? b.labels[0]!.r : b.typeR;
    const e = schema[type];
    if (e === undefined) {
      const s = suggestName(type, Object.keys(schema));
      out.push({ summary: 'Unsupported block type', detail: `Blocks of type "${type}" are not expected here.${s ? ` Did you mean "${s}"?` : ''}`, r });
      continue;
    }
    if (typeof e === 'string') {
      out.push({
        summary: 'Unsupported block type',
        detail: `Blocks of type "${type}" are not expected here. Did you mean to define argument "${type}"? If so, use the equals sign to assign it a value.`,
        r,
      });
      continue;
    }
    if ('block' in e && !dynamic) {
      const prev = singles.get(type);
      if (prev)
        out.push({ summary: `Duplicate ${type} block`, detail: `Only one ${type} block is allowed. Another was defined at ${prev.file}:${prev.start.line},${prev.start.col}-${prev.end.col}.`, r });
      singles.set(type, r);
    }
    const nested = 'block' in e ? e.block : e.blocks;
    const content = dynamic ? b.body.blocks.find((x) => x.type === 'content')?.body : b.body;
    if (content) out.push(...checkBodyShape(content, nested));
  }
  return out;
}

const TY: Record<Exclude<ArgKind, 'bytes'>, Ty> = {
  string: { k: 'string' },
  duration: { k: 'string' },
  bool: { k: 'bool' },
  number: { k: 'number' },
  list: { k: 'list', el: { k: 'string' } },
  map: { k: 'map', el: { k: 'string' } },
};

/**
 * The evaluated body's values against the schema's types. `at` finds a value's range by its path;
 * `unknownNames`: report names the schema lacks inside nested objects too (the JSON variant, whose
 * names the shape check cannot see).
 */
export function checkValues(value: Record<string, Value>, schema: Schema, at: (p: Path) => Range | undefined, unknownNames: boolean, path: Path = []): SchemaIssue[] {
  const out: SchemaIssue[] = [];
  for (const [k, v] of Object.entries(value)) {
    const e = schema[k];
    const here = [...path, k];
    if (e === undefined) {
      const r = at(here);
      if (unknownNames && path.length && r) out.push(unknownArg(k, r, schema));
      continue;
    }
    if (v === null || isUnknown(v)) continue;
    if (typeof e === 'string') {
      if (e === 'bytes') continue;
      try {
        convert(v, TY[e]);
      } catch (err) {
        const r = at(here);
        if (r) out.push({ summary: 'Incorrect attribute value type', detail: `Inappropriate value for attribute "${k}": ${err instanceof Error ? err.message : String(err)}.`, r });
      }
      continue;
    }
    const nested = 'block' in e ? e.block : e.blocks;
    if (isObj(v)) out.push(...checkValues(v, nested, at, unknownNames, here));
    else if (Array.isArray(v) && 'blocks' in e) v.forEach((x, i) => isObj(x) && out.push(...checkValues(x, nested, at, unknownNames, [...here, i])));
    else if (!Array.isArray(v)) {
      const r = at(here);
      if (r) out.push({ summary: 'Incorrect attribute value type', detail: `Inappropriate value for attribute "${k}": object required.`, r });
    }
  }
  return out;
}
