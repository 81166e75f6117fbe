/**
 * What can go wrong talking to a host, as types. `classifySshFailure` tells
 * ssh's own failures (exit 255 plus a recognisable message) from the remote
 * command's.
 */
import { DockerMcpError } from '../errors.js';

export class HostUnreachableError extends DockerMcpError {
  readonly kind = 'unreachable' as const;

  constructor(
    readonly hostId: string,
    readonly detail: string,
  ) {
    super(`host ${hostId} is unreachable: ${detail}`);
  }
}

export class AuthenticationFailedError extends DockerMcpError {
  readonly kind = 'unreachable' as const;

  constructor(
    readonly hostId: string,
    readonly detail: string,
  ) {
    super(
      `host ${hostId} refused our SSH key: ${detail}. Check user and identity_file in hosts.yml, and that the key is in the host's authorized_keys.`,
    );
  }
}

export class HostKeyMismatchError extends DockerMcpError {
  readonly kind = 'unreachable' as const;

  constructor(
    readonly hostId: string,
    readonly reason: 'changed' | 'unknown',
    readonly detail: string,
  ) {
    super(
      reason === 'changed'
        ? `host ${hostId} presented a host key that differs from the one in known_hosts (possible man-in-the-middle, or the host was reinstalled): ${detail}. Verify the new key, then update known_hosts.`
        : `host ${hostId} has no entry in known_hosts: ${detail}. Connect once with ssh and verify the key, or add it with ssh-keyscan after checking its fingerprint.`,
    );
  }
}

export class CommandFailedError extends DockerMcpError {
  readonly kind = 'failed' as const;

  constructor(
    readonly hostId: string,
    readonly command: string,
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(`on ${hostId}: command failed with exit code ${exitCode}: ${command}${stderr.trim() ? `\n${lastLines(stderr)}` : ''}`);
  }
}

export class CommandTimeoutError extends DockerMcpError {
  readonly kind = 'failed' as const;

  constructor(
    readonly hostId: string,
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`on ${hostId}: command did not finish within ${timeoutMs / 1000} s and was stopped: ${command}`);
  }
}

export type SshFailure = HostUnreachableError | AuthenticationFailedError | HostKeyMismatchError;

const HOST_KEY_CHANGED = /REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed|Host key for .* has changed/i;
const HOST_KEY_UNKNOWN = /No \S+ host key is known|Host key verification failed/i;
const AUTH_FAILED = /Permission denied \(|Too many authentication failures|no mutual signature algorithm|Load key .*: (invalid format|No such file)/i;
const UNREACHABLE =
  /Connection refused|Connection timed out|Operation timed out|No route to host|Could not resolve hostname|Network is unreachable|Connection closed by|Connection reset by|kex_exchange_identification|banner exchange|Broken pipe|port \d+: Connection|mux_client|master hello exchange|Control socket connect|client_loop: send disconnect/i;

/** An ssh failure if this exit looks like one, else undefined (the remote command failed). */
export function classifySshFailure(hostId: string, exitCode: number | undefined, stderr: string): SshFailure | undefined {
  if (exitCode !== 255) return undefined;
  const detail = firstMatchingLine(stderr) ?? 'ssh exited with code 255';
  if (HOST_KEY_CHANGED.test(stderr)) return new HostKeyMismatchError(hostId, 'changed', detail);
  if (HOST_KEY_UNKNOWN.test(stderr)) return new HostKeyMismatchError(hostId, 'unknown', detail);
  if (AUTH_FAILED.test(stderr)) return new AuthenticationFailedError(hostId, detail);
  if (UNREACHABLE.test(stderr)) return new HostUnreachableError(hostId, detail);
  return undefined;
}

function firstMatchingLine(stderr: string): string | undefined {
  const lines = stderr.split('\n').map((line) => line.trim()).filter(Boolean);
  return (
    lines.find((line) => [HOST_KEY_CHANGED, HOST_KEY_UNKNOWN, AUTH_FAILED, UNREACHABLE].some((re) => re.test(line))) ??
    lines[0]
  );
}

function lastLines(text: string, count = 10): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}
