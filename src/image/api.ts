// The image engine's programmatic entry points, for `kiln build`, the pipeline (`kiln up`) and the
// Docker provider (which bakes its own images): load + prepare a template, then run its builds.
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DiagnosticsError, hasErrors, type Diagnostic } from '../core/diagnostics.js';
import { KilnError } from '../core/errors.js';
import { InputError, MAX_TEMPLATE_BYTES, MAX_VAR_FILE_BYTES, readInput, readInputSync } from '../core/input.js';
import type { EventSink } from '../core/events.js';
import type { BuildEvent } from './events.js';
import type { BuildResult } from './build.js';
import type { PreparedBuild, ResolvedVariables } from './types.js';
import type { DockerClient } from '../docker/client.js';
import type { AwsRuntime } from './builders/amazon-ebs-plan.js';

export type { BuildResult } from './build.js';
export type { BuildEvent, Artifact } from './events.js';
export { ensureBaseImage, type BaseImage } from './base.js';

interface BuildImagesOptions {
  /** Template file (`-` = stdin). With `templateText`, only names the template in messages and sets `{{template_dir}}`. */
  templatePath: string;
  /** The template's JSON text, for callers that generate templates (e.g. a provider baking its own image). */
  templateText?: string;
  /** `-var k=v` in order (last wins; beats every var file). */
  vars?: Array<[string, string]> | Record<string, string>;
  /** `-var-file` paths in order. */
  varFiles?: string[];
  only?: string[];
  except?: string[];
  force?: boolean;
  onError?: 'cleanup' | 'abort';
  parallel?: number;
  stateDir?: string;
  events?: EventSink<BuildEvent>;
  signal?: AbortSignal;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Extra labels on every container and image (tests). */
  labels?: Record<string, string>;
  /** The Docker engine the builds run on (default: DOCKER_HOST's). */
  docker?: DockerClient;
  /** The AWS side (EC2 client, clock, …) for amazon-ebs builds and HCL2's amazon-ami data sources; default: kiln's own. */
  aws?: AwsRuntime;
}

export interface PreparedTemplate {
  builds: PreparedBuild[];
  variables?: ResolvedVariables;
  warnings: Diagnostic[];
  templatePath: string;
}

/** Reads, parses and prepares a Packer JSON template; user mistakes throw `DiagnosticsError`. */
export async function prepareTemplate(o: Omit<BuildImagesOptions, 'events' | 'signal' | 'force' | 'onError' | 'parallel' | 'stateDir' | 'labels' | 'docker'>): Promise<PreparedTemplate> {
  const cwd = o.cwd ?? process.cwd();
  const path = o.templatePath === '-' ? '-' : resolve(cwd, o.templatePath);
  if (o.templateText === undefined && path !== '-') {
    const { isHcl2Template } = await import('./hcl/load.js');
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      /* reported by the loaders */
    }
    if (isHcl2Template(path, isDir)) return prepareHclTemplate(o, cwd, path);
  }
  let text: string;
  try {
    text = o.templateText ?? (await readInput(path, { maxBytes: MAX_TEMPLATE_BYTES, what: 'template' }));
  } catch (e) {
    throw new KilnError('TEMPLATE_READ', e instanceof InputError ? e.message : `cannot read template ${o.templatePath}: ${(e as Error).message}`);
  }
  const { parsePackerTemplate } = await import('./template.js');
  const parsed = parsePackerTemplate(text, o.templatePath, path === '-' ? cwd : dirname(path));
  if (!parsed.template || hasErrors(parsed.diagnostics)) throw new DiagnosticsError(parsed.diagnostics.filter((d) => d.severity === 'error'));
  const varFiles = (o.varFiles ?? []).map((f) => {
    try {
      return { file: f, text: readInputSync(resolve(cwd, f), { maxBytes: MAX_VAR_FILE_BYTES, what: 'var file' }) };
    } catch (e) {
      throw new KilnError('VAR_FILE_READ', e instanceof InputError ? e.message : `cannot read var file ${f}: ${(e as Error).message}`);
    }
  });
  const vars = Array.isArray(o.vars) ? o.vars : Object.entries(o.vars ?? {});
  const { prepareBuilds } = await import('./prepare.js');
  const prepared = prepareBuilds(parsed.template, {
    vars,
    varFiles,
    env: o.env ?? process.env,
    only: o.only,
    except: o.except,
    cwd,
    fileExists: (p) => {
      try {
        return statSync(p).isDirectory() ? 'dir' : 'file';
      } catch {
        return undefined;
      }
    },
  });
  const errors = prepared.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new DiagnosticsError(errors);
  return { builds: prepared.builds, variables: prepared.variables, warnings: prepared.diagnostics.filter((d) => d.severity === 'warning'), templatePath: path };
}

/** HCL2 templates: the HCL2 loader, then the same preparation as JSON templates. */
async function prepareHclTemplate(o: Parameters<typeof prepareTemplate>[0], cwd: string, path: string): Promise<PreparedTemplate> {
  const { prepareHcl } = await import('./hcl/index.js');
  const vars = Array.isArray(o.vars) ? o.vars : Object.entries(o.vars ?? {});
  const env = o.env ?? process.env;
  const r = await prepareHcl({
    // data "amazon-ami": looked up on AWS when a selected build runs there.
    lookUpData: async (d) => {
      const { lookUpAmazonAmi } = await import('./builders/amazon-ami.js');
      return { ...(await lookUpAmazonAmi(d.config, o.aws?.env ?? env, o.aws?.ec2)) };
    },
    path: o.templatePath,
    cwd,
    env,
    vars,
    varFiles: o.varFiles ?? [],
    only: o.only ?? [],
    except: o.except ?? [],
    fileExists: (p) => {
      try {
        return statSync(p).isDirectory() ? 'dir' : 'file';
      } catch {
        return undefined;
      }
    },
  });
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new DiagnosticsError(errors.map((d) => ({ ...d, message: r.mask(d.message) })));
  return { builds: r.result?.builds ?? [], variables: r.result?.variables, warnings: r.diagnostics.filter((d) => d.severity === 'warning'), templatePath: path };
}

/** Builds every selected build of a template; one result per build (image id, cache hit, artifacts). */
export async function buildImages(o: BuildImagesOptions): Promise<BuildResult[]> {
  const t = await prepareTemplate(o);
  const { runBuilds } = await import('./build.js');
  const { nullSink } = await import('../core/events.js');
  return runBuilds({
    template: t.templatePath,
    builds: t.builds,
    force: o.force,
    onError: o.onError,
    parallel: o.parallel,
    stateDir: o.stateDir,
    events: o.events ?? (nullSink as EventSink<BuildEvent>),
    signal: o.signal,
    labels: o.labels,
    ...(o.docker ? { docker: o.docker } : {}),
    mask: t.variables ? (s) => t.variables!.mask(s) : undefined,
    ...(o.aws ? { aws: o.aws } : {}),
  });
}
