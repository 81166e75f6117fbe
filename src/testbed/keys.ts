/**
 * SSH keys of the testbed: one client key (the tool's identity), one host key
 * per host, and the files that bind them: authorized_keys for the hosts and
 * known_hosts for the client, so host keys are checked strictly.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { runLocal } from './local-command.js';
import { GUESTS, guestPaths } from './guests/guest-layout.js';
import { TESTBED_HOSTS, testbedPaths, testbedSharedPaths } from './layout.js';

async function ensureKey(file: string, comment: string): Promise<boolean> {
  if (existsSync(file) && existsSync(`${file}.pub`)) return false;
  await mkdir(path.dirname(file), { recursive: true });
  await runLocal('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  return true;
}

/** Write `text` unless the file already holds exactly it. Returns whether it wrote. */
export async function writeIfChanged(file: string, text: string, mode = 0o644): Promise<boolean> {
  try {
    if ((await readFile(file, 'utf8')) === text) return false;
  } catch {
    // missing: write it
  }
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text, { mode });
  return true;
}

/** Create whatever keys are missing; returns what changed. */
export async function ensureKeys(): Promise<string[]> {
  const shared = testbedSharedPaths();
  const changed: string[] = [];
  if (await ensureKey(shared.clientKey, 'docker-mcp-testbed-client')) changed.push('client key');
  for (const host of TESTBED_HOSTS) {
    if (await ensureKey(testbedPaths(host).hostKey, `${host.name}-host-key`)) changed.push(`${host.name} host key`);
  }
  for (const guest of GUESTS) {
    if (await ensureKey(guestPaths(guest).hostKey, `${guest.name}-host-key`)) changed.push(`${guest.name} host key`);
  }

  const clientPublic = await readFile(`${shared.clientKey}.pub`, 'utf8');
  if (await writeIfChanged(shared.authorizedKeys, clientPublic)) changed.push('authorized_keys');

  const knownHosts: string[] = [];
  for (const host of TESTBED_HOSTS) {
    const [type, key] = (await readFile(`${testbedPaths(host).hostKey}.pub`, 'utf8')).trim().split(/\s+/);
    knownHosts.push(`${host.address} ${type} ${key}`);
  }
  // Guests by name and by address: the same file serves this machine and,
  // copied into each guest, the direct route from one guest to the other.
  for (const guest of GUESTS) {
    const [type, key] = (await readFile(`${guestPaths(guest).hostKey}.pub`, 'utf8')).trim().split(/\s+/);
    knownHosts.push(`${guest.dnsName},${guest.address} ${type} ${key}`);
  }
  if (await writeIfChanged(shared.knownHosts, `${knownHosts.join('\n')}\n`)) changed.push('known_hosts');
  return changed;
}
