// HCL2 templates for the commands: load (load.ts), then the same `prepareBuilds` the JSON templates
// go through, with Packer's HCL2 build selection (`-only`/`-except` on `source.TYPE.NAME`, build
// names, globs) and diagnostics in HCL terms.
import type { Diagnostic } from '../../core/diagnostics.js';
import { prepareBuilds } from '../prepare.js';
import type { ParsedTemplate, PrepareResult } from '../types.js';
import { loadHclTemplate, type HclLoadOptions, type LoadedHcl } from './load.js';
import { globToRegex } from './packer.js';
import type { HclPositionIndex } from './positions.js';

export { isHcl2Template, loadHclTemplate } from './load.js';

/** Full build names that `-only`/`-except` patterns select (`docker.web`, `source.docker.web`, `mybuild.*`, `*.web`). */
export function selectBuilds(t: ParsedTemplate, patterns: string[]): string[] {
  const out: string[] = [];
  for (const b of t.builders) {
    const short = `${b.type}.${b.packerBuildName ?? b.name}`;
    if (
      patterns.some((p) => {
        const re = globToRegex(p.replace(/^sources?\./, ''));
        return re.test(b.name) || re.test(short);
      })
    )
      out.push(b.name);
  }
  return out;
}

export interface HclPrepared {
  loaded: LoadedHcl;
  result?: PrepareResult;
  diagnostics: Diagnostic[];
  mask: (s: string) => string;
}

/** Loads and prepares an HCL2 template; diagnostics are relabelled with HCL names. */
export async function prepareHcl(o: HclLoadOptions & { only?: string[]; except?: string[]; fileExists?: (p: string) => 'file' | 'dir' | undefined }): Promise<HclPrepared> {
  const loaded = await loadHclTemplate(o);
  const t = loaded.template;
  if (!t) return { loaded, diagnostics: loaded.diagnostics, mask: loaded.mask };
  // A template without builds is valid in HCL2 (variables-only files, sources used elsewhere).
  if (!t.builders.length)
    return { loaded, result: { builds: [], diagnostics: [], ...(t.resolvedVariables ? { variables: t.resolvedVariables } : {}) }, diagnostics: loaded.diagnostics, mask: loaded.mask };
  const only = o.only?.length ? selectBuilds(t, o.only) : [];
  const except = o.except?.length ? [...selectBuilds(t, o.except), ...o.except] : [];
  // -only that selects nothing runs nothing, as Packer does.
  const result = prepareBuilds(t, {
    env: o.env,
    only: o.only?.length ? (only.length ? only : ['\u0000none']) : [],
    except,
    cwd: o.cwd,
    ...(o.initTime !== undefined ? { initTime: o.initTime } : {}),
    ...(o.random ? { random: o.random } : {}),
    ...(o.fileExists ? { fileExists: o.fileExists } : {}),
  });
  const pos = t.doc.positions as HclPositionIndex;
  const relabel = (d: Diagnostic): Diagnostic => {
    let message = d.message;
    const unknownKey = /unknown configuration key: '"([^"]+)"'/.exec(message);
    if (unknownKey) message = message.replace(unknownKey[0], `Unsupported argument; An argument named "${unknownKey[1]}" is not expected here.`);
    const path = pos.relabel(d.path);
    return { ...d, message, ...(path !== undefined ? { path } : {}) };
  };
  return { loaded, result, diagnostics: [...loaded.diagnostics, ...result.diagnostics.map(relabel)], mask: loaded.mask };
}
