/**
 * A small runtime schema language for protocol params: each schema both validates untrusted JSON at
 * the socket boundary and gives the TypeScript type of what it accepts (`Infer<typeof schema>`).
 */
import { KgentError } from './errors.js';

export interface Schema<T> {
  readonly describe: string;
  /** Returns the value typed, or throws a `bad-request` KgentError naming the offending path. */
  parse(value: unknown, path?: string): T;
  readonly optional?: boolean;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

function fail(path: string, expected: string, value: unknown): never {
  const got = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  throw new KgentError('bad-request', `invalid params: ${path || 'params'} must be ${expected} (got ${got})`, { path, expected });
}

/** `shape` says in words what `pattern` accepts; error messages show it instead of the regex. */
export function str(opts: { min?: number; max?: number; pattern?: RegExp; shape?: string } = {}): Schema<string> {
  const describe = 'a string';
  return {
    describe,
    parse(v, path = '') {
      if (typeof v !== 'string') fail(path, describe, v);
      if (opts.min !== undefined && v.length < opts.min) fail(path, `a string of at least ${opts.min} characters`, v);
      if (opts.max !== undefined && v.length > opts.max) {
        throw new KgentError('bad-request', `invalid params: ${path} is longer than ${opts.max} characters`, { path });
      }
      if (opts.pattern && !opts.pattern.test(v)) fail(path, opts.shape ?? `a string matching ${opts.pattern}`, v);
      return v;
    },
  };
}

export function int(opts: { min?: number; max?: number } = {}): Schema<number> {
  const describe = 'an integer';
  return {
    describe,
    parse(v, path = '') {
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(path, describe, v);
      if (opts.min !== undefined && v < opts.min) fail(path, `an integer >= ${opts.min}`, v);
      if (opts.max !== undefined && v > opts.max) fail(path, `an integer <= ${opts.max}`, v);
      return v;
    },
  };
}

export function bool(): Schema<boolean> {
  return {
    describe: 'a boolean',
    parse(v, path = '') {
      if (typeof v !== 'boolean') fail(path, 'a boolean', v);
      return v;
    },
  };
}

export function literal<const T extends string>(...values: T[]): Schema<T> {
  const describe = `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`;
  return {
    describe,
    parse(v, path = '') {
      if (typeof v !== 'string' || !(values as string[]).includes(v)) fail(path, describe, v);
      return v as T;
    },
  };
}

export function optional<T>(inner: Schema<T>): Schema<T | undefined> {
  return {
    describe: `${inner.describe} (optional)`,
    optional: true,
    parse(v, path = '') {
      return v === undefined ? undefined : inner.parse(v, path);
    },
  };
}

export function arr<T>(inner: Schema<T>, opts: { max?: number } = {}): Schema<T[]> {
  const describe = `an array of ${inner.describe}`;
  return {
    describe,
    parse(v, path = '') {
      if (!Array.isArray(v)) fail(path, describe, v);
      if (opts.max !== undefined && v.length > opts.max) fail(path, `at most ${opts.max} items`, v);
      return v.map((x, i) => inner.parse(x, `${path}[${i}]`));
    },
  };
}

type ObjOut<S extends Record<string, Schema<unknown>>> = {
  [K in keyof S as undefined extends Infer<S[K]> ? never : K]: Infer<S[K]>;
} & { [K in keyof S as undefined extends Infer<S[K]> ? K : never]?: Infer<S[K]> };

/** An object with exactly these keys; unknown keys are rejected so typos do not pass silently. */
export function obj<S extends Record<string, Schema<unknown>>>(shape: S): Schema<ObjOut<S>> {
  return {
    describe: 'an object',
    parse(v, path = '') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'an object', v);
      const out: Record<string, unknown> = {};
      const rec = v as Record<string, unknown>;
      for (const key of Object.keys(rec)) {
        // Own keys only: `'__proto__' in shape` and `'constructor' in shape` are true by inheritance.
        if (!Object.hasOwn(shape, key)) {
          throw new KgentError('bad-request', `invalid params: unknown field ${path ? `${path}.` : ''}${key}`, { path, key });
        }
      }
      for (const [key, schema] of Object.entries(shape)) {
        const value = schema.parse(Object.hasOwn(rec, key) ? rec[key] : undefined, path ? `${path}.${key}` : key);
        if (value !== undefined) out[key] = value;
      }
      return out as ObjOut<S>;
    },
  };
}
