// kiln's own syntax tree for HCL2 (native syntax and the JSON variant), with a source range on every
// node. The parsers (syntax.ts, json-syntax.ts) produce it; the evaluator (eval.ts) and Packer's
// block semantics (packer.ts) consume it. Plain data.
import type { SourceRange } from '../../core/diagnostics.js';

export type Range = SourceRange & { end: NonNullable<SourceRange['end']> };

export type TemplatePart =
  | { k: 'str'; v: string }
  | { k: 'interp'; e: Expr }
  | { k: 'if'; cond: Expr; then: TemplatePart[]; else: TemplatePart[]; r: Range }
  | { k: 'for'; keyVar?: string; valVar: string; coll: Expr; body: TemplatePart[]; r: Range };

interface ObjectItem {
  /** A bare identifier key (`{ a = 1 }`) is its name; anything else is evaluated. */
  key: Expr;
  value: Expr;
}

export type Expr =
  | { k: 'lit'; v: null | boolean | number | string; r: Range }
  /** A quoted string or heredoc; `"${x}"` (one interpolation, nothing else) yields x unconverted. */
  | { k: 'tmpl'; parts: TemplatePart[]; r: Range }
  | { k: 'var'; name: string; r: Range }
  | { k: 'attr'; obj: Expr; name: string; r: Range }
  | { k: 'index'; obj: Expr; key: Expr; r: Range }
  /** `obj[*].each` / `obj.*.each`: `each` is evaluated with the `anon` expression bound to each element. */
  | { k: 'splat'; obj: Expr; each: Expr; r: Range }
  /** The element inside a splat's `each`. */
  | { k: 'anon'; r: Range }
  | { k: 'call'; name: string; args: Expr[]; expand: boolean; r: Range; nameR: Range }
  | { k: 'tuple'; items: Expr[]; r: Range }
  | { k: 'object'; items: ObjectItem[]; r: Range }
  | { k: 'cond'; c: Expr; t: Expr; f: Expr; r: Range }
  | { k: 'bin'; op: string; a: Expr; b: Expr; r: Range }
  | { k: 'un'; op: string; a: Expr; r: Range }
  | { k: 'for'; keyVar?: string; valVar: string; coll: Expr; keyExpr?: Expr; valExpr: Expr; cond?: Expr; group: boolean; r: Range }
  | { k: 'paren'; e: Expr; r: Range }
  /** `e` evaluated with extra names bound (a `dynamic` block's iterator inside its expanded content). */
  | { k: 'let'; bind: Record<string, unknown>; e: Expr; r: Range };

export interface Attribute {
  name: string;
  expr: Expr;
  /** The whole `name = expr`. */
  r: Range;
  nameR: Range;
}

export interface Block {
  type: string;
  labels: Array<{ v: string; r: Range }>;
  body: Body;
  r: Range;
  typeR: Range;
}

export interface Body {
  attrs: Attribute[];
  blocks: Block[];
  r: Range;
  /** The JSON variant cannot tell attributes from blocks until a schema asks (HCL's JSON rules). */
  json?: boolean;
}

/** The name a bare `{ a = 1 }` key or `foo` traversal root spells, if the expression is just that. */
export function bareName(e: Expr): string | undefined {
  if (e.k === 'var') return e.name;
  if (e.k === 'lit' && typeof e.v === 'string') return e.v;
  if (e.k === 'tmpl' && e.parts.length === 1 && e.parts[0]!.k === 'str') return e.parts[0]!.v;
  if (e.k === 'tmpl' && e.parts.length === 0) return '';
  return undefined;
}

/** `var.x`, `source.docker.web`: the dotted names of a pure traversal, else undefined. */
export function traversalNames(e: Expr): string[] | undefined {
  if (e.k === 'var') return [e.name];
  if (e.k === 'attr') {
    const base = traversalNames(e.obj);
    return base ? [...base, e.name] : undefined;
  }
  return undefined;
}
