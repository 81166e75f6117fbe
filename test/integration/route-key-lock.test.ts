/**
 * Migrations' own keys issued and revoked at the same time on one
 * authorized_keys file. alpha and beta are two hosts to this process (each
 * its own in-process queue) but their logins share one home, as two
 * controllers share one target: only the lock on the target keeps one
 * migration's rewrite from dropping or bringing back another's line.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { authorizedKeysLock, issueRouteKey, revokeRouteKey, routeKeyMarker, type RouteKey } from '../../src/transfer/route-key.js';
import { testbedHost } from './testbed.js';

const prefix = `rkl-p${process.pid}`;
const hosts = {} as Record<'alpha' | 'beta' | 'gamma', DockerHost>;
const ROUNDS = 4;

async function authorizedKeys(): Promise<{ file: string; text: string | null }> {
  const home = (await hosts.alpha.transport.exec(command(['sh', '-c', 'getent passwd "$1" | cut -d: -f6', 'sh', hosts.alpha.host.user]))).stdout.trim();
  const file = path.posix.join(home, '.ssh', 'authorized_keys');
  const text = await readFile(file, 'utf8').catch(() => null);
  return { file, text };
}

beforeAll(async () => {
  for (const id of ['alpha', 'beta', 'gamma'] as const) {
    const host = await testbedHost(id);
    hosts[id] = { host, transport: new SshTransport(host) };
  }
  const { text } = await authorizedKeys();
  // The two targets must really share the file, or this test proves nothing.
  expect(hosts.alpha.host.user).toBe(hosts.beta.host.user);
  expect(text ?? '').not.toMatch(new RegExp(prefix));
});

afterAll(async () => {
  for (const host of Object.values(hosts)) await host.transport.close();
});

describe("a migration's own key beside other migrations' keys", () => {
  it('issued and revoked at the same time on one file: every line is in place while its migration runs, and the file ends as it was', async () => {
    const before = await authorizedKeys();
    for (let round = 0; round < ROUNDS; round++) {
      const targets = [hosts.alpha, hosts.beta, hosts.alpha, hosts.beta];
      const issued: { target: DockerHost; key: RouteKey }[] = [];
      try {
        await Promise.all(
          targets.map(async (target, i) => {
            const outcome = await issueRouteKey(`${prefix}-r${round}-${i}`, hosts.gamma, target, async () => {});
            if (!outcome.issued) throw new Error(outcome.reason);
            issued.push({ target, key: outcome.key });
          }),
        );
        const during = (await authorizedKeys()).text ?? '';
        for (const { key } of issued) expect(during.split('\n')).toContain(key.record.authorizedLine);
      } finally {
        await Promise.all(issued.map(({ target, key }) => revokeRouteKey(key.record, hosts.gamma, target)));
      }
      const after = await authorizedKeys();
      expect(after.text, `round ${round}`).toBe(before.text);
      expect(after.text ?? '').not.toContain(routeKeyMarker(`${prefix}-r${round}`));
    }
    const lock = await hosts.alpha.transport.exec(command(['test', '-e', authorizedKeysLock(before.file)]), { okExitCodes: [0, 1] });
    expect(lock.exitCode, 'the lock is gone').toBe(1);
  }, 180_000);
});
