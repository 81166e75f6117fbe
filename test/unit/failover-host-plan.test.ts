/**
 * The plan of a whole host's failover is made from this controller's files
 * alone (the host is gone): standby.yml, and the stacks last seen there.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { describeHostFailoverPlan, planHostFailover } from '../../src/failover/failover-host.js';
import { InvalidInputError } from '../../src/errors.js';
import { readSeenStacks, recordDeployedStack, recordListedStacks, recordMovedStack } from '../../src/standby/seen-stacks.js';

const HOSTS = `hosts:
  alpha:
    hostname: 127.0.0.11
    user: root
  beta:
    hostname: 127.0.0.12
    user: root
  gamma:
    hostname: 127.0.0.13
    user: root
`;

const STANDBYS = `standbys:
  alpha/notes:
    to: beta
    every: 15m
    keep: 4
  alpha/wiki:
    to: gamma
    every: 15m
    keep: 4
  alpha/old:
    to: beta
    every: 15m
    keep: 4
    failed_over:
      at: 2026-12-01T10:00:00.000Z
      snapshot: docker-mcp-standby-20261201T095500Z
      snapshot_at: 2026-12-01T09:55:00.000Z
      running_at: 2026-12-01T10:01:00.000Z
  alpha/cut:
    to: beta
    failed_over:
      at: 2026-12-01T11:00:00.000Z
      snapshot: docker-mcp-standby-20261201T105500Z
      snapshot_at: 2026-12-01T10:55:00.000Z
  gamma/shop:
    to: alpha
    every: 15m
    keep: 4
`;

function setUp(): { hostsFile: string; state: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-fohost-'));
  writeFileSync(path.join(dir, 'hosts.yml'), HOSTS);
  writeFileSync(path.join(dir, 'standby.yml'), STANDBYS);
  return { hostsFile: path.join(dir, 'hosts.yml'), state: path.join(dir, 'state') };
}

describe('planHostFailover', () => {
  it('fails over the declared stacks, names those seen without a standby as lost, and the copies the host kept for others', async () => {
    const { hostsFile, state } = setUp();
    await recordListedStacks('alpha', ['notes', 'wiki', 'old', 'cache', 'blog'], state);
    const plan = await planHostFailover(await loadConfig(hostsFile), 'alpha', state);
    // cut: its failover was cut off before it ran (no running_at): this one finishes it.
    expect(plan.stacks).toEqual([
      { stack: 'notes', to: 'beta' },
      { stack: 'wiki', to: 'gamma' },
      { stack: 'cut', to: 'beta' },
    ]);
    expect(plan.alreadyFailedOver).toEqual([{ stack: 'old', to: 'beta', at: '2026-12-01T10:00:00.000Z' }]);
    expect(plan.lost.map((s) => s.stack)).toEqual(['blog', 'cache']);
    expect(plan.standbysLost).toEqual([{ host: 'gamma', stack: 'shop' }]);
    expect(plan.listedAt).not.toBeNull();
    const lines = describeHostFailoverPlan(plan);
    expect(lines).toContain('cache has no standby: down until alpha returns');
    expect(lines.some((l) => l.startsWith('notes starts on beta'))).toBe(true);
  });

  it('says when the host was never listed: the lost stacks may be incomplete', async () => {
    const { hostsFile, state } = setUp();
    const plan = await planHostFailover(await loadConfig(hostsFile), 'alpha', state);
    expect(plan.lost).toEqual([]);
    expect(plan.listedAt).toBeNull();
    expect(describeHostFailoverPlan(plan).at(-1)).toContain('never listed here');
  });

  it('refuses a host hosts.yml does not have', async () => {
    const { hostsFile, state } = setUp();
    await expect(planHostFailover(await loadConfig(hostsFile), 'delta', state)).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe('seen stacks', () => {
  it('a listing replaces the host list; a migration moves one stack between lists', async () => {
    const { state } = setUp();
    await recordListedStacks('alpha', ['a', 'b'], state);
    await recordListedStacks('alpha', ['b', 'c'], state);
    expect(Object.keys((await readSeenStacks('alpha', state)).stacks)).toEqual(['b', 'c']);
    await Promise.all([recordMovedStack('alpha', 'beta', 'b', state), recordMovedStack('alpha', 'beta', 'c', state)]);
    expect(Object.keys((await readSeenStacks('alpha', state)).stacks)).toEqual([]);
    const beta = await readSeenStacks('beta', state);
    expect(Object.keys(beta.stacks).sort()).toEqual(['b', 'c']);
    expect(beta.listedAt).toBeNull();
  });

  it('a deploy adds its stack to the host list and keeps the others', async () => {
    const { state } = setUp();
    await recordListedStacks('alpha', ['a'], state);
    await recordDeployedStack('alpha', 'fresh', state);
    const alpha = await readSeenStacks('alpha', state);
    expect(Object.keys(alpha.stacks).sort()).toEqual(['a', 'fresh']);
    expect(alpha.listedAt).not.toBeNull();
  });
});
