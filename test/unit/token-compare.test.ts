/**
 * The bearer token's compare. Its time must not tell a caller the token's
 * length: a timing measurement of nanoseconds would be a flaky test, so this
 * one watches the real `timingSafeEqual` (wrapped, not replaced) and checks
 * that every guess, of any length, reaches it with inputs of one length.
 */
import * as crypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof crypto>();
  return { ...real, timingSafeEqual: vi.fn(real.timingSafeEqual) };
});

const { refuseRequest } = await import('../../src/mcp/http-guard.js');

describe('the bearer token compare', () => {
  const token = 'unit-token-0123456789abcdef';
  const guard = { allowedHosts: ['127.0.0.1:1'], token };
  const status = (guess: string) => refuseRequest({ host: '127.0.0.1:1', authorization: `Bearer ${guess}` }, guard)?.status;

  it('compares inputs of one length whatever the guess, so a length difference does not end it early', () => {
    const compare = vi.mocked(crypto.timingSafeEqual);
    for (const guess of ['x', token.slice(0, -1), `${token}x`, 'y'.repeat(token.length), 'z'.repeat(4096)]) {
      compare.mockClear();
      expect(status(guess), guess).toBe(401);
      expect(compare, `a guess of ${guess.length} characters`).toHaveBeenCalledTimes(1);
      const [given, expected] = compare.mock.calls[0] as [Buffer, Buffer];
      expect(given.length).toBe(expected.length);
      expect(given.length).toBe(32);
    }
    expect(status(token)).toBeUndefined();
  });
});
