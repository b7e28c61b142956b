// Renders a plan for a person: one line per resource with Terraform's symbols, the property that
// forces a replacement, and "no local effect" types marked.
import { planWarnings } from '../../deploy/planfile.js';
import type { Conditional, Plan, Step } from '../../stack/plan.js';
import { summarize } from '../../stack/plan.js';
import { formatDiagnostic } from '../../core/diagnostics.js';

const COLORS: Record<Step['kind'], string> = { create: '32', update: '33', replace: '35', delete: '31', noop: '2' };
const SYMBOL: Record<Step['kind'], string> = { create: '+', update: '~', replace: '+/-', delete: '-', noop: '=' };

function paint(on: boolean, code: string, s: string): string {
  return on ? `\x1b[${code}m${s}\x1b[0m` : s;
}

/** A conditional step (CloudFormation's `Replacement: Conditional`): what it does if the values do not change. */
function otherwise(c: Conditional | undefined): string {
  if (!c) return '';
  return ` — conditional: only if ${c.on.join(', ')} change${c.on.length === 1 ? 's' : ''} (known after apply); otherwise ${c.otherwise === 'noop' ? 'no change' : 'update in place'}`;
}

function describeStep(s: Step): string {
  switch (s.kind) {
    case 'create':
      return 'create';
    case 'update':
      return `update (${s.changed.join(', ')}${s.afterApply.length ? `; known after apply: ${s.afterApply.join(', ')}` : ''})${otherwise(s.conditional)}`;
    case 'replace':
      return `replace (because ${s.because.join(', ')}; create first, then delete the old one)${otherwise(s.conditional)}`;
    case 'delete': {
      const what = s.leftover ? 'delete (a copy an earlier cleanup could not delete)' : 'delete';
      return s.policy === 'Retain' || s.policy === 'RetainExceptOnCreate' ? `${what} (DeletionPolicy ${s.policy}: kept, removed from the stack)` : what;
    }
    case 'noop':
      return 'no change';
  }
}

export function renderPlan(plan: Plan, opts: { color: boolean; stack: string; isCreate?: boolean }): string {
  const width = Math.max(8, ...plan.steps.map((s) => s.id.length));
  const typeWidth = Math.max(8, ...plan.steps.map((s) => s.type.length));
  const lines = plan.steps.map((s) => {
    const sym = SYMBOL[s.kind].padEnd(3);
    const note = s.noLocalEffect ? '  [no local effect]' : '';
    return paint(opts.color, COLORS[s.kind], `${sym} ${s.id.padEnd(width)}  ${s.type.padEnd(typeWidth)}  ${describeStep(s)}`) + note;
  });
  const n = summarize(plan);
  const summary = plan.changes
    ? `Plan for stack ${opts.stack}: ${n.create} to create, ${n.update} to update, ${n.replace} to replace, ${n.delete} to delete, ${n.noop} unchanged.`
    : `Plan for stack ${opts.stack}: no changes (${n.noop} unchanged).`;
  // What the target says about the plan (a stand-in image, say): part of the promise, so shown with it.
  const warnings = plan.diagnostics.filter((d) => d.severity === 'warning').map((d) => paint(opts.color, '33', formatDiagnostic(d)));
  return `${lines.join('\n')}${lines.length ? '\n' : ''}${summary}\n${warnings.map((w) => w + '\n').join('')}`;
}

/** The plan as JSON (stable field names, for scripts). */
export function planJson(plan: Plan, extra: Record<string, unknown> = {}): string {
  const warnings = planWarnings(plan);
  return JSON.stringify({ ...extra, changes: plan.changes, summary: summarize(plan), steps: plan.steps, ...(warnings.length ? { warnings } : {}) }, null, 2) + '\n';
}
