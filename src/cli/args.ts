/** Argument helpers shared by the CLI commands: validation at the boundary, one readable error each. */

/** A user error: printed as one line, exit code 2 (bad usage) or 1 (bad input). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

/** Parse a non-negative integer option, naming the option when it is not one. */
export function intOption(name: string, value: string | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`--${name} must be a whole number ≥ 0, got "${value}"`);
  return Number(value);
}

/** Require a positional argument. */
export function required(value: string | undefined, what: string, usage: string): string {
  if (!value) throw new UsageError(`missing ${what}\nusage: ${usage}`);
  return value;
}

/** Parse a decimal option in lo…hi (hi exclusive when `hiOpen`), naming the option when it is not one. */
export function floatOption(name: string, value: string | boolean | undefined, fallback: number, lo: number, hi: number, hiOpen = false): number {
  if (value === undefined) return fallback;
  const s = String(value).trim();
  const v = /^\d+(\.\d+)?$|^\.\d+$/.test(s) ? Number(s) : Number.NaN;
  if (!(v >= lo && (hiOpen ? v < hi : v <= hi))) throw new UsageError(`--${name} must be a number in ${lo}…${hi}${hiOpen ? ' (exclusive)' : ''}, got "${s}"`);
  return v;
}

/** Parse a whole-number option in lo…hi. */
export function ranged(name: string, value: string | boolean | undefined, fallback: number | undefined, lo: number, hi: number): number | undefined {
  const v = intOption(name, value as string | undefined, fallback);
  if (v !== undefined && (v < lo || v > hi)) throw new UsageError(`--${name} must be ${lo}…${hi}, got ${v}`);
  return v;
}
