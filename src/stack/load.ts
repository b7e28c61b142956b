// Loading a CloudFormation template: text (JSON or YAML) into a SourceDoc with the position of every
// node. The format is told by the content (a template starting with `{` is JSON), not by the name.
import { error } from '../core/diagnostics.js';
import { InputError, MAX_TEMPLATE_BYTES, readInput } from '../core/input.js';
import { parseJsonSource } from '../core/json.js';
import { PositionIndex, type SourceDoc } from '../core/source.js';
import { parseYamlSource } from './yaml.js';

/**
 * Larger than any template CloudFormation accepts (1 MB from S3), with room; beyond it kiln stops
 * reading (src/core/input.ts) and refuses.
 */
export { MAX_TEMPLATE_BYTES };

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
      diagnostics: [
        error('E1002', `template is ${text.length} bytes; kiln reads templates up to ${MAX_TEMPLATE_BYTES} bytes (CloudFormation's limit is 1 MB)`, {
          range: { file, start: { line: 1, col: 1, offset: 0 } },
        }),
      ],
    };
  }
  if (detectFormat(text) === 'json') {
    // Some JSON templates are not valid JSON but are valid YAML (YAML flow style is a superset of
    // most of JSON); CloudFormation reads them as JSON, so we report the JSON error.
    return parseJsonSource(text, file, { syntaxCode: 'JSON_SYNTAX', duplicateCode: 'DUPLICATE_KEY' });
  }
  return parseYamlSource(text, file);
}

/**
 * Reads and parses a template file (`-` as the display name: standard input), once and bounded. A
 * file that cannot be read (missing, binary, too large) is a diagnostic too.
 */
export async function loadTemplateFile(path: string, displayName = path, stdin?: NodeJS.ReadableStream): Promise<SourceDoc> {
  let text: string;
  try {
    text = await readInput(displayName === '-' ? '-' : path, { maxBytes: MAX_TEMPLATE_BYTES, what: 'template', ...(stdin ? { stdin } : {}) });
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return {
      file: displayName,
      text: '',
      format: 'yaml',
      value: undefined,
      positions: new PositionIndex(displayName, ''),
      diagnostics: [error('E0000', `cannot read template: ${e.reason}`, { range: { file: displayName, start: { line: 1, col: 1, offset: 0 } } })],
    };
  }
  return loadTemplate(text, displayName);
}
