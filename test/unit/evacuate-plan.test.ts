/** Where an evacuation sends each stack, from what the checks of each candidate found: pure, no host. */
import { describe, expect, it } from 'vitest';
import { planEvacuation, type CandidateCheck, type StackChecks } from '../../src/migration/evacuate-plan.js';

const MB = 1024 * 1024;
const fits = (host: string, over: Partial<CandidateCheck> = {}): CandidateCheck => ({
  host,
  refused: null,
  method: host === 'gamma' ? 'rsync' : 'zfs',
  dataBytes: MB,
  freeBytes: 100 * MB,
  standby: false,
  ...over,
});
const stack = (name: string, candidates: CandidateCheck[], ports: string[] = []): StackChecks => ({ stack: name, unmovable: null, ports, candidates });

describe('planEvacuation', () => {
  it('sends a stack from a ZFS host to a ZFS candidate before one with more room without ZFS', () => {
    const plan = planEvacuation('alpha', ['beta', 'gamma'], true, [stack('web', [fits('gamma', { freeBytes: 900 * MB }), fits('beta')])]);
    expect(plan.moves).toMatchObject([{ stack: 'web', to: 'beta', method: 'zfs', passedOver: [] }]);
    expect(plan.leftBehind).toEqual([]);
  });

  it('falls back to rsync where the ZFS candidate refuses, saying why it was passed over', () => {
    const plan = planEvacuation('alpha', ['beta', 'gamma'], true, [stack('web', [fits('beta', { refused: 'beta already has a stack "web"' }), fits('gamma')])]);
    expect(plan.moves).toMatchObject([{ to: 'gamma', method: 'rsync', passedOver: [{ host: 'beta', reason: 'beta already has a stack "web"' }] }]);
    expect(plan.moves[0]?.why).toContain('rsync');
  });

  it('prefers the standby over every other candidate', () => {
    const plan = planEvacuation('alpha', ['beta', 'gamma'], true, [stack('db', [fits('beta'), fits('gamma', { standby: true })])]);
    expect(plan.moves).toMatchObject([{ stack: 'db', to: 'gamma', standby: true }]);
    expect(plan.moves[0]?.why).toContain('only what changed since the last pass');
  });

  it('leaves a stack behind that fits nowhere, with each candidate\'s reason, and moves the others', () => {
    const plan = planEvacuation('alpha', ['beta', 'gamma'], true, [
      stack('small', [fits('beta'), fits('gamma')]),
      stack('big', [fits('beta', { refused: 'beta has 2 bytes free' }), fits('gamma', { refused: 'gamma has 3 bytes free' })]),
    ]);
    expect(plan.moves.map((m) => m.stack)).toEqual(['small']);
    expect(plan.leftBehind).toEqual([
      { stack: 'big', reasons: [{ host: 'beta', reason: 'beta has 2 bytes free' }, { host: 'gamma', reason: 'gamma has 3 bytes free' }] },
    ]);
  });

  it('counts the room the stacks placed before use up, placing the largest first', () => {
    const plan = planEvacuation('alpha', ['beta'], true, [
      stack('a', [fits('beta', { dataBytes: 4 * MB, freeBytes: 10 * MB })]),
      stack('b', [fits('beta', { dataBytes: 5 * MB, freeBytes: 10 * MB })]),
      stack('c', [fits('beta', { dataBytes: 3 * MB, freeBytes: 10 * MB })]),
    ]);
    expect(plan.moves.map((m) => m.stack)).toEqual(['a', 'b']);
    expect(plan.leftBehind[0]?.stack).toBe('c');
    expect(plan.leftBehind[0]?.reasons[0]?.reason).toMatch(/has 1048576 bytes free once a, b move there/);
  });

  it('never sends two stacks publishing one port to the same host', () => {
    const plan = planEvacuation('alpha', ['beta', 'gamma'], true, [
      stack('one', [fits('beta'), fits('gamma')], ['8080/tcp']),
      stack('two', [fits('beta'), fits('gamma')], ['8080/tcp']),
    ]);
    expect(new Set(plan.moves.map((m) => m.to))).toEqual(new Set(['beta', 'gamma']));
    expect(plan.moves.find((m) => m.to === 'gamma')?.passedOver[0]?.reason).toContain('8080/tcp');
  });

  it('names a stack it cannot move wherever it would go once, and lists the stacks it leaves alone', () => {
    const plan = planEvacuation(
      'alpha',
      ['beta'],
      false,
      [{ stack: 'stray', unmovable: 'it runs here but not from a folder under compose_path', ports: [], candidates: [] }],
      [{ stack: 'stopped', reason: 'nothing of it runs here' }],
    );
    expect(plan.leftBehind).toEqual([{ stack: 'stray', reasons: [{ host: null, reason: 'it runs here but not from a folder under compose_path' }] }]);
    expect(plan.skipped).toEqual([{ stack: 'stopped', reason: 'nothing of it runs here' }]);
    expect(plan.moves).toEqual([]);
  });
});

describe('planEvacuation, the reasons of a stack left behind', () => {
  it('come in the order the candidates are preferred in: ZFS first from a ZFS source', () => {
    const plan = planEvacuation('alpha', ['beta', 'gamma'], true, [
      stack('big', [fits('gamma', { refused: 'gamma is full' }), fits('beta', { refused: 'beta is full' })]),
    ]);
    expect(plan.leftBehind[0]?.reasons.map((r) => r.host)).toEqual(['beta', 'gamma']);
  });
});
