// The amazon-ebs builder's arguments: every one Packer 1.6.6 and the amazon plugin of Packer 1.9
// document, with its type and whether HCL2 writes it as an argument or as a (nested) block. JSON
// templates are checked against it by the config decoder (weak types, `unknown configuration key`),
// HCL2 templates by the loader (strict types, "An argument named X is not expected here"). Data only.

/** The type of an argument (HCL2's cty type; JSON decodes weakly into the same). */
export type ArgKind = 'string' | 'bool' | 'number' | 'list' | 'map' | 'duration' | 'bytes';

/** One entry: an argument of a type, one nested block, or a list of nested blocks. */
export type SchemaEntry = ArgKind | { block: Schema } | { blocks: Schema };
export type Schema = Readonly<Record<string, SchemaEntry>>;

const keyValue: Schema = { key: 'string', value: 'string' };
const nameValue: Schema = { name: 'string', value: 'string' };
const filters: Schema = { filters: 'map' };

/** `launch_block_device_mappings` / `ami_block_device_mappings` entries. */
export const BLOCK_DEVICE_SCHEMA: Schema = {
  delete_on_termination: 'bool',
  device_name: 'string',
  encrypted: 'bool',
  iops: 'number',
  no_device: 'bool',
  snapshot_id: 'string',
  throughput: 'number',
  virtual_name: 'string',
  volume_type: 'string',
  volume_size: 'number',
  kms_key_id: 'string',
};

/**
 * Keys Packer injects into every plugin's top level (common.PackerConfig); a template may write them
 * there too, and only there: inside a nested block Packer calls them unknown.
 */
export const PACKER_COMMON_SCHEMA: Schema = {
  packer_build_name: 'string',
  packer_build_group_name: 'string',
  packer_builder_type: 'string',
  packer_core_version: 'string',
  packer_debug: 'bool',
  packer_force: 'bool',
  packer_on_error: 'string',
  packer_user_variables: 'map',
  packer_sensitive_variables: 'list',
};

/** AccessConfig: credentials, region, endpoints, polling. */
const access: Schema = {
  access_key: 'string',
  secret_key: 'string',
  token: 'string',
  profile: 'string',
  region: 'string',
  shared_credentials_file: 'string',
  custom_endpoint_ec2: 'string',
  decode_authorization_messages: 'bool',
  insecure_skip_tls_verify: 'bool',
  max_retries: 'number',
  mfa_code: 'string',
  skip_region_validation: 'bool',
  skip_metadata_api_check: 'bool',
  skip_credential_validation: 'bool',
  assume_role: {
    block: {
      role_arn: 'string',
      duration_seconds: 'number',
      external_id: 'string',
      policy: 'string',
      policy_arns: 'list',
      session_name: 'string',
      tags: 'map',
      transitive_tag_keys: 'list',
    },
  },
  vault_aws_engine: { block: { name: 'string', role_arn: 'string', ttl: 'string', engine_name: 'string' } },
  aws_polling: { block: { delay_seconds: 'number', max_attempts: 'number' } },
};

/** AMIConfig: the image and its copies, sharing and tags. */
const ami: Schema = {
  ami_name: 'string',
  ami_description: 'string',
  ami_virtualization_type: 'string',
  ami_users: 'list',
  ami_groups: 'list',
  ami_org_arns: 'list',
  ami_ou_arns: 'list',
  ami_product_codes: 'list',
  ami_regions: 'list',
  snapshot_copy_duration_minutes: 'number',
  tags: 'map',
  tag: { blocks: keyValue },
  ena_support: 'bool',
  sriov_support: 'bool',
  force_deregister: 'bool',
  force_delete_snapshot: 'bool',
  encrypt_boot: 'bool',
  kms_key_id: 'string',
  region_kms_key_ids: 'map',
  skip_save_build_region: 'bool',
  imds_support: 'string',
  deprecate_at: 'string',
  snapshot_tags: 'map',
  snapshot_tag: { blocks: keyValue },
  snapshot_users: 'list',
  snapshot_groups: 'list',
  deregistration_protection: { block: { enabled: 'bool', with_cooldown: 'bool' } },
  skip_create_ami: 'bool',
  skip_ami_run_tags: 'bool',
  ami_block_device_mappings: { blocks: BLOCK_DEVICE_SCHEMA },
};

/** RunConfig: the source instance, its network and the source AMI. */
const run: Schema = {
  associate_public_ip_address: 'bool',
  elastic_ip_allocation_id: 'string',
  availability_zone: 'string',
  block_duration_minutes: 'number',
  capacity_reservation_preference: 'string',
  capacity_reservation_id: 'string',
  capacity_reservation_group_arn: 'string',
  disable_stop_instance: 'bool',
  ebs_optimized: 'bool',
  enable_nitro_enclave: 'bool',
  enable_t2_unlimited: 'bool',
  enable_unlimited_credits: 'bool',
  iam_instance_profile: 'string',
  skip_profile_validation: 'bool',
  temporary_iam_instance_profile_policy_document: {
    block: { Version: 'string', Statement: { blocks: { Effect: 'string', Action: 'list', Resource: 'list' } } },
  },
  shutdown_behavior: 'string',
  instance_type: 'string',
  security_group_filter: { block: filters },
  security_group_id: 'string',
  security_group_ids: 'list',
  source_ami: 'string',
  source_ami_filter: { block: { filters: 'map', owners: 'list', most_recent: 'bool', include_deprecated: 'bool' } },
  spot_allocation_strategy: 'string',
  spot_instance_types: 'list',
  spot_price: 'string',
  spot_price_auto_product: 'string',
  spot_tags: 'map',
  spot_tag: { blocks: keyValue },
  fleet_tags: 'map',
  fleet_tag: { blocks: keyValue },
  run_tags: 'map',
  run_tag: { blocks: keyValue },
  run_volume_tags: 'map',
  run_volume_tag: { blocks: nameValue },
  subnet_filter: { block: { filters: 'map', most_free: 'bool', random: 'bool' } },
  subnet_id: 'string',
  vpc_filter: { block: filters },
  vpc_id: 'string',
  license_specifications: { blocks: { license_configuration_request: { block: { license_configuration_arn: 'string' } } } },
  placement: { block: { host_resource_group_arn: 'string', tenancy: 'string' } },
  tenancy: 'string',
  temporary_security_group_source_cidrs: 'list',
  temporary_security_group_source_public_ip: 'bool',
  user_data: 'string',
  user_data_file: 'string',
  windows_password_timeout: 'duration',
  metadata_options: { block: { http_endpoint: 'string', http_tokens: 'string', http_put_response_hop_limit: 'number', instance_metadata_tags: 'string' } },
  launch_block_device_mappings: { blocks: BLOCK_DEVICE_SCHEMA },
  no_ephemeral: 'bool',
  fast_launch: {
    block: {
      enable_fast_launch: 'bool',
      template_id: 'string',
      template_name: 'string',
      template_version: 'number',
      max_parallel_launches: 'number',
      target_resource_count: 'number',
      region_launch_templates: { blocks: { region: 'string', template_id: 'string', template_name: 'string', template_version: 'number' } },
    },
  },
};

/** The communicator (ssh, winrm) as the amazon builders take it, with Session Manager. */
const communicator: Schema = {
  communicator: 'string',
  pause_before_connecting: 'duration',
  ssh_host: 'string',
  ssh_port: 'number',
  ssh_username: 'string',
  ssh_password: 'string',
  ssh_keypair_name: 'string',
  temporary_key_pair_name: 'string',
  temporary_key_pair_type: 'string',
  temporary_key_pair_bits: 'number',
  ssh_ciphers: 'list',
  ssh_clear_authorized_keys: 'bool',
  ssh_key_exchange_algorithms: 'list',
  ssh_private_key_file: 'string',
  ssh_certificate_file: 'string',
  ssh_pty: 'bool',
  ssh_timeout: 'duration',
  ssh_wait_timeout: 'duration',
  ssh_agent_auth: 'bool',
  ssh_disable_agent_forwarding: 'bool',
  ssh_handshake_attempts: 'number',
  ssh_bastion_host: 'string',
  ssh_bastion_port: 'number',
  ssh_bastion_agent_auth: 'bool',
  ssh_bastion_username: 'string',
  ssh_bastion_password: 'string',
  ssh_bastion_interactive: 'bool',
  ssh_bastion_private_key_file: 'string',
  ssh_bastion_certificate_file: 'string',
  ssh_file_transfer_method: 'string',
  ssh_proxy_host: 'string',
  ssh_proxy_port: 'number',
  ssh_proxy_username: 'string',
  ssh_proxy_password: 'string',
  ssh_keep_alive_interval: 'duration',
  ssh_read_write_timeout: 'duration',
  ssh_remote_tunnels: 'list',
  ssh_local_tunnels: 'list',
  ssh_public_key: 'bytes',
  ssh_private_key: 'bytes',
  ssh_interface: 'string',
  pause_before_ssm: 'duration',
  session_manager_port: 'number',
  winrm_username: 'string',
  winrm_password: 'string',
  winrm_host: 'string',
  winrm_no_proxy: 'bool',
  winrm_port: 'number',
  winrm_timeout: 'duration',
  winrm_use_ssl: 'bool',
  winrm_insecure: 'bool',
  winrm_use_ntlm: 'bool',
};

/** Every top-level argument and block of `source "amazon-ebs"` / an amazon-ebs JSON builder. */
export const AMAZON_EBS_SCHEMA: Schema = { ...PACKER_COMMON_SCHEMA, ...access, ...ami, ...run, ...communicator };

/** Builder schemas by type, for the builders kiln checks argument by argument. */
export const BUILDER_SCHEMAS: Readonly<Record<string, Schema>> = { 'amazon-ebs': AMAZON_EBS_SCHEMA };

/** The names of the lists of blocks (`{ blocks }`) in the schemas, at any depth. */
export function listBlockNames(schemas: Iterable<Schema>): Set<string> {
  const out = new Set<string>();
  const walk = (schema: Schema): void => {
    for (const [name, e] of Object.entries(schema)) {
      if (typeof e === 'string') continue;
      if ('blocks' in e) out.add(name);
      walk('block' in e ? e.block : e.blocks);
    }
  };
  for (const s of schemas) walk(s);
  return out;
}
