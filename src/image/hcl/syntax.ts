// HCL2 native syntax → kiln's syntax tree (ast.ts), positions on every node.
//
// Structure and expressions come from the tree-sitter HCL grammar (WebAssembly, no native code):
// it gives every block, attribute and expression node with its range, which HashiCorp's parser as
// published on npm (`@cdktn/hcl2json`) does not (its JSON loses block order and positions). When
// tree-sitter finds a syntax error, or one of the rules tree-sitter is lenient about (a quoted
// string over several lines, two arguments on one line), HashiCorp's own parser is asked for the
// message, so that a broken file gets the error Packer prints. See docs/packer-hcl2.md.
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { LineIndex } from '../../core/source.js';
import type { Diagnostic, SourcePos } from '../../core/diagnostics.js';
import type { Attribute, Block, Body, Expr, Range, TemplatePart } from './ast.js';
import type { Node as TsNode, Parser as TsParser } from 'web-tree-sitter';

export const HCL_SYNTAX = 'HCL_SYNTAX';

let parserPromise: Promise<TsParser> | undefined;
let loaded: TsParser | undefined;

/** The tree-sitter parser, loaded once per process (about 50 ms). */
export function parser(): Promise<TsParser> {
  parserPromise ??= (async () => {
    // The parser runs for milliseconds: V8's optimizing WebAssembly tier would compile for longer
    // than that (and hold the process ~100 ms at exit), so the baseline compiler is enough.
    setFlagsFromString('--liftoff-only');
    const { Parser, Language } = await import('web-tree-sitter');
    await Parser.init();
    const require = createRequire(import.meta.url);
    const lang = await Language.load(require.resolve('@tree-sitter-grammars/tree-sitter-hcl/tree-sitter-hcl.wasm'));
    const p = new Parser();
    p.setLanguage(lang);
    loaded = p;
    return p;
  })();
  return parserPromise;
}

export interface ParsedFile {
  file: string;
  text: string;
  body?: Body;
  diagnostics: Diagnostic[];
}

class Syntax extends Error {
  constructor(
    readonly summary: string,
    readonly detail: string,
    readonly at: Range,
  ) {
    super(summary);
  }
}

/** Parses one `.pkr.hcl` / `.pkrvars.hcl` file. */
export async function parseHclFile(file: string, text: string): Promise<ParsedFile> {
  const p = await parser();
  const tree = p.parse(text);
  if (!tree) return { file, text, diagnostics: [syntaxDiag('Invalid HCL', 'the parser gave no tree', { file, start: { line: 1, col: 1, offset: 0 }, end: { line: 1, col: 1, offset: 0 } })] };
  const lines = new LineIndex(text);
  const conv = new Converter(file, text, lines);
  try {
    const root = tree.rootNode;
    if (root.hasError) {
      const bad = firstError(root)!;
      throw new Syntax(
        'Invalid syntax',
        bad.isMissing ? `expected ${JSON.stringify(bad.type)}` : `unexpected ${JSON.stringify(text.slice(bad.startIndex, Math.min(bad.endIndex, bad.startIndex + 20)))}`,
        conv.range(bad.startIndex, Math.max(bad.endIndex, bad.startIndex)),
      );
    }
    const top = root.namedChildren.find((c) => c?.type === 'body' || c?.type === 'object');
    if (top && top.type === 'object') throw new Syntax('Unexpected object', 'a configuration file holds arguments and blocks, not an object', conv.range(top.startIndex, top.endIndex));
    const body = top ? conv.body(top, true) : { attrs: [], blocks: [], r: conv.range(0, text.length) };
    return { file, text, body, diagnostics: [] };
  } catch (e) {
    if (!(e instanceof Syntax)) throw e;
    // HashiCorp's parser says what Packer says; tree-sitter only knows that something is wrong.
    const hcl = await hclParserErrors(file, text);
    return { file, text, diagnostics: hcl.length ? hcl : [syntaxDiag(e.summary, e.detail, e.at)] };
  } finally {
    tree.delete();
  }
}

/**
 * Parses `text` as one HCL expression (a `-var` value, a `PKR_VAR_` value). Needs the parser
 * loaded (`await parser()` first).
 */
export function parseHclExpression(origin: string, text: string): { expr?: Expr; diagnostics: Diagnostic[] } {
  return parseWrapped(origin, `${PREFIX}${text}\n`, PREFIX.length, (conv, attrN) => conv.expr(attrN.namedChildren.find((c) => c?.type === 'expression')!));
}

/** Parses a whole text as a template (`templatefile`, strings of `.pkr.json` files). */
export function parseHclTemplateSync(origin: string, text: string): { expr?: Expr; diagnostics: Diagnostic[] } {
  let marker = 'KILN_TEMPLATE_END';
  while (text.includes(marker)) marker += '_';
  const head = `${PREFIX}<<${marker}\n`;
  const wrapped = `${head}${text}${text.endsWith('\n') || text === '' ? '' : '\n'}${marker}\n`;
  return parseWrapped(origin, wrapped, head.length, (conv, attrN) => {
    const e = conv.expr(attrN.namedChildren.find((c) => c?.type === 'expression')!);
    if (e.k === 'tmpl' && !text.endsWith('\n') && text !== '') {
      const last = e.parts[e.parts.length - 1];
      if (last?.k === 'str') {
        last.v = last.v.replace(/\n$/, '');
        if (!last.v) e.parts.pop();
      }
    }
    return e;
  });
}

const PREFIX = 'v = ';

function parseWrapped(origin: string, wrapped: string, shift: number, take: (conv: Converter, attr: TsNode) => Expr): { expr?: Expr; diagnostics: Diagnostic[] } {
  if (!loaded) throw new Error('the HCL parser is not loaded yet');
  const tree = loaded.parse(wrapped);
  const conv = new Converter(origin, wrapped, new LineIndex(wrapped));
  const at = (): Range => ({ file: origin, start: { line: 1, col: 1, offset: 0 }, end: { line: 1, col: 1, offset: 0 } });
  try {
    if (!tree) throw new Syntax('Invalid expression', 'the parser gave no tree', at());
    const body = tree.rootNode.namedChildren.find((c) => c?.type === 'body');
    const attrs = body?.namedChildren.filter((c): c is TsNode => c?.type === 'attribute') ?? [];
    if (tree.rootNode.hasError || attrs.length !== 1) throw new Syntax('Invalid expression', `${JSON.stringify(wrapped.slice(shift).trim())} is not a valid HCL expression`, at());
    return { expr: take(conv, attrs[0]!), diagnostics: [] };
  } catch (e) {
    if (e instanceof Syntax) return { diagnostics: [syntaxDiag(e.summary, e.detail, { ...e.at, file: origin })] };
    throw e;
  } finally {
    tree?.delete();
  }
}

function firstError(n: TsNode): TsNode | undefined {
  if (n.isError || n.isMissing) return n;
  for (const c of n.children) {
    if (c && (c.hasError || c.isMissing || c.isError)) {
      const f = firstError(c);
      if (f) return f;
    }
  }
  return undefined;
}

export function syntaxDiag(summary: string, detail: string, r: Range): Diagnostic {
  return { severity: 'error', code: HCL_SYNTAX, message: detail ? `${summary}; ${detail}` : summary, range: r };
}

/** HCL's own diagnostics for a broken file, from HashiCorp's parser (loaded only on this path). */
export async function hclParserErrors(file: string, text: string): Promise<Diagnostic[]> {
  let mod: { parse(f: string, t: string): Promise<unknown> };
  try {
    mod = (await import('@cdktn/hcl2json')) as unknown as typeof mod;
    const m = mod as unknown as { default?: typeof mod };
    if (typeof mod.parse !== 'function' && m.default) mod = m.default;
    await mod.parse(file, text);
    return [];
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return hclMessageToDiagnostics(file, text, msg);
  }
}

/** `parse config: [f:1,7-2,1: Summary; Detail. f:3,1-2: …]` → one diagnostic per HCL error. */
export function hclMessageToDiagnostics(file: string, text: string, msg: string): Diagnostic[] {
  const body = msg.replace(/^parse config: \[/, '').replace(/\]$/, '');
  const lines = new LineIndex(text);
  const esc = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`${esc}:(\\d+),(\\d+)-(?:(\\d+),)?(\\d+): `, 'g');
  const marks = [...body.matchAll(re)];
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  marks.forEach((m, i) => {
    const end = i + 1 < marks.length ? marks[i + 1]!.index : body.length;
    const message = body.slice(m.index + m[0].length, end).trim();
    const line = Number(m[1]);
    const col = Number(m[2]);
    const key = `${line}:${col}:${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ severity: 'error', code: HCL_SYNTAX, message, range: { file, start: posAt(lines, text, line, col), end: posAt(lines, text, Number(m[3] ?? m[1]), Number(m[4])) } });
  });
  if (!out.length) out.push({ severity: 'error', code: HCL_SYNTAX, message: body.trim() || 'Invalid HCL', range: { file, start: { line: 1, col: 1, offset: 0 } } });
  return out;
}

/** HCL counts columns in characters; offsets here are string indices. */
function posAt(lines: LineIndex, text: string, line: number, col: number): SourcePos {
  let off = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', off);
    if (nl < 0) break;
    off = nl + 1;
  }
  off = Math.min(text.length, off + Math.max(0, col - 1));
  return lines.pos(off);
}

// ---------------------------------------------------------------------------------------------
// tree-sitter CST → ast.ts
// ---------------------------------------------------------------------------------------------

class Converter {
  constructor(
    readonly file: string,
    readonly text: string,
    readonly lines: LineIndex,
  ) {}

  range(start: number, end: number): Range {
    return { file: this.file, start: this.lines.pos(start), end: this.lines.pos(end) };
  }
  r(n: TsNode): Range {
    return this.range(n.startIndex, n.endIndex);
  }

  body(n: TsNode, _top: boolean): Body {
    const attrs: Attribute[] = [];
    const blocks: Block[] = [];
    let lastEndLine = -1;
    for (const c of n.namedChildren) {
      if (!c || c.type === 'comment') continue;
      const startLine = this.lines.pos(c.startIndex).line;
      if (startLine === lastEndLine) {
        const what = blocks.length && blocks[blocks.length - 1]!.r.end.offset === lastEndOffset(attrs, blocks) ? 'block definition' : 'argument';
        throw new Syntax(`Missing newline after ${what}`, `An ${what === 'argument' ? 'argument definition' : 'block definition'} must end with a newline.`, this.r(c));
      }
      if (c.type === 'attribute') {
        const a = this.attribute(c);
        const prev = attrs.find((x) => x.name === a.name);
        if (prev)
          throw new Syntax(
            'Attribute redefined',
            `The argument "${a.name}" was already set at ${prev.nameR.file}:${prev.nameR.start.line},${prev.nameR.start.col}-${prev.nameR.end.col}. Each argument may be set only once.`,
            a.nameR,
          );
        attrs.push(a);
      } else if (c.type === 'block') blocks.push(this.block(c));
      lastEndLine = this.lines.pos(c.endIndex).line;
    }
    return { attrs, blocks, r: this.r(n) };
  }

  attribute(n: TsNode): Attribute {
    const id = n.namedChildren.find((c) => c?.type === 'identifier')!;
    const ex = n.namedChildren.find((c) => c?.type === 'expression')!;
    return { name: id.text, expr: this.expr(ex), r: this.r(n), nameR: this.r(id) };
  }

  block(n: TsNode): Block {
    const kids = n.namedChildren.filter((c): c is TsNode => !!c && c.type !== 'comment');
    const typeN = kids[0]!;
    const labels: Block['labels'] = [];
    let body: Body | undefined;
    const start = kids.find((c) => c.type === 'block_start');
    const end = kids.find((c) => c.type === 'block_end');
    for (const c of kids.slice(1)) {
      if (c.type === 'string_lit') labels.push({ v: this.stringLit(c), r: this.r(c) });
      else if (c.type === 'identifier') labels.push({ v: c.text, r: this.r(c) });
      else if (c.type === 'body') body = this.body(c, false);
    }
    if (start && end && body === undefined) body = { attrs: [], blocks: [], r: this.range(start.endIndex, end.startIndex) };
    // `a { b = 1 }` on one line: HCL allows a single argument only.
    if (start && body && this.lines.pos(start.startIndex).line === this.lines.pos(end?.startIndex ?? start.startIndex).line) {
      const items = body.attrs.length + body.blocks.length;
      if (items > 1 || body.blocks.length > 0)
        throw new Syntax(
          'Invalid single-argument block definition',
          'A single-line block definition can contain only a single argument. If you meant to define argument, use an equals sign to assign it a value. To define a nested block, place it on a line of its own within its parent block.',
          this.r(n),
        );
    } else if (start && body) {
      const first = [...body.attrs.map((a) => a.r), ...body.blocks.map((b) => b.r)].sort((a, b) => a.start.offset - b.start.offset)[0];
      if (first && first.start.line === this.lines.pos(start.startIndex).line)
        throw new Syntax('Invalid block definition', 'A block definition must have block content delimited by "{" and "}", starting on the same line as the block header.', this.r(n));
    }
    return { type: typeN.text, labels, body: body ?? { attrs: [], blocks: [], r: this.r(n) }, r: this.r(n), typeR: this.r(typeN) };
  }

  stringLit(n: TsNode): string {
    const lit = n.namedChildren.filter((c): c is TsNode => !!c && c.type === 'template_literal');
    const raw = this.text.slice(n.startIndex + 1, lit.length ? lit[lit.length - 1]!.endIndex : n.startIndex + 1);
    if (raw.includes('\n')) throw this.multiline(n);
    return unescapeQuoted(raw, () => this.r(n));
  }

  multiline(n: TsNode): Syntax {
    return new Syntax(
      'Invalid multi-line string',
      'Quoted strings may not be split over multiple lines. To produce a multi-line string, either use the \\n escape to represent a newline character or use the "heredoc" multi-line template syntax.',
      this.r(n),
    );
  }

  /** An `expression` node: a base followed by postfix traversals (get_attr, index, splat). */
  expr(n: TsNode): Expr {
    if (n.type !== 'expression') return this.primary(n);
    const kids = n.children.filter((c): c is TsNode => !!c && c.type !== 'comment');
    if (kids[0]?.type === '(') {
      const inner = kids.find((c) => c.type === 'expression')!;
      let e: Expr = { k: 'paren', e: this.expr(inner), r: this.range(kids[0].startIndex, kids[kids.length - 1]!.endIndex) };
      const close = kids.findIndex((c) => c.type === ')');
      for (const post of kids.slice(close + 1)) e = this.postfix(e, post, n.startIndex);
      return e;
    }
    let e = this.primary(kids[0]!);
    for (const post of kids.slice(1)) e = this.postfix(e, post, n.startIndex);
    return e;
  }

  postfix(base: Expr, n: TsNode, start: number): Expr {
    const r = this.range(start, n.endIndex);
    switch (n.type) {
      case 'get_attr':
        return { k: 'attr', obj: base, name: n.namedChildren.find((c) => c?.type === 'identifier')!.text, r };
      case 'index': {
        const inner = n.namedChildren[0]!;
        if (inner.type === 'legacy_index') {
          const digits = inner.text.replace(/^\./, '');
          return { k: 'index', obj: base, key: { k: 'lit', v: Number(digits), r: this.r(inner) }, r };
        }
        const ex = inner.namedChildren.find((c) => c?.type === 'expression')!;
        return { k: 'index', obj: base, key: this.expr(ex), r };
      }
      case 'splat': {
        const sp = n.namedChildren[0]!;
        let each: Expr = { k: 'anon', r: this.r(sp) };
        for (const c of sp.namedChildren) if (c) each = this.postfix(each, c, sp.startIndex);
        return { k: 'splat', obj: base, each, r };
      }
    }
    throw new Syntax('Invalid expression', `unexpected ${n.type}`, this.r(n));
  }

  primary(n: TsNode): Expr {
    const r = this.r(n);
    switch (n.type) {
      case 'expression':
        return this.expr(n);
      case 'literal_value':
        return this.literal(n.namedChildren[0]!);
      case 'variable_expr':
        return { k: 'var', name: n.namedChildren[0]!.text, r };
      case 'collection_value':
        return this.primary(n.namedChildren[0]!);
      case 'tuple':
        return { k: 'tuple', items: n.namedChildren.filter((c): c is TsNode => c?.type === 'expression').map((c) => this.expr(c)), r };
      case 'object': {
        const items = n.namedChildren
          .filter((c): c is TsNode => c?.type === 'object_elem')
          .map((el) => {
            const [k, v] = el.namedChildren.filter((c): c is TsNode => c?.type === 'expression');
            return { key: this.expr(k!), value: this.expr(v!) };
          });
        return { k: 'object', items, r };
      }
      case 'function_call': {
        const id = n.namedChildren.find((c) => c?.type === 'identifier')!;
        const argsN = n.namedChildren.find((c) => c?.type === 'function_arguments');
        const args = argsN ? argsN.namedChildren.filter((c): c is TsNode => c?.type === 'expression').map((c) => this.expr(c)) : [];
        const expand = !!argsN?.namedChildren.some((c) => c?.type === 'ellipsis');
        return { k: 'call', name: id.text, args, expand, r, nameR: this.r(id) };
      }
      case 'conditional': {
        const [c, t, f] = n.namedChildren.filter((x): x is TsNode => x?.type === 'expression');
        return { k: 'cond', c: this.expr(c!), t: this.expr(t!), f: this.expr(f!), r };
      }
      case 'operation':
        return this.primary(n.namedChildren[0]!);
      case 'binary_operation': {
        const [a, op, b] = n.children.filter((c): c is TsNode => !!c && c.type !== 'comment');
        return { k: 'bin', op: op!.type, a: this.primary(a!), b: this.primary(b!), r };
      }
      case 'unary_operation': {
        const [op, a] = n.children.filter((c): c is TsNode => !!c && c.type !== 'comment');
        return { k: 'un', op: op!.type, a: this.primary(a!), r };
      }
      case 'for_expr':
        return this.forExpr(n.namedChildren[0]!);
      case 'template_expr': {
        const t = n.namedChildren[0]!;
        return t.type === 'heredoc_template' ? this.heredoc(t) : this.quoted(t);
      }
      case 'get_attr':
      case 'index':
      case 'splat':
        break;
    }
    throw new Syntax('Invalid expression', `unexpected ${n.type}`, r);
  }

  literal(n: TsNode): Expr {
    const r = this.r(n);
    switch (n.type) {
      case 'numeric_lit':
        return { k: 'lit', v: Number(n.text), r };
      case 'bool_lit':
        return { k: 'lit', v: n.text === 'true', r };
      case 'null_lit':
        return { k: 'lit', v: null, r };
      case 'string_lit':
        return { k: 'tmpl', parts: [{ k: 'str', v: this.stringLit(n) }], r };
    }
    throw new Syntax('Invalid literal', n.type, r);
  }

  forExpr(n: TsNode): Expr {
    const r = this.r(n);
    const intro = n.namedChildren.find((c) => c?.type === 'for_intro')!;
    const ids = intro.namedChildren.filter((c): c is TsNode => c?.type === 'identifier').map((c) => c.text);
    const coll = this.expr(intro.namedChildren.find((c) => c?.type === 'expression')!);
    const exprs = n.namedChildren.filter((c): c is TsNode => c?.type === 'expression').map((c) => this.expr(c));
    const condN = n.namedChildren.find((c) => c?.type === 'for_cond');
    const cond = condN ? this.expr(condN.namedChildren.find((c) => c?.type === 'expression')!) : undefined;
    const [keyVar, valVar] = ids.length === 2 ? [ids[0], ids[1]!] : [undefined, ids[0]!];
    const base = { k: 'for' as const, valVar, coll, group: n.namedChildren.some((c) => c?.type === 'ellipsis'), r };
    const withKey = keyVar !== undefined ? { keyVar } : {};
    const withCond = cond ? { cond } : {};
    if (n.type === 'for_object_expr') return { ...base, ...withKey, ...withCond, keyExpr: exprs[0]!, valExpr: exprs[1]! };
    return { ...base, ...withKey, ...withCond, valExpr: exprs[0]! };
  }

  quoted(n: TsNode): Expr {
    const kids = n.children.filter((c): c is TsNode => !!c && c.type !== 'comment');
    const open = kids[0]!;
    const close = kids[kids.length - 1]!;
    const parts = this.templateParts(kids.slice(1, -1), open.endIndex, close.startIndex, 'quoted');
    return { k: 'tmpl', parts, r: this.r(n) };
  }

  heredoc(n: TsNode): Expr {
    const kids = n.children.filter((c): c is TsNode => !!c && c.type !== 'comment');
    const startN = kids.find((c) => c.type === 'heredoc_start')!;
    const ids = kids.filter((c) => c.type === 'heredoc_identifier');
    const flush = startN.text === '<<-';
    const nl = this.text.indexOf('\n', ids[0]!.endIndex);
    const contentStart = nl + 1;
    const closeId = ids[ids.length - 1]!;
    // The closing marker's line starts after the last newline before it.
    const contentEnd = this.text.lastIndexOf('\n', closeId.startIndex - 1) + 1;
    const inner = kids.filter((c) => c.type !== 'heredoc_start' && c.type !== 'heredoc_identifier' && c.startIndex >= contentStart && c.endIndex <= contentEnd);
    let parts = this.templateParts(inner, contentStart, Math.max(contentStart, contentEnd), 'heredoc');
    if (flush) parts = flushHeredoc(parts);
    return { k: 'tmpl', parts, r: this.r(n) };
  }

  /**
   * Template parts between `from` and `to`: literal text is taken from the source between the
   * interpolations and directives (tree-sitter drops some whitespace from its literal nodes).
   */
  templateParts(nodes: TsNode[], from: number, to: number, kind: 'quoted' | 'heredoc'): TemplatePart[] {
    const out: TemplatePart[] = [];
    // Strip markers: `~` before `}` trims the following literal's leading space; `~` after `${`/`%{` the preceding literal's trailing space.
    let trimNext = false;
    let at = from;
    const lit = (start: number, end: number) => {
      if (end <= start) return;
      let raw = this.text.slice(start, end);
      if (kind === 'quoted' && raw.includes('\n'))
        throw new Syntax(
          'Invalid multi-line string',
          'Quoted strings may not be split over multiple lines. To produce a multi-line string, either use the \\n escape to represent a newline character or use the "heredoc" multi-line template syntax.',
          this.range(start, end),
        );
      if (trimNext) raw = raw.replace(/^\s+/, '');
      trimNext = false;
      const v = kind === 'quoted' ? unescapeQuoted(raw, () => this.range(start, end)) : unescapeTemplate(raw);
      if (v) out.push({ k: 'str', v });
    };
    const seq = this.sequence(nodes, kind);
    for (const item of seq) {
      if (item.kind === 'literal') continue;
      lit(at, item.node.startIndex);
      if (item.stripBefore) trimLast(out);
      out.push(item.part);
      trimNext = item.stripAfter;
      at = item.node.endIndex;
    }
    lit(at, to);
    return out;
  }

  /** Interpolations and directives in a template (literals are read from the source). */
  sequence(nodes: TsNode[], kind: 'quoted' | 'heredoc'): Array<{ kind: 'literal' } | { kind: 'part'; node: TsNode; part: TemplatePart; stripBefore: boolean; stripAfter: boolean }> {
    const out: Array<{ kind: 'literal' } | { kind: 'part'; node: TsNode; part: TemplatePart; stripBefore: boolean; stripAfter: boolean }> = [];
    for (const n of nodes) {
      if (n.type === 'template_literal') continue;
      if (n.type === 'template_interpolation') {
        const kids = n.children.filter((c): c is TsNode => !!c);
        const ex = kids.find((c) => c.type === 'expression');
        if (!ex) throw new Syntax('Invalid template interpolation', 'expected an expression', this.r(n));
        const strips = stripMarkers(kids);
        out.push({ kind: 'part', node: n, part: { k: 'interp', e: this.expr(ex) }, stripBefore: strips.before, stripAfter: strips.after });
      } else if (n.type === 'template_directive') {
        const d = n.namedChildren[0]!;
        const { part, before, after } = this.directive(d, kind);
        out.push({ kind: 'part', node: n, part, stripBefore: before, stripAfter: after });
      } else throw new Syntax('Invalid template', `unexpected ${n.type}`, this.r(n));
    }
    return out;
  }

  directive(d: TsNode, kind: 'quoted' | 'heredoc'): { part: TemplatePart; before: boolean; after: boolean } {
    const kids = d.children.filter((c): c is TsNode => !!c && c.type !== 'comment');
    const r = this.r(d);
    if (d.type === 'template_if') {
      const intro = kids.find((c) => c.type === 'template_if_intro')!;
      const elseN = kids.find((c) => c.type === 'template_else_intro');
      const end = kids.find((c) => c.type === 'template_if_end')!;
      const cond = this.expr(intro.namedChildren.find((c) => c?.type === 'expression')!);
      const introS = stripMarkers(intro.children.filter((c): c is TsNode => !!c));
      const endS = stripMarkers(end.children.filter((c): c is TsNode => !!c));
      const elseS = elseN ? stripMarkers(elseN.children.filter((c): c is TsNode => !!c)) : { before: false, after: false };
      const thenNodes = kids.filter((c) => c.startIndex >= intro.endIndex && c.endIndex <= (elseN ?? end).startIndex && !c.type.startsWith('template_if') && c.type !== 'template_else_intro');
      const elseNodes = elseN ? kids.filter((c) => c.startIndex >= elseN.endIndex && c.endIndex <= end.startIndex && !c.type.startsWith('template_if')) : [];
      let thenParts = this.templateParts(thenNodes, intro.endIndex, (elseN ?? end).startIndex, kind);
      let elseParts = elseN ? this.templateParts(elseNodes, elseN.endIndex, end.startIndex, kind) : [];
      if (introS.after) thenParts = trimFirst(thenParts);
      if (elseN && elseS.before) trimLast(thenParts);
      if (elseN && elseS.after) elseParts = trimFirst(elseParts);
      if (endS.before) trimLast(elseN ? elseParts : thenParts);
      return { part: { k: 'if', cond, then: thenParts, else: elseParts, r }, before: introS.before, after: endS.after };
    }
    // template_for
    const start = kids.find((c) => c.type === 'template_for_start')!;
    const end = kids.find((c) => c.type === 'template_for_end')!;
    const ids = start.namedChildren.filter((c): c is TsNode => c?.type === 'identifier').map((c) => c.text);
    const coll = this.expr(start.namedChildren.find((c) => c?.type === 'expression')!);
    const startS = stripMarkers(start.children.filter((c): c is TsNode => !!c));
    const endS = stripMarkers(end.children.filter((c): c is TsNode => !!c));
    const bodyNodes = kids.filter((c) => c.startIndex >= start.endIndex && c.endIndex <= end.startIndex);
    let body = this.templateParts(bodyNodes, start.endIndex, end.startIndex, kind);
    if (startS.after) body = trimFirst(body);
    if (endS.before) trimLast(body);
    const [keyVar, valVar] = ids.length === 2 ? [ids[0], ids[1]!] : [undefined, ids[0]!];
    const part: TemplatePart = keyVar !== undefined ? { k: 'for', keyVar, valVar, coll, body, r } : { k: 'for', valVar, coll, body, r };
    return { part, before: startS.before, after: endS.after };
  }
}

function lastEndOffset(attrs: Attribute[], blocks: Block[]): number {
  return Math.max(attrs.length ? attrs[attrs.length - 1]!.r.end.offset : -1, blocks.length ? blocks[blocks.length - 1]!.r.end.offset : -1);
}

function stripMarkers(kids: TsNode[]): { before: boolean; after: boolean } {
  const marks = kids.filter((c) => c.type === 'strip_marker');
  const startN = kids.find((c) => c.type.endsWith('_start') || c.type === 'template_directive_start');
  let before = false;
  let after = false;
  for (const m of marks) {
    if (startN && m.startIndex === startN.endIndex) before = true;
    else after = true;
  }
  return { before, after };
}

function trimLast(parts: TemplatePart[]): void {
  const last = parts[parts.length - 1];
  if (last?.k === 'str') {
    last.v = last.v.replace(/\s+$/, '');
    if (!last.v) parts.pop();
  }
}
function trimFirst(parts: TemplatePart[]): TemplatePart[] {
  const first = parts[0];
  if (first?.k !== 'str') return parts;
  const v = first.v.replace(/^\s+/, '');
  return v ? [{ k: 'str', v }, ...parts.slice(1)] : parts.slice(1);
}

/** `<<-` heredocs: the smallest indentation of the content lines is removed from every line. */
function flushHeredoc(parts: TemplatePart[]): TemplatePart[] {
  // Lines start after each newline of a literal, and at the very beginning.
  const starts: Array<{ part: number; at: number }> = [];
  let lineStart = true;
  parts.forEach((p, i) => {
    if (p.k !== 'str') {
      lineStart = false;
      return;
    }
    if (lineStart) starts.push({ part: i, at: 0 });
    for (let j = 0; j < p.v.length; j++) if (p.v[j] === '\n' && j + 1 <= p.v.length) starts.push({ part: i, at: j + 1 });
    lineStart = p.v.endsWith('\n');
  });
  let min = Infinity;
  for (const s of starts) {
    const p = parts[s.part] as { v: string };
    const rest = p.v.slice(s.at);
    const m = /^[ \t]*/.exec(rest)![0];
    const tail = rest.slice(m.length);
    const nextIsPart = tail === '' && s.part + 1 < parts.length && parts[s.part + 1]!.k !== 'str';
    if (tail === '' && !nextIsPart) continue; // a blank line (or trailing) does not count
    if (tail.startsWith('\n')) continue;
    min = Math.min(min, m.length);
  }
  if (!Number.isFinite(min) || min === 0) return parts;
  const out = parts.map((p) => ({ ...p }));
  // Remove from the end backwards so earlier indices stay valid.
  for (const s of [...starts].reverse()) {
    const p = out[s.part] as { v: string };
    const m = /^[ \t]*/.exec(p.v.slice(s.at))![0];
    p.v = p.v.slice(0, s.at) + p.v.slice(s.at + Math.min(min, m.length));
  }
  return out.filter((p) => p.k !== 'str' || p.v !== '');
}

/** `$${` → `${`, `%%{` → `%{` (the only escapes a heredoc has). */
function unescapeTemplate(raw: string): string {
  return raw.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{');
}

/** A quoted string's escapes: \n \r \t \" \\ \uNNNN \UNNNNNNNN, plus `$${` and `%%{`. */
function unescapeQuoted(raw: string, where: () => Range): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\') {
      const e = raw[i + 1];
      const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };
      if (e !== undefined && simple[e] !== undefined) {
        out += simple[e];
        i++;
        continue;
      }
      if (e === 'u' || e === 'U') {
        const len = e === 'u' ? 4 : 8;
        const hex = raw.slice(i + 2, i + 2 + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) throw new Syntax('Invalid escape sequence', `The \\${e} escape sequence must be followed by ${len} hexadecimal digits.`, where());
        out += String.fromCodePoint(parseInt(hex, 16));
        i += 1 + len;
        continue;
      }
      throw new Syntax('Invalid escape sequence', `The symbol ${JSON.stringify(e ?? '')} is not a valid escape sequence selector.`, where());
    }
    if (c === '$' && raw.startsWith('$${', i)) {
      out += '${';
      i += 2;
      continue;
    }
    if (c === '%' && raw.startsWith('%%{', i)) {
      out += '%{';
      i += 2;
      continue;
    }
    out += c;
  }
  return out;
}
