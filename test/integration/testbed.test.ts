import { open, readFile, rm, stat } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { testbedPaths, testbedSharedPaths, TESTBED_HOSTS } from '../../src/testbed/layout.js';
import { runCli } from './cli.js';

const spec = (name: string) => TESTBED_HOSTS.find((host) => host.name === name)!;

async function killFromPidFile(pidFile: string): Promise<void> {
  process.kill(Number.parseInt((await readFile(pidFile, 'utf8')).trim(), 10), 'SIGKILL');
}

/** A file written and fsynced: data that a crash of the daemon must not lose. */
async function writeSynced(path: string, text: string): Promise<string> {
  const file = await open(path, 'w');
  await file.writeFile(text);
  await file.sync();
  await file.close();
  return path;
}

describe('docker-mcp testbed', () => {
  it('a second "up" finds everything in place and changes nothing', async () => {
    const run = await runCli(['testbed', 'up', '--json']);
    expect(run.exitCode).toBe(0);
    const result = JSON.parse(run.stdout) as { changes: string[]; hostsFile: string; seconds: number };
    expect(result.changes).toEqual([]);
    expect(result.hostsFile).toMatch(/hosts\.yml$/);
    expect(result.seconds).toBeGreaterThan(0);
  });

  it('status reports each host with its own sshd, engine and (for alpha and beta) pool', async () => {
    const run = await runCli(['testbed', 'status', '--json']);
    expect(run.exitCode).toBe(0);
    const status = JSON.parse(run.stdout) as { up: boolean; hosts: { host: string; sshd: boolean; dockerd: boolean; pool: string | null }[] };
    expect(status.up).toBe(true);
    expect(status.hosts).toEqual([
      { host: 'alpha', address: '127.0.0.11', sshd: true, dockerd: true, pool: 'ONLINE' },
      { host: 'beta', address: '127.0.0.12', sshd: true, dockerd: true, pool: 'ONLINE' },
      { host: 'gamma', address: '127.0.0.13', sshd: true, dockerd: true, pool: null },
    ]);
  });

  // What a CI machine inherits from a session that was cut off: pid files of
  // dead daemons and the dead FUSE mounts of a killed zfs-fuse.
  it('up brings back daemons killed with SIGKILL, stale pid files and dead mounts included, and keeps synced data', async () => {
    const marker = await writeSynced(`${testbedPaths(spec('alpha')).appdata}/crash-marker-${process.pid}`, 'survives the crash\n');

    await killFromPidFile(testbedSharedPaths().zfsPidFile);
    await killFromPidFile(testbedPaths(spec('gamma')).dockerPidFile);
    await killFromPidFile(testbedPaths(spec('beta')).sshdPidFile);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await expect(stat(testbedPaths(spec('alpha')).appdata)).rejects.toMatchObject({ code: 'ENOTCONN' });

    const run = await runCli(['testbed', 'up', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const { changes } = JSON.parse(run.stdout) as { changes: string[] };
    expect(changes).toEqual(expect.arrayContaining(['started zfs-fuse', 'beta sshd started', 'started gamma dockerd']));

    const status = JSON.parse((await runCli(['testbed', 'status', '--json'])).stdout) as { up: boolean };
    expect(status.up).toBe(true);
    expect(await readFile(marker, 'utf8')).toBe('survives the crash\n');
    await rm(marker);
  });

  // What a zfs-fuse that stops answering (it was seen to lose requests under load) leaves: mounts whose
  // every access blocks in the kernel. `up` must neither hang on them nor leave them.
  it('up replaces a wedged zfs-fuse (stopped with SIGSTOP) without hanging, keeping synced data', async () => {
    const marker = await writeSynced(`${testbedPaths(spec('beta')).appdata}/wedge-marker-${process.pid}`, 'survives the wedge\n');
    const pid = Number.parseInt((await readFile(testbedSharedPaths().zfsPidFile, 'utf8')).trim(), 10);
    process.kill(pid, 'SIGSTOP');
    try {
      const run = await runCli(['testbed', 'up', '--json']);
      expect(run.exitCode, run.stderr).toBe(0);
      expect((JSON.parse(run.stdout) as { changes: string[] }).changes).toEqual(expect.arrayContaining(['stopped zfs-fuse (its mounts were dead)', 'started zfs-fuse']));
    } finally {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // replaced, as it should be
      }
    }
    expect((JSON.parse((await runCli(['testbed', 'status', '--json'])).stdout) as { up: boolean }).up).toBe(true);
    expect(await readFile(marker, 'utf8')).toBe('survives the wedge\n');
    await rm(marker);
  });
});
