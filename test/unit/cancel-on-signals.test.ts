import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { cancelMigrationOnSignals } from '../../src/cli/cancel-on-signals.js';

/** The signals come from an emitter here: emitting SIGINT on the test runner's own process would reach its handlers too. */
function setUp() {
  const signals = new EventEmitter();
  const said: string[] = [];
  const exits: number[] = [];
  const cancel = cancelMigrationOnSignals(signals, (text) => said.push(text), (code) => exits.push(code));
  return { signals, said, exits, cancel };
}

describe('SIGINT and SIGTERM during docker-mcp migrate', () => {
  it('the first cancels the migration (as the MCP cancel does) and does not exit', () => {
    const { signals, said, exits, cancel } = setUp();
    cancel.named('app-20261206T070000Z');
    signals.emit('SIGINT', 'SIGINT');
    expect(cancel.signal.aborted).toBe(true);
    expect(exits).toEqual([]);
    expect(said.join('')).toMatch(/SIGINT: cancelling migration app-20261206T070000Z: ending its transfers, rolling back, taking its key away/);
  });

  it('a second exits at once, saying what is left and that --resume finishes it', () => {
    const { signals, said, exits, cancel } = setUp();
    cancel.named('app-20261206T070000Z');
    cancel.watching()({ type: 'migration-phase', phase: 'seed', message: 'seeding' });
    signals.emit('SIGTERM', 'SIGTERM');
    signals.emit('SIGINT', 'SIGINT');
    expect(exits).toEqual([130]);
    expect(said[1]).toMatch(/SIGINT again: stopped at once in the seed phase\. Migration app-20261206T070000Z is left as it was: .*its key on the target .*"docker-mcp migrate --resume app-20261206T070000Z" finishes it/);
  });

  it('listens no more once the migration ended', () => {
    const { signals, cancel } = setUp();
    cancel.dispose();
    expect(signals.listenerCount('SIGINT') + signals.listenerCount('SIGTERM')).toBe(0);
  });
});
