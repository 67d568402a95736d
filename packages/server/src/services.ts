/**
 * A typed name for a service one plugin provides and others use.
 * @example
 * export const PgPool = serviceKey<Pool>('postgres.pool');
 * // provider: scope.provide(PgPool, pool)   consumer: scope.service(PgPool)
 */
export interface ServiceKey<T> {
  readonly id: string;
  /** Carries the type only; never set. */
  readonly __type?: T;
}

export function serviceKey<T>(id: string): ServiceKey<T> {
  return Object.freeze({ id });
}
