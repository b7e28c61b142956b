// The typed events of the deploy engine. Every stack and resource status change is a `stack-event`
// (persisted in state with CloudFormation's status names); providers report progress; the engine
// reports what recovery did and any resource stopped because reality differs from the plan. The CLI
// renders them; the engine never prints.
import type { StackEvent } from '../state/store.js';
import type { ProviderEvent } from '../model/provider.js';

export type EngineEvent =
  | { kind: 'stack-event'; event: StackEvent }
  | { kind: 'provider'; event: ProviderEvent }
  | { kind: 'notice'; message: string }
  /** A resource stopped because reality needs another step than the plan says (the run rolls back). */
  | { kind: 'deviation'; logicalId: string; planned: 'update' | 'replace'; needed: 'create' | 'replace'; reason: string };

export const STACK_TYPE = 'AWS::CloudFormation::Stack';
