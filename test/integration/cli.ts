/** Run the docker-mcp CLI from source, as a user would, against the testbed. */
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { testbedHostsFile } from '../../src/testbed/layout.js';

const bin = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));

export interface CliRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCli(args: readonly string[], env: Record<string, string> = {}, input?: string, timeoutMs = 120_000): Promise<CliRun> {
  const result = await execa('node', ['--import', 'tsx', bin, ...args], {
    reject: false,
    ...(input === undefined ? {} : { input }),
    env: { DOCKER_MCP_CONFIG: testbedHostsFile(), ...env },
    timeout: timeoutMs,
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}
