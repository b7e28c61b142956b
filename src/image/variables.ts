// User variables (reference §2): defaults, -var-file, -var with the binary's precedence, variables
// that refer to variables, `{{env}}` in defaults, required variables, sensitive masking. Pure.
import { error, type Diagnostic } from '../core/diagnostics.js';
import { diagAt, CODES, goJsonSyntaxError } from './template.js';
import { render, TemplateError } from './interpolate.js';
import { SENSITIVE_MASK, type ParsedTemplate, type ResolvedVariables } from './types.js';

interface VariableInputs {
  /** `-var k=v` in command-line order. */
  vars?: Array<[string, string]>;
  /** `-var-file` contents in command-line order. */
  varFiles?: Array<{ file: string; text: string }>;
  env?: Record<string, string | undefined>;
  initTime: number;
  templateDir?: string;
  pwd?: string;
  random?: () => number;
}

/** Parses one var file as Packer does (a flat JSON object of strings). */
export function parseVarFile(file: string, text: string): { values?: Record<string, string>; diagnostic?: Diagnostic } {
  const fail = (msg: string) => ({ diagnostic: error(CODES.variables, `Error reading variables in '${file}': ${msg}`, { range: { file, start: { line: 1, col: 1, offset: 0 } } }) });
  const syn = goJsonSyntaxError(text);
  if (syn) return fail(syn.eof ? 'unexpected EOF' : syn.message);
  const v = JSON.parse(text) as unknown;
  if (v === null) return { values: {} };
  const kind = (x: unknown) => (Array.isArray(x) ? 'array' : x === null ? 'null' : typeof x === 'object' ? 'object' : typeof x === 'boolean' ? 'bool' : typeof x);
  if (typeof v !== 'object' || Array.isArray(v)) return fail(`json: cannot unmarshal ${kind(v)} into Go value of type kvflag.FlagJSON`);
  const values: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (x === null) values[k] = '';
    else if (typeof x === 'string') values[k] = x;
    else return fail(`json: cannot unmarshal ${kind(x)} into Go value of type string`);
  }
  return { values };
}

/** The merged, unrendered values: defaults < var files (later wins) < -var (last wins). */
export function mergeVariableSources(t: ParsedTemplate, inputs: Pick<VariableInputs, 'vars' | 'varFiles'>): { values: Record<string, string>; diagnostics: Diagnostic[] } {
  const values: Record<string, string> = {};
  const diagnostics: Diagnostic[] = [];
  for (const [k, v] of Object.entries(t.variables)) if (v.default !== null) values[k] = v.default;
  for (const f of inputs.varFiles ?? []) {
    const r = parseVarFile(f.file, f.text);
    if (r.diagnostic) diagnostics.push(r.diagnostic);
    else Object.assign(values, r.values);
  }
  // Every -var beats every -var-file, whatever the order on the command line (PR #8964).
  for (const [k, v] of inputs.vars ?? []) values[k] = v;
  return { values, diagnostics };
}

/** Names of required variables that no source set. */
function missingRequired(t: ParsedTemplate, merged: Record<string, string>): string[] {
  return Object.entries(t.variables)
    .filter(([k, v]) => v.required && !(k in merged))
    .map(([k]) => k);
}

/** Builds the masking function over the current values of the sensitive names. */
export function makeResolved(values: Record<string, string>, sensitive: Set<string>): ResolvedVariables {
  const secrets = [...sensitive]
    .map((n) => values[n])
    .filter((v): v is string => typeof v === 'string' && v.length > 0)
    .sort((a, b) => b.length - a.length);
  const mask = (text: string): string => {
    let out = text;
    for (const s of secrets) if (out.includes(s)) out = out.split(s).join(SENSITIVE_MASK);
    return out;
  };
  return { values, sensitive, mask };
}

/**
 * Resolves every user variable: merges the sources, checks required ones, then renders values that
 * refer to other variables or the environment, pass after pass (at most 100), as Packer's core does.
 * Context references (`{{ .HTTPIP }}`) are left as written.
 */
export function resolveVariables(t: ParsedTemplate, inputs: VariableInputs): { variables?: ResolvedVariables; diagnostics: Diagnostic[] } {
  const { values: merged, diagnostics } = mergeVariableSources(t, inputs);
  if (diagnostics.length) return { diagnostics };
  const missing = missingRequired(t, merged);
  if (missing.length) return { diagnostics: missing.map((n) => diagAt(t.doc, CODES.variables, `required variable not set: ${n}`, ['variables', n], { key: true })) };

  const resolved: Record<string, string> = {};
  const refs = new Map<string, Set<string>>();
  let pending = Object.keys(merged).sort();
  let lastFailure: { name: string; message: string } | undefined;
  for (let pass = 0; pass < 100 && pending.length; pass++) {
    const still: string[] = [];
    let progress = false;
    for (const name of pending) {
      const raw = merged[name]!;
      const used = new Set<string>();
      try {
        const value = render(raw, {
          user: new Proxy(resolved, {
            get: (target, key: string) => {
              used.add(key);
              return target[key];
            },
          }),
          variablesSection: true,
          env: inputs.env ?? {},
          initTime: inputs.initTime,
          random: inputs.random,
          templateDir: inputs.templateDir,
          pwd: inputs.pwd,
        });
        resolved[name] = value;
        refs.set(name, used);
        progress = true;
      } catch (e) {
        if (e instanceof TemplateError && e.message.includes('variable not set:')) {
          still.push(name);
          lastFailure = { name, message: e.message };
          continue;
        }
        const msg = e instanceof Error ? e.message : String(e);
        return { diagnostics: [variableDiag(t, name, `error interpolating default value for '${name}': ${msg}`)] };
      }
    }
    pending = still;
    if (!progress) break;
  }
  // Packer 1.6.6 quirk, kept for the same verdicts: a variable whose value refers to other variables
  // is never "done", so it re-renders on every pass and counts as progress; then a variable that
  // could not be rendered is not an error, and keeps its raw value.
  if (pending.length && [...refs.values()].some((u) => u.size > 0)) {
    for (const name of pending) resolved[name] = merged[name]!;
    pending = [];
  }
  if (pending.length) {
    const f = lastFailure!;
    return { diagnostics: [variableDiag(t, f.name, `Failed to interpolate "${f.name}": "${merged[f.name]}"; error: ${f.message}`)] };
  }

  // Sensitive: listed names, plus every variable whose value was built from a sensitive one.
  const sensitive = new Set(t.sensitiveVariables);
  for (let changed = true; changed;) {
    changed = false;
    for (const [name, used] of refs) {
      if (sensitive.has(name)) continue;
      if ([...used].some((u) => sensitive.has(u))) {
        sensitive.add(name);
        changed = true;
      }
    }
  }
  return { variables: makeResolved(resolved, sensitive), diagnostics: [] };
}

function variableDiag(t: ParsedTemplate, name: string, message: string): Diagnostic {
  if (t.variables[name]) return diagAt(t.doc, CODES.variables, message, ['variables', name]);
  return error(CODES.variables, message, { path: `-var ${name}` });
}
