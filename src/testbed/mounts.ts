/** Mount points on this machine, for clean-up of what the testbed mounted. */
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { runLocal } from './local-command.js';

/** Mount points at or below `dir`, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const mounts = (await readFile('/proc/mounts', 'utf8'))
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    // /proc/mounts escapes spaces and the like as octal.
    .map((field) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))));
  return mounts.filter((mount) => mount === dir || mount.startsWith(`${dir}/`)).sort().reverse();
}

/** Lazily unmount everything at or below `dir` (a dead FUSE daemon leaves mounts that block every access). */
export async function unmountAllUnder(dir: string): Promise<number> {
  const mounts = await mountsUnder(dir);
  for (const mountPoint of mounts) await runLocal('umount', ['-l', mountPoint], { okExitCodes: [0, 1, 32] });
  return mounts.length;
}

const FUSE_CONNECTIONS = '/sys/fs/fuse/connections';

/**
 * Abort the FUSE connections behind the mounts at or below `dir`: a wedged
 * zfs-fuse otherwise makes every access (even a lazy umount) wait forever.
 * The connection's directory is named after the mount's device minor number.
 */
export async function abortFuseMountsUnder(dir: string): Promise<number> {
  const lines = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n');
  const minors: string[] = [];
  for (const line of lines) {
    const fields = line.split(' ');
    const device = fields[2] ?? '';
    const mountPoint = (fields[4] ?? '').replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
    const fsType = fields[fields.indexOf('-') + 1] ?? '';
    if (!fsType.startsWith('fuse') || !(mountPoint === dir || mountPoint.startsWith(`${dir}/`))) continue;
    const minor = device.split(':')[1];
    if (minor) minors.push(minor);
  }
  if (minors.length === 0) return 0;
  if (!existsSync(`${FUSE_CONNECTIONS}/${minors[0]}`)) {
    await runLocal('mount', ['-t', 'fusectl', 'none', FUSE_CONNECTIONS], { okExitCodes: [0, 1, 32] });
  }
  let aborted = 0;
  for (const minor of new Set(minors)) {
    const abort = `${FUSE_CONNECTIONS}/${minor}/abort`;
    if (existsSync(abort)) {
      await writeFile(abort, '1');
      aborted += 1;
    }
  }
  return aborted;
}

/**
 * Mounts at or below `dir` that no longer answer: their FUSE daemon died
 * (ENOTCONN) or is wedged (no answer within `timeoutMs`).
 */
export async function deadMountsUnder(dir: string, timeoutMs = 5_000): Promise<string[]> {
  const mounts = await mountsUnder(dir);
  const answers = await Promise.all(mounts.map((mountPoint) => mountAnswers(mountPoint, timeoutMs)));
  return mounts.filter((_, index) => !answers[index]);
}

/**
 * Ask a separate `stat` process, never this one: a stat on a wedged FUSE
 * mount blocks in the kernel, and in-process it would hold one of Node's few
 * file-system threads for good, stalling every later file operation.
 */
function mountAnswers(mountPoint: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = spawn('stat', ['--', mountPoint], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    probe.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      // It may never exit (it waits in the kernel until the mount is aborted): leave it behind.
      probe.stderr.destroy();
      probe.unref();
      resolve(false);
    }, timeoutMs);
    probe.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 || !/Transport endpoint is not connected/.test(stderr));
    });
  });
}
