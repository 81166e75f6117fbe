/**
 * The ssh(1) arguments for a host. The system OpenSSH client is used so that
 * the user's ~/.ssh/config, agent, ProxyJump and known_hosts keep working; we
 * only add what safety and speed need.
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HostConfig } from '../config/schema.js';

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
  controlDir: path.join(os.tmpdir(), `docker-mcp-ssh-${process.getuid?.() ?? 'user'}`),
};

export type SshHost = Pick<HostConfig, 'id' | 'hostname' | 'user' | 'port' | 'identity_file' | 'known_hosts_file'>;

/** Arguments for `ssh` up to and including the destination; the command follows. */
export function sshArguments(host: SshHost, options: SshConnectionOptions = DEFAULT_SSH_OPTIONS): string[] {
  const args = [
    '-T',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `ConnectTimeout=${options.connectTimeoutSeconds}`,
    '-o', 'ServerAliveInterval=15',
    '-o', 'ServerAliveCountMax=3',
    '-o', 'LogLevel=ERROR',
    '-p', String(host.port),
  ];
  if (host.identity_file) args.push('-i', expandHome(host.identity_file), '-o', 'IdentitiesOnly=yes');
  if (host.known_hosts_file) args.push('-o', `UserKnownHostsFile=${host.known_hosts_file}`);
  if (options.multiplex) {
    ensurePrivateDirectory(options.controlDir);
    args.push(
      '-o', 'ControlMaster=auto',
      '-o', `ControlPath=${path.join(options.controlDir, '%C')}`,
      '-o', `ControlPersist=${options.persistSeconds}`,
    );
  } else {
    args.push('-o', 'ControlMaster=no', '-o', 'ControlPath=none');
  }
  args.push('-l', host.user, '--', host.hostname);
  return args;
}

/** `ssh -O <operation>` against the master connection of this host. */
export function controlArguments(
  host: SshHost,
  operation: 'check' | 'exit',
  options: SshConnectionOptions = DEFAULT_SSH_OPTIONS,
): string[] {
  const args = sshArguments(host, options);
  const destination = args.splice(-2, 2);
  return [...args, '-O', operation, ...destination];
}

function expandHome(file: string): string {
  return file === '~' || file.startsWith('~/') ? path.join(os.homedir(), file.slice(1)) : file;
}

function ensurePrivateDirectory(directory: string): void {
  mkdirSync(directory, { recursive: true, mode: 0o700 });
}
