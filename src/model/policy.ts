// The deletion and replacement policies of a resource (CloudFormation's `DeletionPolicy` and
// `UpdateReplacePolicy` attributes), shared by the planner, the executor and state.

export type DeletionPolicy = 'Delete' | 'Retain' | 'RetainExceptOnCreate' | 'Snapshot';
export type ReplacePolicy = 'Delete' | 'Retain' | 'Snapshot';
