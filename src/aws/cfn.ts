// The CloudFormation API as kiln uses it: one narrow interface, `call(operation, input)`, with the
// SDK's own shapes, passed to the AWS stack engine (never a module global). `sdkCfn(client)` wraps
// any CloudFormationClient (real, or aws-sdk-client-mock'ed); `openCfn(settings)` is kiln's own.
import type * as T from '@aws-sdk/client-cloudformation';
import type { AwsSettings } from './settings.js';
import { maskSecrets } from './settings.js';

export interface CfnOps {
  CreateChangeSet: [T.CreateChangeSetCommandInput, T.CreateChangeSetCommandOutput];
  DescribeChangeSet: [T.DescribeChangeSetCommandInput, T.DescribeChangeSetCommandOutput];
  ExecuteChangeSet: [T.ExecuteChangeSetCommandInput, T.ExecuteChangeSetCommandOutput];
  DeleteChangeSet: [T.DeleteChangeSetCommandInput, T.DeleteChangeSetCommandOutput];
  DescribeStacks: [T.DescribeStacksCommandInput, T.DescribeStacksCommandOutput];
  DescribeStackEvents: [T.DescribeStackEventsCommandInput, T.DescribeStackEventsCommandOutput];
  DescribeStackResources: [T.DescribeStackResourcesCommandInput, T.DescribeStackResourcesCommandOutput];
  DeleteStack: [T.DeleteStackCommandInput, T.DeleteStackCommandOutput];
  ContinueUpdateRollback: [T.ContinueUpdateRollbackCommandInput, T.ContinueUpdateRollbackCommandOutput];
  CancelUpdateStack: [T.CancelUpdateStackCommandInput, T.CancelUpdateStackCommandOutput];
  DetectStackDrift: [T.DetectStackDriftCommandInput, T.DetectStackDriftCommandOutput];
  DescribeStackDriftDetectionStatus: [T.DescribeStackDriftDetectionStatusCommandInput, T.DescribeStackDriftDetectionStatusCommandOutput];
  DescribeStackResourceDrifts: [T.DescribeStackResourceDriftsCommandInput, T.DescribeStackResourceDriftsCommandOutput];
}

export type CfnOp = keyof CfnOps;
export type CfnInput<K extends CfnOp> = CfnOps[K][0];
export type CfnOutput<K extends CfnOp> = Omit<CfnOps[K][1], '$metadata'>;

export interface CfnApi {
  readonly region: string;
  call<K extends CfnOp>(op: K, input: CfnInput<K>, signal?: AbortSignal): Promise<CfnOutput<K>>;
}

export async function sdkCfn(client: T.CloudFormationClient, region?: string): Promise<CfnApi> {
  const sdk = await import('@aws-sdk/client-cloudformation');
  const commands: Record<CfnOp, new (input: any) => any> = {
    CreateChangeSet: sdk.CreateChangeSetCommand,
    DescribeChangeSet: sdk.DescribeChangeSetCommand,
    ExecuteChangeSet: sdk.ExecuteChangeSetCommand,
    DeleteChangeSet: sdk.DeleteChangeSetCommand,
    DescribeStacks: sdk.DescribeStacksCommand,
    DescribeStackEvents: sdk.DescribeStackEventsCommand,
    DescribeStackResources: sdk.DescribeStackResourcesCommand,
    DeleteStack: sdk.DeleteStackCommand,
    ContinueUpdateRollback: sdk.ContinueUpdateRollbackCommand,
    CancelUpdateStack: sdk.CancelUpdateStackCommand,
    DetectStackDrift: sdk.DetectStackDriftCommand,
    DescribeStackDriftDetectionStatus: sdk.DescribeStackDriftDetectionStatusCommand,
    DescribeStackResourceDrifts: sdk.DescribeStackResourceDriftsCommand,
  };
  const r = region ?? (await client.config.region());
  return {
    region: r,
    async call(op, input, signal) {
      const Cmd = commands[op];
      return (await client.send(new Cmd(input), signal ? { abortSignal: signal } : {})) as never;
    },
  };
}

/** kiln's CloudFormation client for these settings (SDK retries off: the engine's `withRetry` does them). */
export function openCfn(settings: AwsSettings): CfnApi {
  let api: Promise<CfnApi> | undefined;
  const open = async (): Promise<CfnApi> => {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const { CloudFormationClient } = await import('@aws-sdk/client-cloudformation');
    const client = new CloudFormationClient({ region: settings.region, ...(settings.endpoint ? { endpoint: settings.endpoint } : {}), credentials: () => settings.credentials(), maxAttempts: 1 });
    return sdkCfn(client, settings.region);
  };
  return {
    region: settings.region,
    async call(op, input, signal) {
      try {
        return await (await (api ??= open())).call(op, input, signal);
      } catch (e) {
        if (e instanceof Error) e.message = maskSecrets(e.message, settings.secrets());
        throw e;
      }
    },
  };
}
