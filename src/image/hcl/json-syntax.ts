// HCL2's JSON variant (`*.pkr.json`, `*.pkrvars.json`) → kiln's syntax tree. JSON cannot tell a
// block from an attribute, so Packer's schema decides at the top level and inside `build` (block
// types and how many labels they take); inside plugin configs every member is an attribute, which
// the config decoding treats like a nested block. Strings are templates (`${…}` is evaluated).
import type { Diagnostic } from '../../core/diagnostics.js';
import { parseJsonSource } from '../../core/json.js';
import { LineIndex } from '../../core/source.js';
import type { Attribute, Block, Body, Expr, Range } from './ast.js';
import { parseHclTemplateSync, HCL_SYNTAX } from './syntax.js';

/** Block types and label counts Packer's schema knows, by the enclosing block type. */
const SCHEMA: Record<string, Record<string, number>> = {
  '': { packer: 0, variable: 1, variables: 0, locals: 0, local: 1, source: 2, data: 2, build: 0 },
  build: { source: 1, provisioner: 1, 'post-processor': 1, 'post-processors': 0, 'error-cleanup-provisioner': 1, hcp_packer_registry: 0 },
  'post-processors': { 'post-processor': 1 },
  variable: { validation: 0 },
  packer: { required_plugins: 0 },
};

type JNode = { t: 'obj'; entries: Array<{ k: string; kr: Range; v: JNode }>; r: Range } | { t: 'arr'; items: JNode[]; r: Range } | { t: 'lit'; v: string | number | boolean | null; r: Range };

/** A JSON reader that keeps duplicate keys (HCL's JSON syntax allows them: several blocks). */
function readJson(file: string, text: string): JNode | undefined {
  const lines = new LineIndex(text);
  let i = 0;
  const r = (a: number, b: number): Range => ({ file, start: lines.pos(a), end: lines.pos(b) });
  const ws = () => {
    while (i < text.length && /[ \t\r\n]/.test(text[i]!)) i++;
  };
  const str = (): string => {
    const m = /^"(?:[^"\\\u0000-\u001f]|\\.)*"/.exec(text.slice(i));
    if (!m) throw new Error('string');
    i += m[0].length;
    return JSON.parse(m[0]) as string;
  };
  const value = (): JNode => {
    ws();
    const s = i;
    const ch = text[i];
    if (ch === '{') {
      i++;
      const entries: Array<{ k: string; kr: Range; v: JNode }> = [];
      ws();
      if (text[i] === '}') {
        i++;
        return { t: 'obj', entries, r: r(s, i) };
      }
      for (;;) {
        ws();
        const ks = i;
        const k = str();
        const kr = r(ks, i);
        ws();
        if (text[i++] !== ':') throw new Error(':');
        entries.push({ k, kr, v: value() });
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i++] !== '}') throw new Error('}');
        return { t: 'obj', entries, r: r(s, i) };
      }
    }
    if (ch === '[') {
      i++;
      const items: JNode[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return { t: 'arr', items, r: r(s, i) };
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i++] !== ']') throw new Error(']');
        return { t: 'arr', items, r: r(s, i) };
      }
    }
    if (ch === '"') return { t: 'lit', v: str(), r: r(s, i) };
    const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i));
    if (!m) throw new Error('value');
    i += m[0].length;
    return { t: 'lit', v: JSON.parse(m[0]) as string | number | boolean | null, r: r(s, i) };
  };
  try {
    const v = value();
    ws();
    return i === text.length ? v : undefined;
  } catch {
    return undefined;
  }
}

export async function parseJsonHclFile(file: string, text: string, varFile = file.includes('.pkrvars.')): Promise<{ body?: Body; diagnostics: Diagnostic[] }> {
  const root = readJson(file, text);
  if (!root) {
    const doc = parseJsonSource(text, file, { syntaxCode: HCL_SYNTAX, duplicateCode: HCL_SYNTAX });
    const errs = doc.diagnostics.filter((d) => d.severity === 'error' && !/duplicate/i.test(d.message));
    return { diagnostics: errs.length ? errs : [{ severity: 'error', code: HCL_SYNTAX, message: 'Invalid JSON', range: { file, start: { line: 1, col: 1, offset: 0 } } }] };
  }
  const diags: Diagnostic[] = [];
  if (root.t !== 'obj')
    return { diagnostics: [{ severity: 'error', code: HCL_SYNTAX, message: 'Root value must be object; The root value in a JSON-based configuration must be a JSON object.', range: root.r }] };
  const expr = (x: JNode): Expr => {
    if (x.t === 'lit') {
      if (typeof x.v !== 'string') return { k: 'lit', v: x.v, r: x.r };
      if (!x.v.includes('${') && !x.v.includes('%{')) return { k: 'tmpl', parts: x.v ? [{ k: 'str', v: x.v }] : [], r: x.r };
      const p = parseHclTemplateSync(file, x.v);
      if (!p.expr) {
        diags.push(...p.diagnostics.map((d) => ({ ...d, range: x.r })));
        return { k: 'lit', v: x.v, r: x.r };
      }
      return relocate(p.expr, x.r);
    }
    if (x.t === 'arr') return { k: 'tuple', items: x.items.map(expr), r: x.r };
    return { k: 'object', items: x.entries.map((e) => ({ key: { k: 'tmpl', parts: [{ k: 'str', v: e.k }], r: e.kr } as Expr, value: expr(e.v) })), r: x.r };
  };
  const body = (o: Extract<JNode, { t: 'obj' }>, ctx: string): Body => {
    const attrs: Attribute[] = [];
    const blocks: Block[] = [];
    const schema = varFile ? {} : (SCHEMA[ctx] ?? {});
    for (const e of o.entries) {
      const labels = schema[e.k];
      if (labels === undefined) attrs.push({ name: e.k, expr: expr(e.v), r: { ...e.kr, end: e.v.r.end }, nameR: e.kr });
      else blocks.push(...blocksOf(e.k, e.kr, e.v, labels, []));
    }
    return { attrs, blocks, r: o.r, json: true };
  };
  const blocksOf = (type: string, typeR: Range, x: JNode, labels: number, got: Array<{ v: string; r: Range }>): Block[] => {
    if (x.t === 'arr') return x.items.flatMap((y) => blocksOf(type, typeR, y, labels, got));
    if (x.t !== 'obj') {
      diags.push({
        severity: 'error',
        code: HCL_SYNTAX,
        message: `Incorrect JSON value type; A JSON object is required here, to define ${labels ? 'labels or ' : ''}the body of a "${type}" block.`,
        range: x.r,
      });
      return [];
    }
    if (got.length < labels) return x.entries.flatMap((e) => blocksOf(type, typeR, e.v, labels, [...got, { v: e.k, r: e.kr }]));
    return [{ type, labels: got, body: body(x, type), r: x.r, typeR: got[0]?.r ?? typeR }];
  };
  const b = body(root, '');
  return diags.length ? { diagnostics: diags } : { body: b, diagnostics: [] };
}
/** A template parsed out of a JSON string has positions inside that string; use the string's. */
function relocate(e: Expr, r: Range): Expr {
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk);
    if (x && typeof x === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, y] of Object.entries(x)) out[k] = k === 'r' || k === 'nameR' ? r : walk(y);
      return out;
    }
    return x;
  };
  return walk(e) as Expr;
}
