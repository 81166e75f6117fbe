/**
 * Is the stack's host really gone? A failover onto a standby while the host
 * still runs the stack would run it twice, so the host is tried several
 * times over a bounded time, each try a login of its own (no shared master
 * connection that could outlive the host). Any answer from its sshd counts,
 * a refused key too: something runs at that address.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostConfig } from '../config/schema.js';
import { describeError } from '../errors.js';
import { CommandTimeoutError, HostUnreachableError } from '../ssh/errors.js';
import { command } from '../ssh/quote.js';
import { DEFAULT_SSH_OPTIONS } from '../ssh/options.js';
import { SshTransport } from '../ssh/transport.js';

export interface PrimaryCheck {
  readonly answered: boolean;
  /** One line per try: when, and what it met. */
  readonly tries: readonly string[];
}

export interface PrimaryCheckOptions {
  readonly tries?: number;
  readonly intervalMs?: number;
  /** Each try's own bound, connection included. */
  readonly tryTimeoutMs?: number;
}

export const DEFAULT_PRIMARY_TRIES = 3;
export const DEFAULT_PRIMARY_INTERVAL_MS = 5_000;

/** Try the host until it answers or the tries are spent; at most tries × (timeout + interval). */
export async function checkPrimary(host: HostConfig, options: PrimaryCheckOptions = {}): Promise<PrimaryCheck> {
  const count = options.tries ?? DEFAULT_PRIMARY_TRIES;
  const tries: string[] = [];
  for (let attempt = 1; attempt <= count; attempt++) {
    if (attempt > 1) await sleep(options.intervalMs ?? DEFAULT_PRIMARY_INTERVAL_MS);
    const at = new Date().toISOString();
    const transport = new SshTransport(host, { ...DEFAULT_SSH_OPTIONS, multiplex: false, connectTimeoutSeconds: 5 });
    try {
      await transport.exec(command(['true']), { timeoutMs: options.tryTimeoutMs ?? 15_000 });
      tries.push(`${at}: ${host.id} answered`);
      return { answered: true, tries };
    } catch (error) {
      // A refused key or another host key is an answer too: only silence counts as gone.
      const unreachable = error instanceof HostUnreachableError || error instanceof CommandTimeoutError;
      tries.push(`${at}: ${unreachable ? 'no answer' : 'its sshd answered'}: ${describeError(error)}`);
      if (!unreachable) return { answered: true, tries };
    } finally {
      await transport.close().catch(() => {});
    }
  }
  return { answered: false, tries };
}
