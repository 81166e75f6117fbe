import { describe, expect, it } from 'vitest';
import { CommandFailedError, HostUnreachableError } from '../../src/ssh/errors.js';
import { retryWhenUnreachable } from '../../src/ssh/retry.js';

describe('retrying an idempotent step when the host could not be reached', () => {
  it('retries after an unreachable host and returns the later answer', async () => {
    let calls = 0;
    const answer = await retryWhenUnreachable(async () => {
      calls += 1;
      if (calls < 3) throw new HostUnreachableError('beta', 'Connection refused');
      return 'up';
    }, { delayMs: 1 });
    expect([answer, calls]).toEqual(['up', 3]);
  });

  it('gives up after the last attempt, and never retries the command\'s own failure', async () => {
    let calls = 0;
    await expect(retryWhenUnreachable(async () => {
      calls += 1;
      throw new HostUnreachableError('beta', 'Connection refused');
    }, { attempts: 2, delayMs: 1 })).rejects.toBeInstanceOf(HostUnreachableError);
    expect(calls).toBe(2);

    calls = 0;
    await expect(retryWhenUnreachable(async () => {
      calls += 1;
      throw new CommandFailedError('beta', 'docker-compose up', 1, 'no such image');
    }, { delayMs: 1 })).rejects.toBeInstanceOf(CommandFailedError);
    expect(calls).toBe(1);
  });
});
