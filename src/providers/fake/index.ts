// An in-memory (optionally file-backed) provider with the same interface as the Docker one, for engine
// tests: the stand-in for what cannot run here, never for what can.
//
// Behaviour (the spec of the fake):
// - Types: `Test::Fake::Resource` (and `Test::Fake::Immutable`, which has no `update`, so any change
//   replaces), `AWS::IAM::*` with `effect: 'none'`, and a generic handler for the EC2 / ELB /
//   ElastiCache / AutoScaling types kiln realises locally. Any other type has no handler (refused).
// - Physical ids look like AWS's: `vpc-`, `subnet-`, `sg-`, `i-`, `lt-`… + 17 hex digits.
// - `Test::Fake::Resource` properties: `Fail` (true | "create" | "update" | "delete") makes that
//   operation fail with "Fake failure requested"; `Delay` (ms) makes each operation take that long
//   (honouring the abort signal: "Resource creation cancelled"); `Name` is create-only (changing it
//   replaces, as the provider's `diff` says). Attributes: `Name`, `Value`, `Arn`.
// - Tests can also fail an operation by logical id: `fake.failNext('Web', 'create')`, or make the next
//   update find that it needs a replacement after all: `fake.requireReplacement('Web')`
//   (ReplacementRequired). An update of an object that is gone throws ResourceMissing.
// - Every object carries the labels the Docker provider sets: stack, logical id, deployment, so
//   `listOrphans` / `removeOrphans` work like the real sweep.
// - `calls` records every operation with start and end order, for ordering assertions.
// - Head starts, as the Docker provider's classic load balancer has one: the fake's
//   `AWS::ElasticLoadBalancing::LoadBalancer` prepares without `Instances` (a labelled "warm" object
//   appears), its create adopts it (same physical id), and `discard` removes a warm object nobody
//   adopted. `failNext(id, 'prepare')` makes the head start fail.
// - With a file (`new FakeProvider({ file })`, or KILN_PROVIDER=fake with KILN_FAKE_STORE=path in the
//   CLI), objects survive the process, so crash tests can kill a run and inspect what exists.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Json, JsonObject } from '../../stack/model.js';
import { ReplacementRequired, ResourceMissing, type DiffResult, type Provider, type ReadResult, type ResourceContext, type ResourceHandler, type ResourceState } from '../../model/provider.js';

interface FakeObject {
  physicalId: string;
  type: string;
  stack: string;
  logicalId: string;
  deployment: string;
  properties: JsonObject;
  /** Files changed since start (`docker diff`), set by tests to simulate a mutated server. */
  mutations?: Array<{ path: string; kind: 'A' | 'C' | 'D' }>;
}

interface FakeCall {
  op: 'create' | 'update' | 'delete' | 'read' | 'prepare' | 'adopt' | 'discard';
  logicalId: string;
  physicalId?: string;
  phase: 'start' | 'end' | 'fail';
  seq: number;
}

const PREFIX: Record<string, string> = {
  'AWS::EC2::VPC': 'vpc-',
  'AWS::EC2::Subnet': 'subnet-',
  'AWS::EC2::SecurityGroup': 'sg-',
  'AWS::EC2::SecurityGroupIngress': 'sgr-',
  'AWS::EC2::SecurityGroupEgress': 'sgr-',
  'AWS::EC2::Instance': 'i-',
  'AWS::EC2::LaunchTemplate': 'lt-',
};

const LOCAL_TYPES = [
  'AWS::EC2::VPC',
  'AWS::EC2::Subnet',
  'AWS::EC2::SecurityGroup',
  'AWS::EC2::SecurityGroupIngress',
  'AWS::EC2::SecurityGroupEgress',
  'AWS::EC2::Instance',
  'AWS::EC2::LaunchTemplate',
  'AWS::AutoScaling::AutoScalingGroup',
  'AWS::ElasticLoadBalancing::LoadBalancer',
  'AWS::ElasticLoadBalancingV2::LoadBalancer',
  'AWS::ElasticLoadBalancingV2::TargetGroup',
  'AWS::ElasticLoadBalancingV2::Listener',
  'AWS::ElastiCache::CacheCluster',
  'AWS::ElastiCache::SubnetGroup',
];

function hex17(): string {
  return randomBytes(9).toString('hex').slice(0, 17);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('cancelled'));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Error('cancelled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function same(a: Json | undefined, b: Json | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class FakeProvider implements Provider {
  readonly name = 'fake' as const;
  readonly calls: FakeCall[] = [];
  private seq = 0;
  private objects = new Map<string, FakeObject>();
  private readonly failures = new Set<string>();
  private readonly handlers = new Map<string, ResourceHandler>();
  /** Head starts not adopted yet: `stack/deployment/logicalId` → physical id of the warm object. */
  private readonly warm = new Map<string, string>();
  private readonly file: string | undefined;

  constructor(opts: { file?: string } = {}) {
    this.file = opts.file;
    this.load();
    this.handlers.set('Test::Fake::Resource', this.makeHandler('Test::Fake::Resource', 'real', true));
    this.handlers.set('Test::Fake::Immutable', this.makeHandler('Test::Fake::Immutable', 'real', false));
    for (const t of LOCAL_TYPES) this.handlers.set(t, this.makeHandler(t, 'real', true));
  }

  handler(type: string): ResourceHandler | undefined {
    const h = this.handlers.get(type);
    if (h) return h;
    if (type.startsWith('AWS::IAM::')) {
      const none = this.makeHandler(type, 'none', true);
      this.handlers.set(type, none);
      return none;
    }
    return undefined;
  }

  /** Makes the next update of `logicalId` say a replacement is needed after all (once). */
  requireReplacement(logicalId: string): void {
    this.failures.add(`${logicalId}:replacement`);
  }

  /** Makes the next `op` on `logicalId` fail (once). */
  failNext(logicalId: string, op: 'create' | 'update' | 'delete' | 'prepare'): void {
    this.failures.add(`${logicalId}:${op}`);
  }

  /** Every object that exists, in creation order. */
  all(): FakeObject[] {
    this.load();
    return [...this.objects.values()];
  }

  get(physicalId: string): FakeObject | undefined {
    this.load();
    return this.objects.get(physicalId);
  }

  /** Simulates a change made outside kiln (drift). */
  tamper(physicalId: string, change: { properties?: JsonObject; remove?: boolean; mutations?: FakeObject['mutations'] }): void {
    this.load();
    const o = this.objects.get(physicalId);
    if (!o) throw new Error(`no fake object ${physicalId}`);
    if (change.remove) this.objects.delete(physicalId);
    else {
      if (change.properties) o.properties = change.properties;
      if (change.mutations) o.mutations = change.mutations;
    }
    this.save();
  }

  /** Creates an object nobody recorded (what a killed run leaves behind). */
  plant(obj: Omit<FakeObject, 'physicalId'> & { physicalId?: string }): FakeObject {
    this.load();
    const o: FakeObject = { ...obj, physicalId: obj.physicalId ?? `fake-${hex17()}` };
    this.objects.set(o.physicalId, o);
    this.save();
    return o;
  }

  async listOrphans(stack: string, known: ReadonlySet<string>): Promise<string[]> {
    this.load();
    return [...this.objects.values()].filter((o) => o.stack === stack && !known.has(o.physicalId)).map((o) => o.physicalId);
  }

  async removeOrphans(stack: string, known: ReadonlySet<string>): Promise<number> {
    const ids = await this.listOrphans(stack, known);
    for (const id of ids) this.objects.delete(id);
    this.save();
    return ids.length;
  }

  private load(): void {
    if (!this.file || !existsSync(this.file)) return;
    const list = JSON.parse(readFileSync(this.file, 'utf8')) as FakeObject[];
    this.objects = new Map(list.map((o) => [o.physicalId, o]));
  }

  private save(): void {
    if (!this.file) return;
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.objects.values()]));
    renameSync(tmp, this.file);
  }

  private record(op: FakeCall['op'], logicalId: string, phase: FakeCall['phase'], physicalId?: string): void {
    this.calls.push({ op, logicalId, phase, seq: this.seq++, ...(physicalId ? { physicalId } : {}) });
  }

  private async act(op: 'create' | 'update' | 'delete' | 'prepare', ctx: ResourceContext, props: JsonObject): Promise<void> {
    const delay = typeof props.Delay === 'number' ? props.Delay : Number(props.Delay ?? 0);
    if (delay > 0) {
      try {
        await sleep(delay, ctx.signal);
      } catch {
        this.record(op, ctx.logicalId, 'fail');
        throw new Error(`Resource ${op === 'create' || op === 'prepare' ? 'creation' : op === 'update' ? 'update' : 'deletion'} cancelled`);
      }
    }
    const fail = props.Fail;
    const key = `${ctx.logicalId}:${op}`;
    if (this.failures.has(key) || fail === true || fail === 'true' || fail === op) {
      this.failures.delete(key);
      this.record(op, ctx.logicalId, 'fail');
      throw new Error(`Fake failure requested (${op} of ${ctx.logicalId})`);
    }
  }

  private attributes(type: string, physicalId: string, props: JsonObject): Record<string, Json> {
    const attrs: Record<string, Json> = { Arn: `arn:fake:${type}:${physicalId}` };
    for (const [k, v] of Object.entries(props)) if (typeof v === 'string' || typeof v === 'number') attrs[k] = v;
    if (type === 'Test::Fake::Resource' || type === 'Test::Fake::Immutable') {
      attrs.Name = (props.Name as Json) ?? physicalId;
      attrs.Value = (props.Value as Json) ?? null;
    }
    if (type === 'AWS::EC2::SecurityGroup') attrs.GroupId = physicalId;
    if (type === 'AWS::EC2::VPC') attrs.VpcId = physicalId;
    if (type === 'AWS::EC2::Subnet') attrs.SubnetId = physicalId;
    if (type === 'AWS::EC2::Instance') {
      const n = parseInt(physicalId.slice(-4), 16);
      attrs.PrivateIp = `10.0.${(n >> 8) & 255}.${n & 255}`;
      attrs.PublicIp = `127.0.${(n >> 8) & 255}.${n & 255}`;
      attrs.InstanceId = physicalId;
    }
    if (type.startsWith('AWS::ElasticLoadBalancing')) attrs.DNSName = `127.1.${parseInt(physicalId.slice(-2), 16)}.1`;
    return attrs;
  }

  private makeHandler(type: string, effect: 'real' | 'none', updatable: boolean): ResourceHandler {
    const create = async (ctx: ResourceContext, props: JsonObject): Promise<ResourceState> => {
      this.record('create', ctx.logicalId, 'start');
      await this.act('create', ctx, props);
      this.load();
      const key = `${ctx.stack}/${ctx.deployment}/${ctx.logicalId}`;
      const warmId = this.warm.get(key);
      this.warm.delete(key);
      if (warmId && this.objects.has(warmId)) this.record('adopt', ctx.logicalId, 'end', warmId);
      const physicalId = warmId && this.objects.has(warmId) ? warmId : `${PREFIX[type] ?? 'fake-'}${hex17()}`;
      this.objects.set(physicalId, { physicalId, type, stack: ctx.stack, logicalId: ctx.logicalId, deployment: ctx.deployment, properties: props });
      this.save();
      this.record('create', ctx.logicalId, 'end', physicalId);
      return { physicalId, attributes: this.attributes(type, physicalId, props), data: { fake: true } };
    };
    const update = async (ctx: ResourceContext, props: JsonObject, previous: { props: JsonObject; state: ResourceState }): Promise<ResourceState> => {
      this.record('update', ctx.logicalId, 'start', previous.state.physicalId);
      if (this.failures.delete(`${ctx.logicalId}:replacement`)) {
        this.record('update', ctx.logicalId, 'fail');
        throw new ReplacementRequired(`the fake cannot update ${ctx.logicalId} in place`);
      }
      await this.act('update', ctx, props);
      this.load();
      const o = this.objects.get(previous.state.physicalId);
      if (!o) {
        this.record('update', ctx.logicalId, 'fail');
        throw new ResourceMissing(`${previous.state.physicalId} does not exist`);
      }
      o.properties = props;
      o.deployment = ctx.deployment;
      this.save();
      this.record('update', ctx.logicalId, 'end', previous.state.physicalId);
      return { physicalId: o.physicalId, attributes: this.attributes(type, o.physicalId, props), data: { fake: true } };
    };
    const handler: ResourceHandler = {
      type,
      effect,
      create,
      async delete(ctx, state, props) {
        self.record('delete', ctx.logicalId, 'start', state.physicalId);
        await self.act('delete', ctx, props);
        self.load();
        self.objects.delete(state.physicalId); // deleting what is gone is not an error
        self.save();
        self.record('delete', ctx.logicalId, 'end', state.physicalId);
      },
      async read(_ctx, state, props): Promise<ReadResult> {
        self.load();
        const o = self.objects.get(state.physicalId);
        if (!o) return { drift: [] };
        const drift: ReadResult['drift'] = [];
        for (const k of new Set([...Object.keys(props), ...Object.keys(o.properties)])) {
          if (k === 'Delay' || k === 'Fail') continue;
          const expected = props[k];
          const actual = o.properties[k];
          if (same(expected, actual)) continue;
          drift.push({ property: k, expected: expected ?? null, actual: actual ?? null, kind: expected === undefined ? 'ADD' : actual === undefined ? 'REMOVE' : 'NOT_EQUAL' });
        }
        return { state, drift, ...(o.mutations ? { mutations: o.mutations } : {}) };
      },
      diff(oldProps, newProps): DiffResult {
        return { requiresReplacement: type.startsWith('Test::Fake::') && !same(oldProps.Name, newProps.Name) ? ['Name'] : [] };
      },
    };
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    if (updatable) handler.update = update;
    if (type === 'AWS::ElasticLoadBalancing::LoadBalancer')
      handler.prepare = {
        without: ['Instances'],
        async run(ctx, props) {
          self.record('prepare', ctx.logicalId, 'start');
          await self.act('prepare', ctx, props);
          self.load();
          const physicalId = `warm-${hex17()}`;
          self.objects.set(physicalId, { physicalId, type, stack: ctx.stack, logicalId: ctx.logicalId, deployment: ctx.deployment, properties: props });
          self.warm.set(`${ctx.stack}/${ctx.deployment}/${ctx.logicalId}`, physicalId);
          self.save();
          self.record('prepare', ctx.logicalId, 'end', physicalId);
        },
        async discard(ctx) {
          const key = `${ctx.stack}/${ctx.deployment}/${ctx.logicalId}`;
          const id = self.warm.get(key);
          if (!id) return;
          self.warm.delete(key);
          self.load();
          self.objects.delete(id);
          self.save();
          self.record('discard', ctx.logicalId, 'end', id);
        },
      };
    return handler;
  }
}
