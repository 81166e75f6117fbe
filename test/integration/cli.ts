/**
 * Run the docker-mcp CLI as a user would, against the testbed: the built
 * command (dist/, which the global set-up rebuilds when src/ is newer), not
 * the TypeScript source through tsx, which costs a second of CPU per run on a
 * machine the emulated guests already keep busy.
 */
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { testbedHostsFile } from '../../src/testbed/layout.js';

export const CLI_BIN = fileURLToPath(new URL('../../dist/src/cli/bin.js', import.meta.url));

/** `node` and its arguments for one CLI run. */
export const cliCommand = (args: readonly string[]): [string, string[]] => [process.execPath, [CLI_BIN, ...args]];

export interface CliRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCli(args: readonly string[], env: Record<string, string> = {}, input?: string, timeoutMs = 120_000): Promise<CliRun> {
  const [node, argv] = cliCommand(args);
  const result = await execa(node, argv, {
    reject: false,
    ...(input === undefined ? {} : { input }),
    env: { DOCKER_MCP_CONFIG: testbedHostsFile(), ...env },
    timeout: timeoutMs,
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}
