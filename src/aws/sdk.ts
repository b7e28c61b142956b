// What kiln's AWS clients share: the `call(operation, input)` shape over the SDK's own request and
// response types, the SDK call behind it, and the rule that an AWS error never carries a credential.
import type { AwsSettings } from './settings.js';
import { maskSecrets } from './settings.js';

/** Operation name → [input, output] as the SDK declares them. */
type OpTable = { [op: string]: [object, object] };
export type OpInput<O extends OpTable, K extends keyof O> = O[K][0];
export type OpOutput<O extends OpTable, K extends keyof O> = Omit<O[K][1], '$metadata'>;

export interface OpApi<O extends OpTable> {
  /** The region this client talks to. */
  readonly region: string;
  call<K extends keyof O & string>(op: K, input: OpInput<O, K>, signal?: AbortSignal): Promise<OpOutput<O, K>>;
}

interface SdkClient {
  send(command: unknown, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  config: { region: () => Promise<string> };
}

/** Any SDK v3 client (real, or aws-sdk-client-mock'ed) as an OpApi: `op` is sent as the module's `${op}Command`. */
export async function sdkApi<O extends OpTable>(sdk: object, client: SdkClient, region?: string): Promise<OpApi<O>> {
  const commands = sdk as Record<string, new (input: unknown) => unknown>;
  return {
    region: region ?? (await client.config.region()),
    async call(op, input, signal) {
      const Cmd = commands[`${op}Command`];
      if (!Cmd) throw new Error(`the AWS SDK has no ${op}Command`);
      return (await client.send(new Cmd(input), signal ? { abortSignal: signal } : {})) as never;
    },
  };
}

/**
 * An SDK client's configuration for these settings: region, endpoint override, kiln's credentials,
 * and the SDK's own retries off (`withRetry` does them, once). Quiets the SDK's Node-version notice
 * (kiln states its requirements itself).
 */
export function sdkClientConfig(settings: AwsSettings): { region: string; endpoint?: string; credentials: AwsSettings['credentials']; maxAttempts: number } {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return { region: settings.region, ...(settings.endpoint ? { endpoint: settings.endpoint } : {}), credentials: () => settings.credentials(), maxAttempts: 1 };
}

/** Runs `fn`; an error it throws leaves with the settings' credentials masked (its code and status kept). */
export async function scrubbed<R>(settings: AwsSettings, fn: () => Promise<R>): Promise<R> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof Error) {
      const msg = maskSecrets(e.message, settings.secrets());
      if (msg !== e.message) e.message = msg;
    }
    throw e;
  }
}
