// Small renderers shared by the stack commands: outputs, events, status tables, drift.
import type { Json } from '../../stack/model.js';
import type { DriftReport } from '../../deploy/index.js';
import type { ResourceRow, StackEvent, StackRecord } from '../../state/store.js';

export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

function show(v: Json): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * The outputs table; an exported one says its export name, and (given `importers`) which stacks
 * import it, since those keep it from being removed or changed.
 */
export function renderOutputs(outputs: Record<string, { value: Json; description?: string; exportName?: string }>, importers?: (exportName: string) => string[]): string {
  const names = Object.keys(outputs);
  if (names.length === 0) return '';
  const exported = (o: { exportName?: string }) => {
    if (o.exportName === undefined) return '';
    const users = importers?.(o.exportName) ?? [];
    return `export ${o.exportName}${users.length ? ` (imported by ${users.join(', ')})` : ''}`;
  };
  return 'Outputs:\n' + table(names.map((n) => [`  ${n}`, show(outputs[n]!.value), exported(outputs[n]!), outputs[n]!.description ? `# ${outputs[n]!.description}` : '']));
}

export function renderEvents(events: readonly StackEvent[]): string {
  return table([['TIMESTAMP', 'LOGICAL ID', 'PHYSICAL ID', 'TYPE', 'STATUS', 'REASON'], ...events.map((e) => [e.timestamp, e.logicalId, e.physicalId ?? '-', e.type, e.status, e.reason ?? ''])]);
}

export function renderStacks(stacks: readonly StackRecord[], counts: (name: string) => number): string {
  if (stacks.length === 0) return 'No stacks.\n';
  return table([['STACK', 'STATUS', 'RESOURCES', 'UPDATED', 'REASON'], ...stacks.map((s) => [s.name, s.status, String(counts(s.name)), s.updatedAt, s.reason ?? ''])]);
}

export function renderResources(stack: StackRecord, rows: readonly ResourceRow[]): string {
  const head = `Stack ${stack.name}: ${stack.status}${stack.reason ? ` (${stack.reason})` : ''}\n`;
  return (
    head +
    table([
      ['LOGICAL ID', 'TYPE', 'PHYSICAL ID', 'STATE'],
      ...rows.map((r) => [r.logicalId, r.type, r.physicalId, r.status === 'live' ? (r.noLocalEffect ? 'live (no local effect)' : 'live') : r.status]),
    ])
  );
}

/**
 * The drift table, one layout for both targets (the AWS engine hands in its report in the local
 * one's terms): every resource with its drift, then one line per difference.
 */
export function renderDrift(r: DriftReport): string {
  let s = `Stack ${r.stack}: ${r.status}\n`;
  s += table([['LOGICAL ID', 'TYPE', 'PHYSICAL ID', 'DRIFT'], ...r.resources.map((x) => [x.logicalId, x.type, x.physicalId || '-', x.status])]);
  for (const x of r.resources) {
    for (const d of x.differences) s += `  ${x.logicalId}.${d.property}: ${d.kind} expected ${JSON.stringify(d.expected)}, actual ${JSON.stringify(d.actual)}\n`;
    if (x.mutations.length)
      s += `  ${x.logicalId}: ${x.mutations.length} file(s) changed since start: ${x.mutations
        .slice(0, 5)
        .map((m) => `${m.kind} ${m.path}`)
        .join(', ')}${x.mutations.length > 5 ? ', …' : ''}\n`;
  }
  for (const e of r.extra) s += `  extra object not in state: ${e}\n`;
  return s;
}
