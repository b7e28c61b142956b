// `kiln validate` and `kiln inspect` for HCL2 templates (`*.pkr.hcl`, `*.pkr.json`, a folder):
// Packer's HCL2 loading and checks, every problem at once with `file:line:col`.
import { formatDiagnostic, hasErrors, sortDiagnostics, type Diagnostic } from '../../core/diagnostics.js';
import { KilnError } from '../../core/errors.js';
import { machineEscape } from '../../image/inspect.js';
import { maskedShow } from '../../image/hcl/packer.js';
import type { LoadedHcl } from '../../image/hcl/load.js';
import { tyString } from '../../image/hcl/values.js';
import { flagBool, flagList, keyValues, type parseArgs } from '../args.js';
import type { CliIO } from '../io.js';
import { excerpt, fsFileExists, splitNames } from './packer-common.js';

function print(diags: readonly Diagnostic[], io: CliIO, mask: (s: string) => string, texts: Map<string, string>): void {
  for (const d of sortDiagnostics(diags)) {
    io.err(mask(formatDiagnostic(d)) + '\n');
    if (d.detail) io.err(mask(d.detail) + '\n');
    else if (io.stderrIsTTY && d.range) {
      const text = texts.get(d.range.file);
      if (text !== undefined) io.err(mask(excerpt(text, d.range.start.line, d.range.start.col)));
    }
  }
}

export async function runHclValidate(p: ReturnType<typeof parseArgs>, file: string, io: CliIO): Promise<number> {
  const json = flagBool(p, 'json');
  const finish = (diags: Diagnostic[], mask: (s: string) => string, texts: Map<string, string>, builds: string[] = []): number => {
    const ok = !hasErrors(diags);
    if (json) {
      const out = { valid: ok, template: file, builds, diagnostics: sortDiagnostics(diags) };
      io.out(JSON.stringify(out, (_k, v: unknown) => (typeof v === 'string' ? mask(v) : v), 2) + '\n');
    } else if (flagBool(p, 'machine-readable')) {
      const ts = Math.floor(Date.now() / 1000);
      for (const d of sortDiagnostics(diags)) io.out(`${ts},,ui,${d.severity === 'error' ? 'error' : 'say'},${machineEscape(mask(formatDiagnostic(d)))}\n`);
      if (ok && flagBool(p, 'syntax-only')) io.out(`${ts},,ui,say,Syntax-only check passed. Everything looks okay.\n`);
    } else {
      print(diags, io, mask, texts);
      if (ok) io.out(flagBool(p, 'syntax-only') ? 'Syntax-only check passed. Everything looks okay.\n' : 'Template validated successfully.\n');
    }
    return ok ? 0 : 1;
  };
  const { prepareHcl } = await import('../../image/hcl/index.js');
  try {
    const r = await prepareHcl({
      path: file,
      cwd: io.cwd,
      env: io.env,
      vars: keyValues(flagList(p, 'var'), '-var'),
      varFiles: flagList(p, 'var-file'),
      only: splitNames(flagList(p, 'only')),
      except: splitNames(flagList(p, 'except')),
      fileExists: fsFileExists,
    });
    if (flagBool(p, 'syntax-only'))
      return finish(
        r.loaded.diagnostics.filter((d) => d.code === 'HCL_SYNTAX'),
        r.mask,
        r.loaded.texts,
      );
    return finish(r.diagnostics, r.mask, r.loaded.texts, r.result?.builds.map((b) => b.name) ?? []);
  } catch (e) {
    if (KilnError.is(e) && json) return finish([{ severity: 'error', code: e.code, message: e.message }], (s) => s, new Map());
    throw e;
  }
}

/** Packer's `inspect` in HCL2 mode: input variables, locals, builds. */
export function hclInspectText(l: LoadedHcl): string {
  const out: string[] = ['Packer Inspect: HCL2 mode', '', '> input-variables:', ''];
  for (const v of [...l.info.variables].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const val = v.set ? maskedShow(v.value, v.sensitive) : '<unknown>';
    out.push(`var.${v.name}: ${JSON.stringify(val.startsWith('"') ? (JSON.parse(val) as string) : val)}${v.type ? ` (${tyString(v.type)})` : ''}`);
  }
  out.push('', '> local-variables:', '');
  for (const lv of [...l.info.locals].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const val = maskedShow(lv.value, lv.sensitive);
    out.push(`local.${lv.name}: ${JSON.stringify(val.startsWith('"') ? (JSON.parse(val) as string) : val)}`);
  }
  out.push('', '> builds:', '');
  l.info.builds.forEach((b, i) => {
    out.push(`  > ${b.name ?? `<unnamed build ${i}>`}:`, '');
    if (b.description) out.push(`    description: ${b.description}`, '');
    out.push('    sources:', '', ...b.sources.map((s) => `      ${s}`), '');
    out.push('    provisioners:', '', ...(b.provisioners.length ? b.provisioners.map((s) => `      ${s}`) : ['      <none>']), '');
    out.push('    post-processors:', '');
    if (!b.postProcessors.length) out.push('      <none>', '');
    b.postProcessors.forEach((ch, j) => out.push(`      ${j}:`, ...ch.map((s) => `        ${s}`), ''));
  });
  return out.join('\n') + '\n';
}

export async function runHclInspect(file: string, io: CliIO, machine: boolean): Promise<number> {
  const { loadHclTemplate } = await import('../../image/hcl/load.js');
  const l = await loadHclTemplate({ path: file, cwd: io.cwd, env: io.env });
  const errors = l.diagnostics.filter((d) => d.severity === 'error' && !/^Unset variable/.test(d.message));
  if (errors.length && !l.info.builds.length && !l.info.variables.length) {
    print(l.diagnostics, io, l.mask, l.texts);
    return 1;
  }
  if (machine) {
    const ts = Math.floor(Date.now() / 1000);
    const lines: string[] = [];
    for (const v of l.info.variables)
      lines.push(`${ts},,template-variable,${machineEscape(`var.${v.name}`)},${machineEscape(v.set ? maskedShow(v.value, v.sensitive) : '<unknown>')},${v.set ? 0 : 1}`);
    l.info.builds.forEach((b) => b.sources.forEach((s) => lines.push(`${ts},,template-builder,${machineEscape(s)},${machineEscape(s.split('.')[0]!)}`)));
    l.info.builds.forEach((b) => b.provisioners.forEach((s) => lines.push(`${ts},,template-provisioner,${machineEscape(s)}`)));
    io.out(l.mask(lines.join('\n') + '\n'));
    return 0;
  }
  io.out(l.mask(hclInspectText(l)));
  return 0;
}
