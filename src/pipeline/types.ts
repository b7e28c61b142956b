// The pipeline's options, events and results, shared by the local pipeline (up.ts) and AWS's (up-aws.ts).
import type { EventSink } from '../core/events.js';
import type { BuildEvent } from '../image/events.js';
import type { DeployResult, EngineEvent, PlanResult } from '../deploy/index.js';
import type { Provider } from '../model/provider.js';
import type { Plan } from '../stack/plan.js';
import type { PlanDocument } from '../deploy/planfile.js';
import type { ImageRecord, PipelineRecord } from '../state/pipeline.js';
import type { PipelineConfig, Target } from './config.js';
import type { AwsDeployResult } from '../deploy/aws/engine.js';
import type { AwsRuntime } from '../image/builders/amazon-ebs-plan.js';
import type { S3Api } from '../aws/s3.js';
import type { CfnApi } from '../aws/cfn.js';
import type { DockerClient } from '../docker/client.js';

export type PipelineEvent =
  | { kind: 'phase'; phase: 'bake' | 'plan' | 'deploy'; message?: string }
  /** A build event of image `image` (the Packer-like stream `kiln build` renders). */
  | { kind: 'image'; image: string; event: BuildEvent }
  | { kind: 'baked'; image: string; record: ImageRecord; ms: number }
  | { kind: 'stack'; event: EngineEvent };

export interface PipelineOptions {
  stateDir?: string;
  provider?: Provider;
  events?: EventSink<PipelineEvent>;
  signal?: AbortSignal;
  /** Extra labels for every image and build container (tests: `kiln.test`). */
  labels?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
  concurrency?: number;
  /** The Docker engine images are baked on and the local provider works through (default: DOCKER_HOST's). */
  docker?: DockerClient;
}

export interface UpOptions extends PipelineOptions {
  config: PipelineConfig;
  target?: Target;
  /** Overrides `stack:` of kiln.yaml. */
  stack?: string;
  dryRun?: boolean;
  /** With dryRun: also make the plan document (`kiln up --plan-only --out PLAN`), in `UpResult.document`. */
  document?: boolean;
  /** Asked with the plan before anything changes; false cancels. */
  confirm?: (r: PlanResult) => Promise<boolean>;
  /** --target aws: capabilities acknowledged for the stack (CAPABILITY_IAM, …). */
  capabilities?: string[];
  /** --target aws: the stack's region (default AWS_REGION). */
  region?: string;
  /** --target aws: AWS clients for the bake (tests point them at an emulator and a stand-in machine). */
  aws?: AwsRuntime;
  /** --target aws: the CloudFormation client (default: kiln's own). */
  cfn?: CfnApi;
  /** --target aws: a bucket of the user's for a stack template over 51,200 bytes (`--s3-bucket`). */
  s3Bucket?: string;
  /** --target aws: the S3 client for `s3Bucket` (default: kiln's own). */
  s3?: S3Api;
}

/** `kiln up --plan PLAN`: a saved plan of `kiln up --plan-only --out`, its file and its text. */
export interface UpPlanOptions extends PipelineOptions {
  doc: PlanDocument;
  planFile: string;
  planText: string;
  /** `--stack`, when given: must be the plan's. */
  stack?: string;
}

export type UpOutcome = 'up-to-date' | 'planned' | 'complete' | 'failed' | 'cancelled' | 'build-failed';

export interface UpResult {
  stack: string;
  outcome: UpOutcome;
  images: Record<string, ImageRecord>;
  /** Images built in this run (the others came from the cache). */
  built: string[];
  parameters: Record<string, string>;
  plan?: Plan;
  /** The saved-plan document of a dry run asked for one (docs/plan-file.md). */
  document?: PlanDocument;
  deploy?: DeployResult;
  /** The CloudFormation deploy of `--target aws` (status, outputs). */
  aws?: AwsDeployResult;
  record?: PipelineRecord;
  /** Why a build or the deploy failed. */
  reason?: string;
  ms: number;
}
