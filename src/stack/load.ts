// Loading a CloudFormation template: text (JSON or YAML) into a SourceDoc with the position of every
// node. The format is told by the content (a template starting with `{` is JSON), not by the name.
import { readFile } from 'node:fs/promises';
import { error } from '../core/diagnostics.js';
import { parseJsonSource } from '../core/json.js';
import { PositionIndex, type SourceDoc } from '../core/source.js';
import { parseYamlSource } from './yaml.js';

/** Larger than any template CloudFormation accepts (1 MB from S3), with room; beyond it we refuse. */
export const MAX_TEMPLATE_BYTES = 16 * 1024 * 1024;

export function detectFormat(text: string): 'json' | 'yaml' {
  for (let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) continue;
    return c === 123 /* { */ ? 'json' : 'yaml';
  }
  return 'yaml';
}

/** Parses template text; every problem is a diagnostic in the result (never an exception). */
export function loadTemplate(text: string, file: string): SourceDoc {
  if (text.length > MAX_TEMPLATE_BYTES) {
    const positions = new PositionIndex(file, '');
    return {
      file,
      text: '',
      format: detectFormat(text.slice(0, 4096)),
      value: undefined,
      positions,
      diagnostics: [error('E1002', `template is ${text.length} bytes; kiln reads templates up to ${MAX_TEMPLATE_BYTES} bytes (CloudFormation's limit is 1 MB)`, { range: { file, start: { line: 1, col: 1, offset: 0 } } })],
    };
  }
  if (detectFormat(text) === 'json') {
    // Some JSON templates are not valid JSON but are valid YAML (YAML flow style is a superset of
    // most of JSON); CloudFormation reads them as JSON, so we report the JSON error.
    return parseJsonSource(text, file, { syntaxCode: 'JSON_SYNTAX', duplicateCode: 'DUPLICATE_KEY' });
  }
  return parseYamlSource(text, file);
}

/** Reads and parses a template file. A file that cannot be read is a diagnostic too. */
export async function loadTemplateFile(path: string, displayName = path): Promise<SourceDoc> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    return {
      file: displayName,
      text: '',
      format: 'yaml',
      value: undefined,
      positions: new PositionIndex(displayName, ''),
      diagnostics: [error('E0000', `cannot read template: ${why}`, { range: { file: displayName, start: { line: 1, col: 1, offset: 0 } } })],
    };
  }
  return loadTemplate(text, displayName);
}
