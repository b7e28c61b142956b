// A small argument parser that accepts both Packer's style (`-var k=v`, `-only=a,b`) and the usual
// GNU style (`--param K=V`, `--json`). Each command declares its flags; unknown flags are errors.
import { KilnError } from '../core/errors.js';

export interface FlagSpec {
  /** Names without dashes; the first is canonical. `-x` and `--x` both match. */
  names: string[];
  kind: 'bool' | 'string' | 'multi';
  description?: string;
  valueName?: string;
}

export interface ParsedArgs {
  flags: Map<string, string | boolean | string[]>;
  positionals: string[];
}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[], command: string): ParsedArgs {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) for (const n of s.names) byName.set(n, s);
  const flags = new Map<string, string | boolean | string[]>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a === '-' || !a.startsWith('-')) {
      positionals.push(a);
      continue;
    }
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const spec = byName.get(name);
    if (!spec) throw new KilnError('USAGE', `${command}: unknown flag ${a.split('=')[0]} (see \`kiln ${command} --help\`)`, 'user', { exitCode: 2 });
    const key = spec.names[0]!;
    if (spec.kind === 'bool') {
      const v = eq < 0 ? 'true' : body.slice(eq + 1);
      if (!['true', 'false', '1', '0'].includes(v)) throw new KilnError('USAGE', `${command}: ${a}: expected true or false`, 'user', { exitCode: 2 });
      flags.set(key, v === 'true' || v === '1');
      continue;
    }
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new KilnError('USAGE', `${command}: ${a} needs a value`, 'user', { exitCode: 2 });
      value = argv[++i]!;
    }
    if (spec.kind === 'multi') {
      const prev = (flags.get(key) as string[] | undefined) ?? [];
      flags.set(key, [...prev, value]);
    } else flags.set(key, value);
  }
  return { flags, positionals };
}

export function flagBool(p: ParsedArgs, name: string, dflt = false): boolean {
  const v = p.flags.get(name);
  return typeof v === 'boolean' ? v : dflt;
}
export function flagString(p: ParsedArgs, name: string): string | undefined {
  const v = p.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}
export function flagList(p: ParsedArgs, name: string): string[] {
  const v = p.flags.get(name);
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/** `K=V` pairs (from `--param K=V` or `-var k=v`) into an ordered list of entries. */
export function keyValues(items: readonly string[], flag: string): Array<[string, string]> {
  return items.map((kv) => {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new KilnError('USAGE', `${flag} ${kv}: expected KEY=VALUE`, 'user', { exitCode: 2 });
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  });
}

export function renderFlagHelp(specs: readonly FlagSpec[]): string {
  return specs
    .map((s) => {
      const names = s.names.map((n) => (n.length === 1 ? `-${n}` : `--${n}`)).join(', ');
      const val = s.kind === 'bool' ? '' : ` ${s.valueName ?? 'VALUE'}`;
      return `  ${(names + val).padEnd(34)} ${s.description ?? ''}${s.kind === 'multi' ? ' (repeatable)' : ''}`;
    })
    .join('\n');
}
