/**
 * The directory holding ssh's ControlMaster sockets: whoever can put a socket
 * there receives every remote command and its stdin, and answers for the
 * host. It must be ours alone. Tests run as root, so they can make a
 * directory owned by someone else (uid 65534).
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlDirectory } from '../../src/ssh/control-dir.js';
import { DEFAULT_SSH_OPTIONS, sshArguments } from '../../src/ssh/options.js';

const host = { id: 'a', hostname: 'nas', user: 'root', port: 22, identity_file: null, known_hosts_file: null };
const argumentsWith = (controlDir: string) => sshArguments(host, { ...DEFAULT_SSH_OPTIONS, controlDir });

describe('the ssh control socket directory', () => {
  let base: string;

  beforeAll(() => {
    base = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-control-dir-test-'));
  });

  afterAll(() => {
    rmSync(base, { recursive: true, force: true });
  });

  it('is created private (mode 0700, ours) when missing, and accepted as it is afterwards', () => {
    const dir = path.join(base, 'fresh');
    expect(argumentsWith(dir)).toContain(`ControlPath=${path.join(dir, `${process.pid}-%C`)}`);
    const stats = lstatSync(dir);
    expect(stats.isDirectory()).toBe(true);
    expect(stats.mode & 0o777).toBe(0o700);
    expect(stats.uid).toBe(process.getuid!());
    expect(() => argumentsWith(dir)).not.toThrow();
  });

  it('is refused when another user owns it', () => {
    const dir = path.join(base, 'theirs');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    expect(() => argumentsWith(dir)).toThrow(/owned by uid 65534.*rm -r/s);
  });

  it('is refused when it is a symbolic link, even to a private directory of ours', () => {
    const target = path.join(base, 'real');
    mkdirSync(target, { mode: 0o700 });
    const link = path.join(base, 'link');
    symlinkSync(target, link);
    expect(() => argumentsWith(link)).toThrow(/symbolic link/);
  });

  it('is refused when group or others have any access (mode 0755)', () => {
    const dir = path.join(base, 'open');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    expect(() => argumentsWith(dir)).toThrow(/mode 0755.*chmod 700/s);
  });

  it('is refused when it is not a directory', () => {
    const file = path.join(base, 'file');
    writeFileSync(file, '');
    expect(() => argumentsWith(file)).toThrow(/not a directory/);
  });

  it('the refusal is a typed configuration error', () => {
    const dir = path.join(base, 'typed');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    expect(() => argumentsWith(dir)).toThrow(expect.objectContaining({ name: 'UnsafeControlDirectoryError', kind: 'config', directory: dir }));
  });

  it('is not checked when multiplexing is off', () => {
    const dir = path.join(base, 'unused');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    expect(sshArguments(host, { ...DEFAULT_SSH_OPTIONS, multiplex: false, controlDir: dir })).toContain('ControlPath=none');
  });
});

describe('where the control socket directory is', () => {
  it('is under $XDG_RUNTIME_DIR when set (a private per-user directory), else under the temp dir with our uid', () => {
    expect(controlDirectory({ XDG_RUNTIME_DIR: '/run/user/1000' }, '/tmp', 1000)).toBe('/run/user/1000/docker-mcp-ssh');
    expect(controlDirectory({}, '/tmp', 1000)).toBe('/tmp/docker-mcp-ssh-1000');
    // The spec says a relative value is to be ignored.
    expect(controlDirectory({ XDG_RUNTIME_DIR: 'run/user' }, '/tmp', 1000)).toBe('/tmp/docker-mcp-ssh-1000');
    expect(controlDirectory({ XDG_RUNTIME_DIR: '' }, '/tmp', 1000)).toBe('/tmp/docker-mcp-ssh-1000');
  });
});
