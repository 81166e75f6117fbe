/**
 * The keys a host presents, read before any of them is trusted: where ssh
 * would connect (`ssh -G`: the user's ssh config may alias the name, change
 * the address or set a HostKeyAlias), what `ssh-keyscan` reads there, and
 * the name known_hosts must list them under for ssh to find them.
 */
import { execa } from 'execa';
import { parseKeyscan, knownHostsName } from '../ssh/known-hosts.js';
import type { SshHost } from '../ssh/options.js';
import { sshEffectiveOptions } from '../ssh/ssh-config.js';
import { HostKeyScanError, type ScannedHostKeys } from './host-key-errors.js';

const SCAN_TIMEOUT_SECONDS = 10;

export async function scanHostKeys(host: Pick<SshHost, 'id' | 'hostname' | 'port'>): Promise<ScannedHostKeys> {
  const options = await sshEffectiveOptions(host.hostname, { port: host.port });
  const address = options.get('hostname')?.[0] ?? host.hostname;
  const port = Number(options.get('port')?.[0] ?? host.port);
  // ssh-keyscan goes straight to the address: it cannot follow a jump host, and would read some other machine's keys.
  const via = [...(options.get('proxyjump') ?? []), ...(options.get('proxycommand') ?? [])].filter((value) => value !== 'none');
  if (via.length > 0) throw new HostKeyScanError(host.id, address, port, `your ssh config reaches it through ${via.join(', ')}, which ssh-keyscan cannot follow: connect to it once with ssh yourself to check and record its key`);
  const alias = options.get('hostkeyalias')?.[0];
  const name = alias === undefined ? knownHostsName(address, port) : knownHostsName(alias, 22);
  const scan = await execa('ssh-keyscan', ['-T', String(SCAN_TIMEOUT_SECONDS), '-p', String(port), '--', address], {
    reject: false,
    stdin: 'ignore',
    timeout: (SCAN_TIMEOUT_SECONDS + 5) * 1000,
  });
  const keys = parseKeyscan(String(scan.stdout));
  if (keys.length === 0) {
    const said = String(scan.stderr).split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#')).at(-1);
    throw new HostKeyScanError(host.id, address, port, said ?? `no SSH server answered within ${SCAN_TIMEOUT_SECONDS} s`);
  }
  return { address, port, knownHostsName: name, keys };
}
