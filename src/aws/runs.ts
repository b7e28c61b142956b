// Runs in progress on this machine: one small file per run that creates AWS objects, holding its
// process id. `kiln gc --target aws` leaves the objects of a live run alone and sweeps the rest.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RunRecord {
  run: string;
  pid: number;
  started: string;
  region: string;
  build: string;
}

function dir(stateDir: string): string {
  return join(stateDir, 'aws-runs');
}

/** Records a run; the returned function removes the record (call it when the run ends). */
export function registerRun(stateDir: string, r: RunRecord): () => void {
  mkdirSync(dir(stateDir), { recursive: true });
  const file = join(dir(stateDir), `${r.run}.json`);
  writeFileSync(file, JSON.stringify(r) + '\n');
  return () => rmSync(file, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Ids of runs whose process is still alive; records of dead processes are removed. */
export function liveRuns(stateDir: string): Set<string> {
  const out = new Set<string>();
  let names: string[] = [];
  try {
    names = readdirSync(dir(stateDir));
  } catch {
    return out;
  }
  for (const n of names) {
    if (!n.endsWith('.json')) continue;
    try {
      const r = JSON.parse(readFileSync(join(dir(stateDir), n), 'utf8')) as RunRecord;
      if (alive(r.pid)) out.add(r.run);
      else rmSync(join(dir(stateDir), n), { force: true });
    } catch {
      /* a half-written record: its run is starting, or gone */
    }
  }
  return out;
}
