// `inspect` of a Packer JSON template: what `packer inspect` prints (reference §5), as text or as
// machine-readable records. Sensitive defaults are masked. Pure: returns lines, prints nothing.
import { SENSITIVE_MASK, type ParsedTemplate } from './types.js';

interface InspectModel {
  description?: string;
  required: string[];
  optional: Array<{ name: string; default: string }>;
  builders: Array<{ name: string; type: string }>;
  provisioners: string[];
  postProcessors: Array<Array<{ name: string; type: string }>>;
}

function inspectModel(t: ParsedTemplate): InspectModel {
  const sensitive = new Set(t.sensitiveVariables);
  const names = Object.keys(t.variables).sort();
  const m: InspectModel = {
    required: names.filter((n) => t.variables[n]!.required),
    optional: names.filter((n) => !t.variables[n]!.required).map((n) => ({ name: n, default: sensitive.has(n) ? SENSITIVE_MASK : t.variables[n]!.default! })),
    builders: t.builders.map((b) => ({ name: b.name, type: b.type })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    provisioners: t.provisioners.map((p) => p.type),
    postProcessors: t.postProcessors.map((ch) => ch.map((p) => ({ name: p.name, type: p.type }))),
  };
  if (t.description) m.description = t.description;
  return m;
}

const NOTE = "Note: If your build names contain user variables or template\nfunctions such as 'timestamp', these are processed at build time,\nand therefore only show in their raw form here.";

/** One record: `say` lines of UI text, or a typed machine-readable record. */
type InspectRecord = { kind: 'say'; text: string } | { kind: 'record'; type: string; data: string[] };

function inspectRecords(t: ParsedTemplate): InspectRecord[] {
  const m = inspectModel(t);
  const out: InspectRecord[] = [];
  const say = (text: string) => out.push({ kind: 'say', text });
  const rec = (type: string, ...data: string[]) => out.push({ kind: 'record', type, data });
  say('Packer Inspect: JSON mode');
  if (m.description) {
    say('Description:\n');
    say(`${m.description}\n`);
  }
  const width = Math.max(0, ...Object.keys(t.variables).map((n) => n.length));
  if (m.required.length) {
    say('Required variables:\n');
    for (const n of m.required) {
      rec('template-variable', n, '', '1');
      say(`  ${n}`);
    }
    say('');
  }
  say('Optional variables and their defaults:\n');
  for (const v of m.optional) {
    rec('template-variable', v.name, v.default, '0');
    say(`  ${v.name.padEnd(width)} = ${v.default}`);
  }
  say('');
  say('Builders:\n');
  const bw = Math.max(0, ...m.builders.map((b) => b.name.length));
  if (m.builders.length === 0) say('  <No builders>');
  for (const b of m.builders) {
    rec('template-builder', b.name, b.type);
    say(b.name === b.type ? `  ${b.name.padEnd(bw)}` : `  ${b.name.padEnd(bw)} (${b.type})`);
  }
  say('');
  say('Provisioners:\n');
  if (m.provisioners.length === 0) say('  <No provisioners>');
  for (const p of m.provisioners) {
    rec('template-provisioner', p);
    say(`  ${p}`);
  }
  // kiln addition: Packer 1.6.6 does not list post-processors.
  if (m.postProcessors.length) {
    say('');
    say('Post-processors:\n');
    m.postProcessors.forEach((ch, i) => {
      rec('template-post-processor', String(i + 1), ch.map((p) => (p.name === p.type ? p.type : `${p.name}:${p.type}`)).join(' -> '));
      say(`  ${i + 1}: ${ch.map((p) => (p.name === p.type ? p.type : `${p.name} (${p.type})`)).join(' -> ')}`);
    });
  }
  say(`\n${NOTE}`);
  return out;
}

/** Human text, as `packer inspect` prints it. */
export function inspectText(t: ParsedTemplate): string {
  return inspectRecords(t)
    .filter((r): r is { kind: 'say'; text: string } => r.kind === 'say')
    .map((r) => r.text + '\n')
    .join('');
}

/** Packer's machine-readable escaping: commas → `%!(PACKER_COMMA)`, newlines → `\n`. */
export function machineEscape(s: string): string {
  return s.replace(/,/g, '%!(PACKER_COMMA)').replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}

/** `-machine-readable` lines: `ts,,ui,say,text` and `ts,,template-variable,name,default,required`. */
export function inspectMachine(t: ParsedTemplate, unixSeconds: number): string {
  return inspectRecords(t)
    .map((r) => (r.kind === 'say' ? `${unixSeconds},,ui,say,${machineEscape(r.text)}` : `${unixSeconds},,${r.type},${r.data.map(machineEscape).join(',')}`) + '\n')
    .join('');
}
