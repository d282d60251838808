/**
 * How a protocol message is declared: a method is a typed constant (its name, the schema its params
 * are validated against at the socket, and its result type); a notification is a typed constant
 * (its name and its params type). Server and client both take these constants, never bare strings.
 */
import type { Schema } from './validate.js';

export interface MethodSpec<P, R> {
  readonly method: string;
  readonly params: Schema<P>;
  /** Phantom: carries the result type for typed clients; always undefined at run time. */
  readonly result?: R;
}

/** A server -> client notification. */
export interface NotificationSpec<P> {
  readonly method: string;
  /** Phantom: carries the params type; always undefined at run time. */
  readonly params?: P;
}

/** `defineMethod<Result>()('name', paramsSchema)`: the result type is given, the params type inferred. */
export function defineMethod<R>() {
  return <P>(name: string, params: Schema<P>): MethodSpec<P, R> => ({ method: name, params });
}

export function defineNotification<P>(name: string): NotificationSpec<P> {
  return { method: name };
}
