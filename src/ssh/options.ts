/**
 * The ssh(1) arguments for a host. The system OpenSSH client is used so that
 * the user's ~/.ssh/config, agent, ProxyJump and known_hosts keep working; we
 * only add what safety and speed need.
 */
import os from 'node:os';
import path from 'node:path';
import type { HostConfig } from '../config/schema.js';
import { controlDirectory, ensureControlDirectory } from './control-dir.js';

export interface SshConnectionOptions {
  /** Share one connection per host (ControlMaster); on unless measuring. */
  readonly multiplex: boolean;
  readonly connectTimeoutSeconds: number;
  /** How long an idle master connection stays up after the last command. */
  readonly persistSeconds: number;
  readonly controlDir: string;
}

export const DEFAULT_SSH_OPTIONS: SshConnectionOptions = {
  multiplex: true,
  connectTimeoutSeconds: 10,
  persistSeconds: 60,
  controlDir: controlDirectory(),
};

export type SshHost = Pick<HostConfig, 'id' | 'hostname' | 'user' | 'port' | 'identity_file' | 'known_hosts_file'> & {
  /** Commands run through `sudo -n` (a non-root login). */
  readonly sudo?: boolean;
};

/**
 * A host must never reach back into the controller through ssh, whatever the
 * user's ssh_config says. ClearAllForwardings is not set: it would also drop
 * the `-R` reverse tunnels the tool opens on the master connection.
 */
export const NO_FORWARDING: readonly string[] = ['-o', 'ForwardAgent=no', '-o', 'ForwardX11=no'];

/** Arguments for `ssh` up to and including the destination; the command follows. */
export function sshArguments(host: SshHost, options: SshConnectionOptions = DEFAULT_SSH_OPTIONS): string[] {
  const args = [
    '-T',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    ...NO_FORWARDING,
    '-o', `ConnectTimeout=${options.connectTimeoutSeconds}`,
    '-o', 'ServerAliveInterval=15',
    '-o', 'ServerAliveCountMax=3',
    '-o', 'LogLevel=ERROR',
    '-p', String(host.port),
  ];
  if (host.identity_file) args.push('-i', expandHome(host.identity_file), '-o', 'IdentitiesOnly=yes');
  if (host.known_hosts_file) args.push('-o', `UserKnownHostsFile=${host.known_hosts_file}`);
  if (options.multiplex) {
    ensureControlDirectory(options.controlDir);
    args.push(
      '-o', 'ControlMaster=auto',
      '-o', `ControlPath=${controlPath(options.controlDir)}`,
      '-o', `ControlPersist=${options.persistSeconds}`,
    );
  } else {
    args.push('-o', 'ControlMaster=no', '-o', 'ControlPath=none');
  }
  args.push('-l', host.user, '--', host.hostname);
  return args;
}

/** `ssh -O <operation>` against the master connection of this host (`forward`/`cancel` take `-R` arguments). */
export function controlArguments(
  host: SshHost,
  operation: 'check' | 'exit' | 'forward' | 'cancel',
  options: SshConnectionOptions = DEFAULT_SSH_OPTIONS,
  extra: readonly string[] = [],
): string[] {
  const args = sshArguments(host, options);
  const destination = args.splice(-2, 2);
  return [...args, ...extra, '-O', operation, ...destination];
}

/**
 * One master per host and process: `close()` ends its master with `-O exit`,
 * which would cut the sessions and reverse tunnels of any other process
 * sharing it (an MCP server and a CLI migration at once).
 */
function controlPath(controlDir: string): string {
  return path.join(controlDir, `${process.pid}-%C`);
}

function expandHome(file: string): string {
  return file === '~' || file.startsWith('~/') ? path.join(os.homedir(), file.slice(1)) : file;
}
