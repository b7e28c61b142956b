// HCL2's `data "amazon-ami"` on the AWS target: the image that `filters`, `owners` and
// `most_recent` select, found with one DescribeImages call through kiln's EC2 client, as Packer's
// amazon-ami data source finds it (the same rules as `source_ami_filter`, so a template converted
// from JSON picks the same source AMI and keeps its build key). Its outputs: id, name,
// creation_date, owner, owner_name, root_device_type, tags.
import { KilnError } from '../../core/errors.js';
import { awsSettings, maskSecrets, type AwsSettings } from '../../aws/settings.js';
import { describeAwsError, openEc2, type Ec2Api } from '../../aws/ec2.js';
import { resolveSourceFilter } from './amazon-ebs-plan.js';

interface AmazonAmiOutputs {
  id: string;
  name: string;
  creation_date: string;
  owner: string;
  owner_name: string;
  root_device_type: string;
  tags: Record<string, string>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** Looks the data source's image up; failures (no network, no credentials, no match) throw with a readable message. */
export async function lookUpAmazonAmi(config: Record<string, unknown>, env: Record<string, string | undefined>, ec2For: (s: AwsSettings) => Ec2Api = openEc2): Promise<AmazonAmiOutputs> {
  const region = str(config['region']);
  const accessKey = str(config['access_key']);
  const secretKey = str(config['secret_key']);
  const token = str(config['token']);
  const profile = str(config['profile']);
  const settings = awsSettings('ec2', {
    ...(region ? { region } : {}),
    ...(accessKey ? { accessKey } : {}),
    ...(secretKey ? { secretKey } : {}),
    ...(token ? { token } : {}),
    ...(profile ? { profile } : {}),
    env,
  });
  try {
    const img = await resolveSourceFilter(ec2For(settings), config);
    return {
      id: img.ImageId,
      name: img.Name ?? '',
      creation_date: img.CreationDate ?? '',
      owner: img.OwnerId ?? '',
      owner_name: img.ImageOwnerAlias ?? '',
      root_device_type: img.RootDeviceType ?? '',
      tags: Object.fromEntries((img.Tags ?? []).filter((t) => t.Key).map((t) => [t.Key!, t.Value ?? ''])),
    };
  } catch (e) {
    if (KilnError.is(e)) throw new KilnError(e.code, maskSecrets(e.message, settings.secrets()), 'user');
    throw new KilnError('AWS_API', maskSecrets(describeAwsError('DescribeImages', e), settings.secrets()), 'environment');
  }
}
