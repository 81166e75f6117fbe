import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/config/schema.js';
import { allowedFile, allowedFileText, GATE_LOG_FILE, GATE_SCRIPT, gateCommand, gateDirectory, isGateDirectory } from '../../src/transfer/route-gate.js';
import {
  authorizedKeyLine,
  expiryTime,
  ROUTE_KEY_LIFETIME_MS,
  ROUTE_KEY_RENEW_EVERY_MS,
  routeKeyMarker,
  withExpiry,
  withoutRouteKey,
  withRouteKeyLine,
  type RouteKeyRecord,
} from '../../src/transfer/route-key.js';
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

describe('the line of a key with a gate', () => {
  const marker = routeKeyMarker('app-20261202T010000Z');
  const forced = gateCommand(gateDirectory('/root', 'app-20261202T010000Z'), marker);
  const at = new Date('2026-12-03T01:00:00Z');

  it('runs the gate, names the one address, and expires', () => {
    expect(forced).toBe('/bin/sh /root/.docker-mcp-gate.app-20261202T010000Z/gate docker-mcp-route:app-20261202T010000Z');
    expect(authorizedKeyLine(PUBLIC_KEY, marker, at, { command: forced, from: '10.0.2.2' })).toBe(
      `restrict,command="${forced}",from="10.0.2.2",expiry-time="202612030100Z" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBk0bxgtG2lJw8bYSTIkQXz2yXo6q1f3ZQ3q6o0JmS2u ${marker}`,
    );
  });

  it('lives an hour, renewed every 20 minutes, not a day', () => {
    expect(ROUTE_KEY_LIFETIME_MS).toBe(60 * 60 * 1000);
    expect(ROUTE_KEY_RENEW_EVERY_MS).toBeLessThan(ROUTE_KEY_LIFETIME_MS / 2);
    const line = authorizedKeyLine(PUBLIC_KEY, marker, at, { command: forced });
    expect(withExpiry(line, new Date('2026-12-03T02:20:00Z'))).toBe(line.replace('202612030100Z', '202612030220Z'));
  });

  it('is found by its key when the journal holds the narrowed or renewed line and the file the one before (or the other way round)', () => {
    const issued = record({ authorizedLine: authorizedKeyLine(PUBLIC_KEY, marker, at, { command: forced }) });
    const narrowed = record({ authorizedLine: authorizedKeyLine(PUBLIC_KEY, marker, at, { command: forced, from: '127.0.0.1' }) });
    const user = 'ssh-ed25519 AAAAuser me@laptop\n';
    expect(withoutRouteKey(`${user}${issued.authorizedLine}\n`, narrowed)).toBe(user);
    expect(withoutRouteKey(`${user}${narrowed.authorizedLine}\n`, issued)).toBe(user);
    expect(withRouteKeyLine(`${user}${issued.authorizedLine}\n`, narrowed, narrowed.authorizedLine)).toBe(`${user}${narrowed.authorizedLine}\n`);
    expect(withRouteKeyLine(user, narrowed, narrowed.authorizedLine)).toBeNull();
  });

  it('refuses a gate directory or command that would not stay one word between quotes', () => {
    expect(() => gateDirectory('/home/a b', 'x')).toThrow(/key's directory/);
    expect(() => gateDirectory('/root', 'x/../y')).toThrow();
    expect(isGateDirectory('/root/.docker-mcp-route.log')).toBe(false);
    expect(() => allowedFileText('zfs receive x\nid')).toThrow(/newline/);
  });
});

/**
 * The gate script itself, run by this machine's /bin/sh as sshd would run it
 * (no host is faked: the script is the one put on targets, the shell a real one).
 */
describe('the gate', () => {
  let dir: string;
  let home: string;
  const receive = "zfs receive -s -u 'tank/appdata/my app'";

  beforeAll(async () => {
    const base = await mkdtemp(path.join(os.tmpdir(), 'a-gate-'));
    home = path.join(base, 'home');
    dir = gateDirectory(home, 'app-1');
    await mkdir(path.join(dir, 'allowed'), { recursive: true });
    await writeFile(path.join(dir, 'gate'), GATE_SCRIPT);
    await writeFile(allowedFile(dir, receive), allowedFileText(receive));
    await writeFile(allowedFile(dir, 'echo allowed'), allowedFileText('echo allowed'));
  });

  afterAll(async () => {
    await rm(path.dirname(home), { recursive: true, force: true });
  });

  const run = (original: string | undefined) =>
    execa('sh', ['-c', gateCommand(dir, 'docker-mcp-route:app-1')], {
      reject: false,
      env: { PATH: process.env.PATH, HOME: home, SSH_CLIENT: '10.0.0.7 51000 22', ...(original === undefined ? {} : { SSH_ORIGINAL_COMMAND: original }) },
      extendEnv: false,
    });

  it('runs an allowed command, byte for byte, and notes the address it came from', async () => {
    const ran = await run('echo allowed');
    expect([ran.exitCode, ran.stdout]).toEqual([0, 'allowed']);
    expect(await readFile(path.join(dir, 'client'), 'utf8')).toBe('10.0.0.7\n');
  });

  it('refuses anything else, near misses too, and logs each refusal', async () => {
    for (const attempt of ['id', 'echo allowed; id', 'echo allowed\n', ' echo allowed', `${receive} && id`, 'echo  allowed']) {
      const refused = await run(attempt);
      expect(refused.exitCode, JSON.stringify(attempt)).toBe(126);
      expect(refused.stdout, JSON.stringify(attempt)).toBe('');
      expect(refused.stderr).toMatch(/docker-mcp-route: this key runs only the commands of migration docker-mcp-route:app-1; refused/);
    }
    const login = await run(undefined);
    expect(login.exitCode).toBe(126);
    // Where there is a syslog socket the refusals go there (the guests' test reads it); else to the login's home.
    if (existsSync('/dev/log')) return;
    const logged = await readFile(path.join(home, GATE_LOG_FILE), 'utf8');
    expect(logged).toMatch(/refused for docker-mcp-route:app-1 from 10\.0\.0\.7: id\n/);
    expect(logged).toMatch(/refused for docker-mcp-route:app-1 from 10\.0\.0\.7: \(a login shell\)\n/);
    expect(logged.split('\n').filter(Boolean)).toHaveLength(7);
  });
});
