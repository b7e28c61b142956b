// Builder configs: docker (reference §7.1), null, file, amazon-ebs (common keys only). Each decoder
// mirrors the plugin's `Prepare`: defaults, required keys and exclusions with Packer's messages.
import type { AmazonEbsBuilderConfig, EbsBlockDevice, BuilderConfig, DockerBuilderConfig, FileBuilderConfig, NullBuilderConfig } from '../types.js';
import { AMAZON_EBS_SCHEMA, BLOCK_DEVICE_SCHEMA } from './amazon-ebs-schema.js';
import { decodeBySchema, type Decoder } from './decode.js';
import type { PluginEnv } from './env.js';

const DOCKER_DEFAULT_RUN_COMMAND = ['-d', '-i', '-t', '--entrypoint=/bin/sh', '--', '{{.Image}}'];

/** Communicator keys every remote builder accepts (`ssh_*`, `winrm_*` and a few others). */
function acceptCommunicatorKeys(d: Decoder): void {
  for (const k of Object.keys(d.values)) if (/^(ssh|winrm)_/.test(k)) d.accept(k);
  d.accept('pause_before_connecting', 'host_port_min', 'host_port_max', 'skip_nat_mapping', 'http_directory', 'http_port_min', 'http_port_max', 'http_bind_address');
}

/** Packer's communicator checks (ssh by default). */
function checkCommunicator(d: Decoder, communicator: string, hostRequired: boolean): void {
  if (communicator === 'none' || communicator === 'docker' || communicator === 'dockerWindowsContainer') return;
  if (communicator === 'ssh' || communicator === '') {
    const user = d.str('ssh_username');
    if (!user) d.error('An ssh_username must be specified\n  Note: some builders used to default ssh_username to "root".', ['ssh_username']);
    if (hostRequired && !d.str('ssh_host')) d.error('a Host must be specified, please reference your communicator documentation', ['ssh_host']);
    if (hostRequired && !user) d.error('a Username must be specified, please reference your communicator documentation', ['ssh_username']);
    if (hostRequired) {
      const auth = d.str('ssh_password') || d.str('ssh_private_key_file') || d.bool('ssh_agent_auth') || d.str('ssh_certificate_file');
      if (!auth) d.error('one authentication method must be specified, please reference your communicator documentation');
    }
    return;
  }
  if (communicator === 'winrm') {
    if (hostRequired && !d.str('winrm_host')) d.error('a Host must be specified, please reference your communicator documentation', ['winrm_host']);
    if (!d.str('winrm_username')) d.error('winrm_username must be specified.', ['winrm_username']);
    return;
  }
  d.error(`Unknown communicator type '${communicator}'`, ['communicator']);
}

function decodeDocker(d: Decoder, env: PluginEnv): DockerBuilderConfig {
  const windows = d.bool('windows_container');
  const exportPath = d.str('export_path');
  const c: DockerBuilderConfig = {
    type: 'docker',
    image: d.str('image'),
    pull: d.bool('pull', true),
    commit: d.bool('commit'),
    discard: d.bool('discard'),
    changes: d.strList('changes'),
    author: d.str('author'),
    message: d.str('message'),
    runCommand: d.strList('run_command', windows ? ['-d', '-i', '-t', '--entrypoint=powershell', '--', '{{.Image}}'] : DOCKER_DEFAULT_RUN_COMMAND),
    volumes: d.strMap('volumes'),
    privileged: d.bool('privileged'),
    capAdd: d.strList('cap_add'),
    capDrop: d.strList('cap_drop'),
    device: d.strList('device'),
    tmpfs: d.strList('tmpfs'),
    containerDir: d.str('container_dir', windows ? 'c:/packer-files' : '/packer-files'),
    execUser: d.str('exec_user'),
    pty: d.bool('pty'),
    fixUploadOwner: d.bool('fix_upload_owner', true),
    windowsContainer: windows,
    login: d.bool('login'),
    loginUsername: d.str('login_username'),
    loginPassword: d.str('login_password'),
    loginServer: d.str('login_server'),
    ecrLogin: d.bool('ecr_login'),
    communicator: d.str('communicator', 'docker') || 'docker',
  };
  if (exportPath) c.exportPath = env.resolve(exportPath);
  d.accept('aws_access_key', 'aws_secret_key', 'aws_token', 'aws_profile', 'platform');
  acceptCommunicatorKeys(d);
  d.finishUnknown();
  if (!c.image) d.error('Image must be specified', ['image']);
  const modes = [c.commit, c.discard, !!exportPath].filter(Boolean).length;
  if (modes === 0) d.error('No instructions given for handling the artifact; expected commit, discard, or export_path');
  else if (modes > 1) d.error('Cannot specify more than one of commit, discard, and export_path');
  if (c.exportPath && env.fileExists(c.exportPath) === 'dir') d.error('export_path must be a file, not a directory', ['export_path']);
  if (c.ecrLogin && !c.loginServer) d.error('ECR login requires login server to be provided.', ['login_server']);
  if (c.communicator !== 'docker' && c.communicator !== 'dockerWindowsContainer') checkCommunicator(d, c.communicator, true);
  return c;
}

function decodeNull(d: Decoder): NullBuilderConfig {
  const communicator = d.str('communicator', 'ssh') || 'ssh';
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d.values)) if (/^(ssh|winrm)_/.test(k)) extra[k] = v;
  const c: NullBuilderConfig = { type: 'null', communicator, extra };
  const host = d.optStr('ssh_host');
  const user = d.optStr('ssh_username');
  const pass = d.optStr('ssh_password');
  if (host !== undefined) c.sshHost = host;
  if (user !== undefined) c.sshUsername = user;
  if (pass !== undefined) c.sshPassword = pass;
  if (d.has('ssh_port')) c.sshPort = d.int('ssh_port', 22);
  acceptCommunicatorKeys(d);
  d.finishUnknown();
  checkCommunicator(d, communicator, true);
  return c;
}

function decodeFile(d: Decoder): FileBuilderConfig {
  const c: FileBuilderConfig = { type: 'file', target: d.str('target') };
  const source = d.optStr('source');
  const content = d.optStr('content');
  if (source) c.source = source;
  if (content) c.content = content;
  d.finishUnknown();
  if (!c.target) d.error('target required', ['target']);
  if (source && content) d.error('Cannot specify source file AND content');
  if (!source && !content) d.warn('Both source file and contents are blank; target will have no content');
  return c;
}

const AMI_NAME = /^[a-zA-Z0-9()[\] ./\-'@_]+$/;

/** `launch_block_device_mappings` / `ami_block_device_mappings`: a list of objects. */
function blockDevices(d: Decoder, key: string): EbsBlockDevice[] {
  const v = d.values[key];
  d.accept(key);
  if (v === undefined || v === null) return [];
  // Weak decoding: one mapping alone is a list of one.
  const list: unknown[] = Array.isArray(v) ? v : typeof v === 'object' ? [v] : [];
  if (!list.length && !Array.isArray(v)) {
    d.error(`'${key}' expected a list of block device mappings`, [key]);
    return [];
  }
  const out: EbsBlockDevice[] = [];
  list.forEach((m, i) => {
    if (!m || typeof m !== 'object' || Array.isArray(m)) return void d.error(`'${key}[${i}]' expected a map`, [key, i]);
    const o = m as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!Object.hasOwn(BLOCK_DEVICE_SCHEMA, k)) d.error(`unknown configuration key: '"${key}[${i}].${k}"'`, [key, i, k], true);
    const str = (k: string): string | undefined => (o[k] === undefined || o[k] === null ? undefined : String(o[k]));
    const int = (k: string): number | undefined => {
      const x = o[k];
      if (x === undefined || x === null || x === '') return undefined;
      const n = typeof x === 'number' ? x : /^\d+$/.test(String(x)) ? Number(x) : NaN;
      if (!Number.isInteger(n)) d.error(`cannot parse '${key}[${i}].${k}' as int: ${JSON.stringify(x)}`, [key, i, k]);
      return Number.isInteger(n) ? n : undefined;
    };
    const flag = (k: string): boolean | undefined => (o[k] === undefined || o[k] === null ? undefined : o[k] === true || o[k] === 'true' || o[k] === 1 || o[k] === '1');
    const dev: EbsBlockDevice = { deviceName: str('device_name') ?? '', deleteOnTermination: flag('delete_on_termination') ?? false, noDevice: flag('no_device') ?? false };
    const size = int('volume_size');
    const iops = int('iops');
    const throughput = int('throughput');
    if (size !== undefined) dev.volumeSize = size;
    if (iops !== undefined) dev.iops = iops;
    if (throughput !== undefined) dev.throughput = throughput;
    const enc = flag('encrypted');
    if (enc !== undefined) dev.encrypted = enc;
    for (const [k, f] of [
      ['volume_type', 'volumeType'],
      ['kms_key_id', 'kmsKeyId'],
      ['snapshot_id', 'snapshotId'],
      ['virtual_name', 'virtualName'],
    ] as const) {
      const x = str(k);
      if (x) dev[f] = x;
    }
    if (!dev.deviceName) d.error(`The device name must be specified for every device mapping ('${key}[${i}].device_name')`, [key, i]);
    out.push(dev);
  });
  return out;
}

/**
 * amazon-ebs: the keys kiln's builder runs are decoded and checked with Packer's messages; every
 * other argument Packer documents (amazon-ebs-schema.ts) is type-checked and then refused at plan
 * time if kiln cannot honour it; an argument Packer does not know is an error, as in Packer.
 */
function decodeAmazonEbs(d: Decoder, env: PluginEnv): AmazonEbsBuilderConfig {
  const filter = d.obj('source_ami_filter');
  const polling = d.obj('aws_polling') ?? {};
  const userDataFile = d.str('user_data_file');
  const keyFile = d.str('ssh_private_key_file');
  const c: AmazonEbsBuilderConfig = {
    type: 'amazon-ebs',
    region: d.str('region'),
    instanceType: d.str('instance_type'),
    amiName: d.str('ami_name'),
    amiDescription: d.str('ami_description'),
    communicator: d.str('communicator', 'ssh') || 'ssh',
    amiRegions: d.strList('ami_regions'),
    tags: d.strMap('tags'),
    snapshotTags: d.strMap('snapshot_tags'),
    runTags: d.strMap('run_tags'),
    runVolumeTags: d.strMap('run_volume_tags'),
    amiUsers: d.strList('ami_users'),
    amiGroups: d.strList('ami_groups'),
    snapshotUsers: d.strList('snapshot_users'),
    snapshotGroups: d.strList('snapshot_groups'),
    forceDeregister: d.bool('force_deregister'),
    forceDeleteSnapshot: d.bool('force_delete_snapshot'),
    subnetId: d.str('subnet_id'),
    vpcId: d.str('vpc_id'),
    iamInstanceProfile: d.str('iam_instance_profile'),
    userData: d.str('user_data'),
    userDataFile: userDataFile ? env.resolve(userDataFile) : '',
    securityGroupIds: [...d.strList('security_group_ids'), ...(d.has('security_group_id') ? [d.str('security_group_id')] : [])].filter(Boolean),
    temporarySecurityGroupSourceCidrs: d.strList('temporary_security_group_source_cidrs'),
    launchBlockDeviceMappings: blockDevices(d, 'launch_block_device_mappings'),
    amiBlockDeviceMappings: blockDevices(d, 'ami_block_device_mappings'),
    disableStopInstance: d.bool('disable_stop_instance'),
    shutdownBehavior: d.str('shutdown_behavior', 'stop') || 'stop',
    sriovSupport: d.bool('sriov_support'),
    temporaryKeyPairName: d.str('temporary_key_pair_name'),
    sshHost: d.str('ssh_host'),
    sshPort: d.int('ssh_port', 22) || 22,
    sshTimeoutMs: d.duration('ssh_timeout', 5 * 60_000) || 5 * 60_000,
    sshInterface: d.str('ssh_interface'),
    sshKeypairName: d.str('ssh_keypair_name'),
    sshPrivateKeyFile: keyFile ? env.resolve(keyFile) : '',
    sshPassword: d.str('ssh_password'),
    pauseBeforeConnectingMs: d.duration('pause_before_connecting'),
    pollDelayMs: 0,
    pollMaxAttempts: 0,
    raw: { ...d.values },
  };
  const sourceAmi = d.optStr('source_ami');
  if (sourceAmi) c.sourceAmi = sourceAmi;
  if (filter) c.sourceAmiFilter = filter;
  const sshUser = d.optStr('ssh_username');
  if (sshUser !== undefined) c.sshUsername = sshUser;
  const ak = d.optStr('access_key');
  const sk = d.optStr('secret_key');
  const token = d.optStr('token');
  const profile = d.optStr('profile');
  const endpoint = d.optStr('custom_endpoint_ec2');
  if (ak) c.accessKey = ak;
  if (sk) c.secretKey = sk;
  if (token) c.token = token;
  if (profile) c.profile = profile;
  if (endpoint) c.customEndpointEc2 = endpoint;
  if (d.has('associate_public_ip_address')) c.associatePublicIpAddress = d.bool('associate_public_ip_address');
  if (d.has('ena_support')) c.enaSupport = d.bool('ena_support');
  const delay = polling['delay_seconds'];
  const attempts = polling['max_attempts'];
  decodeBySchema(d, AMAZON_EBS_SCHEMA, ['launch_block_device_mappings', 'ami_block_device_mappings']);
  if (delay !== undefined) c.pollDelayMs = Number(delay) * 1000;
  if (attempts !== undefined) c.pollMaxAttempts = Number(attempts);
  if (!Number.isFinite(c.pollDelayMs) || c.pollDelayMs < 0) d.error('aws_polling.delay_seconds must be a number of seconds', ['aws_polling', 'delay_seconds']);
  if (!Number.isInteger(c.pollMaxAttempts) || c.pollMaxAttempts < 0) d.error('aws_polling.max_attempts must be a whole number', ['aws_polling', 'max_attempts']);
  if (!c.region && !env.env['AWS_REGION'] && !env.env['AWS_DEFAULT_REGION']) d.error('region must be specified (or AWS_REGION in the environment)', ['region']);
  if (!!c.accessKey !== !!c.secretKey) d.error('`access_key` and `secret_key` must both be either set or not set.', [c.accessKey ? 'secret_key' : 'access_key']);
  if (!c.amiName) d.error('ami_name must be specified', ['ami_name']);
  if (c.amiName.length < 3 || c.amiName.length > 128) d.error('ami_name must be between 3 and 128 characters long', ['ami_name']);
  else if (!AMI_NAME.test(c.amiName)) d.error("AMI names can only contain alphanumeric characters, spaces, and ( ) [ ] . / - ' @ _", ['ami_name']);
  if (c.communicator === 'ssh' && !c.sshUsername) d.error('An ssh_username must be specified\n  Note: some builders used to default ssh_username to "root".', ['ssh_username']);
  if (!c.sourceAmi && !filter) d.error('A source_ami or source_ami_filter must be specified', ['source_ami']);
  if (!c.sourceAmi && !(filter && Array.isArray(filter['owners']) && filter['owners'].length > 0))
    d.error('For security reasons, your source AMI filter must declare an owner.', filter ? ['source_ami_filter'] : []);
  if (!c.instanceType && !d.has('spot_instance_types')) d.error('either instance_type or spot_instance_types must be specified', ['instance_type']);
  if (c.userData && c.userDataFile) d.error('Only one of user_data or user_data_file can be specified.', ['user_data_file']);
  else if (c.userDataFile && !env.fileExists(c.userDataFile)) d.error(`user_data_file not found: ${userDataFile}`, ['user_data_file']);
  if (c.sshKeypairName && !c.sshPrivateKeyFile) d.error('ssh_private_key_file must be provided to use ssh_keypair_name with a private key', ['ssh_private_key_file']);
  if (c.sshPrivateKeyFile && !env.fileExists(c.sshPrivateKeyFile)) d.error(`ssh_private_key_file is invalid: ${keyFile} does not exist`, ['ssh_private_key_file']);
  if (c.sshInterface && !['public_ip', 'private_ip', 'public_dns', 'private_dns', 'session_manager'].includes(c.sshInterface)) d.error(`Unknown interface type: ${c.sshInterface}`, ['ssh_interface']);
  if (c.securityGroupIds.length && c.temporarySecurityGroupSourceCidrs.length)
    d.error('Only one of security_group_ids or temporary_security_group_source_cidrs can be specified.', ['temporary_security_group_source_cidrs']);
  for (const [i, cidr] of c.temporarySecurityGroupSourceCidrs.entries())
    if (!/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(cidr)) d.error(`Error parsing temporary_security_group_source_cidrs: ${cidr} is not a CIDR`, ['temporary_security_group_source_cidrs', i]);
  if (!['stop', 'terminate'].includes(c.shutdownBehavior)) d.error("shutdown_behavior only accepts 'stop' or 'terminate' values.", ['shutdown_behavior']);
  return c;
}

export const BUILDER_TYPES = ['docker', 'null', 'file', 'amazon-ebs'] as const;

/** Keys `{{build}}` (HCL2: `build.Key`) knows for every builder (reference §3). */
const COMMON_BUILD_KEYS = ['ID', 'Host', 'Port', 'User', 'Password', 'ConnType', 'PackerRunUUID', 'PackerHTTPIP', 'PackerHTTPPort', 'PackerHTTPAddr', 'SSHPublicKey', 'SSHPrivateKey', 'WinRMPassword'];

/** `{{build `Key`}}` keys each builder provides besides the common ones. */
const BUILDER_BUILD_KEYS: Record<string, string[]> = {
  docker: ['ImageSha256'],
  'amazon-ebs': ['SourceAMI', 'SourceAMIName', 'SourceAMIOwner', 'SourceAMIOwnerName', 'SourceAMICreationDate', 'BuildRegion'],
  null: [],
  file: [],
};

/** Every `{{build}}` key a builder of this type provides. */
export function buildKeys(type: string): string[] {
  return [...COMMON_BUILD_KEYS, ...(BUILDER_BUILD_KEYS[type] ?? [])];
}

export function decodeBuilder(type: string, d: Decoder, env: PluginEnv): BuilderConfig | undefined {
  switch (type) {
    case 'docker':
      return decodeDocker(d, env);
    case 'null':
      return decodeNull(d);
    case 'file':
      return decodeFile(d);
    case 'amazon-ebs':
      return decodeAmazonEbs(d, env);
    default:
      return undefined;
  }
}
