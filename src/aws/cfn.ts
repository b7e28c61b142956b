// The CloudFormation API as kiln uses it: one narrow interface, `call(operation, input)`, with the
// SDK's own shapes, passed to the AWS stack engine (never a module global). `sdkCfn(client)` wraps
// any CloudFormationClient (real, or aws-sdk-client-mock'ed); `openCfn(settings)` is kiln's own.
import type * as T from '@aws-sdk/client-cloudformation';
import type { AwsSettings } from './settings.js';
import { scrubbed, sdkClientConfig, sdkApi, type OpApi, type OpInput, type OpOutput } from './sdk.js';

type CfnOps = {
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
  GetTemplate: [T.GetTemplateCommandInput, T.GetTemplateCommandOutput];
};

export type CfnOp = keyof CfnOps & string;
export type CfnInput<K extends CfnOp> = OpInput<CfnOps, K>;
export type CfnOutput<K extends CfnOp> = OpOutput<CfnOps, K>;
export type CfnApi = OpApi<CfnOps>;

export async function sdkCfn(client: T.CloudFormationClient, region?: string): Promise<CfnApi> {
  return sdkApi<CfnOps>(await import('@aws-sdk/client-cloudformation'), client, region);
}

/** kiln's CloudFormation client for these settings (SDK retries off: the engine's `withRetry` does them). */
export function openCfn(settings: AwsSettings): CfnApi {
  let api: Promise<CfnApi> | undefined;
  const open = async (): Promise<CfnApi> => {
    const { CloudFormationClient } = await import('@aws-sdk/client-cloudformation');
    const client = new CloudFormationClient(sdkClientConfig(settings));
    return sdkCfn(client, settings.region);
  };
  return {
    region: settings.region,
    call: (op, input, signal) => scrubbed(settings, async () => (await (api ??= open())).call(op, input, signal)),
  };
}
