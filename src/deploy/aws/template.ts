// What kiln checks itself before a template goes to CloudFormation, so that a mistake costs no AWS
// call: the template (kiln's validator: syntax, unknown types, intrinsics, parameter values against
// their constraints), the capabilities it needs (IAM resources, named IAM resources, transforms)
// against those given, the 51,200-byte limit of an inline template, and which parameters are
// NoEcho (their values are masked everywhere).
import { DiagnosticsError, hasErrors } from '../../core/diagnostics.js';
import { KilnError } from '../../core/errors.js';
import { loadTemplateFile } from '../../stack/load.js';
import { validateTemplate } from '../../stack/validate.js';

type Capability = 'CAPABILITY_IAM' | 'CAPABILITY_NAMED_IAM' | 'CAPABILITY_AUTO_EXPAND';
export const CAPABILITIES: readonly Capability[] = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'];

/** CloudFormation's limit for `TemplateBody`; larger templates go through S3. */
export const INLINE_TEMPLATE_BYTES = 51_200;

const IAM_NAMES: Record<string, string> = {
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::User': 'UserName',
  'AWS::IAM::Group': 'GroupName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::IAM::InstanceProfile': 'InstanceProfileName',
};
const IAM_TYPES = new Set([...Object.keys(IAM_NAMES), 'AWS::IAM::AccessKey', 'AWS::IAM::Policy', 'AWS::IAM::UserToGroupAddition']);

export interface AwsTemplate {
  file: string;
  body: string;
  bytes: number;
  /** Capabilities the template needs, with the resource that needs each. */
  needs: Array<{ capability: Capability; because: string }>;
  /** Declared parameters, with whether each has a default and is NoEcho. */
  parameters: Record<string, { hasDefault: boolean; noEcho: boolean }>;
}

/** The capabilities a template needs (pure): IAM resources, named ones, transforms. */
function neededCapabilities(value: unknown): AwsTemplate['needs'] {
  const out: AwsTemplate['needs'] = [];
  const t = value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  const resources = t['Resources'] && typeof t['Resources'] === 'object' ? (t['Resources'] as Record<string, { Type?: unknown; Properties?: Record<string, unknown> }>) : {};
  for (const [id, r] of Object.entries(resources)) {
    const type = typeof r?.Type === 'string' ? r.Type : '';
    if (!IAM_TYPES.has(type)) continue;
    const nameProp = IAM_NAMES[type];
    if (nameProp && r.Properties?.[nameProp] !== undefined) out.push({ capability: 'CAPABILITY_NAMED_IAM', because: `${id} (${type} with ${nameProp})` });
    else out.push({ capability: 'CAPABILITY_IAM', because: `${id} (${type})` });
  }
  const transform = t['Transform'];
  if (transform !== undefined) out.push({ capability: 'CAPABILITY_AUTO_EXPAND', because: `Transform ${JSON.stringify(transform)}` });
  return out;
}

/** Refuses (before any AWS call) a template too large to send inline when no bucket was named for it. */
export function checkTemplateSize(template: Pick<AwsTemplate, 'bytes'>, s3Bucket: string | undefined, region: string): void {
  if (template.bytes <= INLINE_TEMPLATE_BYTES || s3Bucket) return;
  throw new KilnError(
    'TEMPLATE_SIZE',
    `the template is ${template.bytes} bytes, over the ${INLINE_TEMPLATE_BYTES} bytes CloudFormation takes inline: give --s3-bucket BUCKET (or s3_bucket in kiln.yaml; a bucket of yours in ${region}) and kiln puts the template there for CloudFormation to read; nothing was sent to AWS`,
    'user',
  );
}

/** Refuses (before any AWS call) when a needed capability was not given; NAMED_IAM covers IAM. */
export function checkCapabilities(needs: AwsTemplate['needs'], given: readonly string[]): void {
  const has = (c: Capability): boolean => given.includes(c) || (c === 'CAPABILITY_IAM' && given.includes('CAPABILITY_NAMED_IAM'));
  const missing = needs.filter((n) => !has(n.capability));
  if (!missing.length) return;
  const caps = [...new Set(missing.map((m) => m.capability))];
  throw new KilnError(
    'CAPABILITIES',
    `the template needs ${caps.join(' and ')} (${missing.map((m) => m.because).join(', ')}): give --capabilities ${caps.join(',')} to acknowledge it; nothing was sent to AWS`,
    'user',
  );
}

export async function loadAwsTemplate(file: string, displayName: string, params: Record<string, string>): Promise<AwsTemplate> {
  const doc = await loadTemplateFile(file, displayName);
  const diags = validateTemplate(doc, { params });
  if (hasErrors(diags)) throw new DiagnosticsError(diags.filter((d) => d.severity === 'error'));
  const value = doc.value as Record<string, unknown>;
  const declared = value['Parameters'] && typeof value['Parameters'] === 'object' ? (value['Parameters'] as Record<string, Record<string, unknown>>) : {};
  const parameters: AwsTemplate['parameters'] = {};
  for (const [name, p] of Object.entries(declared)) parameters[name] = { hasDefault: p?.['Default'] !== undefined, noEcho: p?.['NoEcho'] === true || p?.['NoEcho'] === 'true' };
  for (const k of Object.keys(params))
    if (!(k in parameters)) throw new KilnError('PARAMETER', `--param ${k}: the template ${displayName} declares no parameter ${k} (it has ${Object.keys(parameters).join(', ') || 'none'})`, 'user');
  return { file, body: doc.text, bytes: Buffer.byteLength(doc.text, 'utf8'), needs: neededCapabilities(doc.value), parameters };
}
