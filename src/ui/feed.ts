// The live feed between kiln processes and `kiln ui`: the ui server listens on a unix socket in the
// state directory; every kiln process that runs a stack operation (deploy, up, rollback, destroy)
// connects if the socket is there and writes its typed engine events as JSON lines, as they happen.
// No ui server: nothing is opened, nothing waits, nothing changes for the operation.
//
// Lines, one JSON object each (version 1):
//   {"kind":"hello","v":1,"stack":S,"command":C,"pid":N}     first, once
//   {"kind":"plan","isCreate":B,"steps":[{id,type,action,because?,changed?}]}
//   {"kind":"engine","event":EngineEvent}                     stack-event | provider | notice
//   {"kind":"bye","outcome":O?}                               last (a closed socket without it: ended)
//
// What travels is what the engine emits: reasons and messages already masked (NoEcho values never
// leave the engine), plans as property names only. The socket file is the user's alone (0600).
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventSink } from '../core/events.js';
import { KilnError } from '../core/errors.js';
import type { EngineEvent } from '../exec/events.js';
import type { Plan } from '../stack/plan.js';
import { stateDir } from '../state/db.js';

/** Unix socket paths are limited to 107 bytes: a long state directory gets one in the temp dir. */
function feedSocketPath(stateDir: string): string {
  const p = join(stateDir, 'ui.sock');
  if (Buffer.byteLength(p) <= 100) return p;
  return join(tmpdir(), `kiln-ui-${createHash('sha256').update(stateDir).digest('hex').slice(0, 16)}.sock`);
}

export interface PlanStepLine {
  id: string;
  type: string;
  action: string;
  because?: string[];
  changed?: string[];
}

/** What a kiln process holds: an engine event sink, plus the plan and the end of the run. */
export interface LiveFeed extends EventSink<EngineEvent> {
  plan(plan: Plan, isCreate: boolean): void;
  close(outcome?: string): void;
}

const quiet: LiveFeed = { emit: () => undefined, plan: () => undefined, close: () => undefined };

/** Connects to the ui server of `stateDir` if one listens; otherwise a feed that does nothing. */
export function openLiveFeed(o: { stateDir: string; stack: string; command: string }): LiveFeed {
  const path = feedSocketPath(o.stateDir);
  if (!existsSync(path)) return quiet;
  let sock: Socket | undefined = createConnection(path);
  // The feed never keeps a process alive nor fails it: an error just ends the feed.
  sock.unref();
  sock.on('error', () => {
    sock?.destroy();
    sock = undefined;
  });
  const send = (obj: object) => {
    if (sock && !sock.destroyed) sock.write(JSON.stringify(obj) + '\n');
  };
  send({ kind: 'hello', v: 1, stack: o.stack, command: o.command, pid: process.pid });
  return {
    emit(e) {
      if (e.kind === 'stack-event' || e.kind === 'provider' || e.kind === 'notice') send({ kind: 'engine', event: e });
    },
    plan(plan, isCreate) {
      const steps: PlanStepLine[] = plan.steps.map((s) => ({
        id: s.id,
        type: s.type,
        action: s.kind,
        ...(s.kind === 'replace' ? { because: s.because } : {}),
        ...(s.kind === 'update' || s.kind === 'replace' ? { changed: s.changed } : {}),
      }));
      send({ kind: 'plan', isCreate, steps });
    },
    close(outcome) {
      send({ kind: 'bye', ...(outcome ? { outcome } : {}) });
      sock?.end();
      sock = undefined;
    },
  };
}

/** The feed of a CLI command: the state directory as the engine resolves it (--state-dir, $KILN_HOME, ~/.kiln). */
export function feedFor(stateDirFlag: string | undefined, stack: string, command: string): LiveFeed {
  return openLiveFeed({ stateDir: stateDir(stateDirFlag), stack, command });
}

/** A run as the ui server knows it from its feed. */
export interface LiveRun {
  id: number;
  stack: string;
  command: string;
  pid: number;
  startedAt: string;
  plan?: { isCreate: boolean; steps: PlanStepLine[] };
  /** The last stack status the run reported. */
  status?: string;
  deployment?: string;
  ended?: { at: string; outcome?: string };
}

export type FeedMessage =
  | { kind: 'run'; run: LiveRun }
  | { kind: 'plan'; run: number; stack: string; isCreate: boolean; steps: PlanStepLine[] }
  | {
      kind: 'event';
      run: number;
      stack: string;
      event: { id: number; timestamp: string; logicalId: string; physicalId: string | null; type: string; status: string; reason: string | null; deployment: string | null };
    }
  | { kind: 'progress'; run: number; stack: string; logicalId: string; level: 'progress' | 'warning'; message: string }
  | { kind: 'notice'; run: number; stack: string; message: string }
  | { kind: 'end'; run: number; stack: string; status?: string; outcome?: string };

const MAX_LINE = 1 << 20;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * The server side: accepts feed connections on the socket of `stateDir` and turns each line into a
 * FeedMessage for `deliver`. Lines that are not what a kiln process sends are dropped (the page
 * shows only fields read here, never a line as it came).
 */
export async function listenFeed(
  stateDir: string,
  deliver: (m: FeedMessage, runs: ReadonlyMap<number, LiveRun>) => void,
): Promise<{ runs: ReadonlyMap<number, LiveRun>; close(): Promise<void>; path: string }> {
  const path = feedSocketPath(stateDir);
  if (existsSync(path)) {
    const alive = await new Promise<boolean>((resolve) => {
      const s = createConnection(path);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (alive) throw new KilnError('UI_RUNNING', `another \`kiln ui\` already serves the state in ${stateDir} (its socket ${path} answers); stop it first or use another --state-dir`, 'user');
    unlinkSync(path);
  }
  const runs = new Map<number, LiveRun>();
  const open = new Set<Socket>();
  let next = 1;
  const server: Server = createServer((sock) => {
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    let buf = '';
    let run: LiveRun | undefined;
    const end = (outcome?: string) => {
      if (!run || run.ended) return;
      run.ended = { at: new Date().toISOString(), ...(outcome ? { outcome } : {}) };
      deliver({ kind: 'end', run: run.id, stack: run.stack, ...(run.status ? { status: run.status } : {}), ...(outcome ? { outcome } : {}) }, runs);
      const done = run.id;
      // Keep an ended run a little for pages that load just after it.
      setTimeout(() => runs.delete(done), 60_000).unref();
    };
    const line = (text: string) => {
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return;
      }
      if (!m || typeof m !== 'object') return;
      if (m.kind === 'hello' && !run) {
        const stack = str(m.stack);
        if (!stack) return;
        run = { id: next++, stack, command: str(m.command) ?? 'deploy', pid: typeof m.pid === 'number' ? m.pid : 0, startedAt: new Date().toISOString() };
        runs.set(run.id, run);
        deliver({ kind: 'run', run }, runs);
        return;
      }
      if (!run || run.ended) return;
      if (m.kind === 'plan' && Array.isArray(m.steps)) {
        const steps: PlanStepLine[] = [];
        for (const s of m.steps as Array<Record<string, unknown>>) {
          const id = str(s?.id);
          const type = str(s?.type);
          const action = str(s?.action);
          if (!id || !type || !action) continue;
          const names = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);
          const because = names(s.because);
          const changed = names(s.changed);
          steps.push({ id, type, action, ...(because ? { because } : {}), ...(changed ? { changed } : {}) });
        }
        run.plan = { isCreate: m.isCreate === true, steps };
        deliver({ kind: 'plan', run: run.id, stack: run.stack, isCreate: run.plan.isCreate, steps }, runs);
        return;
      }
      if (m.kind === 'engine' && m.event && typeof m.event === 'object') {
        const e = m.event as Record<string, unknown>;
        if (e.kind === 'stack-event' && e.event && typeof e.event === 'object') {
          const ev = e.event as Record<string, unknown>;
          const logicalId = str(ev.logicalId);
          const status = str(ev.status);
          const type = str(ev.type);
          if (!logicalId || !status || !type) return;
          const event = {
            id: typeof ev.id === 'number' ? ev.id : 0,
            timestamp: str(ev.timestamp) ?? new Date().toISOString(),
            logicalId,
            physicalId: str(ev.physicalId) ?? null,
            type,
            status,
            reason: str(ev.reason) ?? null,
            deployment: str(ev.deployment) ?? null,
          };
          if (type === 'AWS::CloudFormation::Stack') run.status = status;
          if (event.deployment) run.deployment = event.deployment;
          deliver({ kind: 'event', run: run.id, stack: run.stack, event }, runs);
        } else if (e.kind === 'provider' && e.event && typeof e.event === 'object') {
          const pe = e.event as Record<string, unknown>;
          const logicalId = str(pe.logicalId);
          const message = str(pe.message);
          if (logicalId && message) deliver({ kind: 'progress', run: run.id, stack: run.stack, logicalId, level: pe.kind === 'warning' ? 'warning' : 'progress', message }, runs);
        } else if (e.kind === 'notice' && str(e.message)) deliver({ kind: 'notice', run: run.id, stack: run.stack, message: str(e.message)! }, runs);
        return;
      }
      if (m.kind === 'bye') end(str(m.outcome));
    };
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (l) line(l);
      }
      if (buf.length > MAX_LINE) sock.destroy();
    });
    sock.on('close', () => end());
    sock.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  return {
    runs,
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of open) s.destroy();
        try {
          unlinkSync(path);
        } catch {
          /* already gone */
        }
      }),
  };
}
