// AWS::SSM::Parameter on the local target: a parameter in the local Parameter Store (src/state/ssm.ts),
// written on create, overwritten (a new version) on update, removed on delete. Provider-neutral and
// self-contained: the store is handed in (`ssmParameterHandler(store)`), and `withParameterStore`
// lends the handler to any provider, the Docker one and the fake alike.
//
// As CloudFormation: `Ref` is the name, `Fn::GetAtt` gives Type and Value; without a Name one is
// generated (`CFN-<LogicalId>-<random>`); an existing parameter of that name is a failure
// (ParameterAlreadyExists), never taken over; Type is String or StringList (CloudFormation does not
// create SecureString parameters); AllowedPattern must match the Value; DataType `aws:ec2:image`
// wants an AMI id.
import { randomBytes } from 'node:crypto';
import { KilnError } from '../core/errors.js';
import { KEY_PAIR_TYPE, keyPairHandler } from './keypair.js';
import type { Json, JsonObject } from '../stack/model.js';
import type { ParameterStore, SsmType } from '../state/ssm.js';
import type { Provider, ResourceContext, ResourceHandler, ResourceState } from '../model/provider.js';

const SSM_PARAMETER_TYPE = 'AWS::SSM::Parameter';

function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function generatedName(ctx: ResourceContext): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const suffix = [...randomBytes(12)].map((b) => alphabet[b % alphabet.length]).join('');
  return `CFN-${ctx.logicalId}-${suffix}`;
}

/** The type and value to store, or a user error saying what is wrong. */
function wanted(props: JsonObject): { type: SsmType; value: string } {
  const type = props.Type;
  if (type !== 'String' && type !== 'StringList')
    throw new KilnError(
      'INVALID_PROPERTY',
      `AWS::SSM::Parameter Type must be String or StringList${type === 'SecureString' ? ' (CloudFormation does not create SecureString parameters)' : ''}`,
      'user',
    );
  const raw = props.Value;
  const value = Array.isArray(raw) ? raw.map(String).join(',') : typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : undefined;
  if (value === undefined || value === '') throw new KilnError('INVALID_PROPERTY', 'AWS::SSM::Parameter Value is required and cannot be empty', 'user');
  const pattern = str(props.AllowedPattern);
  if (pattern !== undefined) {
    let re: RegExp | undefined;
    try {
      re = new RegExp(pattern);
    } catch {
      throw new KilnError('INVALID_PROPERTY', `AWS::SSM::Parameter AllowedPattern ${pattern} is not a valid regular expression`, 'user');
    }
    if (!re.test(value)) throw new KilnError('INVALID_PROPERTY', `ValidationException: the value does not match the AllowedPattern ${pattern}`, 'user');
  }
  if (props.DataType === 'aws:ec2:image' && !/^ami-[0-9a-f]{8}(?:[0-9a-f]{9})?$/.test(value))
    throw new KilnError('INVALID_PROPERTY', `ValidationException: a parameter with DataType aws:ec2:image holds an AMI id (ami-…), not '${value}'`, 'user');
  return { type, value };
}

function stateOf(name: string, type: SsmType, value: string, version: number): ResourceState {
  return { physicalId: name, attributes: { Type: type, Value: value }, data: { version } };
}

function ssmParameterHandler(store: ParameterStore): ResourceHandler {
  return {
    type: SSM_PARAMETER_TYPE,
    effect: 'real',
    async create(ctx, props) {
      const { type, value } = wanted(props);
      const name = str(props.Name) ?? generatedName(ctx);
      if (store.get(name)) throw new KilnError('SSM_EXISTS', `ParameterAlreadyExists: parameter ${name} already exists`, 'user');
      const p = store.put({ name, type, value, ...(str(props.Description) ? { description: str(props.Description)! } : {}) });
      ctx.events.emit({ kind: 'progress', logicalId: ctx.logicalId, message: `parameter ${name} version ${p.version}` });
      return stateOf(name, type, value, p.version);
    },
    async update(_ctx, props, previous) {
      const { type, value } = wanted(props);
      const name = previous.state.physicalId;
      const p = store.put({ name, type, value, overwrite: true, ...(str(props.Description) ? { description: str(props.Description)! } : {}) });
      return stateOf(name, type, value, p.version);
    },
    async delete(_ctx, state) {
      store.delete(state.physicalId);
    },
    async read(_ctx, state, props) {
      const p = store.get(state.physicalId);
      if (!p) return { drift: [] };
      const drift: Array<{ property: string; expected: Json; actual: Json; kind: 'NOT_EQUAL' }> = [];
      const { value, type } = wanted(props);
      if (p.value !== value) drift.push({ property: 'Value', expected: value, actual: p.value, kind: 'NOT_EQUAL' });
      if (p.type !== type) drift.push({ property: 'Type', expected: type, actual: p.type, kind: 'NOT_EQUAL' });
      return { state: stateOf(p.name, p.type, p.value, p.version), drift };
    },
  };
}

/** `provider` with AWS::SSM::Parameter realised in `store` (everything else is the provider's own). */
export function withParameterStore(provider: Provider, store: ParameterStore): Provider {
  const ssm = ssmParameterHandler(store);
  // Locally a key pair made by a template keeps its private key in the store, as AWS does (keypair.ts).
  const keys = provider.name === 'local' ? keyPairHandler(store) : undefined;
  return {
    name: provider.name,
    handler: (type) => (type === SSM_PARAMETER_TYPE ? ssm : keys && type === KEY_PAIR_TYPE ? keys : provider.handler(type)),
    ...(provider.listOrphans ? { listOrphans: provider.listOrphans.bind(provider) } : {}),
    ...(provider.removeOrphans ? { removeOrphans: provider.removeOrphans.bind(provider) } : {}),
    ...(provider.normalizeParameter ? { normalizeParameter: provider.normalizeParameter.bind(provider) } : {}),
    ...(provider.findImage ? { findImage: provider.findImage.bind(provider) } : {}),
    ...(provider.refusal ? { refusal: provider.refusal.bind(provider) } : {}),
    ...(provider.coupledReplacements ? { coupledReplacements: provider.coupledReplacements.bind(provider) } : {}),
  };
}
