// The shapes of a CloudFormation template as kiln's stack engine sees them. A loaded template is
// plain data; validation establishes these shapes before anything casts to them.

import type { Json, JsonObject } from '../core/json.js';
export type { Json, JsonObject };

interface ParameterDef {
  Type: string;
  Default?: Json;
  AllowedValues?: Json[];
  AllowedPattern?: string;
  MinLength?: number | string;
  MaxLength?: number | string;
  MinValue?: number | string;
  MaxValue?: number | string;
  NoEcho?: boolean | string;
  Description?: string;
  ConstraintDescription?: string;
}

interface ResourceDef {
  Type: string;
  Properties?: JsonObject;
  DependsOn?: string | string[];
  Condition?: string;
  DeletionPolicy?: Json;
  UpdateReplacePolicy?: Json;
  CreationPolicy?: JsonObject;
  UpdatePolicy?: JsonObject;
  Metadata?: JsonObject;
}

interface OutputDef {
  Value: Json;
  Description?: string;
  Export?: { Name: Json };
  Condition?: string;
}

export interface CfnTemplate {
  AWSTemplateFormatVersion?: string;
  Description?: string;
  Metadata?: JsonObject;
  Parameters?: Record<string, ParameterDef>;
  Rules?: JsonObject;
  Mappings?: Record<string, Record<string, Record<string, Json>>>;
  Conditions?: Record<string, Json>;
  Transform?: string | string[];
  Resources: Record<string, ResourceDef>;
  Outputs?: Record<string, OutputDef>;
  Hooks?: JsonObject;
}

/** Values for the pseudo parameters of one evaluation (`AWS::StackName`, `AWS::Region`, ...). */
export interface PseudoValues {
  stackName: string;
  region: string;
  accountId: string;
  partition: string;
  urlSuffix: string;
  stackId: string;
  notificationArns: string[];
}

export const SECTION_ORDER = ['AWSTemplateFormatVersion', 'Description', 'Metadata', 'Parameters', 'Rules', 'Mappings', 'Conditions', 'Transform', 'Resources', 'Outputs', 'Hooks'] as const;
