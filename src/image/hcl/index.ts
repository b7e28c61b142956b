// HCL2 templates for the commands: load (load.ts), then the same `prepareBuilds` the JSON templates
// go through, with Packer's HCL2 build selection (`-only`/`-except` on `source.TYPE.NAME`, build
// names, globs) and diagnostics in HCL terms.
import type { Diagnostic } from '../../core/diagnostics.js';
import { prepareBuilds } from '../prepare.js';
import type { ParsedTemplate, PrepareResult } from '../types.js';
import { loadHclTemplate, type HclLoadOptions, type LoadedHcl } from './load.js';
import { globToRegex, HCL_CODES, type DataSourceInfo } from './packer.js';
import type { HclPositionIndex } from './positions.js';
import type { Value } from './values.js';

export { isHcl2Template, loadHclTemplate } from './load.js';

/** Full build names that `-only`/`-except` patterns select (`docker.web`, `source.docker.web`, `mybuild.*`, `*.web`). */
function selectBuilds(t: ParsedTemplate, patterns: string[]): string[] {
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

interface HclPrepared {
  loaded: LoadedHcl;
  result?: PrepareResult;
  diagnostics: Diagnostic[];
  mask: (s: string) => string;
}

/** Looks a data source up where it lives (amazon-ami: DescribeImages on AWS); its outputs by name. */
type DataLookup = (d: DataSourceInfo & { config: Record<string, unknown> }) => Promise<Record<string, Value>>;

/** The builder type whose builds run on AWS, the only target that evaluates amazon-ami. */
const AWS_BUILDER = 'amazon-ebs';

/**
 * Data sources that live outside the template (amazon-ami): looked up with `lookUp` when a selected
 * build runs on AWS, then the template is evaluated again with their outputs (repeated while one
 * data source's arguments depend on another's). A build on another target that uses one is an
 * error; so is a failed look-up (no network, no credentials, no match), at the data block.
 */
async function withDataSources(first: LoadedHcl, only: string[], except: string[], lookUp: DataLookup | undefined): Promise<{ loaded: LoadedHcl; diagnostics: Diagnostic[] }> {
  let loaded = first;
  const diagnostics: Diagnostic[] = [];
  const selected = () => {
    const t = loaded.template!;
    const picked = only.length ? new Set(selectBuilds(t, only)) : undefined;
    const dropped = new Set([...selectBuilds(t, except), ...except]);
    return t.builders.filter((b) => (!picked || picked.has(b.name)) && !dropped.has(b.name));
  };
  const external = () => loaded.info.dataSources.filter((d) => d.type === 'amazon-ami');
  if (!loaded.template || !external().length) return { loaded, diagnostics };
  if (lookUp && selected().some((b) => b.type === AWS_BUILDER)) {
    const values: Record<string, Record<string, Value>> = {};
    const failed = new Set<string>();
    for (;;) {
      const ready = external().filter((d): d is DataSourceInfo & { config: Record<string, unknown> } => !!d.config && !values[`${d.type}.${d.name}`] && !failed.has(`${d.type}.${d.name}`));
      if (!ready.length) break;
      for (const d of ready) {
        try {
          values[`${d.type}.${d.name}`] = await lookUp(d);
        } catch (e) {
          failed.add(`${d.type}.${d.name}`);
          diagnostics.push({ severity: 'error', code: HCL_CODES.plugin, message: `data.${d.type}.${d.name}: ${e instanceof Error ? e.message : String(e)}`, range: d.range });
        }
      }
      loaded = loaded.withData!(values);
      if (!loaded.template) break;
    }
  }
  // What stays unknown cannot reach a build that runs somewhere amazon-ami is not looked up.
  for (const b of loaded.template ? selected() : []) {
    if (b.type === AWS_BUILDER) continue;
    const text = JSON.stringify(b.config);
    for (const d of external())
      if (text.includes(`(known after data.${d.type}.${d.name}.`))
        diagnostics.push({
          severity: 'error',
          code: HCL_CODES.plugin,
          message: `The ${b.type} build "${b.name}" uses data.${d.type}.${d.name}; kiln looks amazon-ami up on AWS for amazon-ebs builds only (the AWS target). A build on the local Docker engine needs the value itself (a variable, for instance).`,
          range: d.range,
        });
  }
  return { loaded, diagnostics };
}

/** Loads and prepares an HCL2 template; diagnostics are relabelled with HCL names. */
export async function prepareHcl(o: HclLoadOptions & { only?: string[]; except?: string[]; fileExists?: (p: string) => 'file' | 'dir' | undefined; lookUpData?: DataLookup }): Promise<HclPrepared> {
  const data = await withDataSources(await loadHclTemplate(o), o.only ?? [], o.except ?? [], o.lookUpData);
  const loaded = { ...data.loaded, diagnostics: [...data.loaded.diagnostics, ...data.diagnostics] };
  const t = loaded.template;
  if (!t || data.diagnostics.length) return { loaded, diagnostics: loaded.diagnostics, mask: loaded.mask };
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
    if (unknownKey) {
      // Packer's HCL words it by the last name (`bogus` in `launch_block_device_mappings[0].bogus`), as a block or an argument.
      const name = unknownKey[1]!.split('.').pop()!;
      message = message.replace(
        unknownKey[0],
        pos.isBlock(d.path) ? `Unsupported block type; Blocks of type "${name}" are not expected here.` : `Unsupported argument; An argument named "${name}" is not expected here.`,
      );
    }
    const path = pos.relabel(d.path);
    return { ...d, message, ...(path !== undefined ? { path } : {}) };
  };
  return { loaded, result, diagnostics: [...loaded.diagnostics, ...result.diagnostics.map(relabel)], mask: loaded.mask };
}
