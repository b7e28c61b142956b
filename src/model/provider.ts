// The narrow contract between the executor and a provider (local Docker, AWS). It lives below the
// stack engine and the executor (both use it) and above nothing but core: providers implement it. The executor resolves
// every intrinsic before calling a handler: handlers see plain property values, with references to
// other resources already turned into their physical ids (`sg-…`, `subnet-…`).
import type { EventSink } from '../core/events.js';
import { KilnError } from '../core/errors.js';
import type { Json, JsonObject } from '../core/json.js';

/** What a handler remembers about a live resource; stored in state (never secrets). */
export interface ResourceState {
  /** What `Ref` returns: `i-0abc…`, `sg-…`, `vpc-…`, or a name for some types. */
  physicalId: string;
  /** Every `Fn::GetAtt` attribute by its documented name (`PrivateIp`, `RedisEndpoint.Address`…). */
  attributes: Record<string, Json>;
  /** Provider-private facts (container ids, network ids, loopback address…). */
  data?: JsonObject;
  /**
   * What `Ref` returns when it is not the physical id: a security group made without `VpcId` (in
   * the default VPC) is referred to by its name, as on AWS, while kiln keys it by its `sg-` id.
   */
  ref?: string;
}

/** The value of `Ref` to a resource in this state. */
export function refOf(state: ResourceState): string {
  return state.ref ?? state.physicalId;
}

/** A resource as the provider can look it up while acting on another (same stack or another). */
export interface KnownResource {
  stack: string;
  logicalId: string;
  type: string;
  properties: JsonObject;
  state: ResourceState;
}

export type ProviderEvent = { kind: 'progress'; logicalId: string; message: string } | { kind: 'warning'; logicalId: string; message: string };

export interface ResourceContext {
  stack: string;
  logicalId: string;
  type: string;
  deployment: string;
  /** Cancels long waits (Ctrl-C, a failed sibling). */
  signal: AbortSignal;
  events: EventSink<ProviderEvent>;
  /** Finds a live resource by physical id (a subnet from `SubnetId`, groups from `SecurityGroupIds`), in this stack or, failing that, any other (an imported id). */
  lookup(physicalId: string): KnownResource | undefined;
  /** Every live resource of a stack (this one by default). */
  resources(stack?: string): KnownResource[];
  /**
   * Every live resource of every stack: a VPC, its subnets and security groups may be shared across
   * stacks (exports), so what spans a VPC (packet filters, address ranges) looks at all of them.
   */
  allResources(): KnownResource[];
  /**
   * The resource's resolved `UpdatePolicy` / `CreationPolicy` attributes, for handlers whose updates
   * follow them (an Auto Scaling group's rolling or replacing update). Absent = none declared.
   * `Metadata`: the resource's AWS::CloudFormation::Init metadata (resolved), when it has some.
   */
  policies?: { UpdatePolicy?: JsonObject; CreationPolicy?: JsonObject; Metadata?: JsonObject };
  /**
   * The other resources of the template being deployed, properties as written (references not
   * resolved), for a provider that can prepare for them: a load balancer publishes the ports its
   * listeners will use when it starts, rather than restart for each. Absent outside a deploy.
   */
  siblings?(): ReadonlyArray<{ logicalId: string; type: string; properties: JsonObject }>;
}

export interface DiffResult {
  /** Property paths whose change needs a new physical resource (beyond the spec's createOnly ones). */
  requiresReplacement: string[];
}

export interface ReadResult {
  /** undefined when the resource no longer exists. */
  state?: ResourceState;
  /** Differences between what runs and what was deployed, for `kiln drift`. */
  drift: Array<{ property: string; expected: Json; actual: Json; kind: 'NOT_EQUAL' | 'ADD' | 'REMOVE' }>;
  /** Files changed inside an instance since it started (`docker diff`): the mark of a mutated server. */
  mutations?: Array<{ path: string; kind: 'A' | 'C' | 'D' }>;
}

/**
 * A resource type's implementation. `C` is the context it works in: a provider whose handlers need
 * more than the executor gives (its clients, its own bookkeeping) declares a richer context and hands
 * the executor handlers bound to it (`ResourceHandler`, with the plain context).
 */
export interface ResourceHandler<C extends ResourceContext = ResourceContext> {
  readonly type: string;
  /** `none`: accepted and recorded, shown as "no local effect" (IAM on the local target). */
  readonly effect: 'real' | 'none';
  create(ctx: C, props: JsonObject): Promise<ResourceState>;
  /** In-place update; absent means every change replaces. */
  update?(ctx: C, props: JsonObject, previous: { props: JsonObject; state: ResourceState }): Promise<ResourceState>;
  delete(ctx: C, state: ResourceState, props: JsonObject): Promise<void>;
  /**
   * Saves the resource's data before a delete its `DeletionPolicy` (or `UpdateReplacePolicy`) of
   * `Snapshot` asks for, as AWS takes a final snapshot and then deletes; returns the snapshot's name,
   * or undefined when this resource holds nothing to save (a memcached cluster, said in a warning).
   * Absent: the target cannot snapshot this type, and a Snapshot policy keeps the resource instead.
   */
  snapshot?(ctx: C, state: ResourceState, props: JsonObject): Promise<string | undefined>;
  read?(ctx: C, state: ResourceState, props: JsonObject): Promise<ReadResult>;
  /**
   * What the plan must say about this resource on this target, from its properties as written: a
   * property recorded without local effect (`error: false`, a plan warning), or one the target
   * cannot realise (`error: true`, refused at plan before anything is created).
   */
  planNote?(props: JsonObject): { error: boolean; message: string } | undefined;
  /** Extra replacement rules the provider knows (e.g. an ASG whose launch template changed). */
  diff?(oldProps: JsonObject, newProps: JsonObject): DiffResult;
  /** Blocks until the resource is usable (health checks, ports open); create/update call it. */
  waitReady?(ctx: C, state: ResourceState, props: JsonObject): Promise<void>;
  /**
   * A head start for a first `create`, invisible in state and events. The executor calls `run` with
   * the resolved properties except those named in `without`, as soon as everything those need
   * exists (and the resource's explicit DependsOn is done), which may be long before the resource's
   * turn: a load balancer's data plane starts while the instances it will front still boot. `create`
   * adopts what `run` made when it fits and must work without it. After the deploy's walk the
   * executor calls `discard`, which releases whatever `create` did not adopt (a failed deploy, or
   * properties that turned out different). A failing `run` costs only the head start.
   */
  prepare?: {
    readonly without: readonly string[];
    run(ctx: C, props: JsonObject): Promise<void>;
    discard(ctx: C): Promise<void>;
  };
}

export interface Provider {
  readonly name: 'local' | 'aws' | 'fake';
  handler(type: string): ResourceHandler | undefined;
  /** Finds objects labelled for `stack` that state does not know (crash recovery, orphans). */
  listOrphans?(stack: string, known: ReadonlySet<string>): Promise<string[]>;
  removeOrphans?(stack: string, known: ReadonlySet<string>): Promise<number>;
  /**
   * The value a parameter of an AWS-specific type takes on this target, given what the user wrote:
   * on the local target an `AWS::EC2::Image::Id` may be a Docker reference (`seed/web:7`,
   * `sha256:…`) and becomes the `ami-` id of that image. Throws a user KilnError when the value
   * names nothing on this target. Absent: values are taken as written.
   */
  normalizeParameter?(type: string, value: string): Promise<string>;
  /**
   * The `ami-` id of the image an `ImageId` names on this target (a local image reference, image id
   * or kiln's `ami-` id), or undefined when it names none; never pulls. The plan uses it to refuse or
   * stand in for images before anything is created. Absent: images are not checked before deploy.
   */
  findImage?(reference: string): Promise<string | undefined>;
  /**
   * Why this target refuses a resource type it has no handler for, when it knows better than
   * "unrecognized" (a type of the spec it will not record without effect). Absent: no reason given.
   */
  refusal?(type: string): string | undefined;
  /**
   * Resources this target must replace because of a change to others, with why (logical id → the
   * reasons the plan shows): on the local target an instance's volume mounts are fixed at launch, so
   * a VolumeAttachment added, removed or changed for a running instance replaces it. `desired` holds
   * the template's resources as written, `prior` those deployed (resolved properties). Absent: none.
   */
  coupledReplacements?(desired: readonly PlanResource[], prior: readonly PlanResource[]): ReadonlyMap<string, readonly string[]>;
}

/** A resource as `coupledReplacements` sees it (desired: properties as written; deployed: resolved). */
export interface PlanResource {
  logicalId: string;
  type: string;
  properties: JsonObject;
  physicalId?: string;
}

/**
 * Thrown by `update` when the object it should change is gone (deleted outside kiln): the planned
 * update cannot happen and the executor stops the resource rather than create it unplanned.
 */
export class ResourceMissing extends KilnError {
  constructor(message: string) {
    super('RESOURCE_MISSING', message, 'environment');
  }
}

/**
 * Thrown by `update` when the provider finds, with the real values, that the change cannot be made
 * in place: the executor stops the resource (a planned update never silently becomes a replacement).
 */
export class ReplacementRequired extends KilnError {
  constructor(message: string) {
    super('REPLACEMENT_REQUIRED', message, 'environment');
  }
}
