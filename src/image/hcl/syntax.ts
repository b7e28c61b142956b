// HCL2 native syntax → kiln's syntax tree (ast.ts), positions on every node.
//
// A recursive-descent parser written from HCL's native syntax specification (hashicorp/hcl,
// hclsyntax/spec.md) and following its parser's rules where the prose is loose: newlines end
// arguments and block definitions and separate object items, but are ignored inside `( )`, `[ ]`,
// function arguments, `for` expressions and template sequences; operator precedence in six levels,
// left-associative; the conditional right-associative; unary operators bind to a term with its
// traversals; `.*` splats take attribute steps only, `[*]` every step after it. It is plain
// TypeScript, so reading a template costs no WebAssembly start-up (see docs/packer-hcl2.md).
//
// It stops at the first syntax error. HashiCorp's own parser (`@cdktn/hcl2json`, loaded only then)
// is asked for the messages, so that a broken file gets the errors Packer prints; this parser's own
// message is the fallback.
import { LineIndex } from '../../core/source.js';
import type { Diagnostic, SourcePos } from '../../core/diagnostics.js';
import type { Attribute, Block, Body, Expr, Range, TemplatePart } from './ast.js';

export const HCL_SYNTAX = 'HCL_SYNTAX';

interface ParsedFile {
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

/** Parses one `.pkr.hcl` / `.pkr.hcl`-syntax var file. */
export async function parseHclFile(file: string, text: string): Promise<ParsedFile> {
  const own = parseHclNative(file, text);
  if (own.body) return { file, text, body: own.body, diagnostics: [] };
  // HashiCorp's parser says what Packer says; this one's message is the fallback.
  const hcl = await hclParserErrors(file, text);
  return { file, text, diagnostics: hcl.length ? hcl : [own.error!] };
}

/** This parser alone: the body, or its first syntax error (what the parser-equality test compares with HashiCorp's). */
export function parseHclNative(file: string, text: string): { body?: Body; error?: Diagnostic } {
  const p = new Parser(file, text);
  try {
    return { body: p.configFile() };
  } catch (e) {
    if (!(e instanceof Syntax)) throw e;
    return { error: syntaxDiag(e.summary, e.detail, e.at) };
  }
}

/** Parses `text` as one HCL expression (a `-var` value, a `PKR_VAR_` value), as HCL's ParseExpression does. */
export function parseHclExpression(origin: string, text: string): { expr?: Expr; diagnostics: Diagnostic[] } {
  const p = new Parser(origin, text);
  try {
    return { expr: p.wholeExpression(), diagnostics: [] };
  } catch (e) {
    if (!(e instanceof Syntax)) throw e;
    return { diagnostics: [syntaxDiag('Invalid expression', `${JSON.stringify(text.trim())} is not a valid HCL expression`, { ...p.range(0, 0), file: origin })] };
  }
}

/** Parses a whole text as a template (`templatefile`, strings of `.pkr.json` files). */
export function parseHclTemplateSync(origin: string, text: string): { expr?: Expr; diagnostics: Diagnostic[] } {
  const p = new Parser(origin, text);
  try {
    return { expr: p.bareTemplate(), diagnostics: [] };
  } catch (e) {
    if (!(e instanceof Syntax)) throw e;
    return { diagnostics: [syntaxDiag(e.summary, e.detail, e.at)] };
  }
}

function syntaxDiag(summary: string, detail: string, r: Range): Diagnostic {
  return { severity: 'error', code: HCL_SYNTAX, message: detail ? `${summary}; ${detail}` : summary, range: r };
}

/** HCL's own diagnostics for a broken file, from HashiCorp's parser (loaded only on this path). */
async function hclParserErrors(file: string, text: string): Promise<Diagnostic[]> {
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
function hclMessageToDiagnostics(file: string, text: string, msg: string): Diagnostic[] {
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
// Tokens
// ---------------------------------------------------------------------------------------------

/** `t`: 'id', 'num', 'nl', 'eof', '"' (a quoted template starts), '<<' (a heredoc starts), 'bad', or the punctuation itself. */
interface Tok {
  t: string;
  s: number;
  e: number;
}

const IDENT = /[\p{ID_Start}_][\p{ID_Continue}-]*/uy;
const NUMBER_OK = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;
const HEREDOC_INTRO = /<<(-?)([\p{ID_Start}_][\p{ID_Continue}-]*)\r?\n/uy;
const TWO = new Set(['==', '!=', '<=', '>=', '&&', '||', '=>', '::', '~}']);
const ONE = new Set(['[', ']', '(', ')', '{', '}', '.', ',', '*', '/', '%', '+', '-', '=', '<', '>', '!', '?', ':', '~']);
const BINARY: ReadonlyArray<ReadonlySet<string>> = [new Set(['||']), new Set(['&&']), new Set(['==', '!=']), new Set(['<', '>', '<=', '>=']), new Set(['+', '-']), new Set(['*', '/', '%'])];

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** One template sequence (`${…}` or `%{…}`) between `s` and `e`, with its strip markers. */
interface Seq {
  s: number;
  e: number;
  part: TemplatePart;
  stripBefore: boolean;
  stripAfter: boolean;
}

/** A `%{ … }` directive's head: which keyword, where, its strip markers and what it carries. */
interface Directive {
  kw: string;
  s: number;
  e: number;
  stripBefore: boolean;
  stripAfter: boolean;
  cond?: Expr;
  keyVar?: string;
  valVar?: string;
  coll?: Expr;
}

type TemplateKind = 'quoted' | 'heredoc';

class Parser {
  private readonly lines: LineIndex;
  private pos: number;
  /** Whether newlines are tokens here (bodies, objects) or ignored (brackets, calls, templates). */
  private readonly nl: boolean[] = [true];
  private cache: { at: number; nl: boolean; tok: Tok } | undefined;

  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    this.lines = new LineIndex(text);
    this.pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  }

  range(start: number, end: number): Range {
    return { file: this.file, start: this.lines.pos(start), end: this.lines.pos(end) };
  }

  private fail(summary: string, detail: string, s: number, e = s): never {
    throw new Syntax(summary, detail, this.range(s, Math.max(s, e)));
  }

  // --- lexing -------------------------------------------------------------------------------

  private peek(): Tok {
    const nl = this.nl[this.nl.length - 1]!;
    const c = this.cache;
    if (c && c.at === this.pos && c.nl === nl) return c.tok;
    const tok = this.lex(this.pos, nl);
    this.cache = { at: this.pos, nl, tok };
    return tok;
  }

  private read(): Tok {
    const t = this.peek();
    this.pos = t.e;
    return t;
  }

  private expect(t: string, what: string): Tok {
    const tok = this.peek();
    if (tok.t !== t) this.unexpected(tok, what);
    return this.read();
  }

  private unexpected(tok: Tok, what: string): never {
    const found = tok.t === 'eof' ? 'the end of the file' : tok.t === 'nl' ? 'a newline' : JSON.stringify(this.text.slice(tok.s, Math.min(tok.e, tok.s + 20)));
    this.fail('Invalid syntax', `expected ${what}, found ${found}`, tok.s, tok.e);
  }

  private withNewlines<T>(on: boolean, f: () => T): T {
    this.nl.push(on);
    try {
      return f();
    } finally {
      this.nl.pop();
    }
  }

  private lex(i: number, nl: boolean): Tok {
    const text = this.text;
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9) {
        i++;
        continue;
      }
      if (c === 10 || (c === 13 && text.charCodeAt(i + 1) === 10)) {
        const e = i + (c === 13 ? 2 : 1);
        if (nl) return { t: 'nl', s: i, e };
        i = e;
        continue;
      }
      if (c === 35 || (c === 47 && text.charCodeAt(i + 1) === 47)) {
        // A line comment stands for the newline that ends it.
        const end = text.indexOf('\n', i);
        if (end < 0) {
          i = text.length;
          continue;
        }
        if (nl) return { t: 'nl', s: i, e: end + 1 };
        i = end + 1;
        continue;
      }
      if (c === 47 && text.charCodeAt(i + 1) === 42) {
        const end = text.indexOf('*/', i + 2);
        if (end < 0) return { t: 'bad', s: i, e: text.length };
        i = end + 2;
        continue;
      }
      if (i >= text.length) return { t: 'eof', s: i, e: i };
      if (isDigit(c)) return { t: 'num', s: i, e: this.numberEnd(i) };
      IDENT.lastIndex = i;
      if (IDENT.test(text)) return { t: 'id', s: i, e: IDENT.lastIndex };
      if (c === 34) return { t: '"', s: i, e: i + 1 };
      if (c === 60 && text.charCodeAt(i + 1) === 60) {
        HEREDOC_INTRO.lastIndex = i;
        if (HEREDOC_INTRO.test(text)) return { t: '<<', s: i, e: i + 2 };
      }
      if (text.startsWith('...', i)) return { t: '...', s: i, e: i + 3 };
      const two = text.slice(i, i + 2);
      if (TWO.has(two)) return { t: two, s: i, e: i + 2 };
      const one = text[i]!;
      if (ONE.has(one)) return { t: one, s: i, e: i + 1 };
      return { t: 'bad', s: i, e: i + 1 };
    }
  }

  /** HCL's number token: digits, dots and exponents, never ending with a dot (`1.5e3`, `0`, and `1.2.3`, which is then invalid). */
  private numberEnd(i: number): number {
    const text = this.text;
    let j = i + 1;
    for (;;) {
      const c = text.charCodeAt(j);
      if (isDigit(c) || c === 46) j++;
      else if ((c === 101 || c === 69) && isDigit(text.charCodeAt(j + 1))) j += 2;
      else if ((c === 101 || c === 69) && (text[j + 1] === '+' || text[j + 1] === '-') && isDigit(text.charCodeAt(j + 2))) j += 3;
      else break;
    }
    while (text.charCodeAt(j - 1) === 46) j--;
    return j;
  }

  // --- structure ----------------------------------------------------------------------------

  configFile(): Body {
    const start = this.pos;
    const body = this.body('eof', start);
    return body.attrs.length || body.blocks.length ? body : { ...body, r: this.range(0, this.text.length) };
  }

  private body(end: 'eof' | '}', openEnd: number): Body {
    const attrs: Attribute[] = [];
    const blocks: Block[] = [];
    let first = -1;
    let last = -1;
    for (;;) {
      const tok = this.peek();
      if (tok.t === end) break;
      if (tok.t === 'nl') {
        this.read();
        continue;
      }
      if (tok.t !== 'id') {
        if (tok.t === 'eof') this.fail('Unclosed configuration block', 'There is no closing brace for this block before the end of the file.', openEnd - 1, openEnd);
        this.fail('Argument or block definition required', 'An argument or block definition is required here.', tok.s, tok.e);
      }
      const item = this.bodyItem();
      if ('name' in item) {
        const prev = attrs.find((x) => x.name === item.name);
        if (prev)
          this.fail(
            'Attribute redefined',
            `The argument "${item.name}" was already set at ${prev.nameR.file}:${prev.nameR.start.line},${prev.nameR.start.col}-${prev.nameR.end.col}. Each argument may be set only once.`,
            item.nameR.start.offset,
            item.nameR.end.offset,
          );
        attrs.push(item);
      } else blocks.push(item);
      if (first < 0) first = item.r.start.offset;
      last = item.r.end.offset;
      // An argument or a block ends with a newline (or the end of the file).
      const after = this.peek();
      if (after.t === 'nl') this.read();
      else if (after.t !== 'eof')
        this.fail(
          `Missing newline after ${'name' in item ? 'argument' : 'block definition'}`,
          `An ${'name' in item ? 'argument definition' : 'block definition'} must end with a newline.`,
          after.s,
          after.e,
        );
    }
    return { attrs, blocks, r: first < 0 ? this.range(openEnd, this.peek().s) : this.range(first, last) };
  }

  private bodyItem(): Attribute | Block {
    const id = this.read();
    const next = this.peek();
    if (next.t === '=') return this.attribute(id);
    if (next.t === '"' || next.t === '{' || next.t === 'id') return this.block(id);
    this.fail('Argument or block definition required', 'An argument or block definition is required here. To set an argument, use the equals sign "=" to introduce the argument value.', id.s, id.e);
  }

  private attribute(id: Tok): Attribute {
    this.read(); // =
    const expr = this.expression();
    return { name: this.text.slice(id.s, id.e), expr, r: this.range(id.s, expr.r.end.offset), nameR: this.range(id.s, id.e) };
  }

  private block(id: Tok): Block {
    const labels: Block['labels'] = [];
    for (;;) {
      const tok = this.peek();
      if (tok.t === '{') break;
      if (tok.t === 'id') {
        this.read();
        labels.push({ v: this.text.slice(tok.s, tok.e), r: this.range(tok.s, tok.e) });
      } else if (tok.t === '"') labels.push(this.stringLiteral());
      else if (tok.t === 'nl')
        this.fail('Invalid block definition', 'A block definition must have block content delimited by "{" and "}", starting on the same line as the block header.', tok.s, tok.e);
      else this.fail('Invalid block definition', 'Either a quoted string block label or an opening brace ("{") is expected here.', tok.s, tok.e);
    }
    const open = this.read();
    let body: Body;
    const next = this.peek();
    if (next.t === 'nl' || next.t === 'eof' || next.t === '}') body = this.body('}', open.e);
    else {
      // `name { arg = value }`: a single argument on the block's line.
      const id2 = this.peek();
      if (id2.t !== 'id') this.fail('Argument or block definition required', 'An argument or block definition is required here.', id2.s, id2.e);
      this.read();
      if (this.peek().t !== '=')
        this.fail(
          'Invalid single-argument block definition',
          'A single-line block definition can contain only a single argument. If you meant to define argument, use an equals sign to assign it a value. To define a nested block, place it on a line of its own within its parent block.',
          id.s,
          this.peek().e,
        );
      const a = this.attribute(id2);
      body = { attrs: [a], blocks: [], r: a.r };
      const close = this.peek();
      if (close.t !== '}')
        this.fail('Invalid single-argument block definition', 'A single-line block definition must end with a closing brace immediately after its single argument definition.', close.s, close.e);
    }
    const close = this.expect('}', '"}"');
    return { type: this.text.slice(id.s, id.e), labels, body, r: this.range(id.s, close.e), typeR: this.range(id.s, id.e) };
  }

  /** A quoted string with no template sequences: a block label. */
  private stringLiteral(): { v: string; r: Range } {
    const open = this.read();
    const { end, seqs } = this.scanQuoted(open.e, true);
    if (seqs.length) this.fail('Invalid string literal', 'Template sequences are not allowed in this string.', seqs[0]!.s, seqs[0]!.e);
    this.pos = end + 1;
    return { v: this.unescapeQuoted(open.e, end), r: this.range(open.s, end + 1) };
  }

  // --- expressions --------------------------------------------------------------------------

  /** The whole text is one expression (newlines ignored), as HCL's ParseExpression. */
  wholeExpression(): Expr {
    return this.withNewlines(false, () => {
      const e = this.expression();
      const tok = this.peek();
      if (tok.t !== 'eof') this.fail('Extra characters after expression', 'An expression was successfully parsed, but extra characters were found after it.', tok.s, tok.e);
      return e;
    });
  }

  private expression(): Expr {
    const c = this.binary(0);
    if (this.peek().t !== '?') return c;
    this.read();
    const t = this.expression();
    this.expect(':', 'the ":" of a conditional');
    const f = this.expression();
    return { k: 'cond', c, t, f, r: this.range(c.r.start.offset, f.r.end.offset) };
  }

  private binary(level: number): Expr {
    if (level === BINARY.length) return this.termWithTraversals();
    const ops = BINARY[level]!;
    let a = this.binary(level + 1);
    for (;;) {
      const op = this.peek();
      if (!ops.has(op.t)) return a;
      this.read();
      const b = this.binary(level + 1);
      a = { k: 'bin', op: op.t, a, b, r: this.range(a.r.start.offset, b.r.end.offset) };
    }
  }

  private termWithTraversals(): Expr {
    const start = this.peek().s;
    return this.traversals(this.term(), start);
  }

  private term(): Expr {
    const tok = this.peek();
    switch (tok.t) {
      case '(': {
        this.read();
        const e = this.withNewlines(false, () => {
          const inner = this.expression();
          const close = this.peek();
          if (close.t !== ')') this.fail('Unbalanced parentheses', 'Expected a closing parenthesis to terminate the expression.', close.s, close.e);
          this.read();
          return inner;
        });
        return { k: 'paren', e, r: this.range(tok.s, this.pos) };
      }
      case 'num': {
        this.read();
        const s = this.text.slice(tok.s, tok.e);
        if (!NUMBER_OK.test(s)) this.fail('Invalid number literal', 'Failed to recognize the value of this number literal.', tok.s, tok.e);
        return { k: 'lit', v: Number(s), r: this.range(tok.s, tok.e) };
      }
      case 'id': {
        this.read();
        const name = this.text.slice(tok.s, tok.e);
        const next = this.peek();
        if (next.t === '(') return this.call(name, tok);
        if (next.t === '::') this.fail('Unsupported function namespace', 'Function names with "::" are not supported by Packer.', next.s, next.e);
        const r = this.range(tok.s, tok.e);
        if (name === 'true' || name === 'false') return { k: 'lit', v: name === 'true', r };
        if (name === 'null') return { k: 'lit', v: null, r };
        return { k: 'var', name, r };
      }
      case '"':
        return this.quoted();
      case '<<':
        return this.heredoc();
      case '-':
      case '!': {
        this.read();
        const a = this.termWithTraversals();
        return { k: 'un', op: tok.t, a, r: this.range(tok.s, a.r.end.offset) };
      }
      case '[':
        return this.tuple();
      case '{':
        return this.object();
    }
    if (tok.t === 'eof') this.fail('Missing expression', 'Expected the start of an expression, but found the end of the file.', tok.s, tok.e);
    this.fail('Invalid expression', 'Expected the start of an expression, but found an invalid expression token.', tok.s, tok.e);
  }

  private call(name: string, id: Tok): Expr {
    this.read(); // (
    return this.withNewlines(false, () => {
      const args: Expr[] = [];
      let expand = false;
      for (;;) {
        if (this.peek().t === ')') break;
        args.push(this.expression());
        const sep = this.peek();
        if (sep.t === ')') break;
        if (sep.t === '...') {
          this.read();
          expand = true;
          if (this.peek().t !== ')') this.fail('Missing closing parenthesis', 'An expanded function argument (with ...) must be immediately followed by closing parentheses.', sep.s, sep.e);
          break;
        }
        if (sep.t === 'eof')
          this.fail(
            'Unterminated function call',
            'There is no closing parenthesis for this function call before the end of the file. This may be caused by incorrect parenthesis nesting elsewhere in this file.',
            id.s,
            id.e + 1,
          );
        if (sep.t !== ',') this.fail('Missing argument separator', 'A comma is required to separate each function argument from the next.', sep.s, sep.e);
        this.read();
      }
      const close = this.read();
      return { k: 'call', name, args, expand, r: this.range(id.s, close.e), nameR: this.range(id.s, id.e) } as Expr;
    });
  }

  private isFor(): boolean {
    return this.withNewlines(false, () => {
      const t = this.peek();
      return t.t === 'id' && this.text.slice(t.s, t.e) === 'for';
    });
  }

  private keyword(word: string): boolean {
    const t = this.peek();
    return t.t === 'id' && this.text.slice(t.s, t.e) === word;
  }

  private tuple(): Expr {
    const open = this.read();
    return this.withNewlines(false, () => {
      if (this.isFor()) return this.forExpr(open, ']');
      const items: Expr[] = [];
      for (;;) {
        if (this.peek().t === ']') break;
        items.push(this.expression());
        const sep = this.peek();
        if (sep.t === ']') break;
        if (sep.t === 'eof')
          this.fail(
            'Unterminated tuple constructor expression',
            'There is no corresponding closing bracket before the end of the file. This may be caused by incorrect bracket nesting elsewhere in this file.',
            open.s,
            open.e,
          );
        if (sep.t !== ',') this.fail('Missing item separator', 'Expected a comma to mark the beginning of the next item.', sep.s, sep.e);
        this.read();
      }
      const close = this.read();
      return { k: 'tuple', items, r: this.range(open.s, close.e) } as Expr;
    });
  }

  private object(): Expr {
    const open = this.read();
    if (this.isFor()) return this.withNewlines(false, () => this.forExpr(open, '}'));
    return this.withNewlines(true, () => {
      const items: Array<{ key: Expr; value: Expr }> = [];
      for (;;) {
        const next = this.peek();
        if (next.t === 'nl') {
          this.read();
          continue;
        }
        if (next.t === '}') break;
        const key = this.expression();
        const eq = this.peek();
        if (eq.t === 'eof') this.unterminatedObject(open);
        if (eq.t !== '=' && eq.t !== ':') this.fail('Missing key/value separator', 'Expected an equals sign ("=") to mark the beginning of the attribute value.', eq.s, eq.e);
        this.read();
        const value = this.expression();
        items.push({ key, value });
        const sep = this.peek();
        if (sep.t === '}') break;
        if (sep.t === 'eof') this.unterminatedObject(open);
        if (sep.t !== ',' && sep.t !== 'nl') this.fail('Missing attribute separator', 'Expected a newline or comma to mark the beginning of the next attribute.', sep.s, sep.e);
        this.read();
      }
      const close = this.read();
      return { k: 'object', items, r: this.range(open.s, close.e) } as Expr;
    });
  }

  private unterminatedObject(open: Tok): never {
    this.fail(
      'Unterminated object constructor expression',
      'There is no corresponding closing brace before the end of the file. This may be caused by incorrect brace nesting elsewhere in this file.',
      open.s,
      open.e,
    );
  }

  /** `[for k, v in coll : value if cond]` / `{for k, v in coll : key => value... if cond}`; newlines ignored. */
  private forExpr(open: Tok, close: ']' | '}'): Expr {
    this.read(); // for
    const names: string[] = [];
    for (;;) {
      const id = this.expect('id', "a variable name after 'for'");
      names.push(this.text.slice(id.s, id.e));
      if (names.length === 2 || this.peek().t !== ',') break;
      this.read();
    }
    if (!this.keyword('in')) this.unexpected(this.peek(), "the 'in' keyword");
    this.read();
    const coll = this.expression();
    this.expect(':', 'a colon after the collection expression');
    let valExpr = this.expression();
    let keyExpr: Expr | undefined;
    if (this.peek().t === '=>') {
      this.read();
      keyExpr = valExpr;
      valExpr = this.expression();
    }
    let group = false;
    if (this.peek().t === '...') {
      this.read();
      group = true;
    }
    let cond: Expr | undefined;
    if (this.keyword('if')) {
      this.read();
      cond = this.expression();
    }
    const end = this.expect(close, `"${close}" to end the 'for' expression`);
    const r = this.range(open.s, end.e);
    if (close === ']' && (keyExpr || group))
      this.fail("Invalid 'for' expression", keyExpr ? 'Key expression is not valid when building a tuple.' : 'Grouping ellipsis (...) cannot be used when building a tuple.', open.s, end.e);
    if (close === '}' && !keyExpr) this.fail("Invalid 'for' expression", 'Key expression is required when building an object.', open.s, end.e);
    const [keyVar, valVar] = names.length === 2 ? [names[0], names[1]!] : [undefined, names[0]!];
    const base = { k: 'for' as const, valVar, coll, group, r };
    const withKey = keyVar !== undefined ? { keyVar } : {};
    const withCond = cond ? { cond } : {};
    if (keyExpr) return { ...base, ...withKey, ...withCond, keyExpr, valExpr };
    return { ...base, ...withKey, ...withCond, valExpr };
  }

  /** Postfix steps: `.name`, `.0` (legacy index), `[key]`, `.*` (attribute steps only), `[*]` (every step after it). */
  private traversals(base: Expr, start: number): Expr {
    let e = base;
    for (;;) {
      const tok = this.peek();
      if (tok.t === '.') {
        this.read();
        const step = this.peek();
        if (step.t === 'id' || step.t === 'num') {
          e = this.dotStep(e, start);
          continue;
        }
        if (step.t === '*') {
          this.read();
          const anon: Extract<Expr, { k: 'anon' }> = { k: 'anon', r: this.range(tok.s, step.e) };
          let each: Expr = anon;
          while (this.peek().t === '.') {
            this.read();
            const t = this.peek();
            if (t.t !== 'id' && t.t !== 'num') this.fail('Invalid attribute name', 'An attribute name is required after a dot.', t.s, t.e);
            each = this.dotStep(each, tok.s);
          }
          anon.r = this.range(tok.s, each.r.end.offset);
          e = { k: 'splat', obj: e, each, r: this.range(start, each.r.end.offset) };
          continue;
        }
        this.fail('Invalid attribute name', 'An attribute name is required after a dot.', step.s, step.e);
      }
      if (tok.t === '[') {
        this.read();
        if (this.withNewlines(false, () => this.peek().t === '*')) {
          this.withNewlines(false, () => {
            this.read();
            this.expect(']', 'a closing bracket after the splat "*"');
          });
          const anon: Extract<Expr, { k: 'anon' }> = { k: 'anon', r: this.range(tok.s, this.pos) };
          const each = this.traversals(anon, tok.s);
          anon.r = this.range(tok.s, each.r.end.offset);
          e = { k: 'splat', obj: e, each, r: this.range(start, each.r.end.offset) };
          continue;
        }
        const key = this.withNewlines(false, () => {
          const k = this.expression();
          this.expect(']', 'a closing bracket to end the index');
          return k;
        });
        e = { k: 'index', obj: e, key, r: this.range(start, this.pos) };
        continue;
      }
      return e;
    }
  }

  /** After a dot: an attribute name, or a legacy numeric index. */
  private dotStep(obj: Expr, start: number): Expr {
    const dot = this.text.lastIndexOf('.', this.peek().s);
    const t = this.read();
    const s = this.text.slice(t.s, t.e);
    if (t.t === 'id') return { k: 'attr', obj, name: s, r: this.range(start, t.e) };
    if (!/^[0-9]+$/.test(s))
      this.fail('Invalid legacy index syntax', 'When using the legacy index syntax, chaining two indexes together is not permitted. Use the proper index syntax instead, like [0][1].', t.s, t.e);
    return { k: 'index', obj, key: { k: 'lit', v: Number(s), r: this.range(dot, t.e) }, r: this.range(start, t.e) };
  }

  // --- templates ----------------------------------------------------------------------------

  /** `"…"`: a string (one literal part, even empty) when it has no template sequence, else a template. */
  private quoted(): Expr {
    const open = this.read();
    const { end, seqs } = this.scanQuoted(open.e, false);
    this.pos = end + 1;
    const r = this.range(open.s, end + 1);
    if (!seqs.length) return { k: 'tmpl', parts: [{ k: 'str', v: this.unescapeQuoted(open.e, end) }], r };
    return { k: 'tmpl', parts: this.parts(seqs, open.e, end, 'quoted'), r };
  }

  /**
   * Scans a quoted template from `from` (after the opening quote) to its closing quote; template
   * sequences are parsed on the way. `labelOnly`: sequences are an error for the caller to report.
   */
  private scanQuoted(from: number, labelOnly: boolean): { end: number; seqs: Array<Seq | Directive> } {
    const text = this.text;
    const seqs: Array<Seq | Directive> = [];
    let i = from;
    for (;;) {
      const c = text.charCodeAt(i);
      if (i >= text.length) this.fail('Unterminated template string', 'No closing marker was found for the string.', from - 1, i);
      if (c === 34) return { end: i, seqs };
      if (c === 10 || c === 13)
        this.fail(
          'Invalid multi-line string',
          'Quoted strings may not be split over multiple lines. To produce a multi-line string, either use the \\n escape to represent a newline character or use the "heredoc" multi-line template syntax.',
          from - 1,
          i,
        );
      if (c === 92) {
        const n = text.charCodeAt(i + 1);
        if (i + 1 >= text.length || n === 10 || n === 13) this.fail('Invalid escape sequence', 'Backslash must be followed by an escape sequence selector character.', i, i + 1);
        i += 2;
        continue;
      }
      if ((c === 36 || c === 37) && text.charCodeAt(i + 1) === c && text.charCodeAt(i + 2) === 123) {
        i += 3; // $${ and %%{ are literal
        continue;
      }
      if ((c === 36 || c === 37) && text.charCodeAt(i + 1) === 123) {
        if (labelOnly) {
          seqs.push({ s: i, e: i + 2, part: { k: 'str', v: '' }, stripBefore: false, stripAfter: false });
          return { end: this.skipToQuote(i), seqs };
        }
        const seq = c === 36 ? this.interpolation(i) : this.directive(i);
        seqs.push(seq);
        i = seq.e;
        continue;
      }
      i++;
    }
  }

  private skipToQuote(i: number): number {
    const end = this.text.indexOf('"', i);
    return end < 0 ? this.text.length : end;
  }

  /** `${ expr }` at `s`, with `~` strip markers. */
  private interpolation(s: number): Seq {
    this.pos = s + 2;
    const stripBefore = this.text.charCodeAt(this.pos) === 126;
    if (stripBefore) this.pos++;
    const { e, stripAfter } = this.withNewlines(false, () => {
      const ex = this.expression();
      return { e: ex, stripAfter: this.sequenceEnd() };
    });
    return { s, e: this.pos, part: { k: 'interp', e }, stripBefore, stripAfter };
  }

  /** The `}` or `~}` that closes a template sequence; true for `~}`. */
  private sequenceEnd(): boolean {
    const tok = this.peek();
    if (tok.t !== '}' && tok.t !== '~}')
      this.fail('Extra characters after interpolation expression', 'Expected a closing brace to end the interpolation expression, but found extra characters.', tok.s, tok.e);
    this.read();
    return tok.t === '~}';
  }

  /** `%{ if c }`, `%{ else }`, `%{ endif }`, `%{ for k, v in coll }`, `%{ endfor }` at `s`. */
  private directive(s: number): Directive {
    this.pos = s + 2;
    const stripBefore = this.text.charCodeAt(this.pos) === 126;
    if (stripBefore) this.pos++;
    return this.withNewlines(false, () => {
      const kwTok = this.peek();
      const kw = kwTok.t === 'id' ? this.text.slice(kwTok.s, kwTok.e) : '';
      if (!['if', 'else', 'endif', 'for', 'endfor'].includes(kw))
        this.fail('Invalid template directive', 'A template directive keyword ("if", "for", etc) is expected at the beginning of a %{ sequence.', kwTok.s, kwTok.e);
      this.read();
      const d: Directive = { kw, s, e: s, stripBefore, stripAfter: false };
      if (kw === 'if') d.cond = this.expression();
      if (kw === 'for') {
        const names: string[] = [];
        for (;;) {
          const id = this.expect('id', "a variable name after 'for'");
          names.push(this.text.slice(id.s, id.e));
          if (names.length === 2 || this.peek().t !== ',') break;
          this.read();
        }
        if (!this.keyword('in')) this.unexpected(this.peek(), "the 'in' keyword");
        this.read();
        d.coll = this.expression();
        if (names.length === 2) d.keyVar = names[0]!;
        d.valVar = names[names.length - 1]!;
      }
      d.stripAfter = this.sequenceEnd();
      d.e = this.pos;
      return d;
    });
  }

  /** `<<EOT` / `<<-EOT` heredocs: lines up to one holding only the marker (spaces around it allowed). */
  private heredoc(): Expr {
    const open = this.read();
    HEREDOC_INTRO.lastIndex = open.s;
    const m = HEREDOC_INTRO.exec(this.text)!;
    const flush = m[1] === '-';
    const marker = m[2]!;
    const contentStart = HEREDOC_INTRO.lastIndex;
    const text = this.text;
    const seqs: Array<Seq | Directive> = [];
    let i = contentStart;
    let lineStart = true;
    for (;;) {
      if (i >= text.length) this.fail('Unterminated template string', 'No closing marker was found for the string.', text.length);
      if (lineStart) {
        const nl = text.indexOf('\n', i);
        if (nl >= 0 && text.slice(i, nl).trim() === marker) {
          const markS = text.indexOf(marker, i);
          this.pos = markS + marker.length;
          let parts = this.parts(seqs, contentStart, i, 'heredoc');
          if (flush) parts = flushHeredoc(parts);
          return { k: 'tmpl', parts, r: this.range(open.s, this.pos) };
        }
      }
      const c = text.charCodeAt(i);
      if ((c === 36 || c === 37) && text.charCodeAt(i + 1) === c && text.charCodeAt(i + 2) === 123) {
        i += 3;
        lineStart = false;
        continue;
      }
      if ((c === 36 || c === 37) && text.charCodeAt(i + 1) === 123) {
        const seq = c === 36 ? this.interpolation(i) : this.directive(i);
        seqs.push(seq);
        i = seq.e;
        lineStart = false;
        continue;
      }
      lineStart = c === 10;
      i++;
    }
  }

  /** A whole text as a template (no quotes, no escapes but `$${` and `%%{`), as HCL's ParseTemplate. */
  bareTemplate(): Expr {
    const text = this.text;
    const seqs: Array<Seq | Directive> = [];
    let i = this.pos;
    const from = i;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if ((c === 36 || c === 37) && text.charCodeAt(i + 1) === c && text.charCodeAt(i + 2) === 123) {
        i += 3;
        continue;
      }
      if ((c === 36 || c === 37) && text.charCodeAt(i + 1) === 123) {
        const seq = c === 36 ? this.interpolation(i) : this.directive(i);
        seqs.push(seq);
        i = seq.e;
        continue;
      }
      i++;
    }
    return { k: 'tmpl', parts: this.parts(seqs, from, text.length, 'heredoc'), r: this.range(from, text.length) };
  }

  /** Template parts between `from` and `to`: literals, interpolations, and directives nested into if/for parts. */
  private parts(seqs: Array<Seq | Directive>, from: number, to: number, kind: TemplateKind): TemplatePart[] {
    let at = 0;
    const nest = (stop: string[]): { items: Seq[]; end?: Directive } => {
      const items: Seq[] = [];
      while (at < seqs.length) {
        const x = seqs[at++]!;
        if (!('kw' in x)) {
          items.push(x);
          continue;
        }
        if (stop.includes(x.kw)) return { items, end: x };
        if (x.kw === 'if') items.push(this.ifPart(x, nest, kind));
        else if (x.kw === 'for') items.push(this.forPart(x, nest, kind));
        else this.fail(`Unexpected ${x.kw} directive`, 'The control directives within this template are unbalanced.', x.s, x.e);
      }
      return { items };
    };
    const { items, end } = nest([]);
    if (end) this.fail(`Unexpected ${end.kw} directive`, 'The control directives within this template are unbalanced.', end.s, end.e);
    return this.literals(items, from, to, kind);
  }

  private ifPart(intro: Directive, nest: (stop: string[]) => { items: Seq[]; end?: Directive }, kind: TemplateKind): Seq {
    const a = nest(['else', 'endif', 'endfor']);
    if (!a.end || a.end.kw === 'endfor') this.fail('Unexpected end of template', 'The if directive is missing its corresponding endif directive.', intro.s, intro.e);
    let elseD: Directive | undefined;
    let end = a.end;
    let elseItems: Seq[] = [];
    if (end.kw === 'else') {
      elseD = end;
      const b = nest(['endif', 'else', 'endfor']);
      if (!b.end || b.end.kw !== 'endif') this.fail('Unexpected end of template', 'The if directive is missing its corresponding endif directive.', intro.s, intro.e);
      end = b.end;
      elseItems = b.items;
    }
    let thenParts = this.literals(a.items, intro.e, (elseD ?? end).s, kind);
    let elseParts = elseD ? this.literals(elseItems, elseD.e, end.s, kind) : [];
    if (intro.stripAfter) thenParts = trimFirst(thenParts);
    if (elseD?.stripBefore) trimLast(thenParts);
    if (elseD?.stripAfter) elseParts = trimFirst(elseParts);
    if (end.stripBefore) trimLast(elseD ? elseParts : thenParts);
    return { s: intro.s, e: end.e, part: { k: 'if', cond: intro.cond!, then: thenParts, else: elseParts, r: this.range(intro.s, end.e) }, stripBefore: intro.stripBefore, stripAfter: end.stripAfter };
  }

  private forPart(start: Directive, nest: (stop: string[]) => { items: Seq[]; end?: Directive }, kind: TemplateKind): Seq {
    const a = nest(['endfor', 'else', 'endif']);
    if (!a.end || a.end.kw !== 'endfor') this.fail('Unexpected end of template', 'The for directive is missing its corresponding endfor directive.', start.s, start.e);
    const end = a.end;
    let body = this.literals(a.items, start.e, end.s, kind);
    if (start.stripAfter) body = trimFirst(body);
    if (end.stripBefore) trimLast(body);
    const r = this.range(start.s, end.e);
    const part: TemplatePart =
      start.keyVar !== undefined ? { k: 'for', keyVar: start.keyVar, valVar: start.valVar!, coll: start.coll!, body, r } : { k: 'for', valVar: start.valVar!, coll: start.coll!, body, r };
    return { s: start.s, e: end.e, part, stripBefore: start.stripBefore, stripAfter: end.stripAfter };
  }

  /** Literal text between the sequences (escapes resolved, strip markers applied; empty literals dropped). */
  private literals(items: Seq[], from: number, to: number, kind: TemplateKind): TemplatePart[] {
    const out: TemplatePart[] = [];
    let trimNext = false;
    let at = from;
    const lit = (start: number, end: number) => {
      if (end <= start) return;
      let v = kind === 'quoted' ? this.unescapeQuoted(start, end) : unescapeTemplate(this.text.slice(start, end));
      if (trimNext) v = v.replace(/^\s+/, '');
      trimNext = false;
      if (v) out.push({ k: 'str', v });
    };
    for (const item of items) {
      lit(at, item.s);
      if (item.stripBefore) trimLast(out);
      out.push(item.part);
      trimNext = item.stripAfter;
      at = item.e;
    }
    lit(at, to);
    return out;
  }

  /** A quoted string's escapes: \n \r \t \" \\ \uNNNN \UNNNNNNNN, plus `$${` and `%%{`. */
  private unescapeQuoted(start: number, end: number): string {
    const raw = this.text.slice(start, end);
    if (!raw.includes('\\') && !raw.includes('{')) return raw;
    let out = '';
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i]!;
      if (c === '\\') {
        const e = raw[i + 1];
        const simple = e === 'n' ? '\n' : e === 'r' ? '\r' : e === 't' ? '\t' : e === '"' ? '"' : e === '\\' ? '\\' : undefined;
        if (simple !== undefined) {
          out += simple;
          i++;
          continue;
        }
        if (e === 'u' || e === 'U') {
          const len = e === 'u' ? 4 : 8;
          const hex = raw.slice(i + 2, i + 2 + len);
          const cp = /^[0-9a-fA-F]+$/.test(hex) && hex.length === len ? parseInt(hex, 16) : -1;
          if (cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            this.fail('Invalid escape sequence', `The \\${e} escape sequence must be followed by ${len} hexadecimal digits.`, start + i, start + i + 2 + hex.length);
          out += String.fromCodePoint(cp);
          i += 1 + len;
          continue;
        }
        this.fail('Invalid escape sequence', `The symbol ${JSON.stringify(e ?? '')} is not a valid escape sequence selector.`, start + i, start + i + 2);
      }
      if ((c === '$' || c === '%') && raw[i + 1] === c && raw[i + 2] === '{') {
        out += `${c}{`;
        i += 2;
        continue;
      }
      out += c;
    }
    return out;
  }
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
