import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HostConfig } from '../../src/config/schema.js';
import { NO_ZFS_FEATURES, parseZfsUsage, type ZfsSendFeatures } from '../../src/host/zfs-features.js';
import { andThen, asRoot, command, sequence } from '../../src/ssh/quote.js';
import { guestEnvironment } from '../../src/testbed/guests/guest-config.js';
import { guestSpec } from '../../src/testbed/guests/guest-layout.js';
import { qemuArguments } from '../../src/testbed/guests/guest-vm.js';
import { mainArchive, sourceUris } from '../../src/testbed/guests/debian-mirror.js';
import { addGuestNames, removeGuestNames, withGuestBlock, withoutGuestBlock } from '../../src/testbed/guests/etc-hosts.js';
import { buildManifest, compareManifests, showsWholeSecondsOnly, type Manifest } from '../../src/transfer/manifest.js';
import { rsyncArguments } from '../../src/transfer/rsync-transfer.js';
import {
  onTargetFromSource,
  parseRouteCheck,
  rsyncPathOnTarget,
  sshArgvFromSource,
  targetAddressFromSource,
} from '../../src/transfer/source-to-target-ssh.js';
import { zfsCommands } from '../../src/zfs/commands.js';
import { CARRIED_PROPERTIES, isCarriedProperty, NEVER_CARRIED_PROPERTIES, parsePropertySources, propertiesToSet, userSetProperties } from '../../src/zfs/dataset-properties.js';
import { sendFlags } from '../../src/zfs/send-flags.js';

const OPENZFS = parseZfsUsage(readFileSync(new URL('../fixtures/openzfs-2.1-zfs-usage.txt', import.meta.url), 'utf8'));
const ZFS_FUSE = NO_ZFS_FEATURES;

const host = (fields: Partial<HostConfig>): HostConfig =>
  ({ id: 'h', hostname: 'h', user: 'root', port: 22, description: '', tags: [], zfs_capable: false, enabled: true, sudo: false, ...fields }) as HostConfig;

const delta = host({ id: 'delta', hostname: 'delta.vm', user: 'root' });
const epsilon = host({ id: 'epsilon', hostname: 'epsilon.vm', user: 'deploy', sudo: true });

let scratch: string;
/** `ssh` and `sudo` that print their arguments, NUL-separated, and do nothing else. */
let recordingBin: string;
/** A `sudo` that insists on `-n --` and runs the rest, as passwordless sudo would. */
let passThroughBin: string;

function executable(dir: string, name: string, script: string): void {
  writeFileSync(path.join(dir, name), script, { mode: 0o755 });
}

beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'openzfs-logic-'));
  recordingBin = path.join(scratch, 'recording');
  passThroughBin = path.join(scratch, 'pass-through');
  execFileSync('mkdir', ['-p', recordingBin, passThroughBin]);
  for (const name of ['ssh', 'sudo']) executable(recordingBin, name, "#!/bin/sh\nprintf '%s\\0' \"$@\"\n");
  executable(passThroughBin, 'sudo', '#!/bin/sh\n[ "$1" = -n ] && [ "$2" = -- ] || exit 99\nshift 2\nexec "$@"\n');
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** Run shell text with `bin` first on PATH; stdout as text. */
function runWith(bin: string, text: string): string {
  return execFileSync('sh', ['-c', text], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` } });
}

/** The argument list a program named in `text` receives, as a shell parses it. */
function argvReceived(text: string): string[] {
  const parts = runWith(recordingBin, text).split('\0');
  parts.pop();
  return parts;
}

/** How a shell splits a string of words (the way rsync splits `-e`). */
function wordsOf(shellWords: string): string[] {
  const parts = execFileSync('sh', ['-c', `printf '%s\\0' ${shellWords}`], { encoding: 'utf8' }).split('\0');
  parts.pop();
  return parts;
}

describe('sendFlags', () => {
  const only = (feature: keyof ZfsSendFeatures): ZfsSendFeatures => ({ ...ZFS_FUSE, [feature]: true });

  it('sends -L -e -c between two OpenZFS hosts', () => {
    expect(sendFlags(OPENZFS, OPENZFS)).toEqual(['-L', '-e', '-c']);
  });

  it('sends a plain stream when either side is zfs-fuse', () => {
    expect(sendFlags(OPENZFS, ZFS_FUSE)).toEqual([]);
    expect(sendFlags(ZFS_FUSE, OPENZFS)).toEqual([]);
    expect(sendFlags(ZFS_FUSE, ZFS_FUSE)).toEqual([]);
  });

  it('uses -L only when both hosts know large blocks', () => {
    expect(sendFlags(only('largeBlocks'), OPENZFS)).toEqual(['-L']);
    expect(sendFlags(OPENZFS, only('largeBlocks'))).toEqual(['-L']);
    expect(sendFlags(only('largeBlocks'), only('embeddedData'))).toEqual([]);
  });

  it('uses -e and -c each only when both hosts know it', () => {
    expect(sendFlags(only('embeddedData'), OPENZFS)).toEqual(['-e']);
    expect(sendFlags(OPENZFS, only('compressedSend'))).toEqual(['-c']);
    expect(sendFlags(only('compressedSend'), only('embeddedData'))).toEqual([]);
  });

  it('ignores features that are no send flag (resume tokens, raw send, estimates)', () => {
    const noFlagFeatures = { ...ZFS_FUSE, resumeTokens: true, rawSend: true, sizeEstimate: true, bookmarks: true };
    expect(sendFlags(noFlagFeatures, noFlagFeatures)).toEqual([]);
  });
});

describe('dataset properties carried to the target', () => {
  const sourceListing = [
    'type\tfilesystem\t-',
    'recordsize\t1048576\tlocal',
    'compression\tlz4\tinherited from tank',
    'atime\toff\treceived',
    'quota\t0\tdefault',
    'mountpoint\t/mnt/appdata/app\tlocal',
    'docker-mcp:managed\tyes\tlocal',
    'docker-mcp:moved-from\talpha\treceived',
    'org.example:backup\tdaily\tlocal',
    'org.example:owner\tops team\tinherited from tank/appdata',
    '',
  ].join('\n');

  it('reads property, value and source, sources with spaces included', () => {
    const properties = parsePropertySources(sourceListing);
    expect(properties.get('compression')).toEqual({ value: 'lz4', source: 'inherited from tank' });
    expect(properties.get('org.example:backup')).toEqual({ value: 'daily', source: 'local' });
    expect(properties.get('type')).toEqual({ value: 'filesystem', source: '-' });
    expect(properties.size).toBe(10);
  });

  it('skips lines without a source column', () => {
    expect([...parsePropertySources('recordsize\t131072\nused\n\natime\ton\tdefault\n').keys()]).toEqual(['atime']);
  });

  it('carries only what was set locally or received, never the mountpoint nor docker-mcp marks, and keeps user properties', () => {
    expect(userSetProperties(parsePropertySources(sourceListing))).toEqual(
      new Map([
        ['recordsize', '1048576'],
        ['atime', 'off'],
        ['org.example:backup', 'daily'],
      ]),
    );
  });

  it('carries by allowlist: what shares, mounts, reserves, limits, runs or unlocks the data stays behind, whatever the source set', () => {
    const hostile = [
      'sharenfs\trw=@0.0.0.0/0,no_root_squash\tlocal', 'sharesmb\ton\tlocal', 'reservation\t1073741824\tlocal', 'refreservation\t1073741824\treceived',
      'quota\t1048576\tlocal', 'refquota\t1048576\tlocal', 'snapdir\tvisible\tlocal', 'canmount\tnoauto\tlocal', 'readonly\ton\tlocal',
      'zoned\ton\tlocal', 'devices\ton\tlocal', 'setuid\ton\tlocal', 'exec\ton\tlocal', 'keylocation\tfile:///x\tlocal', 'dedup\ton\tlocal',
      'docker-mcp:left-readonly\tyes\tlocal', 'somefutureproperty\tx\tlocal',
      'compression\tgzip\tlocal', 'xattr\tsa\tlocal', 'acltype\tposix\tlocal', 'dnodesize\tauto\treceived', 'com.example:tier\tgold\tlocal', '',
    ].join('\n');
    expect(userSetProperties(parsePropertySources(hostile))).toEqual(
      new Map([['compression', 'gzip'], ['xattr', 'sa'], ['acltype', 'posix'], ['dnodesize', 'auto'], ['com.example:tier', 'gold']]),
    );
    for (const property of NEVER_CARRIED_PROPERTIES) expect(isCarriedProperty(property), property).toBe(false);
    for (const property of CARRIED_PROPERTIES) expect(NEVER_CARRIED_PROPERTIES).not.toContain(property);
  });

  it('sets on the target only what it lacks or has with another value', () => {
    const wanted = userSetProperties(parsePropertySources(sourceListing));
    const target = parsePropertySources(['recordsize\t1048576\tlocal', 'atime\ton\tdefault', 'org.example:backup\tweekly\tlocal', ''].join('\n'));
    expect(propertiesToSet(wanted, target)).toEqual(
      new Map([
        ['atime', 'off'],
        ['org.example:backup', 'daily'],
      ]),
    );
    expect(propertiesToSet(wanted, parsePropertySources(sourceListing))).toEqual(new Map());
  });
});

describe('zfs send and set command lines', () => {
  it('puts the send flags before the incremental source', () => {
    expect(zfsCommands.send({ snapshot: 'tank/app@s2', from: 'tank/app@s1', flags: ['-L', '-e', '-c'] }).text).toBe(
      'zfs send -L -e -c -i tank/app@s1 tank/app@s2',
    );
    expect(zfsCommands.send({ snapshot: 'tank/app@s1', flags: ['-c'] }).text).toBe('zfs send -c tank/app@s1');
    expect(zfsCommands.sendEstimate({ snapshot: 'tank/app@s1', flags: ['-L'] }).text).toBe('zfs send -n -v -P -L tank/app@s1');
  });

  it('refuses a send flag other than -L, -e and -c', () => {
    for (const flag of ['-R', '-p', '-w', '-c; reboot']) {
      expect(() => zfsCommands.send({ snapshot: 'tank/app@s1', flags: [flag] })).toThrow(/not a send flag/);
      expect(() => zfsCommands.sendEstimate({ snapshot: 'tank/app@s1', flags: [flag] })).toThrow(/not a send flag/);
    }
  });

  it('refuses a property name that is not one, and quotes any value', () => {
    for (const name of ['a b', 'x;rm', '', '-o', 'atime=on']) {
      expect(() => zfsCommands.set('tank/app', name, 'on')).toThrow(/not a ZFS property name/);
    }
    expect(zfsCommands.set('tank/app', 'org.example:backup', 'daily; reboot').text).toBe("zfs set 'org.example:backup=daily; reboot' tank/app");
  });
});

describe('parseRouteCheck', () => {
  it('reaches the target when the inner ssh exited 0', () => {
    expect(parseRouteCheck('route-check-exit=0\n', 'delta', 'epsilon')).toEqual({ reaches: true });
  });

  it('names both hosts and what ssh said when the host key is not known', () => {
    const check = parseRouteCheck('Host key verification failed.\r\nroute-check-exit=255\n', 'delta', 'epsilon');
    expect(check).toEqual({ reaches: false, reason: 'delta cannot log in to epsilon by itself (exit 255: Host key verification failed.)' });
  });

  it('keeps the last two lines ssh printed, without its carriage returns', () => {
    const said = [
      '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
      'Host key for epsilon.vm has changed and you have requested strict checking.',
      'Host key verification failed.',
      'route-check-exit=255',
      '',
    ].join('\r\n');
    const check = parseRouteCheck(said, 'delta', 'epsilon');
    expect(check).toEqual({
      reaches: false,
      reason: 'delta cannot log in to epsilon by itself (exit 255: Host key for epsilon.vm has changed and you have requested strict checking. Host key verification failed.)',
    });
  });

  it('says "no answer" when the exit marker never came back', () => {
    expect(parseRouteCheck('', 'delta', 'epsilon')).toEqual({ reaches: false, reason: 'delta cannot log in to epsilon by itself (no answer)' });
    expect(parseRouteCheck('Connection closed\n', 'delta', 'epsilon')).toEqual({
      reaches: false,
      reason: 'delta cannot log in to epsilon by itself (no answer: Connection closed)',
    });
  });

  it('does not take an exit status that merely starts with 0 for success', () => {
    expect(parseRouteCheck('route-check-exit=01\n', 'delta', 'epsilon').reaches).toBe(false);
  });
});

describe('the source reaching the target', () => {
  const tunnel = { port: 40123 };

  it('connects to the target itself, or to the tunnel on its own loopback', () => {
    expect(targetAddressFromSource(epsilon)).toBe('epsilon.vm');
    expect(targetAddressFromSource(epsilon, tunnel)).toBe('127.0.0.1');
  });

  it('goes through the tunnel port and still checks the host key filed under the target name', () => {
    expect(sshArgvFromSource(epsilon, 10, tunnel)).toEqual([
      'ssh', '-T', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', 'ForwardAgent=no', '-o', 'ForwardX11=no', '-o', 'ConnectTimeout=10',
      '-p', '40123', '-o', 'HostKeyAlias=epsilon.vm', '-l', 'deploy',
    ]);
  });

  it('files a target on another port as [host]:port', () => {
    const argv = sshArgvFromSource(host({ hostname: 'delta.vm', port: 2222 }), 5, tunnel);
    expect(argv).toContain('HostKeyAlias=[delta.vm]:2222');
    expect(argv.slice(argv.indexOf('-p'), argv.indexOf('-p') + 2)).toEqual(['-p', '40123']);
    expect(argv).not.toContain('2222');
  });

  it('uses the target port and no alias without a tunnel', () => {
    const argv = sshArgvFromSource(host({ hostname: 'delta.vm', port: 2222 }));
    expect(argv.slice(argv.indexOf('-p'), argv.indexOf('-p') + 2)).toEqual(['-p', '2222']);
    expect(argv.some((arg) => arg.startsWith('HostKeyAlias='))).toBe(false);
  });

  it("shares one master connection at the route key's socket, but never through a tunnel (another address behind the same name)", () => {
    const withKey = { ...host({ hostname: 'delta.vm' }), controlPath: '/tmp/docker-mcp-route.abcdefghij/cm' };
    const direct = sshArgvFromSource(withKey);
    expect(direct).toContain('ControlPath=/tmp/docker-mcp-route.abcdefghij/cm');
    expect(direct).toContain('ControlMaster=auto');
    expect(direct.some((arg) => arg.startsWith('ControlPersist='))).toBe(true);
    const tunnelled = sshArgvFromSource(withKey, 10, tunnel);
    expect(tunnelled.some((arg) => arg.startsWith('Control'))).toBe(false);
    expect(sshArgvFromSource(host({ hostname: 'delta.vm' })).some((arg) => arg.startsWith('Control'))).toBe(false);
  });

  it('runs the remote text through sudo -n -- sh -c on a sudo target', () => {
    const remote = command(['zfs', 'receive', '-s', "tank/appdata/it's"]);
    const ssh = argvReceived(onTargetFromSource(epsilon, remote).text);
    expect(ssh.slice(-2)).toEqual(['epsilon.vm', asRoot(remote).text]);
    expect(argvReceived(ssh.at(-1) ?? '')).toEqual(['-n', '--', 'sh', '-c', remote.text]);
  });

  it('runs the remote text as it is on a root target', () => {
    const remote = command(['zfs', 'receive', '-s', 'tank/appdata/app']);
    expect(argvReceived(onTargetFromSource(delta, remote).text).slice(-3)).toEqual(['--', 'delta.vm', remote.text]);
  });

  it('runs rsync on the target through sudo only when the login is not root', () => {
    expect(rsyncPathOnTarget(epsilon)).toEqual(['--rsync-path=sudo -n rsync']);
    expect(rsyncPathOnTarget(delta)).toEqual([]);
  });
});

describe('rsyncArguments', () => {
  it('pushes to the target by name, through sudo on a sudo target', () => {
    const args = rsyncArguments('/srv/appdata/app', epsilon, '/mnt/appdata/app');
    expect(args.slice(-2)).toEqual(['/srv/appdata/app/', 'epsilon.vm:/mnt/appdata/app/']);
    expect(args).toContain('--rsync-path=sudo -n rsync');
    expect(wordsOf(args[args.indexOf('-e') + 1] ?? '')).toEqual(sshArgvFromSource(epsilon));
  });

  it('pushes to 127.0.0.1 through the tunnel, checking the target host key', () => {
    const target = host({ id: 'delta', hostname: 'delta.vm', port: 2222 });
    const args = rsyncArguments('/mnt/appdata/app', target, '/srv/appdata/app', { port: 40123 });
    expect(args.slice(-2)).toEqual(['/mnt/appdata/app/', '127.0.0.1:/srv/appdata/app/']);
    expect(args.some((arg) => arg.startsWith('--rsync-path'))).toBe(false);
    const remoteShell = wordsOf(args[args.indexOf('-e') + 1] ?? '');
    expect(remoteShell).toEqual(sshArgvFromSource(target, 10, { port: 40123 }));
    expect(remoteShell).toContain('HostKeyAlias=[delta.vm]:2222');
  });
});

describe('asRoot and sequence through a real /bin/sh', () => {
  const tricky = command(['printf', '%s|', "it's $HOME", 'a;b', '`id`']);

  it('runs every command of a sequence, even after one fails, with the last one’s status', () => {
    const text = sequence(command(['sh', '-c', 'echo one; exit 3']), andThen(command(['false']), command(['echo', 'skipped'])), command(['echo', 'three'])).text;
    expect(execFileSync('sh', ['-c', text], { encoding: 'utf8' })).toBe('one\nthree\n');
    expect(spawnSync('sh', ['-c', sequence(command(['true']), command(['sh', '-c', 'exit 4'])).text]).status).toBe(4);
  });

  it('hands sudo exactly -n -- sh -c and the original text', () => {
    const original = sequence(tricky, command(['echo', 'done']));
    expect(argvReceived(asRoot(original).text)).toEqual(['-n', '--', 'sh', '-c', original.text]);
  });

  it('runs the original commands unchanged under sudo', () => {
    const original = sequence(tricky, command(['echo', 'done']));
    expect(runWith(passThroughBin, asRoot(original).text)).toBe("it's $HOME|a;b|`id`|done\n");
  });
});

describe('manifest times at the resolution both hosts show', () => {
  const record = (fields: string[]) => `${fields.join('\0')}\0`;
  const manifest = (root: string, entries: readonly (readonly [path: string, type: string, mtime: string])[]): Manifest =>
    buildManifest(
      root,
      Buffer.from(entries.map(([name, type, mtime], i) => record([name, type, '644', '0', '0', type === 'f' ? '3' : '0', mtime, '8', String(i + 1), '1', type === 'l' ? 'f' : ''])).join('')),
      Buffer.alloc(0),
      null,
    );

  const openzfs = manifest('/a', [
    ['', 'd', '1700000000.1234567890'],
    ['f', 'f', '1700000100.9876543210'],
  ]);

  it('tells a host that shows whole seconds only', () => {
    expect(showsWholeSecondsOnly(manifest('/b', [['', 'd', '1700000000.0000000000'], ['f', 'f', '1700000100']]))).toBe(true);
    expect(showsWholeSecondsOnly(openzfs)).toBe(false);
    expect(showsWholeSecondsOnly(manifest('/b', [['', 'd', '1700000000.0000000000'], ['f', 'f', '1700000100.0000000001']]))).toBe(false);
  });

  it('ignores symlink times and decides nothing from an empty tree', () => {
    expect(showsWholeSecondsOnly(manifest('/b', [['', 'd', '1700000000.0000000000'], ['l', 'l', '1700000000.5']]))).toBe(true);
    expect(showsWholeSecondsOnly(manifest('/b', [['l', 'l', '1700000000.0']]))).toBe(false);
    expect(showsWholeSecondsOnly(manifest('/b', []))).toBe(false);
  });

  it('accepts the same second when one side shows whole seconds only, in either direction', () => {
    const zfsFuse = manifest('/b', [
      ['', 'd', '1700000000.0000000000'],
      ['f', 'f', '1700000100.0000000000'],
    ]);
    expect(compareManifests(openzfs, zfsFuse)).toEqual([]);
    expect(compareManifests(zfsFuse, openzfs)).toEqual([]);
  });

  it('still reports a different second against a host that shows whole seconds', () => {
    const zfsFuse = manifest('/b', [
      ['', 'd', '1700000000.0000000000'],
      ['f', 'f', '1700000101.0000000000'],
    ]);
    expect(compareManifests(openzfs, zfsFuse)).toEqual([
      { path: 'f', field: 'mtime', source: '"1700000100.9876543210"', target: '"1700000101.0000000000"' },
    ]);
  });

  it('still reports a sub-second difference when both hosts show nanoseconds', () => {
    const otherOpenzfs = manifest('/b', [
      ['', 'd', '1700000000.1234567890'],
      ['f', 'f', '1700000100.9876543211'],
    ]);
    expect(compareManifests(openzfs, otherOpenzfs).map((d) => `${d.path}:${d.field}`)).toEqual(['f:mtime']);
  });
});

describe('/etc/hosts guest block', () => {
  const original = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n';

  it('adds one line per guest between markers, once however often it runs', () => {
    const once = withGuestBlock(original);
    expect(once.startsWith(original)).toBe(true);
    expect(once.split('\n')).toEqual(expect.arrayContaining(['127.0.0.21 delta.vm', '127.0.0.22 epsilon.vm']));
    expect(withGuestBlock(once)).toBe(once);
    expect(withGuestBlock('127.0.0.1 localhost').startsWith('127.0.0.1 localhost\n# docker-mcp testbed guests: begin')).toBe(true);
  });

  it('removes exactly the block and keeps lines written after it', () => {
    const later = `${withGuestBlock(original)}10.1.2.3 added-later\n`;
    expect(withoutGuestBlock(later)).toBe(`${original}10.1.2.3 added-later\n`);
    expect(withoutGuestBlock(withGuestBlock(original))).toBe(original);
    expect(withoutGuestBlock(original)).toBe(original);
  });

  it('rewrites a file only when it changes', async () => {
    const file = path.join(scratch, 'hosts');
    writeFileSync(file, original);
    expect(await addGuestNames(file)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(withGuestBlock(original));
    expect(await addGuestNames(file)).toBe(false);
    expect(await removeGuestNames(file)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(original);
    expect(await removeGuestNames(file)).toBe(false);
  });
});

describe('the Debian archive from apt sources', () => {
  it('reads one-line sources, with options, and not deb-src nor comments', () => {
    const text = [
      'deb http://mirror.example/debian bookworm main',
      'deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://mirror.example/debian-security bookworm-security main',
      'deb-src http://source.example/debian bookworm main',
      '# deb http://commented.example/debian bookworm main',
      '',
    ].join('\n');
    expect(sourceUris(text)).toEqual(['http://mirror.example/debian', 'http://mirror.example/debian-security']);
  });

  it('reads deb822 sources with several URIs', () => {
    const text = [
      'Types: deb',
      'URIs: http://mirror.example/debian https://other-mirror.example/debian/',
      'Suites: trixie trixie-updates',
      '',
      'Types: deb',
      'URIs: http://mirror.example/debian-security',
      'Suites: trixie-security',
      '',
    ].join('\n');
    expect(sourceUris(text)).toEqual(['http://mirror.example/debian', 'https://other-mirror.example/debian/', 'http://mirror.example/debian-security']);
  });

  it('picks the main archive, never the security one', () => {
    expect(mainArchive(['http://mirror.example/debian-security', 'https://other-mirror.example/debian/'])).toBe('https://other-mirror.example/debian/');
    expect(mainArchive(['http://mirror.example/debian-security'])).toBeUndefined();
    expect(mainArchive(['http://mirror.example/ubuntu'])).toBeUndefined();
  });
});

describe('guest configuration', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  /** Source the guest.env text with /bin/sh and read back every variable it names, and whether it is set. */
  function sourced(text: string): Record<string, string> {
    const file = path.join(scratch, 'guest.env');
    writeFileSync(file, text);
    const names = text.split('\n').filter(Boolean).map((line) => line.slice(0, line.indexOf('=')));
    const script = `. "$1" && printf '%s\\0' ${names.map((name) => `"\${${name}+set}$${name}"`).join(' ')}`;
    const values = execFileSync('sh', ['-c', script, 'sh', file], { encoding: 'utf8' }).split('\0');
    return Object.fromEntries(names.map((name, i) => [name, values[i] ?? '']));
  }

  it('gives epsilon its own login, sudo, dataset mountpoint and compose directory', () => {
    expect(sourced(guestEnvironment(guestSpec('epsilon')))).toMatchObject({
      GUEST_NAME: 'setepsilon',
      PEER_NAME: 'setdelta',
      PEER_ADDRESS: 'set10.0.2.100',
      LOGIN_USER: 'setdeploy',
      LOGIN_SUDO: 'setyes',
      POOL_MOUNTPOINT: 'set/tank',
      DATASET_MOUNTPOINT: 'set/mnt/appdata',
      COMPOSE: 'set/opt/stacks',
    });
  });

  it('gives delta the pool at /srv and an empty dataset mountpoint (inherited)', () => {
    expect(sourced(guestEnvironment(guestSpec('delta')))).toMatchObject({
      LOGIN_USER: 'setroot',
      LOGIN_SUDO: 'setno',
      POOL_MOUNTPOINT: 'set/srv',
      DATASET_MOUNTPOINT: 'set',
      COMPOSE: 'set/srv/compose',
    });
  });

  it('keeps a value with quotes and dollars literal', () => {
    vi.stubEnv('DOCKER_MCP_TESTBED_DIR', "/var/lib/it's $HOME; x");
    expect(sourced(guestEnvironment(guestSpec('delta'))).TESTBED_DIR).toBe("set/var/lib/it's $HOME; x");
  });
});

describe('qemuArguments', () => {
  const image = { dir: '/cache/img', rootImage: '/cache/img/root.img', kernel: '/cache/img/vmlinuz', initrd: '/cache/img/initrd.img' };

  for (const [name, own, peer] of [['delta', '127.0.0.21', '127.0.0.22'], ['epsilon', '127.0.0.22', '127.0.0.21']] as const) {
    it(`forwards ${name}'s sshd from ${own} only, and its peer address to ${peer}`, () => {
      const args = qemuArguments(guestSpec(name), image);
      const netdev = args[args.indexOf('-netdev') + 1] ?? '';
      expect(netdev.split(',')).toEqual(['user', 'id=net0', `hostfwd=tcp:${own}:22-:22`, `guestfwd=tcp:10.0.2.100:22-cmd:socat - TCP:${peer}:22`]);
      expect(new Set(args.join(' ').match(/\b\d{1,3}(?:\.\d{1,3}){3}\b/g))).toEqual(new Set([own, '10.0.2.100', peer]));
    });
  }
});
