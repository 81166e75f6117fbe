/**
 * Commands the testbed runs on this machine (not over SSH: the testbed is
 * what SSH will later reach). Arguments are passed as arrays, never through
 * a shell.
 */
import { execa } from 'execa';
import { DockerMcpError } from '../errors.js';

export class TestbedError extends DockerMcpError {
  readonly kind = 'failed' as const;
}

export interface LocalResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export interface LocalOptions {
  /** Exit codes that are not failures (default: 0 only). */
  readonly okExitCodes?: readonly number[];
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

export async function runLocal(file: string, args: readonly string[], options: LocalOptions = {}): Promise<LocalResult> {
  const result = await execa(file, [...args], {
    reject: false,
    input: options.input,
    env: options.env,
    timeout: options.timeoutMs ?? 120_000,
    stdin: options.input === undefined ? 'ignore' : undefined,
  });
  const exitCode = result.exitCode ?? -1;
  const ok = options.okExitCodes ?? [0];
  if (!ok.includes(exitCode)) {
    const reason = result.timedOut ? 'timed out' : `exit code ${exitCode}`;
    throw new TestbedError(`${[file, ...args].join(' ')} failed (${reason}): ${result.stderr.trim() || result.stdout.trim()}`);
  }
  return { stdout: result.stdout, stderr: result.stderr, exitCode };
}

/** True when the command exits 0. */
export async function succeeds(file: string, args: readonly string[], options: LocalOptions = {}): Promise<boolean> {
  const result = await runLocal(file, args, { ...options, okExitCodes: Array.from({ length: 256 }, (_, code) => code) });
  return result.exitCode === 0;
}
