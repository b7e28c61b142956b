// kiln parses HCL's native syntax itself (src/image/hcl/syntax.ts); this test holds it to HashiCorp's
// own parser (the HCL Go library compiled to WebAssembly, `@cdktn/hcl2json`) on every HCL file of
// Packer's corpus and the seed's template:
// - a file HashiCorp's parser accepts gives the same structure in kiln: the same blocks (types,
//   labels, order), the same attributes, and every value as hcl2json renders it (literals decoded,
//   strings with escapes, heredocs and strip markers applied, other expressions as their source
//   text), nested templates included;
// - every expression has the same tree as HashiCorp's expression AST (node kinds, operators,
//   precedence, traversals, splats, for expressions, template directives), read by HashiCorp's
//   parser from exactly the source text kiln's range gives;
// - a file HashiCorp's parser rejects is rejected by kiln's at the line of one of HashiCorp's errors
//   (kiln stops at its first; HCL recovers and may report several), and the same holds for broken
//   variants of every file.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parseHclNative } from '../../src/image/hcl/syntax.js';
import type { Body, Expr, TemplatePart } from '../../src/image/hcl/ast.js';
import { shared } from '../shared.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CORPUS = shared('corpus', 'packer-hcl2', 'fixtures');

interface HclNode {
  type: string;
  children: HclNode[];
  meta?: Record<string, unknown> & { traversal?: Array<{ type: string; segment: string }> };
  range?: { start: { byte: number }; end: { byte: number } };
}
interface Hcl2Json {
  parse(file: string, text: string): Promise<Record<string, unknown>>;
  getExpressionAst(file: string, text: string): Promise<HclNode | null>;
}
const hcl = createRequire(import.meta.url)('@cdktn/hcl2json') as Hcl2Json;

function hclFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...hclFiles(p));
    else if (name.endsWith('.hcl')) out.push(p);
  }
  return out;
}

const FILES = [...hclFiles(CORPUS), join(ROOT, 'examples', 'seed', 'image.pkr.hcl')];

// ---------------------------------------------------------------------------------------------
// kiln's tree rendered as hcl2json renders HashiCorp's (its convert rules: literals and literal
// unary operations become values, tuples and objects recurse, templates become text with each
// interpolation as `${source}`, `"${x}"` is x's rendering, anything else is `${source}`).
// ---------------------------------------------------------------------------------------------

function source(text: string, e: { r: { start: { offset: number }; end: { offset: number } } }): string {
  // hcl2json takes a `)` right after an expression's range into its source text.
  const end = text[e.r.end.offset] === ')' ? e.r.end.offset + 1 : e.r.end.offset;
  return text.slice(e.r.start.offset, end);
}

function isStringLiteral(e: Expr): boolean {
  return e.k === 'tmpl' && e.parts.every((p) => p.k === 'str');
}

function render(text: string, e: Expr): unknown {
  switch (e.k) {
    case 'lit':
      return e.v;
    case 'un':
      if (e.a.k === 'lit') return e.op === '-' ? -(e.a.v as number) : !(e.a.v as boolean);
      return `\${${source(text, e)}}`;
    case 'tmpl':
      if (e.parts.length === 1 && e.parts[0]!.k === 'interp' && !text.startsWith('<<', e.r.start.offset)) return render(text, e.parts[0].e);
      return renderParts(text, e.parts);
    case 'tuple':
      return e.items.map((x) => render(text, x));
    case 'object': {
      const o: Record<string, unknown> = {};
      for (const it of e.items)
        o[it.key.k === 'var' ? it.key.name : isStringLiteral(it.key) || it.key.k === 'tmpl' ? renderParts(text, (it.key as { parts: TemplatePart[] }).parts) : String(render(text, it.key))] = render(
          text,
          it.value,
        );
      return o;
    }
    default:
      return `\${${source(text, e)}}`;
  }
}

function renderParts(text: string, parts: TemplatePart[]): string {
  return parts
    .map((p) => {
      if (p.k === 'str') return p.v;
      if (p.k === 'interp')
        return p.e.k === 'lit' ? String(p.e.v) : isStringLiteral(p.e) || p.e.k === 'tmpl' ? renderParts(text, (p.e as { parts: TemplatePart[] }).parts) : `\${${source(text, p.e)}}`;
      if (p.k === 'if') return `%{if ${source(text, p.cond)}}${renderParts(text, p.then)}${p.else.length ? `%{else}${renderParts(text, p.else)}` : ''}%{endif}`;
      return `%{for ${p.keyVar !== undefined ? `${p.keyVar}, ` : ''}${p.valVar} in ${source(text, p.coll)}}${renderParts(text, p.body)}%{endfor}`;
    })
    .join('');
}

function renderBody(text: string, body: Body): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of body.attrs) out[a.name] = render(text, a.expr);
  for (const b of body.blocks) {
    let at = out as Record<string, unknown>;
    const keys = [b.type, ...b.labels.map((l) => l.v)];
    for (const k of keys.slice(0, -1)) at = (at[k] ??= {}) as Record<string, unknown>;
    const last = keys[keys.length - 1]!;
    ((at[last] ??= []) as unknown[]).push(renderBody(text, b.body));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Expression trees in one notation for both parsers. String literals are compared by place, not
// value (HashiCorp's AST gives their source text; their values are compared through hcl2json above).
// ---------------------------------------------------------------------------------------------

const OPS: Record<string, string> = {
  '+': 'add',
  '-': 'subtract',
  '*': 'multiply',
  '/': 'divide',
  '%': 'modulo',
  '==': 'equal',
  '!=': 'notEqual',
  '<': 'lessThan',
  '>': 'greaterThan',
  '<=': 'lessThanOrEqual',
  '>=': 'greaterThanOrEqual',
  '&&': 'logicalAnd',
  '||': 'logicalOr',
};

function indexStep(seg: string): string {
  return seg.startsWith('"') ? `[${JSON.stringify(JSON.parse(seg))}]` : `[${Number(seg)}]`;
}

/** Drops string literals that are empty or only whitespace (strip markers decide those), merges neighbours. */
function templateChildren(items: string[]): string[] {
  const out: string[] = [];
  for (const x of items) if (!(x === 's' && out[out.length - 1] === 's')) out.push(x);
  return out;
}

function hclTree(n: HclNode, text: Buffer, inTemplate = false): string {
  const ch = (i: number, t = false) => hclTree(n.children[i]!, text, t);
  const all = (t = false) => n.children.map((c) => hclTree(c, text, t));
  const m = n.meta ?? {};
  switch (n.type) {
    case 'literalValue': {
      if (m.type === 'string') {
        const s = text.toString('utf8', n.range!.start.byte, n.range!.end.byte).replace(/\\[nrt]/g, ' ');
        return inTemplate && s.trim() === '' ? '' : 's';
      }
      return m.type === 'number' ? `num:${Number(m.value)}` : m.type === 'bool' ? `bool:${String(m.value)}` : 'null';
    }
    case 'template':
      return `tmpl(${templateChildren(all(true).filter((x) => x !== '')).join(',')})`;
    case 'templateWrap':
      return `wrap(${ch(0)})`;
    case 'scopeTraversal':
      return `trav(${m.traversal!.map((t, i) => (t.type === 'nameTraversal' ? (i ? '.' : '') + t.segment : indexStep(t.segment))).join('')})`;
    case 'relativeTraversal':
      return `rel(${ch(0)}${m.traversal!.map((t) => (t.type === 'nameTraversal' ? `.${t.segment}` : indexStep(t.segment))).join('')})`;
    case 'index':
      return `idx(${ch(0)},${ch(1)})`;
    case 'splat':
      return `splat(${ch(0)},${ch(1)})`;
    case 'function':
      return `call:${String(m.name)}${m.expandedFinalArgument ? '...' : ''}(${all().join(',')})`;
    case 'binaryOp':
      return `${String(m.operator)}(${ch(0)},${ch(1)})`;
    case 'unaryOp':
      return `${String(m.operator)}(${ch(0)})`;
    case 'conditional':
      return `cond(${all(inTemplate).join(',')})`;
    case 'tuple':
      return `tuple(${all().join(',')})`;
    case 'object': {
      const items: string[] = [];
      for (let i = 0; i < n.children.length; i += 2) {
        const k = n.children[i]!;
        items.push(`${k.children.length ? `key(${hclTree(k.children[0]!, text)})` : 'key'}=${ch(i + 1)}`);
      }
      return `obj(${items.join(',')})`;
    }
    case 'for':
      return `for:${String(m.keyVar ?? '')}:${String(m.valVar)}:${m.groupedValue ? 'group' : ''}(${all(inTemplate).join(',')})`;
    case 'templateJoin':
      return `join(${ch(0, true)})`;
    case '':
      return n.children.length ? `paren(${ch(0)})` : 'anon';
    default:
      return `?${n.type}`;
  }
}

type Chain = { root: string; steps: string };

function chain(e: Expr, text: string): Chain | undefined {
  if (e.k === 'var') return { root: 'trav', steps: e.name };
  if (e.k === 'anon') return { root: 'anon', steps: '' };
  if (e.k === 'attr' || (e.k === 'index' && literalKey(e.key) !== undefined)) {
    const step = e.k === 'attr' ? `.${e.name}` : `[${literalKey(e.key)!}]`;
    const base = chain(e.obj, text);
    if (base) return { root: base.root, steps: base.steps + step };
    return { root: kilnTree(e.obj, text), steps: step };
  }
  return undefined;
}

function literalKey(k: Expr): string | undefined {
  if (k.k === 'lit' && typeof k.v === 'number') return String(k.v);
  if (k.k === 'tmpl' && k.parts.length === 1 && k.parts[0]!.k === 'str') return JSON.stringify(k.parts[0].v);
  return undefined;
}

function kilnParts(parts: TemplatePart[], text: string): string {
  const items = parts.map((p): string => {
    if (p.k === 'str') return p.v.trim() === '' ? '' : 's';
    if (p.k === 'interp') return kilnTree(p.e, text);
    if (p.k === 'if') return `cond(${kilnTree(p.cond, text)},${kilnParts(p.then, text)},${kilnParts(p.else, text)})`;
    return `join(for:${p.keyVar ?? ''}:${p.valVar}:(${kilnTree(p.coll, text)},${kilnParts(p.body, text)}))`;
  });
  return `tmpl(${templateChildren(items.filter((x) => x !== '')).join(',')})`;
}

function kilnTree(e: Expr, text: string): string {
  const t = (x: Expr) => kilnTree(x, text);
  switch (e.k) {
    case 'lit':
      return e.v === null ? 'null' : typeof e.v === 'number' ? `num:${e.v}` : typeof e.v === 'boolean' ? `bool:${e.v}` : 's';
    case 'tmpl':
      if (e.parts.length === 1 && e.parts[0]!.k === 'interp' && text[e.r.start.offset] === '"') return `wrap(${t(e.parts[0].e)})`;
      return kilnParts(e.parts, text);
    case 'var':
    case 'attr':
    case 'anon':
    case 'index': {
      const c = chain(e, text);
      if (!c) return `idx(${t((e as { obj: Expr }).obj)},${t((e as { key: Expr }).key)})`;
      if (c.root === 'trav') return `trav(${c.steps})`;
      return c.steps ? `rel(${c.root}${c.steps})` : c.root;
    }
    case 'splat':
      return `splat(${t(e.obj)},${t(e.each)})`;
    case 'call':
      return `call:${e.name}${e.expand ? '...' : ''}(${e.args.map(t).join(',')})`;
    case 'bin':
      return `${OPS[e.op]}(${t(e.a)},${t(e.b)})`;
    case 'un':
      return `${e.op === '-' ? 'negate' : 'logicalNot'}(${t(e.a)})`;
    case 'cond':
      return `cond(${t(e.c)},${t(e.t)},${t(e.f)})`;
    case 'tuple':
      return `tuple(${e.items.map(t).join(',')})`;
    case 'object':
      return `obj(${e.items.map((it) => `${it.key.k === 'var' ? 'key' : `key(${t(it.key)})`}=${t(it.value)}`).join(',')})`;
    case 'for':
      return `for:${e.keyVar ?? ''}:${e.valVar}:${e.group ? 'group' : ''}(${[e.coll, e.keyExpr, e.valExpr, e.cond]
        .filter((x): x is Expr => !!x)
        .map(t)
        .join(',')})`;
    case 'paren':
      return `paren(${t(e.e)})`;
    case 'let':
      return t(e.e);
  }
}

/** Every attribute expression in a body, nested blocks included. */
function expressions(body: Body): Expr[] {
  return [...body.attrs.map((a) => a.expr), ...body.blocks.flatMap((b) => expressions(b.body))];
}

/** Every template below an expression (nested in calls, operators, …): hcl2json renders each alone. */
function templates(e: Expr, top = true): Expr[] {
  const out: Expr[] = !top && e.k === 'tmpl' ? [e] : [];
  const sub = (x: Expr | undefined) => (x ? templates(x, false) : []);
  switch (e.k) {
    case 'tmpl':
      for (const p of e.parts) {
        if (p.k === 'interp') out.push(...sub(p.e));
        if (p.k === 'if') out.push(...sub(p.cond));
        if (p.k === 'for') out.push(...sub(p.coll));
      }
      break;
    case 'attr':
    case 'splat':
      out.push(...sub(e.obj), ...(e.k === 'splat' ? sub(e.each) : []));
      break;
    case 'index':
      out.push(...sub(e.obj), ...sub(e.key));
      break;
    case 'call':
      e.args.forEach((a) => out.push(...sub(a)));
      break;
    case 'tuple':
      e.items.forEach((a) => out.push(...sub(a)));
      break;
    case 'object':
      e.items.forEach((it) => out.push(...sub(it.key), ...sub(it.value)));
      break;
    case 'cond':
      out.push(...sub(e.c), ...sub(e.t), ...sub(e.f));
      break;
    case 'bin':
      out.push(...sub(e.a), ...sub(e.b));
      break;
    case 'un':
      out.push(...sub(e.a));
      break;
    case 'paren':
      out.push(...sub(e.e));
      break;
    case 'for':
      out.push(...sub(e.coll), ...sub(e.keyExpr), ...sub(e.valExpr), ...sub(e.cond));
      break;
  }
  return out;
}

/** The lines of HashiCorp's errors (`file:LINE,COL-…: …`), in its order. */
function errorLines(message: string, file: string): number[] {
  const esc = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return [...message.matchAll(new RegExp(`${esc}:(\\d+),\\d+-`, 'g'))].map((m) => Number(m[1]));
}

interface Outcome {
  file: string;
  problems: string[];
  accepted: boolean;
  expressions: number;
}

async function compare(file: string, text: string): Promise<Outcome> {
  const problems: string[] = [];
  const own = parseHclNative(file, text);
  let theirs: Record<string, unknown> | undefined;
  let theirError = '';
  try {
    theirs = await hcl.parse(file, text);
  } catch (e) {
    theirError = e instanceof Error ? e.message : String(e);
  }
  if (!theirs) {
    // kiln stops at its first error; HashiCorp's parser recovers and may report several.
    const lines = errorLines(theirError, file);
    if (own.body) problems.push(`HashiCorp's parser rejects it (${theirError}), kiln's accepts it`);
    else if (!lines.includes(own.error!.range!.start.line)) problems.push(`rejected at line ${own.error!.range!.start.line} by kiln, at line ${lines.join(', ')} by HashiCorp (${theirError})`);
    return { file, problems, accepted: false, expressions: 0 };
  }
  if (!own.body) {
    problems.push(`kiln's parser rejects it (${own.error!.message} at ${own.error!.range!.start.line}:${own.error!.range!.start.col}), HashiCorp's accepts it`);
    return { file, problems, accepted: true, expressions: 0 };
  }
  const mine = renderBody(text, own.body);
  if (JSON.stringify(sortKeys(mine)) !== JSON.stringify(sortKeys(theirs)))
    problems.push(`structure differs:\n kiln:      ${JSON.stringify(sortKeys(mine))}\n HashiCorp: ${JSON.stringify(sortKeys(theirs))}`);
  const exprs = expressions(own.body);
  for (const e of exprs) {
    const snippet = text.slice(e.r.start.offset, e.r.end.offset);
    const ast = await hcl.getExpressionAst(file, snippet + '\n');
    if (!ast) {
      problems.push(`HashiCorp's parser reads no expression from kiln's range ${JSON.stringify(snippet)}`);
      continue;
    }
    const a = hclTree(ast, Buffer.from(snippet));
    const b = kilnTree(e, text);
    if (a !== b) problems.push(`expression at ${e.r.start.line}:${e.r.start.col} ${JSON.stringify(snippet)}:\n kiln:      ${b}\n HashiCorp: ${a}`);
    for (const t of templates(e)) {
      const alone = await hcl.parse(file, `x = ${text.slice(t.r.start.offset, t.r.end.offset)}\n`);
      const mineT = render(text, t);
      if (JSON.stringify(alone.x) !== JSON.stringify(mineT)) problems.push(`template at ${t.r.start.line}:${t.r.start.col}: kiln ${JSON.stringify(mineT)}, HashiCorp ${JSON.stringify(alone.x)}`);
    }
  }
  return { file, problems, accepted: true, expressions: exprs.length };
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  return v;
}

/**
 * Broken variants of a file, the same on every run: cut off in the middle, a closing brace, quote,
 * bracket or newline taken out, a stray `=`, `,` or `}` put in, an operator doubled.
 */
function mutations(text: string, seed: number): string[] {
  let x = seed * 2654435761 + 1;
  const rand = (n: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return n ? x % n : 0;
  };
  const at = (ch: string) => {
    const all = [...text.matchAll(new RegExp(ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g'))].map((m) => m.index);
    return all.length ? all[rand(all.length)]! : -1;
  };
  const cut = (i: number, n = 1) => (i < 0 ? undefined : text.slice(0, i) + text.slice(i + n));
  const put = (i: number, s: string) => text.slice(0, i) + s + text.slice(i);
  const lineStart = () => {
    const starts = [0, ...[...text.matchAll(/\n/g)].map((m) => m.index + 1)];
    return starts[rand(starts.length)]!;
  };
  return [
    text.slice(0, Math.floor((text.length * (30 + rand(60))) / 100)),
    cut(at('}')),
    cut(at('"')),
    cut(at(']')),
    cut(at('\n')),
    put(lineStart(), '= '),
    put(lineStart(), '}\n'),
    put(rand(text.length), ','),
    put(at('='), '='),
  ].filter((m): m is string => m !== undefined && m !== text);
}

describe("kiln's HCL parser against HashiCorp's (every HCL file of Packer's corpus and the seed)", () => {
  it('finds the corpus', () => {
    expect(FILES.length).toBeGreaterThan(160);
  });

  it('gives the same blocks, attributes, values and expression trees where HashiCorp accepts a file, and rejects at the same line where it does not', async () => {
    const outcomes: Outcome[] = [];
    for (const f of FILES) outcomes.push(await compare(relative(ROOT, f), readFileSync(f, 'utf8')));
    const differing = outcomes.filter((o) => o.problems.length);
    const accepted = outcomes.filter((o) => o.accepted).length;
    const exprs = outcomes.reduce((n, o) => n + o.expressions, 0);
    console.log(
      `HCL parser equality: ${outcomes.length} files, ${accepted} accepted by HashiCorp's parser, ${outcomes.length - accepted} rejected; ${exprs} expressions compared; ${differing.length} differ`,
    );
    expect(differing.map((o) => `${o.file}:\n  ${o.problems.join('\n  ')}`).join('\n')).toBe('');
  }, 300_000);

  it('accepts and rejects broken variants of every file as HashiCorp does, rejecting at the same line and reading the same structure from what both accept', async () => {
    const outcomes: Outcome[] = [];
    for (const [i, f] of FILES.entries()) {
      const file = relative(ROOT, f);
      const text = readFileSync(f, 'utf8');
      for (const round of [0, 1, 2]) for (const [j, broken] of mutations(text, i + 1000 * round).entries()) outcomes.push(await compare(`${file}~${round}.${j}`, broken));
    }
    const differing = outcomes.filter((o) => o.problems.length);
    const accepted = outcomes.filter((o) => o.accepted).length;
    console.log(`HCL parser equality on broken variants: ${outcomes.length} texts, ${accepted} accepted by HashiCorp's parser, ${outcomes.length - accepted} rejected; ${differing.length} differ`);
    expect(differing.map((o) => `${o.file}:\n  ${o.problems.join('\n  ')}`).join('\n')).toBe('');
  }, 600_000);
});
