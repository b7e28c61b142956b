// placeholder replaced below
import type { Diagnostic } from '../core/diagnostics.js';
import type { ResolvedParameter } from './params.js';
export function hasLanguageExtensions(t: Record<string, unknown>): boolean {
  const tr = t.Transform;
  return tr === 'AWS::LanguageExtensions' || (Array.isArray(tr) && tr.includes('AWS::LanguageExtensions'));
}
export function expandLanguageExtensions(t: unknown, _p?: Record<string, ResolvedParameter>): { template: unknown; diagnostics: Diagnostic[] } {
  return { template: t, diagnostics: [] };
}
