// Types with no local meaning (IAM, routing to an internet gateway, log groups...): accepted and
// recorded with AWS-shaped physical ids and attributes, so templates that Ref / GetAtt them deploy
// unchanged; the plan marks them "no local effect" (`effect: 'none'`). Nothing is created.
import { randomBytes } from 'node:crypto';
import type { Json, JsonObject } from '../../stack/model.js';
import type { ResourceContext, ResourceHandler, ResourceState } from '../../model/provider.js';

/** The account id kiln's local target reports (the same default the stack engine uses). */
export const LOCAL_ACCOUNT_ID = '123456789012';

function upperSuffix(n: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const bytes = randomBytes(n);
  let s = '';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}

/** CloudFormation's generated names: `<stack>-<logicalId>-<RANDOM>`, trimmed to `max`. */
function generatedName(ctx: ResourceContext, max = 64): string {
  const suffix = upperSuffix(12);
  const head = `${ctx.stack}-${ctx.logicalId}`.slice(0, max - suffix.length - 1);
  return `${head}-${suffix}`;
}

function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

type Make = (ctx: ResourceContext, props: JsonObject) => { physicalId: string; attributes: Record<string, Json> };

const MAKERS: Record<string, Make> = {
  'AWS::IAM::Role': (ctx, p) => {
    const name = str(p.RoleName) ?? generatedName(ctx);
    const path = str(p.Path) ?? '/';
    return { physicalId: name, attributes: { Arn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role${path}${name}`, RoleId: `AROA${upperSuffix(17)}` } };
  },
  'AWS::IAM::InstanceProfile': (ctx, p) => {
    const name = str(p.InstanceProfileName) ?? generatedName(ctx);
    const path = str(p.Path) ?? '/';
    return { physicalId: name, attributes: { Arn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:instance-profile${path}${name}` } };
  },
  'AWS::IAM::Policy': (ctx) => {
    const id = `${ctx.stack.slice(0, 5)}-${upperSuffix(12)}`;
    return { physicalId: id, attributes: { Id: id } };
  },
  'AWS::IAM::ManagedPolicy': (ctx, p) => {
    const name = str(p.ManagedPolicyName) ?? generatedName(ctx, 128);
    const arn = `arn:aws:iam::${LOCAL_ACCOUNT_ID}:policy${str(p.Path) ?? '/'}${name}`;
    return {
      physicalId: arn,
      attributes: {
        PolicyArn: arn,
        PolicyId: `ANPA${upperSuffix(17)}`,
        AttachmentCount: 0,
        CreateDate: new Date().toISOString(),
        DefaultVersionId: 'v1',
        IsAttachable: true,
        PermissionsBoundaryUsageCount: 0,
        UpdateDate: new Date().toISOString(),
      },
    };
  },
  'AWS::IAM::User': (ctx, p) => {
    const name = str(p.UserName) ?? generatedName(ctx);
    return { physicalId: name, attributes: { Arn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user${str(p.Path) ?? '/'}${name}` } };
  },
  'AWS::IAM::Group': (ctx, p) => {
    const name = str(p.GroupName) ?? generatedName(ctx);
    return { physicalId: name, attributes: { Arn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:group${str(p.Path) ?? '/'}${name}` } };
  },
  'AWS::EC2::KeyPair': (ctx, p) => {
    const name = str(p.KeyName) ?? generatedName(ctx, 255);
    return {
      physicalId: name,
      attributes: {
        KeyPairId: `key-${randomBytes(9).toString('hex').slice(0, 17)}`,
        KeyFingerprint: randomBytes(20)
          .toString('hex')
          .replace(/(..)(?!$)/g, '$1:'),
      },
    };
  },
};

function noEffectHandler(type: string, make: Make): ResourceHandler {
  return {
    type,
    effect: 'none',
    async create(ctx, props): Promise<ResourceState> {
      const { physicalId, attributes } = make(ctx, props);
      return { physicalId, attributes, data: { noLocalEffect: true } };
    },
    // Property changes are recorded; the physical id stays (the planner replaces on create-only ones).
    async update(_ctx, _props, previous) {
      return previous.state;
    },
    async delete() {},
    async read(_ctx, state) {
      return { state, drift: [] };
    },
  };
}

export const noEffectHandlers: ResourceHandler[] = Object.entries(MAKERS).map(([t, m]) => noEffectHandler(t, m));
