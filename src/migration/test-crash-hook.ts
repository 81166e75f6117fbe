/**
 * TEST HOOKS ONLY. `DOCKER_MCP_TEST_CRASH_AT=<phase>` makes the process kill
 * itself with SIGKILL right after that phase is journalled as started, as a
 * crash or `kill -9` there would: the integration tests use it to prove that
 * `docker-mcp migrate --resume` finishes or rolls back from every phase.
 * `DOCKER_MCP_TEST_PAUSE_AT=<phase>` with `DOCKER_MCP_TEST_PAUSE_FILE=<file>`
 * creates that file at the same point and waits until the test removes it,
 * so a test can change a host between two phases. They have no other use;
 * leave them unset.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export const TEST_CRASH_VARIABLE = 'DOCKER_MCP_TEST_CRASH_AT';
export const TEST_PAUSE_VARIABLE = 'DOCKER_MCP_TEST_PAUSE_AT';
export const TEST_PAUSE_FILE_VARIABLE = 'DOCKER_MCP_TEST_PAUSE_FILE';

export function crashHereIfTestAsks(phase: string, env: NodeJS.ProcessEnv = process.env): void {
  if (env[TEST_CRASH_VARIABLE] === phase) process.kill(process.pid, 'SIGKILL');
}

export async function pauseHereIfTestAsks(phase: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const file = env[TEST_PAUSE_FILE_VARIABLE];
  if (env[TEST_PAUSE_VARIABLE] !== phase || !file) return;
  writeFileSync(file, `${process.pid}\n`);
  while (existsSync(file)) await sleep(50);
}
