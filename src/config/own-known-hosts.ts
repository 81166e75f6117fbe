/**
 * The tool's own known_hosts file, beside hosts.yml: where the keys of hosts
 * added over MCP are recorded once the user vouched for them, so that the
 * user's ~/.ssh/known_hosts is never written by the tool. Mode 0600.
 */
import { chmod, mkdir, open, readFile, truncate, unlink } from 'node:fs/promises';
import path from 'node:path';
import { knownHostsHolds } from '../ssh/known-hosts.js';

export function ownKnownHostsFile(hostsFile: string): string {
  return path.join(path.dirname(hostsFile), 'known_hosts');
}

/**
 * Append the lines the file does not hold yet, plainly or hashed (creating
 * it, and its folder 0700). Returns what undoes it, for when the host is not written after all.
 */
export async function recordKnownHosts(file: string, lines: readonly string[]): Promise<() => Promise<void>> {
  const before = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  const added = [...new Set(lines)].filter((line) => !knownHostsHolds(before ?? '', line));
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const handle = await open(file, 'a', 0o600);
  try {
    const separator = before !== undefined && before !== '' && !before.endsWith('\n') ? '\n' : '';
    await handle.writeFile(`${separator}${added.map((line) => `${line}\n`).join('')}`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  // A file made before (or by hand) is made private too: it decides whom the tool's logins trust.
  await chmod(file, 0o600);
  return async () => {
    if (before === undefined) await unlink(file);
    else await truncate(file, Buffer.byteLength(before));
  };
}
