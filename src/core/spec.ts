/**
 * A tiny declarative option spec: one record per option (type, default, range, meaning) drives the
 * TypeScript type, defaults, validation (every problem reported at once, never a silent fallback), CLI flags
 * and the generated docs/configuration.md. Pure, so the core can use it.
 */

export interface NumberOption {
  readonly kind: 'number';
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
  readonly unit?: string;
  readonly doc: string;
}

export interface BooleanOption {
  readonly kind: 'boolean';
  readonly default: boolean;
  readonly doc: string;
}

export interface StringOption {
  readonly kind: 'string';
  readonly default: string;
  /** Longest accepted value, in UTF-16 code units. */
  readonly lengthMax: number;
  readonly pattern?: RegExp;
  readonly patternHint?: string;
  readonly doc: string;
}

export interface StringListOption {
  readonly kind: 'string-list';
  readonly default: readonly string[];
  readonly countMax: number;
  readonly doc: string;
}

export type OptionSpec = NumberOption | BooleanOption | StringOption | StringListOption;

export type SpecRecord = Readonly<Record<string, OptionSpec>>;

type ValueOf<S extends OptionSpec> = S extends NumberOption
  ? number
  : S extends BooleanOption
    ? boolean
    : S extends StringOption
      ? string
      : readonly string[];

export type OptionsOf<R extends SpecRecord> = { readonly [K in keyof R]: ValueOf<R[K]> };

export interface OptionIssue {
  readonly path: string;
  readonly message: string;
}

export function defaultsOf<R extends SpecRecord>(specs: R): OptionsOf<R> {
  const result: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) result[name] = spec.default;
  return result as OptionsOf<R>;
}

function checkValue(path: string, spec: OptionSpec, value: unknown, issues: OptionIssue[]): void {
  switch (spec.kind) {
    case 'number': {
      if (typeof value !== 'number' || Number.isNaN(value)) {
        issues.push({ path, message: `must be a number, got ${describe(value)}` });
        return;
      }
      if (spec.integer && !Number.isInteger(value))
        issues.push({ path, message: `must be an integer, got ${value}` });
      if (value < spec.min || value > spec.max) {
        issues.push({ path, message: `must be between ${spec.min} and ${spec.max}, got ${value}` });
      }
      return;
    }
    case 'boolean':
      if (typeof value !== 'boolean')
        issues.push({ path, message: `must be true or false, got ${describe(value)}` });
      return;
    case 'string':
      if (typeof value !== 'string') {
        issues.push({ path, message: `must be a string, got ${describe(value)}` });
        return;
      }
      if (value.length > spec.lengthMax)
        issues.push({ path, message: `must be at most ${spec.lengthMax} characters` });
      if (spec.pattern !== undefined && !spec.pattern.test(value)) {
        issues.push({
          path,
          message: `${spec.patternHint ?? `must match ${spec.pattern}`}, got ${JSON.stringify(value)}`,
        });
      }
      return;
    case 'string-list':
      if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
        issues.push({ path, message: `must be a list of strings, got ${describe(value)}` });
        return;
      }
      if (value.length > spec.countMax)
        issues.push({ path, message: `must have at most ${spec.countMax} items` });
      return;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : String(value);
}

/**
 * Merges `input` over the defaults and validates every field. Unknown fields are reported too, so a typo
 * never silently leaves a default in place. `prefix` names the section in messages ("gossip.fanout").
 */
export function resolveOptions<R extends SpecRecord>(
  specs: R,
  input: Readonly<Record<string, unknown>>,
  prefix = '',
): { readonly options: OptionsOf<R>; readonly issues: readonly OptionIssue[] } {
  const issues: OptionIssue[] = [];
  const result: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    // Only a missing field takes the default: null or any other wrong value is reported, never replaced.
    const value = input[name] === undefined ? spec.default : input[name];
    checkValue(prefix + name, spec, value, issues);
    result[name] = value;
  }
  for (const name of Object.keys(input)) {
    if (!(name in specs) && input[name] !== undefined)
      issues.push({ path: prefix + name, message: 'is not a known option' });
  }
  // A copy by spread: an object filled key by key and then frozen can end up in V8's dictionary mode, and
  // the core reads its options in every step (a hash lookup each time instead of a fixed offset).
  return { options: Object.freeze({ ...result }) as OptionsOf<R>, issues };
}
