/**
 * A host no known_hosts file knows: alpha's sshd (the same logins, the same
 * Docker engine) started again on a free port of alpha's loopback address
 * with a host key made for the test, as a freshly installed host would be.
 * Its fingerprint is read with ssh-keygen, apart from the tool's own code.
 */
import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { TESTBED_HOSTS } from '../../src/testbed/layout.js';
import { waitFor } from '../../src/testbed/processes.js';
import { portOpen, sshdConfigText } from '../../src/testbed/sshd.js';

export interface StrangerSshd {
  readonly address: string;
  readonly port: number;
  /** `[address]:port ssh-ed25519 AAAA...`: the line a known_hosts file vouching for it holds. */
  readonly knownHostsLine: string;
  /** What `ssh-keygen -l` prints for its key. */
  readonly fingerprint: string;
  stop(): Promise<void>;
}

export async function startStrangerSshd(dir: string): Promise<StrangerSshd> {
  const alpha = TESTBED_HOSTS.find((host) => host.name === 'alpha')!;
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', hostKey]);
  const port = await freePort(alpha.address);
  const config = path.join(dir, 'sshd_config');
  await writeFile(config, sshdConfigText(alpha, { port, hostKey, pidFile: path.join(dir, 'sshd.pid') }));
  // -D: it stays this test's child, stopped by its own pid.
  const daemon = execa('/usr/sbin/sshd', ['-D', '-e', '-f', config], { reject: false, stdin: 'ignore' });
  await waitFor(`the stranger sshd on ${alpha.address}:${port}`, () => portOpen(alpha.address, port), 15_000);
  const printed = (await execa('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`])).stdout.split(' ')[1]!;
  const [type, key] = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(' ');
  return {
    address: alpha.address,
    port,
    knownHostsLine: `[${alpha.address}]:${port} ${type} ${key}`,
    fingerprint: printed,
    stop: async () => {
      daemon.kill('SIGTERM');
      await daemon;
    },
  };
}

function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, address, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
