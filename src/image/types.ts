// The image engine's data contract: what the template layer (parse → variables → prepare) hands to
// the runners (builders, provisioners, post-processors, build cache, `kiln build`).
//
// Flow:  parseTemplate(text, file)            → { template: ParsedTemplate, diagnostics }   (template.ts)
//        prepareBuilds(template, PrepareOptions) → { builds: PreparedBuild[], diagnostics } (prepare.ts)
//
// Everything here is plain data except `ResolvedVariables.mask` and `PreparedBuild.renderLate`.
// Every string in a prepared config has been rendered once (user variables, functions) exactly as
// Packer's `Prepare` does; strings that need build-time data still hold Packer's placeholders
// (`{{build `ID`}}` was rendered to `{{.ID}}`, `{{.Path}}`/`{{.Vars}}`/`{{.Image}}` are kept): render
// those with `PreparedBuild.renderLate` at the moment they are used.
import type { Diagnostic } from '../core/diagnostics.js';
import type { Path, SourceDoc } from '../core/source.js';

/** The Packer version kiln claims to be compatible with (`packer_version`, `min_packer_version`). */
export const PACKER_COMPAT_VERSION = '1.6.6';

/** Printed instead of a sensitive value, everywhere. */
export const SENSITIVE_MASK = '<sensitive>';

// ---------------------------------------------------------------------------------------------
// 1. Parsed template (syntax + Packer's parse rules; nothing rendered yet)
// ---------------------------------------------------------------------------------------------

export interface VariableDef {
  /** Default as written (may contain `{{env}}`/`{{user}}`); `null` when the variable is required. */
  default: string | null;
  /** True when the template declared the variable as `null`. */
  required: boolean;
  /** Logical path in the template: `['variables', name]`. */
  path: Path;
}

export interface BuilderDef {
  /** `name` as written, defaulting to `type` (may be a template expression, rendered at prepare). */
  name: string;
  type: string;
  /** The builder's own keys: everything except `name` and `type`, values as in the JSON. */
  config: Record<string, unknown>;
  /** `['builders', i]` */
  path: Path;
  /**
   * HCL2 templates: the name the build runs as (`PACKER_BUILD_NAME`, `build_name`, the build key),
   * which is the source's name, while `name` is Packer's full build name (`docker.web`).
   */
  packerBuildName?: string;
}

export interface ProvisionerDef {
  type: string;
  /** Plugin keys: everything except `type` and the meta keys below. */
  config: Record<string, unknown>;
  /** Build names (after rendering) this provisioner is restricted to / excluded from. */
  only?: string[];
  except?: string[];
  /** build name → extra config layer merged over `config` (later keys win). */
  override?: Record<string, Record<string, unknown>>;
  /** Raw meta values as written (durations are Go durations; `max_retries` string or number). */
  pauseBefore?: string;
  maxRetries?: string | number;
  timeout?: string;
  /** `['provisioners', i]` or `['error-cleanup-provisioner']` */
  path: Path;
}

export interface PostProcessorDef {
  type: string;
  /** `name` as written, defaulting to `type`. */
  name: string;
  /** Plugin keys: everything except `type`, `name`, `only`, `except`, `keep_input_artifact`. */
  config: Record<string, unknown>;
  only?: string[];
  except?: string[];
  /** Undefined when the user did not set `keep_input_artifact`. */
  keepInputArtifact?: boolean;
  /** `['post-processors', i]` or `['post-processors', i, j]` */
  path: Path;
}

export interface ParsedTemplate {
  /** Path of the template as given on the command line (`-` for stdin). */
  file: string;
  /** Absolute directory of the template (`{{template_dir}}`); the cwd for stdin. */
  dir: string;
  /** The parsed source, for positions of diagnostics (`doc.positions.range(path)`). */
  doc: SourceDoc;
  description?: string;
  minPackerVersion?: string;
  /** In declaration order. */
  variables: Record<string, VariableDef>;
  /** Names listed in `sensitive-variables`. */
  sensitiveVariables: string[];
  builders: BuilderDef[];
  provisioners: ProvisionerDef[];
  /** One inner array per chain; a string or single object in the template is a chain of one. */
  postProcessors: PostProcessorDef[][];
  errorCleanupProvisioner?: ProvisionerDef;
  /** `_comment`-style root keys. */
  comments: Record<string, string>;
  /** The legacy `push` block (accepted, ignored). */
  push?: unknown;
  /**
   * HCL2 templates (src/image/hcl): variables were already resolved by the HCL2 loader (typed
   * values, `-var`, var files, `PKR_VAR_*`), every config is already evaluated; `values` is empty
   * because HCL2 has no `{{user}}`, and `mask` hides the sensitive ones.
   */
  resolvedVariables?: ResolvedVariables;
}

// ---------------------------------------------------------------------------------------------
// 2. Variables
// ---------------------------------------------------------------------------------------------

export interface ResolvedVariables {
  /** Every user variable after defaults, var files and `-var` (undeclared `-var`s included). */
  values: Record<string, string>;
  /** Names whose values are secret: `sensitive-variables` plus variables derived from them. */
  sensitive: Set<string>;
  /** Replaces every non-empty sensitive value in `text` by `<sensitive>`. */
  mask(text: string): string;
}

// ---------------------------------------------------------------------------------------------
// 3. Typed plugin configs (field names camelCased; the Packer key is in the comment)
// ---------------------------------------------------------------------------------------------

/** Builder `docker` (reference §7.1). Exactly one of commit / discard / exportPath is set. */
export interface DockerBuilderConfig {
  type: 'docker';
  image: string; // image
  pull: boolean; // pull (default true)
  commit: boolean; // commit
  discard: boolean; // discard
  exportPath?: string; // export_path (absolute, resolved against cwd)
  changes: string[]; // changes
  author: string; // author
  message: string; // message
  /** run_command; default `["-d","-i","-t","--entrypoint=/bin/sh","--","{{.Image}}"]`; render `{{.Image}}` late. */
  runCommand: string[];
  volumes: Record<string, string>; // volumes host → container
  privileged: boolean; // privileged
  capAdd: string[]; // cap_add
  capDrop: string[]; // cap_drop
  device: string[]; // device
  tmpfs: string[]; // tmpfs
  containerDir: string; // container_dir (default /packer-files)
  execUser: string; // exec_user
  pty: boolean; // pty
  fixUploadOwner: boolean; // fix_upload_owner (default true)
  windowsContainer: boolean; // windows_container
  login: boolean; // login
  loginUsername: string; // login_username
  loginPassword: string; // login_password
  loginServer: string; // login_server
  ecrLogin: boolean; // ecr_login
  communicator: string; // communicator (default docker)
}

/** Builder `null`: no machine; provisioners connect to `sshHost` or nothing (`communicator: none`). */
export interface NullBuilderConfig {
  type: 'null';
  communicator: string; // communicator (default ssh)
  sshHost?: string;
  sshUsername?: string;
  sshPassword?: string;
  sshPort?: number;
  /** All other communicator keys, rendered, as given. */
  extra: Record<string, unknown>;
}

/** Builder `file`: writes `target` from `source` (a local file) or `content`. */
export interface FileBuilderConfig {
  type: 'file';
  target: string; // target
  source?: string; // source
  content?: string; // content
}

/** One entry of `launch_block_device_mappings` / `ami_block_device_mappings`. */
export interface EbsBlockDevice {
  deviceName: string;
  volumeSize?: number;
  volumeType?: string;
  iops?: number;
  throughput?: number;
  deleteOnTermination: boolean;
  encrypted?: boolean;
  kmsKeyId?: string;
  snapshotId?: string;
  virtualName?: string;
  noDevice: boolean;
}

/**
 * Builder `amazon-ebs` (reference §10). The options kiln's builder runs are typed here; the builder
 * has some 150 more, which are accepted as given (`raw`) and refused at build time when they would
 * change what is built. `tags`, `snapshot_tags`, `run_tags`, `run_volume_tags` and `ami_description`
 * are NOT rendered at prepare (Packer excludes them): render them late with the build's data
 * (`{{ .SourceAMI }}`, `{{ .BuildRegion }}`, …).
 */
export interface AmazonEbsBuilderConfig {
  type: 'amazon-ebs';
  /** `region`; empty = AWS_REGION / AWS_DEFAULT_REGION. */
  region: string;
  sourceAmi?: string;
  sourceAmiFilter?: Record<string, unknown>;
  instanceType: string;
  amiName: string;
  amiDescription: string;
  sshUsername?: string;
  communicator: string;
  accessKey?: string;
  secretKey?: string;
  token?: string;
  profile?: string;
  customEndpointEc2?: string;
  amiRegions: string[];
  tags: Record<string, string>;
  snapshotTags: Record<string, string>;
  runTags: Record<string, string>;
  runVolumeTags: Record<string, string>;
  amiUsers: string[];
  amiGroups: string[];
  snapshotUsers: string[];
  snapshotGroups: string[];
  forceDeregister: boolean;
  forceDeleteSnapshot: boolean;
  subnetId: string;
  vpcId: string;
  /** `associate_public_ip_address`; undefined = the subnet's default. */
  associatePublicIpAddress?: boolean;
  iamInstanceProfile: string;
  userData: string;
  /** Absolute path. */
  userDataFile: string;
  securityGroupIds: string[];
  temporarySecurityGroupSourceCidrs: string[];
  launchBlockDeviceMappings: EbsBlockDevice[];
  amiBlockDeviceMappings: EbsBlockDevice[];
  disableStopInstance: boolean;
  shutdownBehavior: string;
  enaSupport?: boolean;
  sriovSupport: boolean;
  temporaryKeyPairName: string;
  sshHost: string;
  sshPort: number;
  sshTimeoutMs: number;
  /** `public_ip` | `private_ip` | `public_dns` | `private_dns` | '' (Packer's choice). */
  sshInterface: string;
  sshKeypairName: string;
  /** Absolute path. */
  sshPrivateKeyFile: string;
  sshPassword: string;
  pauseBeforeConnectingMs: number;
  /** `aws_polling`: 0 = kiln's defaults. */
  pollDelayMs: number;
  pollMaxAttempts: number;
  /** Every key of the builder after rendering (including the ones above, snake_case). */
  raw: Record<string, unknown>;
}

export type BuilderConfig = DockerBuilderConfig | NullBuilderConfig | FileBuilderConfig | AmazonEbsBuilderConfig;

/** Provisioner `shell` (reference §8.1). Exactly one of inline/script/scripts was given; scripts is normalised. */
export interface ShellConfig {
  type: 'shell';
  /** Inline lines (rendered at prepare; render again late for `{{.ID}}` placeholders). */
  inline?: string[];
  /** `script` or `scripts`, as absolute local paths (checked to exist at prepare). */
  scripts: string[];
  environmentVars: string[]; // environment_vars, each KEY=value
  envVarFormat: string; // env_var_format (default "%s='%s' ")
  useEnvVarFile: boolean; // use_env_var_file
  /** execute_command, NOT rendered at prepare (Packer excludes it): render late with {Path, Vars, EnvVarFile}. */
  executeCommand: string;
  inlineShebang: string; // inline_shebang (default "/bin/sh -e")
  remoteFolder: string; // remote_folder (default "/tmp")
  remoteFile: string; // remote_file (default script_<n>.sh; n in 0..9998 derived from build name + provisioner position, stable across runs)
  remotePath: string; // remote_path (default remoteFolder + "/" + remoteFile)
  skipClean: boolean; // skip_clean
  startRetryTimeoutMs: number; // start_retry_timeout (default 5m)
  expectDisconnect: boolean; // expect_disconnect
  validExitCodes: number[]; // valid_exit_codes (default [0])
  binary: boolean; // binary
  pauseAfterMs: number; // pause_after
}

/** Provisioner `file` (reference §8.2). */
export interface FileProvisionerConfig {
  type: 'file';
  /** `source` or `sources`, as written after rendering (trailing `/` kept: it matters). Upload: local paths. */
  sources: string[];
  /** Same as `sources` but resolved to absolute local paths (upload), trailing `/` kept. */
  localSources: string[];
  destination: string;
  direction: 'upload' | 'download';
  generated: boolean;
}

/** Provisioner `shell-local`. */
export interface ShellLocalConfig {
  type: 'shell-local';
  command?: string;
  inline?: string[];
  scripts: string[]; // absolute local paths
  environmentVars: string[];
  envVarFormat: string;
  /** execute_command; default ["/bin/sh", "-c", "{{.Vars}} {{.Script}}"]; rendered late. */
  executeCommand: string[];
  inlineShebang: string; // default "/bin/sh -e"
  tempfileExtension: string;
  useLinuxPathing: boolean;
  onlyOn: string[];
  validExitCodes: number[];
}

/** Provisioner `sleep` (a Packer built-in): waits `durationMs`. */
export interface SleepConfig {
  type: 'sleep';
  durationMs: number; // duration (Go duration)
}

export type ProvisionerConfig = ShellConfig | FileProvisionerConfig | ShellLocalConfig | SleepConfig;

interface ProvisionerMeta {
  /** 0 when absent. */
  pauseBeforeMs: number;
  /** 0 when absent: one attempt; N: up to N+1 attempts. */
  maxRetries: number;
  /** 0 when absent. kiln applies timeout even with pause_before (Packer 1.6.6 drops it; documented). */
  timeoutMs: number;
}

export interface PreparedProvisioner {
  type: ProvisionerConfig['type'];
  config: ProvisionerConfig;
  meta: ProvisionerMeta;
  /** Index in the template's `provisioners` (-1 for error-cleanup-provisioner). */
  index: number;
  path: Path;
}

/** Post-processor `manifest` (reference §4.4). */
export interface ManifestConfig {
  type: 'manifest';
  output: string; // default packer-manifest.json (relative to cwd)
  stripPath: boolean;
  stripTime: boolean;
  /** Rendered at prepare; may still hold `{{.Key}}` from `{{build}}`: render late with generated data. */
  customData: Record<string, string>;
}

export interface DockerTagConfig {
  type: 'docker-tag';
  repository: string;
  /** `tags`, plus the deprecated `tag` appended when set. Empty: tag `repository` alone. */
  tags: string[];
  force: boolean;
}

export interface ChecksumConfig {
  type: 'checksum';
  /** Default ["md5"]; each one of md5, sha1, sha224, sha256, sha384, sha512. */
  checksumTypes: string[];
  /** Default `packer_{{.BuildName}}_{{.BuilderType}}_{{.ChecksumType}}.checksum`; render late with {BuildName, BuilderType, ChecksumType}. */
  output: string;
}

export interface ShellLocalPPConfig extends Omit<ShellLocalConfig, 'type'> {
  type: 'shell-local';
}

export interface DockerImportConfig {
  type: 'docker-import';
  repository: string;
  tag: string;
  changes: string[];
}

export interface DockerSaveConfig {
  type: 'docker-save';
  path: string;
}

export type PostProcessorConfig = ManifestConfig | DockerTagConfig | ChecksumConfig | ShellLocalPPConfig | DockerImportConfig | DockerSaveConfig;

export interface PreparedPostProcessor {
  type: PostProcessorConfig['type'];
  name: string;
  config: PostProcessorConfig;
  /** Undefined when not set by the user (runner applies the plugin's forced keep rules). */
  keepInputArtifact?: boolean;
  /**
   * Skip just this element and go on with the previous artifact (an element's own only/except,
   * reference §4.2). Always false from prepareBuilds: such elements are already left out.
   */
  skip: boolean;
  /**
   * Stop the rest of this chain here (CLI `-except` naming a post-processor, Packer's `break`).
   * Always false from prepareBuilds: the chain is already cut before that element.
   */
  stopChain: boolean;
  path: Path;
}

// ---------------------------------------------------------------------------------------------
// 4. Prepared builds
// ---------------------------------------------------------------------------------------------

/** Data for late rendering: `{{.Key}}` fields, e.g. { ID, Path, Vars, Image, ImageSha256 }. */
export type LateContext = Record<string, string | undefined>;

export interface PreparedBuild {
  /** Build name (builder `name` rendered, default `type`; HCL2: `docker.web`). */
  name: string;
  /** HCL2 templates: `PACKER_BUILD_NAME` (the source's name) when it differs from `name`. */
  packerBuildName?: string;
  /** Builder type (`docker`, `null`, `file`, `amazon-ebs`). */
  type: BuilderConfig['type'];
  builder: BuilderConfig;
  /** Provisioners that apply to this build (only/except applied, override merged), in order. */
  provisioners: PreparedProvisioner[];
  /**
   * Chains, as Packer's core builds them for this build: elements whose own only/except excludes
   * this build are left out (the chain goes on with the previous artifact), a name given to CLI
   * `-except` cuts its chain there, and chains left empty are dropped. So `skip`/`stopChain` are
   * always false in what prepareBuilds returns today.
   */
  postProcessors: PreparedPostProcessor[][];
  errorCleanupProvisioner?: PreparedProvisioner;
  variables: ResolvedVariables;
  /** Absolute template directory and working directory. */
  templateDir: string;
  cwd: string;
  /** The run's InitTime (ms since epoch): `timestamp`, `isotime`, `uuid` all derive from it. */
  initTime: number;
  /** `['builders', i]` */
  path: Path;
  /**
   * Renders a string that still holds build-time placeholders: `{{.ID}}`, `{{.Path}}`, `{{.Vars}}`,
   * `{{.Image}}`, `{{build `Key`}}` (from `ctx`), plus every prepare-time function (user, upper, …).
   * A key missing from `ctx` renders `<no value>` as Go's text/template does. Throws `KilnError`
   * (`PACKER_TEMPLATE`) on a template error.
   */
  renderLate(text: string, ctx: LateContext): string;
}

export interface PrepareOptions {
  /** `-var k=v` in command-line order (last wins; every `-var` beats every var file). */
  vars?: Array<[string, string]>;
  /** `-var-file` contents in command-line order (later wins), with the file name for messages. */
  varFiles?: Array<{ file: string; text: string }>;
  /** Environment for `{{env}}` in variable defaults. */
  env?: Record<string, string | undefined>;
  /** `-only` / `-except` names (already split on commas). */
  only?: string[];
  except?: string[];
  /** Working directory (`{{pwd}}`, relative paths). */
  cwd: string;
  /** InitTime for the run (ms since epoch); default Date.now() at the CLI edge. */
  initTime?: number;
  /** Checks that a local file or directory exists (script / file provisioner sources). */
  fileExists?: (absPath: string) => 'file' | 'dir' | undefined;
  /** Random source for `uuid` (default Math.random). */
  random?: () => number;
  /** `-syntax-only`: stop after parsing. */
  syntaxOnly?: boolean;
}

export interface PrepareResult {
  builds: PreparedBuild[];
  variables?: ResolvedVariables;
  /** Errors and warnings, located (`range` set) against the template. */
  diagnostics: Diagnostic[];
}
