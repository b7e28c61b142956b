// The local Systems Manager Parameter Store: named values with versions, kept in kiln's state so that
// `AWS::SSM::Parameter::Value<…>` parameters, `{{resolve:ssm:…}}` references and `AWS::SSM::Parameter`
// resources work on the local target as on AWS. Behind a small interface (`ParameterStore`) with two
// implementations: SQLite (the table below, in the state file) and memory (tests, a store-less run).
//
// Table
//   ssm_parameters  one row per version of a parameter (AWS keeps the last 100; so does this)
//
// SecureString values are secrets: the table holds them encrypted (AES-256-GCM) with a key kept in
// `<state dir>/ssm.key` (mode 0600), so the state file alone does not reveal them, as KMS keeps them
// apart on AWS. Every SecureString also has a random salt: the deploy engine stands a salted hash in
// for the value wherever state records it.
//
// Names follow AWS's rules (PutParameter): letters, digits and `_.-/`; a hierarchy starts with `/`,
// at most 15 levels; not beginning with `aws` or `ssm` — except `/aws/service/…`, which kiln lets a
// user set to change its default mapping of the public parameters (docs/ssm.md).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KilnError } from '../core/errors.js';
import { ensureSchema, openState, stateDir, type Db } from './db.js';

export type SsmType = 'String' | 'StringList' | 'SecureString';
const SSM_TYPES: readonly SsmType[] = ['String', 'StringList', 'SecureString'];

export interface SsmParameter {
  name: string;
  type: SsmType;
  value: string;
  version: number;
  lastModified: string;
  description?: string;
  /** SecureString only: the salt of the hash that stands for the value in state. */
  salt?: string;
}

interface PutInput {
  name: string;
  value: string;
  type: SsmType;
  /** Replace an existing parameter (a new version); without it an existing name is an error. */
  overwrite?: boolean;
  description?: string;
}

export interface ParameterStore {
  /** The latest version, or the given one; undefined when absent. */
  get(name: string, version?: number): SsmParameter | undefined;
  /** Creates version 1, or (overwrite) the next version. Throws KilnError for a bad name or value. */
  put(input: PutInput): SsmParameter;
  /** Removes every version; false when there was none. */
  delete(name: string): boolean;
  /** Latest versions, sorted by name; with `path`, those under it (`/app` lists `/app/x`, `/app/y/z`). */
  list(path?: string): SsmParameter[];
}

const NAME = /^[a-zA-Z0-9_.\-/]+$/;
const MAX_NAME = 1011;
const MAX_VALUE = 4096;
const MAX_VERSIONS = 100;

/** Why a parameter name is not acceptable, or undefined. */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'a parameter name cannot be empty';
  if (name.length > MAX_NAME) return `a parameter name is at most ${MAX_NAME} characters`;
  if (!NAME.test(name)) return `'${name}' may hold only letters, digits and _ . - /`;
  if (name.includes('/') && !name.startsWith('/')) return `'${name}': a parameter hierarchy starts with /`;
  if (name.includes('//') || (name.length > 1 && name.endsWith('/'))) return `'${name}' has an empty level`;
  if (name.split('/').length - 1 > 15) return `'${name}' is more than 15 levels deep`;
  const bare = name.replace(/^\//, '').toLowerCase();
  if ((bare.startsWith('aws') || bare.startsWith('ssm')) && !name.startsWith('/aws/service/'))
    return `'${name}': names beginning with aws or ssm are reserved (only /aws/service/… may be set locally, to change kiln's mapping of the public parameters)`;
  return undefined;
}

function check(input: PutInput): void {
  const problem = nameProblem(input.name);
  if (problem) throw new KilnError('SSM_NAME', `ValidationException: ${problem}`, 'user', { exitCode: 2 });
  if (!SSM_TYPES.includes(input.type)) throw new KilnError('SSM_TYPE', `ValidationException: type must be String, StringList or SecureString, not '${String(input.type)}'`, 'user', { exitCode: 2 });
  if (input.value === '') throw new KilnError('SSM_VALUE', 'ValidationException: a parameter value cannot be empty', 'user', { exitCode: 2 });
  if (Buffer.byteLength(input.value, 'utf8') > MAX_VALUE) throw new KilnError('SSM_VALUE', `ValidationException: a parameter value is at most ${MAX_VALUE} bytes`, 'user', { exitCode: 2 });
}

function exists(name: string): KilnError {
  return new KilnError('SSM_EXISTS', `ParameterAlreadyExists: parameter ${name} already exists (--overwrite makes a new version)`, 'user');
}

const under = (path: string | undefined) => (name: string) => path === undefined || path === '/' || name === path || name.startsWith(path.endsWith('/') ? path : `${path}/`);

// ---------------------------------------------------------------------------------------------

export class MemoryParameterStore implements ParameterStore {
  private readonly versions = new Map<string, SsmParameter[]>();
  constructor(private readonly now: () => Date = () => new Date()) {}

  get(name: string, version?: number): SsmParameter | undefined {
    const all = this.versions.get(name);
    if (!all?.length) return undefined;
    return version === undefined ? all[all.length - 1] : all.find((p) => p.version === version);
  }

  put(input: PutInput): SsmParameter {
    check(input);
    const all = this.versions.get(input.name) ?? [];
    if (all.length && !input.overwrite) throw exists(input.name);
    const p: SsmParameter = {
      name: input.name,
      type: input.type,
      value: input.value,
      version: (all.at(-1)?.version ?? 0) + 1,
      lastModified: this.now().toISOString(),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.type === 'SecureString' ? { salt: randomBytes(16).toString('hex') } : {}),
    };
    this.versions.set(input.name, [...all, p].slice(-MAX_VERSIONS));
    return p;
  }

  delete(name: string): boolean {
    return this.versions.delete(name);
  }

  list(path?: string): SsmParameter[] {
    return [...this.versions.keys()]
      .filter(under(path))
      .sort()
      .map((n) => this.get(n)!);
  }
}

// ---------------------------------------------------------------------------------------------

const DDL = `
CREATE TABLE IF NOT EXISTS ssm_parameters (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  type TEXT NOT NULL,
  value TEXT NOT NULL,
  salt TEXT,
  description TEXT,
  modified_at TEXT NOT NULL,
  PRIMARY KEY (name, version)
);
`;

interface Row {
  name: string;
  version: number;
  type: SsmType;
  value: string;
  salt: string | null;
  description: string | null;
  modified_at: string;
}

export class SqliteParameterStore implements ParameterStore {
  private key: Buffer | undefined;
  private readonly keyFile: string;
  private readonly now: () => Date;

  constructor(
    private readonly db: Db,
    opts: { keyFile?: string; now?: () => Date } = {},
  ) {
    ensureSchema(db, 'ssm', DDL);
    this.keyFile = opts.keyFile ?? join(dirname(db.name), 'ssm.key');
    this.now = opts.now ?? (() => new Date());
  }

  /** The store in `dir` (default: `--state-dir`, $KILN_HOME, ~/.kiln). */
  static open(dir?: string): SqliteParameterStore {
    return new SqliteParameterStore(openState(stateDir(dir)));
  }

  private cipherKey(create: boolean): Buffer {
    if (this.key) return this.key;
    if (existsSync(this.keyFile)) {
      const k = Buffer.from(readFileSync(this.keyFile, 'utf8').trim(), 'base64');
      if (k.length !== 32) throw new KilnError('SSM_KEY', `${this.keyFile} is not a kiln parameter key (32 bytes, base64)`, 'environment');
      this.key = k;
      return k;
    }
    if (!create) throw new KilnError('SSM_KEY', `SecureString values cannot be read: the key file ${this.keyFile} is missing`, 'environment');
    try {
      writeFileSync(this.keyFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
      chmodSync(this.keyFile, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // another kiln made it first: use that one
    }
    return this.cipherKey(false);
  }

  private seal(value: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.cipherKey(true), iv);
    const body = Buffer.concat([c.update(value, 'utf8'), c.final()]);
    return `aes256gcm:${iv.toString('base64')}:${c.getAuthTag().toString('base64')}:${body.toString('base64')}`;
  }

  private open(sealed: string): string {
    const [scheme, iv, tag, body] = sealed.split(':');
    if (scheme !== 'aes256gcm' || !iv || !tag || body === undefined) throw new KilnError('SSM_KEY', 'a SecureString value in state is damaged', 'environment');
    const d = createDecipheriv('aes-256-gcm', this.cipherKey(false), Buffer.from(iv, 'base64'));
    d.setAuthTag(Buffer.from(tag, 'base64'));
    try {
      return Buffer.concat([d.update(Buffer.from(body, 'base64')), d.final()]).toString('utf8');
    } catch {
      throw new KilnError('SSM_KEY', `a SecureString value does not open with the key ${this.keyFile}`, 'environment');
    }
  }

  private fromRow(r: Row): SsmParameter {
    return {
      name: r.name,
      type: r.type,
      value: r.type === 'SecureString' ? this.open(r.value) : r.value,
      version: r.version,
      lastModified: r.modified_at,
      ...(r.description !== null ? { description: r.description } : {}),
      ...(r.salt !== null ? { salt: r.salt } : {}),
    };
  }

  get(name: string, version?: number): SsmParameter | undefined {
    const r =
      version === undefined
        ? (this.db.prepare('SELECT * FROM ssm_parameters WHERE name = ? ORDER BY version DESC LIMIT 1').get(name) as Row | undefined)
        : (this.db.prepare('SELECT * FROM ssm_parameters WHERE name = ? AND version = ?').get(name, version) as Row | undefined);
    return r ? this.fromRow(r) : undefined;
  }

  put(input: PutInput): SsmParameter {
    check(input);
    return this.db.transaction(() => {
      const last = this.db.prepare('SELECT MAX(version) AS v FROM ssm_parameters WHERE name = ?').get(input.name) as { v: number | null };
      if (last.v !== null && !input.overwrite) throw exists(input.name);
      const version = (last.v ?? 0) + 1;
      const secure = input.type === 'SecureString';
      const salt = secure ? randomBytes(16).toString('hex') : null;
      const at = this.now().toISOString();
      this.db
        .prepare('INSERT INTO ssm_parameters (name, version, type, value, salt, description, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(input.name, version, input.type, secure ? this.seal(input.value) : input.value, salt, input.description ?? null, at);
      this.db.prepare('DELETE FROM ssm_parameters WHERE name = ? AND version <= ?').run(input.name, version - MAX_VERSIONS);
      return {
        name: input.name,
        type: input.type,
        value: input.value,
        version,
        lastModified: at,
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(salt !== null ? { salt } : {}),
      };
    })();
  }

  delete(name: string): boolean {
    return this.db.prepare('DELETE FROM ssm_parameters WHERE name = ?').run(name).changes > 0;
  }

  list(path?: string): SsmParameter[] {
    const rows = this.db.prepare('SELECT p.* FROM ssm_parameters p WHERE p.version = (SELECT MAX(version) FROM ssm_parameters q WHERE q.name = p.name) ORDER BY p.name').all() as Row[];
    return rows.filter((r) => under(path)(r.name)).map((r) => this.fromRow(r));
  }
}
