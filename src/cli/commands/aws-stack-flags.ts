// The flags the stack commands take for the AWS target (kept apart so that loading a stack command
// does not load the AWS side).
import type { FlagSpec } from '../args.js';

export const TARGET: FlagSpec = { names: ['target'], kind: 'string', valueName: 'local|aws', description: 'where the stack lives: the local Docker engine (default) or AWS CloudFormation' };
export const REGION: FlagSpec = { names: ['region'], kind: 'string', valueName: 'REGION', description: 'AWS: the region (default $AWS_REGION)' };
export const CAPABILITIES: FlagSpec = { names: ['capabilities'], kind: 'multi', valueName: 'CAP[,CAP]', description: 'AWS: acknowledge CAPABILITY_IAM, CAPABILITY_NAMED_IAM, CAPABILITY_AUTO_EXPAND' };
const S3_BUCKET: FlagSpec = {
  names: ['s3-bucket'],
  kind: 'string',
  valueName: 'BUCKET',
  description: 'AWS: a bucket of yours for a template over 51,200 bytes (CloudFormation reads it from there)',
};
const CONTINUE_ROLLBACK: FlagSpec = { names: ['continue-rollback'], kind: 'bool', description: 'AWS: continue the rollback of an UPDATE_ROLLBACK_FAILED stack' };

/** The AWS-only flags each stack command accepts besides its own (always with --target and --region). */
export const AWS_FLAGS: Record<string, FlagSpec[]> = {
  plan: [CAPABILITIES, S3_BUCKET],
  deploy: [CAPABILITIES, S3_BUCKET, CONTINUE_ROLLBACK],
};
