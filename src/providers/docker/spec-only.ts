// Every other type of the CloudFormation resource spec (S3, Lambda, SNS, SQS, DynamoDB, CloudWatch,
// Logs, KMS, Route 53…): accepted and recorded as IAM is, with no local effect. `Ref` and `GetAtt`
// give values shaped as AWS's: the documented shapes for the common types (a topic's ARN, a queue's
// URL, a bucket's domain names), and for the rest a value derived from the spec's attribute names
// (`…Arn` an ARN of the service, `…Name` the name, `…Id` an id, `…Url` a URL). The properties were
// validated against the spec before any of this runs.
//
// Some types of the spec are refused instead, because recording them would make the plan lie: kiln's
// own domain (EC2, Auto Scaling, load balancers, caches) where the local target has no handler yet,
// and services that are servers of their own (databases, search domains, container services, file
// systems): a template whose instances talk to them would deploy and then not work.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Json, JsonObject } from '../../core/json.js';
import type { ResourceContext, ResourceHandler, ResourceState } from '../../model/provider.js';
import { resourceType } from '../../stack/spec.js';
import { LOCAL_ACCOUNT_ID } from './noop.js';
import { defaultRegion as region } from '../../core/region.js';

/** Prefixes of kiln's domain: a type there without a local handler is refused, never recorded. */
const DOMAIN = ['AWS::EC2::', 'AWS::AutoScaling::', 'AWS::ElasticLoadBalancing::', 'AWS::ElasticLoadBalancingV2::', 'AWS::ElastiCache::'];

/** Types of the domain that change nothing a local server sees (IPv6 on the side, flow logs, placement). */
const DOMAIN_WITHOUT_LOCAL_MEANING = new Set(['AWS::EC2::FlowLog', 'AWS::EC2::VPCCidrBlock', 'AWS::EC2::EgressOnlyInternetGateway', 'AWS::EC2::PlacementGroup', 'AWS::EC2::CapacityReservation']);

/** Services that are servers of their own: recording them would leave instances talking to nothing. */
const SERVERS: Record<string, string> = {
  'AWS::RDS::DBInstance': 'a database server',
  'AWS::RDS::DBCluster': 'a database cluster',
  'AWS::DocDB::DBInstance': 'a database server',
  'AWS::DocDB::DBCluster': 'a database cluster',
  'AWS::Neptune::DBInstance': 'a database server',
  'AWS::Neptune::DBCluster': 'a database cluster',
  'AWS::Redshift::Cluster': 'a data warehouse',
  'AWS::Elasticsearch::Domain': 'a search cluster',
  'AWS::OpenSearchService::Domain': 'a search cluster',
  'AWS::MemoryDB::Cluster': 'a cache cluster',
  'AWS::DAX::Cluster': 'a cache cluster',
  'AWS::MSK::Cluster': 'a Kafka cluster',
  'AWS::AmazonMQ::Broker': 'a message broker',
  'AWS::EFS::FileSystem': 'a network file system',
  'AWS::EFS::MountTarget': 'a network file system',
  'AWS::FSx::FileSystem': 'a network file system',
  'AWS::ECS::Service': 'containers of a cluster',
  'AWS::ECS::TaskSet': 'containers of a cluster',
  'AWS::EKS::Cluster': 'a Kubernetes cluster',
  'AWS::EKS::Nodegroup': 'Kubernetes nodes',
  'AWS::Batch::ComputeEnvironment': 'compute instances',
  'AWS::EMR::Cluster': 'a Hadoop cluster',
  'AWS::ElasticBeanstalk::Environment': 'servers of an application',
  'AWS::Lightsail::Instance': 'a server',
  'AWS::AppRunner::Service': 'a web service',
};

/** Types of the domain refused for a reason of their own. */
const DOMAIN_REASONS: Record<string, string> = {
  'AWS::EC2::NetworkInterfaceAttachment':
    'AWS::EC2::NetworkInterfaceAttachment adds a second network interface to an instance: a local instance has one interface (its container in the VPC), so the attachment cannot be realised; give the instance the interface at launch (NetworkInterfaces with DeviceIndex 0)',
};

/**
 * Why the local target refuses `type` though the spec knows it; undefined when it records it (or
 * the spec does not know it: that is an unknown type, reported as such).
 */
export function specOnlyRefusal(type: string): string | undefined {
  if (!resourceType(type)) return undefined;
  if (DOMAIN_REASONS[type]) return DOMAIN_REASONS[type];
  const server = SERVERS[type];
  if (server) return `${type} is ${server} that the local target does not run; recording it without effect would leave the stack's servers talking to nothing`;
  if (DOMAIN.some((p) => type.startsWith(p)) && !DOMAIN_WITHOUT_LOCAL_MEANING.has(type))
    return `${type} is not realised by the local target yet, and recording it without effect would change what the stack's servers see`;
  return undefined;
}

// ---- names and ids ------------------------------------------------------------------------------

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomFrom(alphabet: string, n: number): string {
  let s = '';
  for (const b of randomBytes(n)) s += alphabet[b % alphabet.length];
  return s;
}

/** CloudFormation's generated name: `<stack>-<logicalId>-<RANDOM>`, at most `max` characters. */
function generated(ctx: ResourceContext, max: number, lower = false): string {
  const suffix = randomFrom(UPPER, 12);
  const name = `${`${ctx.stack}-${ctx.logicalId}`.slice(0, max - 13)}-${suffix}`;
  return lower ? name.toLowerCase() : name;
}

function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The ARN service namespace of a CloudFormation service name, where the two differ. */
const ARN_SERVICE: Record<string, string> = {
  CloudWatch: 'cloudwatch',
  Logs: 'logs',
  StepFunctions: 'states',
  CertificateManager: 'acm',
  ApiGateway: 'apigateway',
  ApiGatewayV2: 'apigateway',
  Cognito: 'cognito-idp',
  ElasticLoadBalancingV2: 'elasticloadbalancing',
  KinesisFirehose: 'firehose',
  ServiceDiscovery: 'servicediscovery',
  SecretsManager: 'secretsmanager',
  CloudFront: 'cloudfront',
  WAFv2: 'wafv2',
  Events: 'events',
};

function arnService(type: string): string {
  const service = type.split('::')[1] ?? 'unknown';
  return ARN_SERVICE[service] ?? service.toLowerCase();
}

function kebab(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

interface Shaped {
  physicalId: string;
  attributes: Record<string, Json>;
}

type Shape = (ctx: ResourceContext, props: JsonObject, r: string, a: string) => Shaped;

/** AWS's documented Ref / GetAtt values of the types templates use most. `r` is the region, `a` the account. */
const SHAPES: Record<string, Shape> = {
  'AWS::SNS::Topic': (ctx, p, r, a) => {
    const name = str(p.TopicName) ?? generated(ctx, 256) + (p.FifoTopic === true || p.FifoTopic === 'true' ? '.fifo' : '');
    const arn = `arn:aws:sns:${r}:${a}:${name}`;
    return { physicalId: arn, attributes: { TopicArn: arn, TopicName: name } };
  },
  'AWS::SNS::Subscription': (_ctx, p, r, a) => {
    const arn = `${str(p.TopicArn) ?? `arn:aws:sns:${r}:${a}:topic`}:${randomUUID()}`;
    return { physicalId: arn, attributes: { Arn: arn } };
  },
  'AWS::SQS::Queue': (ctx, p, r, a) => {
    const fifo = p.FifoQueue === true || p.FifoQueue === 'true';
    const name = str(p.QueueName) ?? generated(ctx, fifo ? 75 : 80) + (fifo ? '.fifo' : '');
    const url = `https://sqs.${r}.amazonaws.com/${a}/${name}`;
    return { physicalId: url, attributes: { QueueUrl: url, QueueName: name, Arn: `arn:aws:sqs:${r}:${a}:${name}` } };
  },
  'AWS::S3::Bucket': (ctx, p, r) => {
    const name = str(p.BucketName) ?? generated(ctx, 63, true);
    return {
      physicalId: name,
      attributes: {
        Arn: `arn:aws:s3:::${name}`,
        DomainName: `${name}.s3.amazonaws.com`,
        RegionalDomainName: `${name}.s3.${r}.amazonaws.com`,
        DualStackDomainName: `${name}.s3.dualstack.${r}.amazonaws.com`,
        WebsiteURL: `http://${name}.s3-website-${r}.amazonaws.com`,
      },
    };
  },
  'AWS::Lambda::Function': (ctx, p, r, a) => {
    const name = str(p.FunctionName) ?? generated(ctx, 64);
    return { physicalId: name, attributes: { Arn: `arn:aws:lambda:${r}:${a}:function:${name}` } };
  },
  'AWS::Lambda::Version': (_ctx, p, r, a) => {
    const fn = str(p.FunctionName) ?? 'function';
    const base = fn.startsWith('arn:') ? fn : `arn:aws:lambda:${r}:${a}:function:${fn}`;
    return { physicalId: `${base}:1`, attributes: { FunctionArn: `${base}:1`, Version: '1' } };
  },
  'AWS::DynamoDB::Table': (ctx, p, r, a) => {
    const name = str(p.TableName) ?? generated(ctx, 255);
    const arn = `arn:aws:dynamodb:${r}:${a}:table/${name}`;
    const streams = p.StreamSpecification !== undefined;
    return { physicalId: name, attributes: { Arn: arn, ...(streams ? { StreamArn: `${arn}/stream/${new Date().toISOString().replace(/Z$/, '')}` } : {}) } };
  },
  'AWS::CloudWatch::Alarm': (ctx, p, r, a) => {
    const name = str(p.AlarmName) ?? generated(ctx, 255);
    return { physicalId: name, attributes: { Arn: `arn:aws:cloudwatch:${r}:${a}:alarm:${name}` } };
  },
  'AWS::Logs::LogGroup': (ctx, p, r, a) => {
    const name = str(p.LogGroupName) ?? generated(ctx, 512);
    return { physicalId: name, attributes: { Arn: `arn:aws:logs:${r}:${a}:log-group:${name}:*` } };
  },
  'AWS::KMS::Key': (_ctx, _p, r, a) => {
    const id = randomUUID();
    return { physicalId: id, attributes: { KeyId: id, Arn: `arn:aws:kms:${r}:${a}:key/${id}` } };
  },
  'AWS::KMS::Alias': (_ctx, p) => ({ physicalId: str(p.AliasName) ?? 'alias/unnamed', attributes: {} }),
  'AWS::Route53::RecordSet': (_ctx, p) => ({ physicalId: (str(p.Name) ?? '').replace(/\.$/, ''), attributes: {} }),
  'AWS::Route53::HostedZone': () => {
    const id = `Z${randomFrom('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 20)}`;
    const ns = [0, 1, 2, 3].map((i) => `ns-${100 + i * 500}.awsdns-${10 + i}.${['com', 'net', 'org', 'co.uk'][i]}`);
    return { physicalId: id, attributes: { Id: id, NameServers: ns } };
  },
  'AWS::Events::Rule': (ctx, p, r, a) => {
    const name = str(p.Name) ?? generated(ctx, 64);
    const bus = str(p.EventBusName);
    const onDefault = !bus || bus === 'default';
    return { physicalId: onDefault ? name : `${bus}|${name}`, attributes: { Arn: `arn:aws:events:${r}:${a}:rule/${onDefault ? '' : `${bus}/`}${name}`, RuleName: name } };
  },
  'AWS::SecretsManager::Secret': (ctx, p, r, a) => {
    const name = str(p.Name) ?? generated(ctx, 256);
    const arn = `arn:aws:secretsmanager:${r}:${a}:secret:${name}-${randomFrom('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 6)}`;
    return { physicalId: arn, attributes: { Id: arn } };
  },
  'AWS::ECR::Repository': (ctx, p, r, a) => {
    const name = str(p.RepositoryName) ?? generated(ctx, 256, true);
    return { physicalId: name, attributes: { Arn: `arn:aws:ecr:${r}:${a}:repository/${name}`, RepositoryUri: `${a}.dkr.ecr.${r}.amazonaws.com/${name}` } };
  },
};

/** A value for one GetAtt attribute (or the Ref identifier) the table does not know, from its name. */
function derived(type: string, attribute: string, name: string, r: string, a: string): Json {
  const last = attribute.split('.').pop() ?? attribute;
  const kind = kebab(type.split('::')[2] ?? 'resource');
  const arn = `arn:aws:${arnService(type)}:${r}:${a}:${kind}/${name}`;
  if (/Arn$|ARN$/.test(last)) return arn;
  if (/Arns$|List$/.test(last)) return [arn];
  if (/Name$/.test(last)) return name;
  if (/Url$|URL$|Uri$|Endpoint$|Address$|DomainName$/.test(last))
    return /Url$|URL$/.test(last) ? `https://${name}.${arnService(type)}.${r}.amazonaws.com` : `${name}.${arnService(type)}.${r}.amazonaws.com`;
  if (/Port$/.test(last)) return '443';
  if (/Id$|ID$/.test(last)) return name;
  return name;
}

/** Ref and GetAtt values for `type`: the table's shape, else derived from the spec's attribute names. */
export function shapeOf(type: string, ctx: ResourceContext, props: JsonObject): Shaped {
  const r = region();
  const a = LOCAL_ACCOUNT_ID;
  const known = SHAPES[type];
  if (known) return known(ctx, props, r, a);
  const spec = resourceType(type);
  const identifiers = spec?.refIdentifier ?? [];
  // The resource's name: the identifier property when the template set it (BucketName, FunctionName…), else generated.
  const named = identifiers.map((i) => str(props[i])).find((v) => v !== undefined);
  const nameProp = Object.keys(props).find((k) => /Name$/.test(k) && k !== 'Name' && str(props[k]) !== undefined && (spec?.properties[k]?.replacement ?? 'no') !== 'no');
  const name = named ?? (nameProp ? str(props[nameProp])! : str(props.Name)) ?? generated(ctx, 64);
  const attributes: Record<string, Json> = {};
  for (const att of spec?.attributes ?? []) {
    // A parent of dotted attributes (`Endpoint` beside `Endpoint.Address`) is an object on AWS: skipped.
    if ((spec?.attributes ?? []).some((o) => o.startsWith(`${att}.`))) continue;
    attributes[att] = derived(type, att, name, r, a);
  }
  const refName = identifiers[identifiers.length - 1];
  const ref = refName === undefined ? name : (attributes[refName] ?? derived(type, refName, name, r, a));
  return { physicalId: typeof ref === 'string' ? ref : name, attributes };
}

/** The recording handler of a spec type the local target has no handler for (undefined when refused or unknown). */
export function specOnlyHandler(type: string): ResourceHandler | undefined {
  if (!resourceType(type) || specOnlyRefusal(type)) return undefined;
  return {
    type,
    effect: 'none',
    async create(ctx, props): Promise<ResourceState> {
      const { physicalId, attributes } = shapeOf(type, ctx, props);
      return { physicalId, attributes, data: { noLocalEffect: true } };
    },
    // Property changes are recorded; the planner replaces on the spec's create-only ones.
    async update(_ctx, _props, previous) {
      return previous.state;
    },
    async delete() {},
    async read(_ctx, state) {
      return { state, drift: [] };
    },
  };
}
