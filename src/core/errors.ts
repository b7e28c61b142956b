// Runtime failures (not template mistakes): thrown as KilnError with a code and who is at fault.

type ErrorSource = 'user' | 'internal' | 'environment';

const BRAND = Symbol.for('kiln.KilnError');

export class KilnError extends Error {
  readonly [BRAND] = true;
  constructor(
    readonly code: string,
    message: string,
    readonly source: ErrorSource = 'user',
    options?: { cause?: unknown; exitCode?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KilnError';
    this.exitCode = options?.exitCode ?? 1;
  }
  readonly exitCode: number;

  static is(e: unknown): e is KilnError {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
  }
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
