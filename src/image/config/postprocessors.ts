// Post-processor configs: manifest (reference §4.4), docker-tag, checksum, shell-local, and the
// docker-import / docker-save configs (§9).
import type { ChecksumConfig, DockerImportConfig, DockerSaveConfig, DockerTagConfig, ManifestConfig, PostProcessorConfig, ShellLocalPPConfig } from '../types.js';
import type { Decoder } from './decode.js';
import type { PluginEnv } from './env.js';
import { decodeShellLocal } from './provisioners.js';

export const POST_PROCESSOR_LATE_KEYS: Record<string, string[]> = {
  checksum: ['output'],
  'shell-local': ['execute_command'],
};

const CHECKSUM_TYPES = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'];

function decodeManifest(d: Decoder): ManifestConfig {
  const c: ManifestConfig = {
    type: 'manifest',
    output: d.str('output') || 'packer-manifest.json',
    stripPath: d.bool('strip_path'),
    stripTime: d.bool('strip_time'),
    customData: d.strMap('custom_data'),
  };
  d.finishUnknown();
  return c;
}

function decodeDockerTag(d: Decoder): DockerTagConfig {
  const tags = d.strList('tags');
  const tag = d.strList('tag');
  const c: DockerTagConfig = { type: 'docker-tag', repository: d.str('repository'), tags: [...tags, ...tag], force: d.bool('force') };
  d.finishUnknown();
  if (tag.length) d.warn("'tag' is deprecated: use 'tags' (packer fix renames it)", ['tag']);
  if (!c.repository) d.warn('repository is empty: tagging will fail at run time', ['repository']);
  return c;
}

function decodeChecksum(d: Decoder): ChecksumConfig {
  const c: ChecksumConfig = {
    type: 'checksum',
    checksumTypes: d.strList('checksum_types', ['md5']),
    output: d.str('output') || 'packer_{{.BuildName}}_{{.BuilderType}}_{{.ChecksumType}}.checksum',
  };
  if (c.checksumTypes.length === 0) c.checksumTypes = ['md5'];
  d.finishUnknown();
  c.checksumTypes.forEach((t, i) => {
    if (!CHECKSUM_TYPES.includes(t)) d.error(`Unrecognized checksum type: ${t}`, ['checksum_types', i]);
  });
  return c;
}

function decodeDockerImport(d: Decoder): DockerImportConfig {
  const c: DockerImportConfig = { type: 'docker-import', repository: d.str('repository'), tag: d.str('tag'), changes: d.strList('changes') };
  d.finishUnknown();
  return c;
}

function decodeDockerSave(d: Decoder): DockerSaveConfig {
  const c: DockerSaveConfig = { type: 'docker-save', path: d.str('path') };
  d.finishUnknown();
  return c;
}

export const POST_PROCESSOR_TYPES = ['manifest', 'docker-tag', 'checksum', 'shell-local', 'docker-import', 'docker-save'] as const;

export function decodePostProcessor(type: string, d: Decoder, env: PluginEnv): PostProcessorConfig | undefined {
  switch (type) {
    case 'manifest':
      return decodeManifest(d);
    case 'docker-tag':
      return decodeDockerTag(d);
    case 'checksum':
      return decodeChecksum(d);
    case 'shell-local': {
      const { type: _t, ...rest } = decodeShellLocal(d, env);
      return { type: 'shell-local', ...rest } satisfies ShellLocalPPConfig;
    }
    case 'docker-import':
      return decodeDockerImport(d);
    case 'docker-save':
      return decodeDockerSave(d);
    default:
      return undefined;
  }
}
