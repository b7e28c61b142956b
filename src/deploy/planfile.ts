// Saved plans (docs/plan-file.md): the document `kiln plan --out FILE` writes and `kiln plan --json`
// prints, and the checks `kiln deploy FILE` makes before running it. A saved plan holds the steps, the
// template text and the parameters as given (NoEcho values sealed), the image ids, and what the plan
// saw: the state of the stack (its basis) and what a read of each live resource found. Deploying it
// runs exactly those steps or refuses as stale, naming what changed since (another deploy, a
// rollback, a resource deleted or changed by hand, an export it imports), as `terraform apply`
// refuses a stale plan file and CloudFormation an obsolete change set.
//
// NoEcho values are sealed with AES-256-GCM under a key the state keeps (`StackStore.planKey`, a
// file beside state.db): the plan file can be reviewed, committed or passed to CI without the secret
// being readable in it, and only a run with the same state can open it.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KilnError } from '../core/errors.js';
import { canonicalJson, hashValue, sha256 } from '../core/hash.js';
import type { Json } from '../core/json.js';
import { summarize, type Plan, type Step } from '../stack/plan.js';
import type { RowStatus, StackStore } from '../state/store.js';

const PLAN_FORMAT = 'kiln-plan';
const PLAN_VERSION = 1;

/** What the plan was made against: the stack's record, its newest deployment, its rows. */
export interface StateBasis {
  stackId: string | null;
  status: string | null;
  /** The newest deployment of the stack, whatever its outcome (a rollback is one too). */
  lastDeployment: { id: string; kind: string; status: string } | null;
  resources: Array<{ logicalId: string; physicalId: string; status: RowStatus }>;
  /** A hash of all of the above and of every row's properties and provider state. */
  revision: string;
}

/** What a read of a live resource found when the plan was made. */
export interface LiveFingerprint {
  physicalId: string;
  exists: boolean;
  /** Properties that differed from what was deployed (names only, values are not kept). */
  drifted: string[];
}

/** A parameter as the user gave it: its value, or sealed for a NoEcho parameter. */
export type GivenParameter = { value: string | string[] } | { sealed: string };

export interface PlanDocument {
  format: typeof PLAN_FORMAT;
  version: typeof PLAN_VERSION;
  stack: string;
  createdAt: string;
  isCreate: boolean;
  /** The stack status when planned (absent: the stack did not exist). */
  status?: string;
  changes: boolean;
  summary: Record<Step['kind'], number>;
  steps: Step[];
  /** Parameters as the plan uses them, NoEcho values shown as `****`. */
  parameters: Record<string, Json>;
  /** Why `kiln deploy` would refuse this change (cross-stack references); such a plan cannot be deployed. */
  refusals?: string[];
  template: { file: string; sha256: string; text: string };
  /** The parameters as given (`--param`), NoEcho ones sealed: what a deploy of this plan evaluates again. */
  given: Record<string, GivenParameter>;
  /** Image ids of this deployment, by logical id or image name (`kiln history`). */
  images: Record<string, string>;
  basis: StateBasis;
  live: Record<string, LiveFingerprint>;
  /** The values of the exports the template imports, as planned. */
  imports: Record<string, Json>;
  /** What the plan says about the target without refusing it (a stand-in image for an AMI id…). */
  warnings?: PlanWarning[];
  /** A plan of `kiln up --plan-only --out`: its kiln.yaml and what each image was baked from (`kiln up --plan PLAN`, `kiln history`). */
  up?: UpPlanRef;
  /** `aws`: a plan for CloudFormation (`kiln plan --target aws --out`); absent: the local target. */
  target?: 'aws';
  /** What an AWS plan names in CloudFormation. */
  aws?: AwsPlanRef;
}

/** What `kiln up` baked for a saved plan: per image its build, build key, image id and the value the stack got. */
interface UpPlanRef {
  config: string;
  images: Record<string, { build: string; key: string | null; imageId: string; artifact: string }>;
}

/** The CloudFormation side of an AWS plan: the change set it kept, where, and how it was made. */
interface AwsPlanRef {
  region: string;
  /** The kept change set (`kiln deploy PLAN` executes it); null when there was nothing to change. */
  changeSet: { id: string; name: string; stackId: string } | null;
  capabilities: string[];
  /** Where CloudFormation read a template too large to send inline (`--s3-bucket`). */
  templateUrl?: string;
}

interface PlanWarning {
  code: string;
  message: string;
  /** The logical path (`Resources.Web.Properties.ImageId`) and the position in the template. */
  path?: string;
  file?: string;
  line?: number;
  col?: number;
}

/** The plan's warnings as the plan document and `--json` outputs give them. */
export function planWarnings(plan: Plan): PlanWarning[] {
  return plan.diagnostics
    .filter((d) => d.severity === 'warning')
    .map((d) => ({ code: d.code, message: d.message, ...(d.path ? { path: d.path } : {}), ...(d.range ? { file: d.range.file, line: d.range.start.line, col: d.range.start.col } : {}) }));
}

// ---- sealing ---------------------------------------------------------------------------------

function aad(stack: string, name: string): Buffer {
  return Buffer.from(`kiln-plan\u0000${stack}\u0000${name}`);
}

export function seal(key: Buffer, stack: string, name: string, value: string | string[]): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad(stack, name));
  const body = Buffer.concat([c.update(JSON.stringify(value), 'utf8'), c.final()]);
  return `v1.${Buffer.concat([iv, c.getAuthTag(), body]).toString('base64')}`;
}

export function unseal(key: Buffer, stack: string, name: string, sealed: string): string | string[] {
  const fail = () =>
    new KilnError(
      'PLAN_SEALED',
      `the NoEcho parameter ${name} of this plan cannot be opened: it was sealed with the key of another state directory (or the file was altered); plan again with this state, or pass --state-dir`,
      'user',
    );
  if (!sealed.startsWith('v1.')) throw fail();
  const raw = Buffer.from(sealed.slice(3), 'base64');
  if (raw.length < 28) throw fail();
  try {
    const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    d.setAAD(aad(stack, name));
    d.setAuthTag(raw.subarray(12, 28));
    return JSON.parse(Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8')) as string | string[];
  } catch {
    throw fail();
  }
}

// ---- basis -----------------------------------------------------------------------------------

export function stateBasis(store: StackStore, stack: string): StateBasis {
  const st = store.stack(stack);
  const deployments = store.deployments(stack);
  const last = deployments[deployments.length - 1];
  const rows = store.resources(stack);
  const basis = {
    stackId: st?.stackId ?? null,
    status: st?.status ?? null,
    lastDeployment: last ? { id: last.id, kind: last.kind, status: last.status } : null,
    resources: rows.map((r) => ({ logicalId: r.logicalId, physicalId: r.physicalId, status: r.status })),
  };
  return { ...basis, revision: hashValue({ ...basis, rows: rows.map((r) => [r.id, r.type, r.properties, r.state, r.dependsOn]) }) };
}

/** What differs between the basis a plan was made on and the state now, in words; empty when nothing. */
export function basisChanges(then: StateBasis, now: StateBasis): string[] {
  if (then.revision === now.revision) return [];
  const out: string[] = [];
  if (then.lastDeployment?.id !== now.lastDeployment?.id && now.lastDeployment)
    out.push(`deployment ${now.lastDeployment.id} (${now.lastDeployment.kind}, ${now.lastDeployment.status}) ran after the plan was made`);
  else if (then.status !== now.status) out.push(`the stack went from ${then.status ?? 'not existing'} to ${now.status ?? 'not existing'}`);
  const key = (r: StateBasis['resources'][number]) => `${r.logicalId} ${r.physicalId} ${r.status}`;
  const before = new Set(then.resources.map(key));
  const after = new Set(now.resources.map(key));
  for (const r of now.resources) if (!before.has(key(r))) out.push(`state now has ${r.logicalId} ${r.physicalId} (${r.status})`);
  for (const r of then.resources) if (!after.has(key(r))) out.push(`state no longer has ${r.logicalId} ${r.physicalId} (${r.status})`);
  if (out.length === 0) out.push('the stack’s resources changed in state since the plan was made');
  return out;
}

export function liveChanges(then: Record<string, LiveFingerprint>, now: Record<string, LiveFingerprint>): string[] {
  const out: string[] = [];
  for (const [id, was] of Object.entries(then)) {
    const is = now[id];
    if (!is || is.physicalId !== was.physicalId) continue; // a state change, reported by the basis
    if (was.exists && !is.exists) out.push(`${id} (${is.physicalId}) no longer exists: it was deleted outside kiln`);
    else if (!was.exists && is.exists) out.push(`${id} (${is.physicalId}) exists again`);
    else if (canonicalJson(was.drifted) !== canonicalJson(is.drifted))
      out.push(`${id} (${is.physicalId}) was changed outside kiln${is.drifted.length ? ` (${is.drifted.join(', ')} differ from what was deployed)` : ' (back to what was deployed)'}`);
  }
  return out;
}

export function importChanges(then: Record<string, Json>, now: (name: string) => Json | undefined): string[] {
  const out: string[] = [];
  for (const [name, was] of Object.entries(then)) {
    const is = now(name);
    if (is === undefined) out.push(`export ${name} no longer exists`);
    else if (canonicalJson(is) !== canonicalJson(was)) out.push(`export ${name} changed`);
  }
  return out;
}

export function stepChanges(then: readonly Step[], now: readonly Step[]): string[] {
  if (canonicalJson(then) === canonicalJson(now)) return [];
  const show = (s: Step | undefined) => (s ? `${s.kind}${s.kind === 'delete' && s.leftover ? ' (leftover)' : ''}` : 'nothing');
  const ids = [...new Set([...then, ...now].map((s) => s.id))];
  const out: string[] = [];
  for (const id of ids) {
    const a = then.filter((s) => s.id === id);
    const b = now.filter((s) => s.id === id);
    if (canonicalJson(a) !== canonicalJson(b)) out.push(`${id}: the plan says ${a.map(show).join(' + ') || 'nothing'}, kiln would now ${b.map(show).join(' + ') || 'do nothing'}`);
  }
  return out.length ? out : ['the steps are in another order'];
}

// ---- the document ----------------------------------------------------------------------------

export function planDocument(x: {
  stack: string;
  plan: Plan;
  isCreate: boolean;
  status?: string;
  parameters: Record<string, Json>;
  refusals?: string[];
  template: { file: string; text: string };
  given: Record<string, GivenParameter>;
  images: Record<string, string>;
  basis: StateBasis;
  live: Record<string, LiveFingerprint>;
  imports: Record<string, Json>;
  now?: Date;
}): PlanDocument {
  return {
    format: PLAN_FORMAT,
    version: PLAN_VERSION,
    stack: x.stack,
    createdAt: (x.now ?? new Date()).toISOString(),
    isCreate: x.isCreate,
    ...(x.status ? { status: x.status } : {}),
    changes: x.plan.changes,
    summary: summarize(x.plan),
    steps: x.plan.steps,
    parameters: x.parameters,
    ...(x.refusals?.length ? { refusals: x.refusals } : {}),
    template: { file: x.template.file, sha256: sha256(x.template.text), text: x.template.text },
    given: x.given,
    images: x.images,
    basis: x.basis,
    live: x.live,
    imports: x.imports,
    ...(planWarnings(x.plan).length ? { warnings: planWarnings(x.plan) } : {}),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True when `text` is a kiln plan document (rather than a template). */
export function looksLikePlan(text: string): boolean {
  try {
    const v = JSON.parse(text) as unknown;
    return isObject(v) && v.format === PLAN_FORMAT;
  } catch {
    return false;
  }
}

/** Parses a plan document; anything else is an error saying what is wrong with the file. */
export function parsePlanDocument(text: string, file: string): PlanDocument {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new KilnError('PLAN_FILE', `${file}: not a kiln plan file (${(e as Error).message})`, 'user');
  }
  if (!isObject(v) || v.format !== PLAN_FORMAT) throw new KilnError('PLAN_FILE', `${file}: not a kiln plan file (no "format": "${PLAN_FORMAT}")`, 'user');
  if (v.version !== PLAN_VERSION) throw new KilnError('PLAN_FILE', `${file}: plan file version ${String(v.version)} is not supported by this kiln (version ${PLAN_VERSION}); plan again`, 'user');
  const need: Array<[string, (x: unknown) => boolean]> = [
    ['stack', (x) => typeof x === 'string'],
    ['steps', Array.isArray],
    ['template', (x) => isObject(x) && typeof x.text === 'string' && typeof x.file === 'string' && typeof x.sha256 === 'string'],
    ['given', isObject],
    ['images', isObject],
    ['basis', (x) => isObject(x) && typeof x.revision === 'string' && Array.isArray(x.resources)],
    ['live', isObject],
    ['imports', isObject],
  ];
  for (const [k, ok] of need) if (!ok(v[k])) throw new KilnError('PLAN_FILE', `${file}: field "${k}" is missing or malformed; plan again`, 'user');
  const doc = v as unknown as PlanDocument;
  if (sha256(doc.template.text) !== doc.template.sha256) throw new KilnError('PLAN_FILE', `${file}: the template in the plan does not match its sha256 (the file was altered); plan again`, 'user');
  return doc;
}
