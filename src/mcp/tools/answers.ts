/**
 * The shapes every tool's answer shares: one for anything asked of several
 * hosts (rows with their host_id, and the hosts that failed beside them),
 * one for a page of a list, and logs as lines.
 */
import type { ErrorKind } from '../../errors.js';
import type { HostRow } from '../../host/fan-out.js';

export interface HostError {
  readonly host_id: string;
  readonly kind: ErrorKind;
  readonly error: string;
}

export type WithHost<T> = { readonly host_id: string } & T;

/** Rows of lists (containers, stacks) from several hosts, as one list, each row naming its host. */
export function allHostsAnswer<T extends object>(rows: readonly HostRow<readonly T[]>[]): { items: WithHost<T>[]; host_errors: HostError[] } {
  return { items: rows.flatMap((row) => (row.ok ? row.value.map((item) => ({ host_id: row.hostId, ...item })) : [])), host_errors: hostErrors(rows) };
}

/** One result per host (a probe, a test), each naming its host. */
export function eachHostAnswer<T extends object>(rows: readonly HostRow<T>[]): { hosts: WithHost<T>[]; host_errors: HostError[] } {
  return { hosts: rows.flatMap((row) => (row.ok ? [{ ...row.value, host_id: row.hostId }] : [])), host_errors: hostErrors(rows) };
}

function hostErrors(rows: readonly HostRow<unknown>[]): HostError[] {
  return rows.flatMap((row) => (row.ok ? [] : [{ host_id: row.hostId, kind: row.error.kind, error: row.error.message }]));
}

export interface Paging {
  readonly limit: number;
  readonly offset: number;
}

/** One page of a list, with where it is in the whole (the Python tool's pagination). */
export function page<K extends string, T>(key: K, items: readonly T[], { limit, offset }: Paging) {
  const rows = items.slice(offset, offset + limit);
  return {
    [key]: rows,
    pagination: { total: items.length, limit, offset, returned: rows.length, has_next: offset + limit < items.length, has_prev: offset > 0 },
  } as { [P in K]: T[] } & { pagination: { total: number; limit: number; offset: number; returned: number; has_next: boolean; has_prev: boolean } };
}

/** Log text as its lines, oldest first (the Python tool answered a list). */
export function logLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  return lines.at(-1) === '' ? lines.slice(0, -1) : lines;
}
