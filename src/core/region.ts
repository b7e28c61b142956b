// The region kiln works in when none is named: the AWS SDK's variables (AWS_REGION, then
// AWS_DEFAULT_REGION), else us-east-1. One answer for everything that asks: the evaluator's
// `AWS::Region` and `Fn::GetAZs ''`, the local default VPC and its zones, ARNs and DNS names.
export function defaultRegion(env: NodeJS.ProcessEnv = process.env): string {
  return env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
}
