/**
 * Why a new host was not added: it could not be reached, refused our login,
 * presented a key other than the one known_hosts holds, or presented a key
 * nobody has vouched for yet. Each says what is missing, and, for a key, its
 * fingerprints and the commands a person can run to check and add it.
 */
import { DockerMcpError, type ErrorKind } from '../errors.js';
import { command } from '../ssh/quote.js';
import type { HostKey } from '../ssh/known-hosts.js';
import type { SshHost } from '../ssh/options.js';
import { AuthenticationFailedError, HostKeyMismatchError } from '../ssh/errors.js';

/** What a host that could not be added lacks, for the caller to read by key. */
export type MissingForAdd = 'connection' | 'login' | 'matching_host_key' | 'trusted_host_key';

/** Where a host's keys were read, and the name known_hosts lists them under. */
export interface ScannedHostKeys {
  /** The address ssh connects to (after the user's ssh config). */
  readonly address: string;
  readonly port: number;
  /** `address`, `[address]:port`, or the HostKeyAlias of the user's ssh config. */
  readonly knownHostsName: string;
  readonly keys: readonly HostKey[];
}

/** ssh-keyscan read no key: nothing answered there, or not an SSH server. */
export class HostKeyScanError extends DockerMcpError {
  readonly kind = 'unreachable' as const;

  constructor(
    readonly hostId: string,
    readonly address: string,
    readonly port: number,
    readonly detail: string,
  ) {
    super(`could not read the host keys of ${hostId} at ${address} port ${port}: ${detail}`);
  }
}

/** The host was probed before anything was written, and did not connect. */
export class HostNotAddedError extends DockerMcpError {
  readonly kind: ErrorKind;
  override readonly facts: { readonly missing: MissingForAdd };

  constructor(
    readonly hostId: string,
    reason: DockerMcpError,
  ) {
    super(`${hostId} was not added, and nothing was written: ${reason.message}`, { cause: reason });
    this.kind = reason.kind;
    this.facts = { missing: missingFor(reason) };
  }
}

export interface HostKeyChoice {
  readonly scanned: ScannedHostKeys;
  /** The host as it would be added, for the commands that add it by hand. */
  readonly host: SshHost & { readonly compose_path?: string | null | undefined; readonly appdata_path?: string | null | undefined };
  /** The known_hosts file the key would be recorded in. */
  readonly knownHostsFile: string;
  readonly configFile: string;
  /** A fingerprint the caller sent that the host does not present. */
  readonly unmatched?: string | undefined;
}

/** Nobody who could vouch for the host's key did: the fingerprints, and what a person can run. */
export class HostKeyNotTrustedError extends DockerMcpError {
  readonly kind = 'bad-input' as const;
  override readonly facts: { readonly missing: 'trusted_host_key'; readonly host_keys: readonly { type: string; fingerprint: string }[]; readonly commands: readonly string[] };

  constructor(
    readonly hostId: string,
    choice: HostKeyChoice,
  ) {
    const { scanned, unmatched } = choice;
    const keys = scanned.keys.map(({ type, fingerprint }) => ({ type, fingerprint }));
    const commands = commandsToAddByHand(hostId, choice);
    super(
      [
        `${hostId} was not added, and nothing was written: ${scanned.address} port ${scanned.port} presents host keys that no known_hosts file holds:`,
        ...keys.map((key) => `  ${key.type} ${key.fingerprint}`),
        ...(unmatched === undefined ? [] : [`trust_host_key_fingerprint ${JSON.stringify(unmatched)} is none of them: the key may have changed since it was shown; check it again.`]),
        `Check them against the host's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub, run on the host), then call add again with trust_host_key_fingerprint set to the one checked.`,
        `Or, on this machine: ${commands[0]} (compare the fingerprint ssh shows, answer yes), then: ${commands[1]}`,
      ].join('\n'),
    );
    this.facts = { missing: 'trusted_host_key', host_keys: keys, commands };
  }
}

function missingFor(cause: DockerMcpError): MissingForAdd {
  if (cause instanceof AuthenticationFailedError) return 'login';
  if (cause instanceof HostKeyMismatchError) return cause.reason === 'changed' ? 'matching_host_key' : 'trusted_host_key';
  return 'connection';
}

/** ssh asks the person to check the key and records it; the CLI then adds the host with that file. */
function commandsToAddByHand(hostId: string, { host, knownHostsFile, configFile }: HostKeyChoice): [string, string] {
  const key = host.identity_file ? ['-i', host.identity_file] : [];
  const connect = command(['ssh', '-o', 'StrictHostKeyChecking=ask', '-o', `UserKnownHostsFile=${knownHostsFile}`, ...key, '-p', String(host.port), '-l', host.user, '--', host.hostname, 'true']);
  const add = command([
    'docker-mcp', '--config', configFile, 'hosts', 'add', hostId,
    '--hostname', host.hostname, '--user', host.user, '--port', String(host.port),
    ...(host.identity_file ? ['--identity-file', host.identity_file] : []),
    ...(host.compose_path ? ['--compose-path', host.compose_path] : []),
    ...(host.appdata_path ? ['--appdata-path', host.appdata_path] : []),
    '--known-hosts-file', knownHostsFile,
  ]);
  return [connect.text, add.text];
}
