/**
 * TEST HOOK ONLY. `DOCKER_MCP_TEST_CRASH_AT=<phase>` makes the process kill
 * itself with SIGKILL right after that phase is journalled as started, as a
 * crash or `kill -9` there would: the integration tests use it to prove that
 * `docker-mcp migrate --resume` finishes or rolls back from every phase. It
 * has no other use; leave it unset.
 */
export const TEST_CRASH_VARIABLE = 'DOCKER_MCP_TEST_CRASH_AT';

export function crashHereIfTestAsks(phase: string, env: NodeJS.ProcessEnv = process.env): void {
  if (env[TEST_CRASH_VARIABLE] === phase) process.kill(process.pid, 'SIGKILL');
}
