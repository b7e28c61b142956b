// Loading an HCL2 template from disk as Packer does: a `.pkr.hcl` / `.pkr.json` file, or a folder
// (every `*.pkr.hcl` and `*.pkr.json` in it, plus its `*.auto.pkrvars.hcl` / `*.auto.pkrvars.json`),
// `-var-file`s (`.pkrvars.hcl`, `.hcl`, `.json`), `-var`, `PKR_VAR_*`.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { MAX_TEMPLATE_BYTES, MAX_VAR_FILE_BYTES, readInputSync } from '../../core/input.js';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { homedir } from 'node:os';
import type { Diagnostic } from '../../core/diagnostics.js';
import { KilnError } from '../../core/errors.js';
import type { Body, Expr } from './ast.js';
import { parseJsonHclFile } from './json-syntax.js';
import { loadHcl, type HclResult } from './packer.js';
import { evaluate, EvalError } from './eval.js';
import { makeFunctions, type FunctionEnv } from './functions.js';
import { parseHclFile, parseHclExpression, parseHclTemplateSync } from './syntax.js';
import type { Value } from './values.js';

/** True for what Packer reads as HCL2: a folder, `*.pkr.hcl`, `*.pkr.json`. */
export function isHcl2Template(path: string, isDir: boolean): boolean {
  return isDir || path.endsWith('.pkr.hcl') || path.endsWith('.pkr.json');
}

export interface HclLoadOptions {
  /** The template argument as given (file or folder). */
  path: string;
  cwd: string;
  env: Record<string, string | undefined>;
  vars?: Array<[string, string]>;
  /** `-var-file` paths as given. */
  varFiles?: string[];
  initTime?: number;
  random?: () => number;
}

export interface LoadedHcl extends HclResult {
  /** Absolute paths of the template files read. */
  files: string[];
  /** The texts, for excerpts under diagnostics. */
  texts: Map<string, string>;
  /** Evaluates the same files again (same time, same random source) with data sources' outputs known. */
  withData?: (dataValues: Record<string, Record<string, Value>>) => LoadedHcl;
}

function listDir(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => {
      try {
        return statSync(join(dir, n)).isFile();
      } catch {
        return false;
      }
    })
    .sort();
}

async function parseAny(file: string, text: string): Promise<{ body?: Body; diagnostics: Diagnostic[] }> {
  if (file.endsWith('.json')) return parseJsonHclFile(file, text);
  return parseHclFile(file, text);
}

function fsFunctionEnv(cwd: string, env: Record<string, string | undefined>, initTime: number, random: () => number): FunctionEnv {
  return {
    cwd,
    initTime,
    random,
    env,
    homeDir: env['HOME'] ?? homedir(),
    readFile: (p) => readFileSync(p),
    fileExists: (p) => {
      try {
        return statSync(p).isDirectory() ? 'dir' : 'file';
      } catch {
        return undefined;
      }
    },
    listFiles: (dir) => {
      const out: string[] = [];
      const walk = (d: string) => {
        for (const n of readdirSync(d).sort()) {
          const p = join(d, n);
          if (statSync(p).isDirectory()) walk(p);
          else out.push(relative(dir, p).split(sep).join('/'));
        }
      };
      walk(dir);
      return out;
    },
  };
}

/** Reads, parses and evaluates an HCL2 template. Throws KilnError when the path cannot be read. */
export async function loadHclTemplate(o: HclLoadOptions): Promise<LoadedHcl> {
  const abs = isAbsolute(o.path) ? o.path : resolve(o.cwd, o.path);
  let isDir: boolean;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    throw new KilnError('PACKER_OPEN', `Failed to parse template: open ${o.path}: no such file or directory`);
  }
  const display = (p: string) => {
    const rel = relative(o.cwd, p);
    return rel && !rel.startsWith('..') ? rel : p;
  };
  let templateFiles: string[];
  let autoVarFiles: string[] = [];
  if (isDir) {
    const names = listDir(abs);
    templateFiles = names.filter((n) => n.endsWith('.pkr.hcl') || n.endsWith('.pkr.json')).map((n) => join(abs, n));
    autoVarFiles = names.filter((n) => n.endsWith('.auto.pkrvars.hcl') || n.endsWith('.auto.pkrvars.json')).map((n) => join(abs, n));
    if (!templateFiles.length) throw new KilnError('PACKER_OPEN', `Could not find any config file in ${o.path}: a folder template holds *.pkr.hcl or *.pkr.json files`);
  } else templateFiles = [abs];
  const root = isDir ? abs : dirname(abs);
  // `path.root` as Packer gives it: the template's folder as written on the command line.
  const rootAsGiven = isDir ? o.path : dirname(o.path);

  const texts = new Map<string, string>();
  const diagnostics: Diagnostic[] = [];
  const files: Array<{ file: string; body: Body }> = [];
  for (const f of templateFiles) {
    const text = readInputSync(f, { maxBytes: MAX_TEMPLATE_BYTES, what: 'template' });
    const name = display(f);
    texts.set(name, text);
    const r = await parseAny(name, text);
    diagnostics.push(...r.diagnostics);
    if (r.body) files.push({ file: name, body: r.body });
  }
  const varFiles: Array<{ file: string; body: Body }> = [];
  const varPaths = [...autoVarFiles, ...(o.varFiles ?? []).map((f) => (isAbsolute(f) ? f : resolve(o.cwd, f)))];
  for (const f of varPaths) {
    if (!existsSync(f)) throw new KilnError('PACKER_VAR_FILE', `open ${display(f)}: no such file or directory`);
    const text = readInputSync(f, { maxBytes: MAX_VAR_FILE_BYTES, what: 'var file' });
    const name = display(f);
    texts.set(name, text);
    const r = await parseAny(name, text);
    diagnostics.push(...r.diagnostics);
    if (r.body) varFiles.push({ file: name, body: r.body });
  }
  const initTime = o.initTime ?? Date.now();
  const random = o.random ?? Math.random;
  const fn = fsFunctionEnv(o.cwd, o.env, initTime, random);
  // templatefile(): the file is an HCL template, rendered with the given variables only.
  fn.renderTemplate = (text: string, file: string, vars: Record<string, Value>) => {
    const parsed = parseHclTemplateSync(file, text);
    if (!parsed.expr) throw new Error(parsed.diagnostics.map((d) => d.message).join('; '));
    const fns = makeFunctions(fn, { allowEnv: false });
    delete fns['templatefile'];
    try {
      return evaluate(parsed.expr, { names: vars, functions: fns });
    } catch (e) {
      if (e instanceof EvalError) throw new Error(`${e.range.file}:${e.range.start.line},${e.range.start.col}: ${e.message}`);
      throw e;
    }
  };
  if (diagnostics.some((d) => d.severity === 'error')) return { info: { variables: [], dataSources: [], locals: [], builds: [] }, diagnostics, mask: (s) => s, files: templateFiles, texts };
  const parseExpr = (text: string, origin: string): { expr?: Expr; diagnostics: Diagnostic[] } => parseHclExpression(origin, text);
  const evaluateWith = (dataValues?: Record<string, Record<string, Value>>): LoadedHcl => {
    const r = loadHcl({ files, varFiles, vars: o.vars ?? [], parseExpr, env: o.env, fn, root, rootAsGiven, display: o.path, ...(dataValues ? { dataValues } : {}) });
    return { ...r, diagnostics: [...diagnostics, ...r.diagnostics], files: templateFiles, texts, withData: evaluateWith };
  };
  return evaluateWith();
}
