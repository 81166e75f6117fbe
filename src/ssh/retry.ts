/**
 * Retry an idempotent remote step when the host could not be reached: a
 * dropped master connection or a restarting sshd should not leave a rollback
 * half done. Other failures are the step's own answer and are not retried.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { HostUnreachableError } from './errors.js';

export async function retryWhenUnreachable<T>(step: () => Promise<T>, options: { attempts?: number; delayMs?: number } = {}): Promise<T> {
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (!(error instanceof HostUnreachableError) || attempt >= attempts) throw error;
      await sleep((options.delayMs ?? 1000) * attempt);
    }
  }
}
