// S3 as the CloudFormation target needs it: a template over the 51,200 bytes CloudFormation takes
// inline is put in a bucket the user names, and the change set points at it (`TemplateURL`), as
// `aws cloudformation deploy --s3-bucket` does. One narrow interface, passed to the stack engine;
// `openS3(settings)` is kiln's own (the SDK's client with its own retries, loaded only when a
// template is that large).
import type { S3Client } from '@aws-sdk/client-s3';
import type { AwsSettings } from './settings.js';
import { scrubbed, sdkClientConfig } from './sdk.js';

export interface S3Api {
  readonly region: string;
  /** Stores `body` as `bucket/key` (replacing what is there). */
  putObject(bucket: string, key: string, body: string, signal?: AbortSignal): Promise<void>;
}

/**
 * The address CloudFormation reads a template from: S3's path-style URL in the region (it works for
 * bucket names with dots too). CloudFormation fetches it itself, so it is AWS's address even when
 * kiln talks to S3 through an endpoint override.
 */
export function templateUrl(region: string, bucket: string, key: string): string {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://s3.${region}.${suffix}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** An S3Client (real, or aws-sdk-client-mock'ed) behind kiln's interface. */
async function sdkS3(client: S3Client, region: string): Promise<S3Api> {
  const { PutObjectCommand } = await import('@aws-sdk/client-s3');
  return {
    region,
    async putObject(bucket, key, body, signal) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/plain; charset=utf-8' }), signal ? { abortSignal: signal } : {});
    },
  };
}

/** kiln's S3 client for these settings: path-style addressing behind an endpoint override (emulators). */
export function openS3(settings: AwsSettings): S3Api {
  let api: Promise<S3Api> | undefined;
  const open = async (): Promise<S3Api> => {
    const { S3Client } = await import('@aws-sdk/client-s3');
    // S3 keeps the SDK's own retries (no withRetry around a template upload); path-style behind an emulator.
    const client = new S3Client({ ...sdkClientConfig(settings), maxAttempts: 3, ...(settings.endpoint ? { forcePathStyle: true } : {}) });
    return sdkS3(client, settings.region);
  };
  return {
    region: settings.region,
    putObject: (bucket, key, body, signal) => scrubbed(settings, async () => (await (api ??= open())).putObject(bucket, key, body, signal)),
  };
}
