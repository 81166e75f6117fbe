/**
 * Daemons the testbed started, found again by their pid files. A pid is only
 * trusted when /proc says it still runs the program we started, so a stale
 * pid file can never make us signal somebody else's process.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface DaemonRef {
  /** Shown in status and errors. */
  readonly label: string;
  readonly pidFile: string;
  /** A fragment of the program's command line that must be present. */
  readonly commandLineContains: string;
}

async function readPid(pidFile: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(pidFile, 'utf8')).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function commandLine(pid: number): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
  } catch {
    return undefined;
  }
}

/** The daemon's pid when it runs, else undefined. */
export async function runningPid(daemon: DaemonRef): Promise<number | undefined> {
  const pid = await readPid(daemon.pidFile);
  if (pid === undefined) return undefined;
  const line = await commandLine(pid);
  return line?.includes(daemon.commandLineContains) ? pid : undefined;
}

/**
 * Remove a pid file whose process is gone (a crash, a reboot, a killed
 * session). zfs-fuse refuses to start while its pid file exists and dockerd
 * refuses while the pid in it belongs to any live process.
 */
export async function clearStalePidFile(daemon: DaemonRef): Promise<boolean> {
  if (!existsSync(daemon.pidFile)) return false;
  if ((await runningPid(daemon)) !== undefined) return false;
  await rm(daemon.pidFile, { force: true });
  return true;
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * Stop a daemon we started: SIGTERM, then SIGKILL after `graceMs`. Returns
 * false when it was not running. The pid file is removed either way.
 */
export async function stopDaemon(daemon: DaemonRef, graceMs = 15_000): Promise<boolean> {
  const pid = await runningPid(daemon);
  if (pid !== undefined) {
    process.kill(pid, 'SIGTERM');
    try {
      await waitFor(`${daemon.label} to exit`, async () => (await commandLine(pid)) === undefined, graceMs);
    } catch {
      process.kill(pid, 'SIGKILL');
      await waitFor(`${daemon.label} to die`, async () => (await commandLine(pid)) === undefined, 5_000);
    }
  }
  await rm(daemon.pidFile, { force: true });
  return pid !== undefined;
}
