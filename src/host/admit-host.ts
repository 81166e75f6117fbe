/**
 * Before a host is added it must connect, as it will be configured. When its
 * key is one no known_hosts file holds, the keys it presents are read and
 * `trust` picks the ones to vouch for (asking whoever can vouch); the host
 * must then connect with only those. Nothing is written here: the caller
 * records the known_hosts lines returned, and the host, once this succeeded.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DockerMcpError } from '../errors.js';
import { HostKeyMismatchError } from '../ssh/errors.js';
import { knownHostsLines, type HostKey } from '../ssh/known-hosts.js';
import { DEFAULT_SSH_OPTIONS, type SshHost } from '../ssh/options.js';
import { command } from '../ssh/quote.js';
import { SshTransport } from '../ssh/transport.js';
import { HostKeyScanError, HostNotAddedError, type ScannedHostKeys } from './host-key-errors.js';
import { scanHostKeys } from './host-key-scan.js';

export interface Admission {
  /** known_hosts lines to record for the host; none when a known_hosts file it uses vouches for it already. */
  readonly knownHostsLines: readonly string[];
  readonly trusted: readonly HostKey[];
}

/** The keys to vouch for, of those the host presents; throws when nobody vouches. */
export type TrustHostKeys = (scanned: ScannedHostKeys) => Promise<readonly HostKey[]>;

const PROBE_TIMEOUT_MS = 30_000;

export async function admitHost(host: SshHost, trust: TrustHostKeys): Promise<Admission> {
  const failure = await probe(host);
  if (failure === undefined) return { knownHostsLines: [], trusted: [] };
  if (!(failure instanceof HostKeyMismatchError && failure.reason === 'unknown')) throw new HostNotAddedError(host.id, failure);
  const scanned = await scanHostKeys(host).catch((error: unknown) => {
    throw error instanceof HostKeyScanError ? new HostNotAddedError(host.id, error) : error;
  });
  const trusted = await trust(scanned);
  const lines = knownHostsLines(scanned.knownHostsName, trusted);
  const withTrusted = await withKnownHostsFile(lines, (file) => probe({ ...host, known_hosts_file: file }));
  if (withTrusted !== undefined) throw new HostNotAddedError(host.id, withTrusted);
  return { knownHostsLines: lines, trusted };
}

/** One connection of its own (not a shared master): undefined when the host lets us in, else why not. */
async function probe(host: SshHost): Promise<DockerMcpError | undefined> {
  try {
    await new SshTransport(host, { ...DEFAULT_SSH_OPTIONS, multiplex: false }).exec(command(['true']), { timeoutMs: PROBE_TIMEOUT_MS });
    return undefined;
  } catch (error) {
    if (error instanceof DockerMcpError) return error;
    throw error;
  }
}

async function withKnownHostsFile<T>(lines: readonly string[], use: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'docker-mcp-host-keys-'));
  try {
    const file = path.join(dir, 'known_hosts');
    await writeFile(file, lines.map((line) => `${line}\n`).join(''), { mode: 0o600 });
    return await use(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
