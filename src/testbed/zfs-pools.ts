/**
 * One zfs-fuse daemon serves every pool on the machine; each ZFS host of the
 * testbed gets its own file-backed pool mounted at /srv/<host>, with an
 * `appdata` dataset under it. We stop zfs-fuse on `down` only when `up`
 * started it.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runLocal, succeeds } from './local-command.js';
import { TESTBED_POOL_SIZE, testbedPaths, testbedSharedPaths, type TestbedHostSpec } from './layout.js';
import { clearStalePidFile, runningPid, stopDaemon, waitFor, type DaemonRef } from './processes.js';

export function zfsDaemon(): DaemonRef {
  return { label: 'zfs-fuse', pidFile: testbedSharedPaths().zfsPidFile, commandLineContains: 'zfs-fuse' };
}

/** Whether a zfs-fuse daemon (ours or not) answers the zpool command. */
export const zfsDaemonAnswers = () => succeeds('zpool', ['list', '-H']);

/** Start zfs-fuse unless a daemon already answers. Returns whether we started it. */
export async function ensureZfsDaemon(): Promise<boolean> {
  if (await zfsDaemonAnswers()) return false;
  const shared = testbedSharedPaths();
  await mkdir(path.dirname(shared.zfsPidFile), { recursive: true });
  await clearStalePidFile(zfsDaemon());
  await runLocal('zfs-fuse', ['--no-kstat-mount', '--pidfile', shared.zfsPidFile]);
  await writeFile(shared.zfsOwnedMarker, 'started by docker-mcp testbed up\n');
  await waitFor('zfs-fuse to answer', zfsDaemonAnswers, 30_000);
  return true;
}

async function poolImported(pool: string): Promise<boolean> {
  return succeeds('zpool', ['list', '-H', '-o', 'name', pool]);
}

async function datasetExists(dataset: string): Promise<boolean> {
  return succeeds('zfs', ['list', '-H', '-o', 'name', dataset]);
}

/** Make sure the host's pool and appdata dataset exist and are mounted. Returns what changed. */
export async function ensurePool(host: TestbedHostSpec): Promise<string[]> {
  const paths = testbedPaths(host);
  const changed: string[] = [];
  // zfs-fuse re-imports pools from its cache at start; one whose image is gone
  // (a `down` that could not export it) comes back FAULTED: forget it first.
  const status = await poolStatus(host);
  if (status.imported && status.health !== 'ONLINE') {
    await runLocal('zpool', ['export', '-f', paths.pool], { okExitCodes: [0, 1] });
    await runLocal('zpool', ['destroy', '-f', paths.pool], { okExitCodes: [0, 1] });
    changed.push(`forgot ${status.health} pool ${paths.pool}`);
  }
  if (!(await poolImported(paths.pool))) {
    if (existsSync(paths.poolImage)) {
      await runLocal('zpool', ['import', '-d', path.dirname(paths.poolImage), paths.pool]);
      changed.push(`imported pool ${paths.pool}`);
    } else {
      await mkdir(path.dirname(paths.poolImage), { recursive: true });
      await runLocal('truncate', ['-s', TESTBED_POOL_SIZE, paths.poolImage]);
      await runLocal('zpool', ['create', '-m', paths.srvRoot, paths.pool, paths.poolImage]);
      changed.push(`created pool ${paths.pool}`);
    }
  }
  const appdataDataset = `${paths.pool}/appdata`;
  if (!(await datasetExists(appdataDataset))) {
    await runLocal('zfs', ['create', appdataDataset]);
    changed.push(`created ${appdataDataset}`);
  }
  const mounted = (await runLocal('zfs', ['get', '-H', '-o', 'value', 'mounted', appdataDataset])).stdout.trim();
  if (mounted !== 'yes') {
    await runLocal('zfs', ['mount', '-a']);
    changed.push(`mounted ${appdataDataset}`);
  }
  return changed;
}

export interface PoolStatus {
  readonly imported: boolean;
  readonly health?: string;
}

export async function poolStatus(host: TestbedHostSpec): Promise<PoolStatus> {
  const pool = testbedPaths(host).pool;
  const result = await runLocal('zpool', ['list', '-H', '-o', 'health', pool], { okExitCodes: [0, 1] });
  return result.exitCode === 0 ? { imported: true, health: result.stdout.trim() } : { imported: false };
}

/**
 * Export the host's pool (which unmounts it); `down` deletes its image later.
 * Not `zpool destroy`: zfs-fuse was seen to call a freshly unmounted pool
 * busy, while export works, and without the image the pool is gone either way.
 */
export async function removePool(host: TestbedHostSpec): Promise<boolean> {
  const paths = testbedPaths(host);
  let removed = false;
  if ((await zfsDaemonAnswers()) && (await poolImported(paths.pool))) {
    // A wedged zfs-fuse can hang here; the daemon is stopped next anyway.
    const exported = await runLocal('zpool', ['export', '-f', paths.pool], { okExitCodes: [0, 1], timeoutMs: 30_000 }).catch(() => undefined);
    removed = exported?.exitCode === 0;
  }
  return removed;
}

/** Stop zfs-fuse if the testbed started it. */
export async function stopZfsDaemonIfOurs(): Promise<boolean> {
  const shared = testbedSharedPaths();
  if (!existsSync(shared.zfsOwnedMarker)) return false;
  const stopped = await stopDaemon(zfsDaemon());
  await rm(shared.zfsOwnedMarker, { force: true });
  return stopped;
}

export async function zfsDaemonRunning(): Promise<boolean> {
  return (await runningPid(zfsDaemon())) !== undefined || (await zfsDaemonAnswers());
}
