import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearStalePidFile, runningPid } from '../../src/testbed/processes.js';

describe('pid files left behind by a crash', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pidfile-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('removes a pid file whose process has exited', async () => {
    const child = spawn('sleep', ['0']);
    await new Promise((resolve) => child.on('exit', resolve));
    const pidFile = path.join(dir, 'gone.pid');
    await writeFile(pidFile, `${child.pid}\n`);
    const daemon = { label: 'gone', pidFile, commandLineContains: 'sleep' };
    expect(await runningPid(daemon)).toBeUndefined();
    expect(await clearStalePidFile(daemon)).toBe(true);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('removes a pid file whose pid now belongs to another program', async () => {
    const pidFile = path.join(dir, 'reused.pid');
    await writeFile(pidFile, `${process.pid}\n`);
    const daemon = { label: 'reused', pidFile, commandLineContains: 'zfs-fuse' };
    expect(await clearStalePidFile(daemon)).toBe(true);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('keeps the pid file of a daemon that still runs', async () => {
    const child = spawn('sleep', ['30']);
    try {
      const pidFile = path.join(dir, 'alive.pid');
      await writeFile(pidFile, `${child.pid}\n`);
      const daemon = { label: 'alive', pidFile, commandLineContains: 'sleep 30' };
      expect(await clearStalePidFile(daemon)).toBe(false);
      expect((await readFile(pidFile, 'utf8')).trim()).toBe(String(child.pid));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('removes an unreadable (garbage) pid file', async () => {
    const pidFile = path.join(dir, 'garbage.pid');
    await writeFile(pidFile, 'not a pid');
    expect(await clearStalePidFile({ label: 'garbage', pidFile, commandLineContains: 'x' })).toBe(true);
    expect(await clearStalePidFile({ label: 'garbage', pidFile, commandLineContains: 'x' })).toBe(false);
  });
});
