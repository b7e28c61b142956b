// The stack operations as the CLI (and later `kiln up`) calls them: load → validate → parameters
// (remembered) → evaluate → plan → confirm → execute, under the stack's lock, with crash recovery
// first. Nothing here prints: progress goes out as EngineEvents.
//
// Public API:
//   planStack(opts)    -> PlanResult        what a deploy would do (no lock, no change)
//   deployStack(opts)  -> DeployResult      create or update; rollback on failure
//   destroyStack(opts) -> RunOutcome-like   delete everything (DeletionPolicy honoured)
//   driftStack(opts)   -> DriftReport       what runs against what was deployed
//   openProvider(env)  -> Provider          the Docker provider, or the fake one (KILN_PROVIDER=fake)
//
// Parameters between deploys (UsePreviousValue, as `aws cloudformation deploy` does): a parameter
// not given keeps the value given last time; a parameter never given takes its Default again. NoEcho
// values are never stored: state keeps a salted hash, so a NoEcho parameter given before must be
// given again (an error says so) unless its Default is the value it had.
import { randomUUID } from 'node:crypto';
import { DiagnosticsError, hasErrors, type Diagnostic } from '../core/diagnostics.js';
import { KilnError, errorMessage } from '../core/errors.js';
import type { EventSink } from '../core/events.js';
import { hashValue } from '../core/hash.js';
import { mapLimit } from '../core/limiter.js';
import { locate, type SourceDoc } from '../core/source.js';
import { defaultRegion } from '../core/region.js';
import type { Json, JsonObject } from '../stack/model.js';
import { plan as makePlan, type DesiredStack, type Plan, type RuntimeResolve } from '../stack/plan.js';
import type { DeletionPolicy, ReplacePolicy } from '../model/policy.js';
import type { Provider } from '../model/provider.js';
import type { DockerClient } from '../docker/client.js';
import { SqliteStackStore } from '../state/stacks.js';
import type { DeploymentRecord, StackStatus, StackStore, StoredParam } from '../state/store.js';
import { Engine, type RunOutcome } from '../exec/engine.js';
import type { EngineEvent } from '../exec/events.js';
import { needsRecovery, recover } from '../exec/recover.js';
import { basisChanges, importChanges, liveChanges, planDocument, seal, stateBasis, stepChanges, unseal, type GivenParameter, type LiveFingerprint, type PlanDocument } from './planfile.js';
import { changedImportedExports, checkDeployExports, checkDestroyExports, exportedNames, importedNames, importedValue } from './exports.js';
import { Secrets, newSalt, saltedHash, type Secret } from '../exec/secrets.js';
import { MemoryParameterStore, SqliteParameterStore, type ParameterStore } from '../state/ssm.js';
import { withParameterStore } from '../providers/ssm-parameter.js';
import type { TargetContext } from './target.js';

export type { EngineEvent } from '../exec/events.js';

interface StackOptions {
  stack: string;
  /** State directory (`--state-dir`); ignored when `store` is given. */
  stateDir?: string;
  store?: StackStore;
  provider: Provider;
  events?: EventSink<EngineEvent>;
  concurrency?: number;
  /** The command holding the lock, shown to a second writer. */
  command?: string;
  signal?: AbortSignal;
  /** The local Parameter Store (default: the one beside the stack state, src/state/ssm.ts). */
  parameters?: ParameterStore;
}

export interface TemplateInput {
  /** Template file (for messages and positions). */
  file: string;
  /** Template text; read from `file` when absent. */
  text?: string;
  /** `--param K=V` values. */
  params?: Record<string, string>;
}

export interface PlanResult {
  plan: Plan;
  /** The plan as a document (`kiln plan --json`, `--out`; docs/plan-file.md). */
  document?: PlanDocument;
  /** The stack status before (undefined: the stack does not exist). */
  status?: StackStatus;
  /** Parameters as they will be used (NoEcho values masked). */
  parameters: Record<string, Json>;
  isCreate: boolean;
  /** Why `kiln deploy` would refuse this change before starting (cross-stack references). */
  refusals?: string[];
}

export interface DeployResult extends PlanResult {
  outcome: 'no-changes' | 'cancelled' | 'complete' | 'failed';
  finalStatus?: StackStatus;
  reason?: string;
  outputs: DeploymentRecord['outputs'];
  deployment?: string;
}

const STACK_NAME = /^[A-Za-z][-A-Za-z0-9]{0,127}$/;
const nullEvents: EventSink<EngineEvent> = { emit: () => undefined };

function checkStackName(name: string): void {
  if (!STACK_NAME.test(name)) throw new KilnError('STACK_NAME', `stack name '${name}' is not valid: 1 to 128 characters, a letter first, then letters, digits and hyphens`, 'user', { exitCode: 2 });
}

function storeOf(o: StackOptions): StackStore {
  return o.store ?? SqliteStackStore.open(o.stateDir);
}

/**
 * The options as the local target runs them: its Parameter Store (beside the stack state unless
 * given), and the provider with AWS::SSM::Parameter realised in that store.
 */
function onTarget<T extends StackOptions>(o: T, store: StackStore): T & { parameters: ParameterStore } {
  const db = (store as { db?: ConstructorParameters<typeof SqliteParameterStore>[0] }).db;
  const parameters = o.parameters ?? (db ? new SqliteParameterStore(db) : new MemoryParameterStore());
  return { ...o, parameters, provider: withParameterStore(o.provider, parameters) };
}

/** What the local target knows while a template is evaluated (src/deploy/target.ts). */
function targetOf(o: StackOptions & { parameters: ParameterStore }, store: StackStore): TargetContext {
  return { parameters: o.parameters, provider: o.provider, rows: () => store.allLiveResources() };
}

/** The Docker provider (src/providers/docker) on `docker` (default: DOCKER_HOST's engine) or, for
 *  tests, the fake one (`KILN_PROVIDER=fake`, objects kept in the file `KILN_FAKE_STORE` when set). */
export async function openProvider(env: NodeJS.ProcessEnv = process.env, docker?: DockerClient): Promise<Provider> {
  if (env.KILN_PROVIDER === 'fake') {
    const { FakeProvider } = await import('../providers/fake/index.js');
    return new FakeProvider(env.KILN_FAKE_STORE ? { file: env.KILN_FAKE_STORE } : {});
  }
  const [{ localProvider }, { connectDocker }] = await Promise.all([import('../providers/docker/index.js'), import('../docker/client.js')]);
  return localProvider({ docker: docker ?? connectDocker(env) });
}

async function replacementFacts(): Promise<(type: string) => { always: readonly string[]; maybe: readonly string[] } | undefined> {
  const spec = await import('../stack/spec.js');
  return (type) => {
    try {
      return spec.replacementProperties(type);
    } catch {
      return undefined;
    }
  };
}

// ---- template → desired stack ----------------------------------------------------------------

interface Evaluated {
  doc: SourceDoc;
  desired: DesiredStack;
  resolve: RuntimeResolve;
  secrets: Secrets;
  stored: Record<string, StoredParam>;
  shownParams: Record<string, Json>;
  templateHash: string;
  /** The NoEcho parameters of the template. */
  noEcho: Set<string>;
  /** What the plan should say about the local target (a stand-in image…). */
  warnings: Diagnostic[];
}

function policy<T extends string>(v: string | undefined, allowed: readonly T[], dflt: T): T {
  return v !== undefined && (allowed as readonly string[]).includes(v) ? (v as T) : dflt;
}

/** Types the provider realises though the AWS spec does not know them (the fake's `Test::Fake::*`). */
function providerTypeDiagnostic(d: Diagnostic, doc: SourceDoc, provider: Provider | undefined): boolean {
  if (d.code !== 'E3006' || !provider || !d.segments || d.segments[0] !== 'Resources') return false;
  const res = (doc.value as { Resources?: Record<string, { Type?: unknown }> }).Resources?.[String(d.segments[1])];
  return typeof res?.Type === 'string' && provider.handler(res.Type) !== undefined;
}

/**
 * Lets the target rewrite values of AWS-specific parameter types before they are checked: on the
 * local target `--param AmiId=seed/web:7` becomes the `ami-` id of that image, so the template sees
 * an AMI-shaped id as it would on AWS and the instance handler resolves it back to the same image.
 */
async function normalizeForTarget(doc: SourceDoc, given: Record<string, string | string[]>, provider: Provider | undefined): Promise<void> {
  if (!provider?.normalizeParameter) return;
  const defs = (doc.value as { Parameters?: Record<string, { Type?: unknown }> } | undefined)?.Parameters ?? {};
  const problems: Diagnostic[] = [];
  for (const [name, raw] of Object.entries(given)) {
    const type = defs[name]?.Type;
    if (typeof type !== 'string') continue;
    const member = /^List<(.+)>$/.exec(type)?.[1] ?? type;
    const list = member !== type;
    const values = Array.isArray(raw) ? raw : list ? raw.split(',').map((v) => v.trim()) : [raw];
    try {
      const out = await Promise.all(values.map((v) => provider.normalizeParameter!(member, v)));
      given[name] = list ? out.join(',') : out[0]!;
    } catch (e) {
      if (!KilnError.is(e) || e.source !== 'user') throw e;
      problems.push({ severity: 'error', code: 'PARAM_VALUE', message: `Parameter '${name}': ${e.message}`, segments: ['Parameters', name] });
    }
  }
  if (problems.length) throw new DiagnosticsError(locate(problems, doc));
}

async function evaluate(
  input: TemplateInput,
  stack: string,
  previous: Record<string, StoredParam> | undefined,
  provider?: Provider,
  exports?: (name: string) => { value: Json; secret?: boolean } | undefined,
  target?: TargetContext,
): Promise<Evaluated> {
  const [{ loadTemplate, loadTemplateFile }, { validateTemplate }, { evaluateTemplate }, runtime, { isListType }, local] = await Promise.all([
    import('../stack/load.js'),
    import('../stack/validate.js'),
    import('../stack/evaluate.js'),
    import('../stack/runtime.js'),
    import('../stack/params.js'),
    import('./target.js'),
  ]);
  const doc = input.text !== undefined ? loadTemplate(input.text, input.file) : await loadTemplateFile(input.file);
  const given: Record<string, string | string[]> = { ...(input.params ?? {}) };
  await normalizeForTarget(doc, given, provider);
  const validation = validateTemplate(doc, { params: given, now: new Date() }).filter((d) => !providerTypeDiagnostic(d, doc, provider));
  if (hasErrors(validation)) throw new DiagnosticsError(validation.filter((d) => d.severity === 'error'));
  const tpl = doc.value as { Parameters?: Record<string, { Default?: Json; NoEcho?: unknown; Type?: string }> };
  const defs = tpl.Parameters ?? {};
  // UsePreviousValue for parameters not given.
  const problems: Diagnostic[] = [];
  for (const [name, prev] of Object.entries(previous ?? {})) {
    if (name in given || !(name in defs)) continue;
    if ('value' in prev) {
      if (!(prev as { fromDefault?: boolean }).fromDefault) given[name] = Array.isArray(prev.value) ? (prev.value as string[]) : String(prev.value);
      continue;
    }
    if (prev.fromDefault) continue;
    const dflt = defs[name]?.Default;
    if (dflt !== undefined && saltedHash(prev.salt, String(dflt)) === prev.hash) continue;
    problems.push({
      severity: 'error',
      code: 'PARAM_NOECHO_AGAIN',
      message: `parameter '${name}' is NoEcho: kiln keeps only a hash of its value, so pass it again with --param ${name}=…`,
      segments: ['Parameters', name],
    });
  }
  if (problems.length) throw new DiagnosticsError(locate(problems, doc));
  // The local account's answers: SSM-typed parameters from the Parameter Store, AWS-specific ones checked.
  const fromTarget = target ? await local.resolveTargetParameters(doc.value, given, target) : { resolved: {}, diagnostics: [] };
  const ev = evaluateTemplate(doc.value, { parameters: given, pseudo: { stackName: stack, region: defaultRegion() }, resolvedParameters: fromTarget.resolved });
  if (hasErrors(ev.diagnostics))
    throw new DiagnosticsError(
      locate(
        [...fromTarget.diagnostics, ...ev.diagnostics].filter((d) => d.severity === 'error'),
        doc,
      ),
    );
  const rt = ev.template;

  const secretList: Secret[] = [];
  const noEcho = new Set<string>();
  const stored: Record<string, StoredParam> = {};
  const shownParams: Record<string, Json> = {};
  for (const [name, p] of Object.entries(rt.parameters)) {
    if (p.noEcho) {
      noEcho.add(name);
      const prev = previous?.[name];
      const salt = prev && 'salt' in prev ? prev.salt : newSalt();
      const raw = Array.isArray(p.value) ? p.value.join(',') : p.value;
      for (const v of Array.isArray(p.value) ? [...p.value, raw] : [p.value]) secretList.push({ name, value: v, salt });
      stored[name] = { noEcho: true, hash: saltedHash(salt, raw), salt, ...(p.fromDefault ? { fromDefault: true } : {}) };
      shownParams[name] = '****';
    } else {
      const raw: Json = given[name] !== undefined ? (given[name] as Json) : Array.isArray(p.value) ? p.value : p.value;
      stored[name] = { value: raw, ...(p.fromDefault ? { fromDefault: true } : {}) };
      shownParams[name] = Array.isArray(p.value) ? p.value : p.value;
    }
    void isListType;
  }
  // Values intrinsics built from NoEcho values are secrets too, under the parameter they came from.
  for (const d of rt.derivedSecrets ?? []) {
    const salt = stored[d.parameter] && 'salt' in stored[d.parameter]! ? (stored[d.parameter] as { salt: string }).salt : undefined;
    if (salt !== undefined) secretList.push({ name: d.parameter, value: d.value, salt });
  }
  const ids = new Set(Object.keys(rt.Resources));
  const desired: DesiredStack = { resources: {}, outputs: {} };
  for (const [id, r] of Object.entries(rt.Resources)) {
    desired.resources[id] = {
      logicalId: id,
      type: r.Type,
      properties: r.Properties ?? {},
      dependsOn: runtime.dependenciesOf(r, ids, id),
      explicitDependsOn: r.DependsOn.filter((d) => ids.has(d) && d !== id),
      deletionPolicy: policy<DeletionPolicy>(r.DeletionPolicy, ['Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot'], 'Delete'),
      updateReplacePolicy: policy<ReplacePolicy>(r.UpdateReplacePolicy, ['Delete', 'Retain', 'Snapshot'], 'Delete'),
      ...policiesOf(r),
    };
  }
  for (const [name, o] of Object.entries(rt.Outputs))
    desired.outputs[name] = { value: o.Value, ...(o.Description !== undefined ? { description: o.Description } : {}), ...(o.Export ? { exportName: o.Export.Name } : {}) };
  // What is built at deploy time from a secret (a Fn::Base64 of a Fn::Join with an attribute) joins the secrets.
  const known: { secrets?: Secrets } = {};
  const resolve: RuntimeResolve = (value, lookups) =>
    runtime.resolveRuntime(value, {
      pseudo: rt.pseudo,
      mappings: rt.mappings,
      ...(known.secrets && !known.secrets.empty ? { secrets: { values: known.secrets.byValue(), derived: (name: string, v: string) => known.secrets!.addDerived(name, v) } } : {}),
      ref: (id) => {
        const v = lookups.ref(id);
        if (v === undefined) throw new Error(`resource ${id} does not exist`);
        return v;
      },
      getAtt: (id, attr) => {
        const v = lookups.getAtt(id, attr);
        if (v === undefined) throw new Error(`resource ${id} has no attribute ${attr}`);
        return v;
      },
      importValue: (name) => {
        const hit = exports?.(name);
        if (hit === undefined) throw new Error(`No export named ${name} found`);
        // The exporting stack kept it masked: a value built from a NoEcho parameter is never stored.
        return importedValue(name, hit);
      },
    });
  // Whatever the local target would refuse, all of it, before anything is created (src/deploy/target.ts).
  const checked = target ? await local.checkDesired(doc.value, desired, target) : { diagnostics: [], secrets: [] };
  const found = [...fromTarget.diagnostics, ...checked.diagnostics];
  if (hasErrors(found))
    throw new DiagnosticsError(
      locate(
        found.filter((d) => d.severity === 'error'),
        doc,
      ),
    );
  secretList.push(...checked.secrets);
  if (target && provider?.name === 'local') found.push(...(await defaultVpcNote(desired, target)));
  const secrets = new Secrets(secretList);
  known.secrets = secrets;
  // An export name is public (other stacks import by it, state lists it): one built from a secret is refused.
  const secretNames: Diagnostic[] = [];
  for (const [name, o] of Object.entries(rt.Outputs))
    if (o.Export && typeof o.Export.Name === 'string' && secrets.mask(o.Export.Name) !== o.Export.Name)
      secretNames.push({
        severity: 'error',
        code: 'EXPORT_NAME_SECRET',
        message: `the export name of output ${name} is built from a NoEcho parameter: export names are public (stacks import by them), so a secret cannot be one`,
        segments: ['Outputs', name, 'Export', 'Name'],
      });
  if (secretNames.length) throw new DiagnosticsError(locate(secretNames, doc));
  const templateHash = hashValue(secrets.tokenise(desired as unknown as Json));
  return { doc, desired, resolve, secrets, stored, shownParams, templateHash, noEcho, warnings: locate(found, doc) };
}

/** The attributes handlers follow: UpdatePolicy, CreationPolicy, and the AWS::CloudFormation::Init part of Metadata (cfn-init). */
function policiesOf(r: { UpdatePolicy?: unknown; CreationPolicy?: unknown; Metadata?: unknown }): { policies?: NonNullable<DesiredStack['resources'][string]['policies']> } {
  const md = r.Metadata && typeof r.Metadata === 'object' ? (r.Metadata as JsonObject) : undefined;
  const init = md?.['AWS::CloudFormation::Init'];
  const policies = {
    ...(r.UpdatePolicy ? { UpdatePolicy: r.UpdatePolicy as JsonObject } : {}),
    ...(r.CreationPolicy ? { CreationPolicy: r.CreationPolicy as JsonObject } : {}),
    ...(init !== undefined ? { Metadata: { 'AWS::CloudFormation::Init': init } } : {}),
  };
  return Object.keys(policies).length ? { policies } : {};
}

/**
 * On the local target: the resources of `desired` that land in the region's default VPC while it does
 * not exist yet, as a plan note; `kiln deploy` makes it first (src/providers/docker/default-vpc.ts).
 */
async function defaultVpcNote(desired: DesiredStack, target: TargetContext): Promise<Diagnostic[]> {
  const { defaultVpcUsers, defaultVpcStack, defaultSubnets, DEFAULT_VPC_CIDR } = await import('../providers/docker/default-vpc.js');
  const { defaultRegion } = await import('../providers/docker/network.js');
  const users = defaultVpcUsers(desired.resources);
  const stack = defaultVpcStack();
  if (!users.length || target.rows().some((r) => r.stack === stack && r.type === 'AWS::EC2::VPC')) return [];
  const region = defaultRegion();
  const zones = defaultSubnets(region).map((s) => s.az);
  return users.slice(0, 1).map((u) => ({
    severity: 'warning' as const,
    code: 'DEFAULT_VPC',
    message: `${users.map((x) => `${x.logicalId} (${x.reason})`).join(', ')} land${users.length === 1 ? 's' : ''} in the default VPC of ${region}, which does not exist yet: deploy creates it first as stack ${stack} (VPC ${DEFAULT_VPC_CIDR}, default subnets in ${zones.join(', ')}, its default security group)`,
    segments: ['Resources', u.logicalId],
  }));
}

/** Deploys the region's default VPC (stack `kiln-default-vpc-<region>`) when `desired` needs it and it does not exist. */
async function ensureDefaultVpc(input: StackOptions, store: StackStore, desired: DesiredStack): Promise<void> {
  if (input.provider.name !== 'local') return;
  const { defaultVpcUsers, defaultVpcStack, defaultVpcTemplate } = await import('../providers/docker/default-vpc.js');
  const { defaultRegion } = await import('../providers/docker/network.js');
  const stack = defaultVpcStack();
  if (!defaultVpcUsers(desired.resources).length || store.resources(stack, ['live']).some((r) => r.type === 'AWS::EC2::VPC')) return;
  const region = defaultRegion();
  const made = await deployStack({
    stack,
    store,
    provider: input.provider,
    ...(input.events ? { events: input.events } : {}),
    ...(input.parameters ? { parameters: input.parameters } : {}),
    ...(input.signal ? { signal: input.signal } : {}),
    command: 'deploy (default VPC)',
    file: `<default VPC of ${region}>`,
    text: defaultVpcTemplate(region),
  });
  if (made.outcome === 'failed')
    throw new KilnError('DEFAULT_VPC_FAILED', `the default VPC of ${region} (stack ${stack}) could not be made: ${made.reason ?? made.finalStatus ?? 'failed'}`, 'environment');
}

/** The image of every instance and launch template, when written as a plain value (for `kiln history`). */
function imagesOf(desired: DesiredStack): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of Object.values(desired.resources)) {
    const direct = r.properties.ImageId;
    const data = r.properties.LaunchTemplateData;
    const nested = data && typeof data === 'object' && !Array.isArray(data) ? data.ImageId : undefined;
    const img = typeof direct === 'string' ? direct : typeof nested === 'string' ? nested : undefined;
    if (img) out[r.logicalId] = img;
  }
  return out;
}

function lastDeployment(store: StackStore, stack: string): DeploymentRecord | undefined {
  const st = store.stack(stack);
  return st?.deployment ? store.deployment(st.deployment) : undefined;
}

function priorResources(store: StackStore, stack: string, status: 'live' | 'pendingDelete' = 'live') {
  return store.resources(stack, [status]).map((r) => ({
    logicalId: r.logicalId,
    type: r.type,
    physicalId: r.physicalId,
    properties: r.properties,
    state: r.state,
    dependsOn: r.dependsOn,
    deletionPolicy: r.deletionPolicy,
    updateReplacePolicy: r.updateReplacePolicy,
  }));
}

async function planWith(store: StackStore, o: StackOptions, ev: Evaluated, forceReplace?: ReadonlySet<string>): Promise<Plan> {
  const replacement = await replacementFacts();
  const tokenising: RuntimeResolve = (v, l) => ev.secrets.tokenise(ev.resolve(v, l));
  const prior = priorResources(store, o.stack);
  const mustReplace = o.provider.coupledReplacements?.(Object.values(ev.desired.resources), prior);
  const p = makePlan(ev.desired, prior, {
    handler: (t) => o.provider.handler(t),
    refusal: (t) => o.provider.refusal?.(t),
    replacement,
    resolve: tokenising,
    leftovers: priorResources(store, o.stack, 'pendingDelete'),
    ...(forceReplace ? { forceReplace } : {}),
    ...(mustReplace?.size ? { mustReplace } : {}),
  });
  if (hasErrors(p.diagnostics)) throw new DiagnosticsError(locate(p.diagnostics, ev.doc));
  p.diagnostics.push(...ev.warnings);
  return p;
}

interface PlanDocumentOptions {
  /** Also make the plan document (reads every live resource once): `kiln plan --json` / `--out`. */
  document?: boolean;
  /** Image ids the plan deploys (`kiln up`), recorded in the document. */
  images?: Record<string, string>;
}

/** What `kiln deploy` would do now; takes no lock and changes nothing (but the plan key, made once). */
export async function planStack(input: StackOptions & TemplateInput & PlanDocumentOptions): Promise<PlanResult> {
  checkStackName(input.stack);
  const store = storeOf(input);
  const o = onTarget(input, store);
  const ev = await evaluate(o, o.stack, lastDeployment(store, o.stack)?.parameters, o.provider, (n) => store.exportedValue(n), targetOf(o, store));
  const p = await planWith(store, o, ev);
  const st = store.stack(o.stack);
  let refusals: string[] = [];
  try {
    checkDeployExports(store, o.stack, lastDeployment(store, o.stack), exportedNames(ev.desired, ev.resolve), importedNames(ev.desired, ev.resolve));
  } catch (e) {
    refusals = errorMessage(e).split('; ');
  }
  const isCreate = store.resources(o.stack, ['live']).length === 0;
  const result: PlanResult = { plan: p, ...(st ? { status: st.status } : {}), parameters: ev.shownParams, isCreate, ...(refusals.length ? { refusals } : {}) };
  if (!o.document) return result;
  const document = planDocument({
    stack: o.stack,
    plan: p,
    isCreate,
    ...(st ? { status: st.status } : {}),
    parameters: ev.shownParams,
    ...(refusals.length ? { refusals } : {}),
    template: { file: ev.doc.file, text: ev.doc.text },
    given: sealGiven(store, o.stack, o.params ?? {}, ev.noEcho),
    images: o.images ?? imagesOf(ev.desired),
    basis: stateBasis(store, o.stack),
    live: await liveFingerprint(store, o, ev.secrets),
    imports: importValues(store, ev),
  });
  return { ...result, document };
}

function sealGiven(store: StackStore, stack: string, params: Record<string, string>, noEcho: ReadonlySet<string>): Record<string, GivenParameter> {
  const out: Record<string, GivenParameter> = {};
  for (const [k, v] of Object.entries(params)) out[k] = noEcho.has(k) ? { sealed: seal(store.planKey(), stack, k, v) } : { value: v };
  return out;
}

function importValues(store: StackStore, ev: Evaluated): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const name of importedNames(ev.desired, ev.resolve)) {
    const v = store.exportedValue(name);
    if (v) out[name] = v.value;
  }
  return out;
}

/** What a read of every live resource finds (the handlers that can read), for a saved plan's staleness check. */
async function liveFingerprint(store: StackStore, o: StackOptions, secrets: Secrets): Promise<Record<string, LiveFingerprint>> {
  const report = await driftWith(store, o, secrets, { orphans: false });
  const out: Record<string, LiveFingerprint> = {};
  for (const r of report.resources)
    if (r.status !== 'NOT_CHECKED') out[r.logicalId] = { physicalId: r.physicalId, exists: r.status !== 'DELETED', drifted: [...new Set(r.differences.map((d) => d.property))].sort() };
  return out;
}

/** The template input a saved plan carries: its template text and its parameters, NoEcho ones opened. */
function savedInput(store: StackStore, doc: PlanDocument): TemplateInput {
  const params: Record<string, string> = {};
  for (const [k, g] of Object.entries(doc.given)) {
    const v = 'sealed' in g ? unseal(store.planKey(), doc.stack, k, g.sealed) : g.value;
    params[k] = Array.isArray(v) ? v.join(',') : v;
  }
  return { file: doc.template.file, text: doc.template.text, params };
}

/** Refuses a saved plan made against another state than the one now, saying what changed. */
async function checkStale(store: StackStore, o: StackOptions, doc: PlanDocument, ev: Evaluated, p: Plan): Promise<void> {
  const why = [
    ...basisChanges(doc.basis, stateBasis(store, o.stack)),
    ...liveChanges(doc.live, await liveFingerprint(store, o, ev.secrets)),
    ...importChanges(doc.imports, (n) => store.exportedValue(n)?.value),
  ];
  if (why.length === 0) why.push(...stepChanges(doc.steps, p.steps));
  if (why.length)
    throw new KilnError('PLAN_STALE', `the saved plan for stack ${o.stack} is stale, so nothing was changed: ${why.join('; ')}. Plan again (kiln plan … --out FILE) and review the new plan`, 'user');
  if (doc.refusals?.length) throw new KilnError('PLAN_REFUSED', `the saved plan for stack ${o.stack} cannot be deployed: ${doc.refusals.join('; ')}`, 'user');
}

/** Runs `fn` holding the stack's lock, after recovering what a killed run left (`recovered`: it did). */
async function withLock<T>(store: StackStore, o: StackOptions, recoverWith: { resolve: RuntimeResolve; secrets?: Secrets } | undefined, fn: (recovered: boolean) => Promise<T>): Promise<T> {
  const lock = store.acquireLock(o.stack, o.command ?? 'deploy');
  try {
    store.backup(); // a checked copy of the state before anything changes (kiln state restore)
    if (lock.stale && !needsRecovery(store, o.stack))
      (o.events ?? nullEvents).emit({
        kind: 'notice',
        message: `stack ${o.stack}: took over the lock of \`kiln ${lock.stale.command}\` (pid ${lock.stale.pid}, since ${lock.stale.since}), whose process is gone`,
      });
    const recovering = needsRecovery(store, o.stack);
    if (recovering) {
      await recover({
        store,
        provider: o.provider,
        stack: o.stack,
        events: o.events ?? nullEvents,
        resolve: recoverWith?.resolve ?? ((v) => v),
        replacement: await replacementFacts(),
        ...(recoverWith?.secrets ? { secrets: recoverWith.secrets } : {}),
        ...(lock.stale ? { staleLock: lock.stale } : {}),
        ...(o.concurrency ? { concurrency: o.concurrency } : {}),
      });
    }
    const r = await fn(recovering);
    try {
      store.backup(); // and after: a restore brings back this deploy's state too
    } catch {
      // the copy taken before stays; `kiln state check` tells what is wrong
    }
    return r;
  } finally {
    store.releaseLock(o.stack, lock.token);
  }
}

export interface DeployOptions extends StackOptions, TemplateInput {
  /** Roll back on failure (default true); false = `--no-rollback`. */
  rollback?: boolean;
  /** Replace the resources `kiln drift` finds drifted. */
  replaceDrifted?: boolean;
  /** Asked with the plan before anything changes; false cancels. Absent: proceed. */
  confirm?: (r: PlanResult) => Promise<boolean>;
  /** Image ids used by this deployment (recorded for `kiln history`). */
  images?: Record<string, string>;
  /** A saved plan (`kiln plan --out`): its template and parameters are deployed, exactly its steps, or it is refused as stale. */
  saved?: PlanDocument;
}

export async function deployStack(input: DeployOptions): Promise<DeployResult> {
  checkStackName(input.stack);
  const store = storeOf(input);
  const o = onTarget(input, store);
  const events = o.events ?? nullEvents;
  if (o.saved && o.saved.stack !== o.stack) throw new KilnError('PLAN_FILE', `the plan is for stack ${o.saved.stack}, not ${o.stack}`, 'user', { exitCode: 2 });
  if (o.saved && o.replaceDrifted) throw new KilnError('USAGE', '--replace-drifted cannot change a saved plan: plan again with it', 'user', { exitCode: 2 });
  const template = o.saved ? savedInput(store, o.saved) : o;
  // Evaluate first: an invalid template or bad parameters create nothing, not even a lock.
  const evaluatedAfter = lastDeployment(store, o.stack)?.id;
  let ev = await evaluate(template, o.stack, lastDeployment(store, o.stack)?.parameters, o.provider, (n) => store.exportedValue(n), targetOf(o, store));
  return withLock(store, { ...o, command: o.command ?? 'deploy' }, { resolve: ev.resolve, secrets: ev.secrets }, async (recovered) => {
    // Evaluated once, unless recovery (or a run that finished before the lock was taken) changed
    // the last deployment, whose parameters a parameter not given keeps: then again against it.
    if (recovered || lastDeployment(store, o.stack)?.id !== evaluatedAfter)
      ev = await evaluate(template, o.stack, lastDeployment(store, o.stack)?.parameters, o.provider, (n) => store.exportedValue(n), targetOf(o, store));
    let force: Set<string> | undefined;
    if (o.replaceDrifted) {
      const report = await driftWith(store, o, ev.secrets);
      force = new Set(report.resources.filter((r) => r.status === 'MODIFIED' || r.status === 'DELETED').map((r) => r.logicalId));
    }
    const p = await planWith(store, o, ev, force);
    // A saved plan runs only against the state it was made on: the same steps, or nothing.
    if (o.saved) await checkStale(store, o, o.saved, ev, p);
    const st = store.stack(o.stack);
    const live = store.resources(o.stack, ['live']);
    const isCreate = live.length === 0;
    const base: PlanResult = { plan: p, ...(st ? { status: st.status } : {}), parameters: ev.shownParams, isCreate };
    const last = lastDeployment(store, o.stack);
    if (!p.changes && last && last.templateHash === ev.templateHash && hashValue(last.parameters) === hashValue(ev.stored) && st && !st.status.endsWith('FAILED')) {
      return { ...base, outcome: 'no-changes', outputs: last.outputs };
    }
    // Cross-stack references: refused before anything changes (src/deploy/exports.ts).
    const imports = importedNames(ev.desired, ev.resolve);
    checkDeployExports(store, o.stack, last, exportedNames(ev.desired, ev.resolve), imports);
    if (o.confirm && !(await o.confirm(base))) return { ...base, outcome: 'cancelled', outputs: last?.outputs ?? {} };
    // What lands in the default VPC needs it to exist: made first, as its own stack (the plan said so).
    await ensureDefaultVpc(input, store, ev.desired);
    if (!st || (isCreate && ['DELETE_COMPLETE', 'ROLLBACK_COMPLETE', 'CREATE_FAILED', 'ROLLBACK_FAILED'].includes(st.status) && store.resources(o.stack, ['live', 'pendingDelete']).length === 0))
      store.createStack(o.stack);
    const deployment = `d-${new Date()
      .toISOString()
      .replace(/[-:.TZ]/g, '')
      .slice(0, 14)}-${randomUUID().slice(0, 8)}`;
    store.beginDeployment({
      id: deployment,
      stack: o.stack,
      kind: 'deploy',
      templateHash: ev.templateHash,
      template: ev.doc.text,
      parameters: ev.stored,
      outputs: {},
      prior: store.resources(o.stack),
      images: o.saved?.images ?? o.images ?? imagesOf(ev.desired),
    });
    store.setDeploymentImports(deployment, imports);
    const engine = new Engine({
      store,
      provider: o.provider,
      stack: o.stack,
      deployment,
      events,
      secrets: ev.secrets,
      resolve: ev.resolve,
      replacement: await replacementFacts(),
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      checkOutputs: (outputs) => changedImportedExports(store, o.stack, last, outputs),
    });
    const outcome: RunOutcome = await engine.deploy(ev.desired, p, { rollback: o.rollback !== false });
    const after = lastDeployment(store, o.stack);
    return {
      ...base,
      outcome: outcome.ok ? 'complete' : 'failed',
      finalStatus: outcome.status,
      ...(outcome.reason ? { reason: outcome.reason } : {}),
      outputs: after?.outputs ?? {},
      deployment,
    };
  });
}

export async function destroyStack(input: StackOptions): Promise<{ outcome: 'complete' | 'failed' | 'absent'; status?: StackStatus; reason?: string }> {
  checkStackName(input.stack);
  const store = storeOf(input);
  const o = onTarget(input, store);
  const st = store.stack(o.stack);
  if (!st || (st.status === 'DELETE_COMPLETE' && store.resources(o.stack, ['live', 'pendingDelete']).length === 0)) return { outcome: 'absent' };
  return withLock(store, { ...o, command: o.command ?? 'destroy' }, undefined, async () => {
    checkDestroyExports(store, o.stack, lastDeployment(store, o.stack));
    const deployment = `d-${new Date()
      .toISOString()
      .replace(/[-:.TZ]/g, '')
      .slice(0, 14)}-${randomUUID().slice(0, 8)}`;
    const last = lastDeployment(store, o.stack);
    store.beginDeployment({
      id: deployment,
      stack: o.stack,
      kind: 'destroy',
      templateHash: null,
      template: null,
      parameters: last?.parameters ?? {},
      outputs: {},
      prior: store.resources(o.stack),
      images: {},
    });
    const engine = new Engine({
      store,
      provider: o.provider,
      stack: o.stack,
      deployment,
      events: o.events ?? nullEvents,
      resolve: (v) => v,
      replacement: () => undefined,
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
    });
    const r = await engine.destroy();
    return { outcome: r.ok ? 'complete' : 'failed', status: r.status, ...(r.reason ? { reason: r.reason } : {}) };
  });
}

// ---- drift -----------------------------------------------------------------------------------

export type ResourceDrift = 'IN_SYNC' | 'MODIFIED' | 'DELETED' | 'NOT_CHECKED';

export interface DriftReport {
  stack: string;
  status: 'DRIFTED' | 'IN_SYNC';
  resources: Array<{
    logicalId: string;
    type: string;
    physicalId: string;
    status: ResourceDrift;
    differences: Array<{ property: string; expected: Json; actual: Json; kind: 'NOT_EQUAL' | 'ADD' | 'REMOVE' }>;
    mutations: Array<{ path: string; kind: 'A' | 'C' | 'D' }>;
  }>;
  /** Objects labelled for the stack that state does not know (extra containers). */
  extra: string[];
}

async function driftWith(store: StackStore, o: StackOptions, secrets: Secrets, opts: { orphans: boolean } = { orphans: true }): Promise<DriftReport> {
  const rows = store.resources(o.stack, ['live']);
  const resources: DriftReport['resources'] = [];
  // Read in parallel (bounded), reported in state order.
  const read = await mapLimit(rows, o.concurrency ?? 10, async (r): Promise<DriftReport['resources'][number]> => {
    const h = o.provider.handler(r.type);
    if (!h?.read || r.noLocalEffect) {
      return { logicalId: r.logicalId, type: r.type, physicalId: r.physicalId, status: 'NOT_CHECKED', differences: [], mutations: [] };
    }
    const ctx = {
      stack: o.stack,
      logicalId: r.logicalId,
      type: r.type,
      deployment: r.deployment,
      signal: new AbortController().signal,
      events: { emit: () => undefined },
      lookup: (pid: string) => {
        const x = rows.find((y) => y.physicalId === pid) ?? store.liveByPhysicalId(pid);
        return x ? { stack: x.stack, logicalId: x.logicalId, type: x.type, properties: x.properties, state: x.state } : undefined;
      },
      resources: () => rows.map((x) => ({ stack: x.stack, logicalId: x.logicalId, type: x.type, properties: x.properties, state: x.state })),
      allResources: () => store.allLiveResources().map((x) => ({ stack: x.stack, logicalId: x.logicalId, type: x.type, properties: x.properties, state: x.state })),
    };
    const props = secrets.revealKnown(r.properties);
    const res = await h.read(ctx, secrets.revealKnown(r.state as unknown as Json) as unknown as typeof r.state, props);
    // A property holding a NoEcho value cannot be compared (kiln does not keep the value): skipped,
    // as CloudFormation skips write-only properties.
    const comparable = (prop: string) => !JSON.stringify(r.properties[prop.split('.')[0]!] ?? null).includes('{{kiln:noecho:') || !secrets.empty;
    const differences = res.drift.filter((d) => comparable(d.property)).map((d) => ({ ...d, expected: secrets.maskJson(d.expected), actual: secrets.maskJson(d.actual) }));
    const mutations = res.mutations ?? [];
    const status: ResourceDrift = !res.state ? 'DELETED' : differences.length > 0 || mutations.length > 0 ? 'MODIFIED' : 'IN_SYNC';
    return { logicalId: r.logicalId, type: r.type, physicalId: r.physicalId, status, differences, mutations };
  });
  resources.push(...read);
  const known = new Set(store.resources(o.stack).map((r) => r.physicalId));
  const extra = opts.orphans && o.provider.listOrphans ? await o.provider.listOrphans(o.stack, known) : [];
  const drifted = resources.some((r) => r.status === 'MODIFIED' || r.status === 'DELETED') || extra.length > 0;
  return { stack: o.stack, status: drifted ? 'DRIFTED' : 'IN_SYNC', resources, extra };
}

export async function driftStack(input: StackOptions): Promise<DriftReport> {
  checkStackName(input.stack);
  const store = storeOf(input);
  const o = onTarget(input, store);
  const st = store.stack(o.stack);
  if (!st || st.status === 'DELETE_COMPLETE') throw new KilnError('NO_STACK', `stack ${o.stack} does not exist`, 'user');
  return driftWith(store, o, new Secrets());
}
