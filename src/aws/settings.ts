// Region, endpoint and credentials, taken the way every AWS tool takes them: a builder's own fields
// first (Packer's `region`, `access_key`/`secret_key`/`token`, `profile`, `custom_endpoint_ec2`),
// then the environment (`AWS_REGION`, `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the SDK's
// default credential chain: environment, `AWS_PROFILE` and the shared files, SSO, web identity,
// container and instance metadata). Nothing here prints; `secrets()` lists what must be masked.
import { KilnError, errorMessage } from '../core/errors.js';
import { MIN_DERIVED } from '../core/mask.js';

type AwsService = 'ec2' | 'cloudformation' | 's3';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

interface AwsSettingsInput {
  region?: string;
  accessKey?: string;
  secretKey?: string;
  token?: string;
  profile?: string;
  /** A service endpoint from the template (`custom_endpoint_ec2`). */
  endpoint?: string;
  env: Record<string, string | undefined>;
  /** Who asks, for the advice in messages: a template's builder (the default) or a command's flags. */
  from?: 'builder' | 'command';
}

export interface AwsSettings {
  region: string;
  /** An endpoint override for the service (an emulator, a proxy); undefined = AWS's own. */
  endpoint?: string;
  /** Resolved once, on first use (the chain may read files or ask a metadata service). */
  credentials(): Promise<AwsCredentials>;
  /** Credential values resolved so far, for masking (never printed, logged or stored). */
  secrets(): string[];
  /** The same settings for another region (AMI copies). */
  forRegion(region: string): AwsSettings;
  /** Where the credentials came from, for messages (`the environment`, `profile dev`, …). */
  describeSource(): string;
}

const ENDPOINT_ENV: Record<AwsService, string> = { ec2: 'AWS_ENDPOINT_URL_EC2', cloudformation: 'AWS_ENDPOINT_URL_CLOUDFORMATION', s3: 'AWS_ENDPOINT_URL_S3' };

/** The endpoint override for a service, or undefined for AWS's own endpoint. */
export function endpointFor(service: AwsService, given: string | undefined, env: Record<string, string | undefined>): string | undefined {
  const raw = given || env[ENDPOINT_ENV[service]] || env.AWS_ENDPOINT_URL || undefined;
  if (!raw) return undefined;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new KilnError('AWS_ENDPOINT', `the ${service} endpoint ${JSON.stringify(raw)} is not a URL`, 'user');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new KilnError('AWS_ENDPOINT', `the ${service} endpoint ${raw} must be http:// or https://`, 'user');
  return url.toString().replace(/\/$/, '');
}

/** AWS's own endpoint for a service in a region (used when no override is set). */
export function defaultEndpoint(service: AwsService, region: string): string {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://${service}.${region}.${suffix}`;
}

export function awsSettings(service: AwsService, input: AwsSettingsInput): AwsSettings {
  const env = input.env;
  const region = input.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || '';
  const byCommand = input.from === 'command';
  if (!region) throw new KilnError('AWS_REGION', `no AWS region: ${byCommand ? 'give --region' : 'set "region" in the builder'}, or AWS_REGION in the environment`, 'user');
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) throw new KilnError('AWS_REGION', `"${region}" is not an AWS region name (e.g. eu-west-1)`, 'user');
  const endpoint = endpointFor(service, input.endpoint, env);
  const found: string[] = [];
  let resolved: Promise<AwsCredentials> | undefined;
  let source = '';

  const resolve = async (): Promise<AwsCredentials> => {
    if (input.accessKey && input.secretKey) {
      source = 'the template (access_key/secret_key)';
      return { accessKeyId: input.accessKey, secretAccessKey: input.secretKey, ...(input.token ? { sessionToken: input.token } : {}) };
    }
    const profile = input.profile || env.AWS_PROFILE;
    // The chain's first link, without loading it: static keys in the environment (the SDK skips
    // them too when a profile is named).
    if (!profile && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
      source = 'the environment (AWS_ACCESS_KEY_ID)';
      return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
    }
    source = profile ? `profile ${profile}` : "the SDK's default chain";
    try {
      const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
      const c = await defaultProvider(profile ? { profile } : {})();
      return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}) };
    } catch (e) {
      throw new KilnError(
        'AWS_CREDENTIALS',
        `no AWS credentials from ${source}: ${errorMessage(e).split('\n')[0]}. Set ${byCommand ? '' : 'access_key/secret_key or profile in the builder, '}AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
        'environment',
      );
    }
  };

  const settings: AwsSettings = {
    region,
    ...(endpoint ? { endpoint } : {}),
    credentials: () =>
      (resolved ??= resolve().then((c) => {
        found.push(c.accessKeyId, c.secretAccessKey, ...(c.sessionToken ? [c.sessionToken] : []));
        return c;
      })),
    secrets: () => [...found, ...[input.accessKey, input.secretKey, input.token].filter((s): s is string => !!s)],
    forRegion: (r) => {
      const other = awsSettings(service, { ...input, region: r });
      // Share the resolved credentials (one chain walk per run).
      return { ...other, credentials: settings.credentials, secrets: settings.secrets };
    },
    describeSource: () => source || 'not resolved yet',
  };
  return settings;
}

/** Replaces every credential value in `text` (AWS's own error messages may echo an access key). */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= MIN_DERIVED) out = out.split(s).join('<sensitive>');
  return out;
}
