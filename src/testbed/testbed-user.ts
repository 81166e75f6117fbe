/**
 * The account the testbed's hosts are logged in to: a uid-0 alias of root
 * with its own empty home. Root's own ~/.bashrc on this machine kind runs
 * `pyenv init` (~90 ms), which bash reads for every command arriving over
 * SSH; with an empty home each remote command costs what it would on a
 * plain host. It is removed by `down`.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { runLocal, succeeds } from './local-command.js';
import { testbedDir } from './layout.js';

export const TESTBED_USER = 'docker-mcp-tb';

export function testbedUserHome(): string {
  return path.join(testbedDir(), 'home');
}

/** Create the account unless it exists. Returns whether it was created. */
export async function ensureTestbedUser(): Promise<boolean> {
  await mkdir(testbedUserHome(), { recursive: true, mode: 0o700 });
  if (await succeeds('getent', ['passwd', TESTBED_USER])) return false;
  // Password '*': no password login, but not a locked account (sshd refuses those).
  await runLocal('useradd', ['--non-unique', '--uid', '0', '--gid', '0', '--home-dir', testbedUserHome(), '--no-create-home', '--shell', '/bin/bash', '--password', '*', TESTBED_USER]);
  return true;
}

export async function removeTestbedUser(): Promise<boolean> {
  if (!(await succeeds('getent', ['passwd', TESTBED_USER]))) return false;
  // -f: uid 0 is "in use" by every root process.
  await runLocal('userdel', ['--force', TESTBED_USER], { okExitCodes: [0, 8] });
  return true;
}
