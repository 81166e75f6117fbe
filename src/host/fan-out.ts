/**
 * Run one operation on many hosts in parallel, bounded, so that one slow or
 * dead host does not hold the others back: its row says why it failed.
 */
import pLimit from 'p-limit';
import { DockerMcpError, describeError, type ErrorKind } from '../errors.js';

export type HostRow<T> =
  | { readonly hostId: string; readonly ok: true; readonly value: T }
  | { readonly hostId: string; readonly ok: false; readonly error: { readonly kind: ErrorKind; readonly message: string } };

export async function forEachHost<H extends { readonly id: string }, T>(
  hosts: readonly H[],
  operation: (host: H) => Promise<T>,
  concurrency = 8,
): Promise<HostRow<T>[]> {
  const limit = pLimit(concurrency);
  return Promise.all(
    hosts.map((host) =>
      limit(async (): Promise<HostRow<T>> => {
        try {
          return { hostId: host.id, ok: true, value: await operation(host) };
        } catch (error) {
          const kind = error instanceof DockerMcpError ? error.kind : 'failed';
          return { hostId: host.id, ok: false, error: { kind, message: describeError(error) } };
        }
      }),
    ),
  );
}
