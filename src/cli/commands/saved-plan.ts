// The saved plan `kiln deploy` is given: `--plan PLAN`, or a positional file that is a plan rather
// than a template (docs/plan-file.md). Shared by the local and the AWS target.
import { resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { KilnError } from '../../core/errors.js';
import { flagString, type ParsedArgs } from '../args.js';
import { params } from '../views/common.js';
import type { CliIO } from '../io.js';
import type { PlanDocument } from '../../deploy/planfile.js';

/** The saved plan to deploy: `--plan PLAN`, or a positional file that is a plan rather than a template. */
export async function savedPlan(p: ParsedArgs, io: CliIO): Promise<{ file: string; doc: PlanDocument } | undefined> {
  const flag = flagString(p, 'plan');
  const candidate = flag ?? p.positionals[0];
  if (candidate === undefined) return undefined;
  const file = resolve(io.cwd, candidate);
  const { looksLikePlan, parsePlanDocument } = await import('../../deploy/planfile.js');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (flag === undefined) return undefined; // the template path: its own errors are reported where it is read
    throw new KilnError('USAGE', `deploy: cannot read plan ${candidate}: ${(e as Error).message}`, 'user', { exitCode: 2 });
  }
  if (flag === undefined && !looksLikePlan(text)) return undefined;
  if (flag !== undefined && p.positionals.length > 0) throw new KilnError('USAGE', `deploy: give a TEMPLATE or --plan PLAN, not both`, 'user', { exitCode: 2 });
  if (p.positionals.length > 1) throw new KilnError('USAGE', `deploy: unexpected argument ${p.positionals[1]}`, 'user', { exitCode: 2 });
  if (Object.keys(params(p)).length > 0) throw new KilnError('USAGE', 'deploy: a saved plan carries its parameters; --param cannot change it (plan again)', 'user', { exitCode: 2 });
  return { file, doc: parsePlanDocument(text, candidate) };
}
