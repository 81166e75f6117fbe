import { describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/config/schema.js';
import { authorizedKeyLine, expiryTime, routeKeyMarker, withoutRouteKey, type RouteKeyRecord } from '../../src/transfer/route-key.js';
import { compareIdentities, parseTargetIdentity, targetIdentityCommand } from '../../src/transfer/source-to-target-ssh.js';

const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBk0bxgtG2lJw8bYSTIkQXz2yXo6q1f3ZQ3q6o0JmS2u docker-mcp-route:x\n';

function record(overrides: Partial<RouteKeyRecord> = {}): RouteKeyRecord {
  const marker = routeKeyMarker('app-20261202T010000Z');
  return {
    marker,
    authorizedLine: authorizedKeyLine(PUBLIC_KEY, marker, new Date('2026-12-03T01:00:00Z')),
    authorizedKeysFile: '/root/.ssh/authorized_keys',
    createdFile: false,
    createdDirectory: false,
    addedNewline: false,
    sourceDirectory: '/tmp/docker-mcp-route.AbCdEfGhIj',
    ...overrides,
  };
}

describe('the authorized_keys line of a migration', () => {
  it('is restricted, expires (UTC) and names the migration', () => {
    expect(expiryTime(new Date('2026-12-03T01:02:59Z'))).toBe('202612030102Z');
    expect(record().authorizedLine).toBe(
      'restrict,expiry-time="202612030100Z" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBk0bxgtG2lJw8bYSTIkQXz2yXo6q1f3ZQ3q6o0JmS2u docker-mcp-route:app-20261202T010000Z',
    );
  });

  it('comes out again leaving the file byte for byte as it was', () => {
    const line = record().authorizedLine;
    const user = 'ssh-ed25519 AAAAuser me@laptop\n# a comment\n';
    expect(withoutRouteKey(`${user}${line}\n`, record())).toBe(user);
    // The user's file had no final newline: the one added before the line goes too.
    expect(withoutRouteKey(`ssh-ed25519 AAAAuser me@laptop\n${line}\n`, record({ addedNewline: true }))).toBe('ssh-ed25519 AAAAuser me@laptop');
    // Lines the user added meanwhile stay.
    expect(withoutRouteKey(`${user}${line}\nssh-rsa AAAAnew later\n`, record())).toBe(`${user}ssh-rsa AAAAnew later\n`);
  });

  it('takes away only its own exact line, not another migration\'s or a look-alike', () => {
    const other = authorizedKeyLine(PUBLIC_KEY, routeKeyMarker('other-20261202T010000Z'), new Date('2026-12-03T01:00:00Z'));
    const text = `${other}\n${record().authorizedLine} extra\n`;
    expect(withoutRouteKey(text, record())).toBe(text);
  });
});

describe('proof that the direct route reaches the target', () => {
  const target = { id: 'delta', hostname: 'delta.vm', zfs_capable: true, zfs_dataset: 'tank/appdata' } as HostConfig;
  const expected = { machineId: 'aaa', poolGuid: '123' };

  it('reads machine id and pool guid from the identity command output, among other output', () => {
    const output = 'Warning: Permanently added\nroute-proof machine-id aaa\nroute-proof pool-guid 123\nroute-check-exit=0\n';
    expect(parseTargetIdentity(output)).toEqual(expected);
    expect(parseTargetIdentity('route-proof machine-id \n')).toEqual({ machineId: '', poolGuid: null });
  });

  it('asks for the guid of the pool that holds zfs_dataset, and none on a host without ZFS', () => {
    expect(targetIdentityCommand(target).text).toMatch(/ route-proof tank$/);
    expect(targetIdentityCommand({ ...target, zfs_capable: false }).text).toMatch(/ route-proof ''$/);
  });

  it('passes only when both match, and names what differs', () => {
    expect(compareIdentities(expected, expected, 'epsilon', target)).toEqual({ reaches: true });
    expect(compareIdentities({ machineId: 'aaa', poolGuid: '999' }, expected, 'epsilon', target)).toEqual({
      reaches: false,
      reason: 'from epsilon, delta.vm is another machine than delta (pool guid 999, not 123), though its host key matched: a clone?',
    });
    expect(compareIdentities({ machineId: 'bbb', poolGuid: '123' }, expected, 'epsilon', target).reaches).toBe(false);
  });
});
