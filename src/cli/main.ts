/**
 * The docker-mcp command line. Commands are thin: they parse arguments, call
 * the engine and render its typed results.
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { DockerMcpError, EXIT_CODES, describeError } from '../errors.js';
import { registerAuditCommand } from './commands/audit.js';
import { registerCompletionCommand } from './commands/completion.js';
import { registerContainerCommands } from './commands/containers.js';
import { registerHostsCommands } from './commands/hosts.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerFailbackCommand } from './commands/failback.js';
import { registerEvacuateCommand } from './commands/evacuate.js';
import { registerFailoverCommand, registerFenceCommand } from './commands/failover.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerMigrationsCommands } from './commands/migrations.js';
import { registerServeCommand } from './commands/serve.js';
import { registerStackCommands } from './commands/stacks.js';
import { registerStandbyCommands } from './commands/standby.js';
import { registerTestbedCommands } from './commands/testbed.js';

export function buildProgram(): Command {
  const program = new Command('docker-mcp')
    .description('Run Docker Compose stacks on several hosts over SSH, and move them between hosts with their data.')
    .option('-c, --config <file>', 'hosts.yml to use (else $DOCKER_MCP_CONFIG, ~/.config/docker-mcp/hosts.yml; ./config/hosts.yml only when named here)')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();
  registerHostsCommands(program);
  registerContainerCommands(program);
  registerStackCommands(program);
  registerMigrateCommand(program);
  registerMigrationsCommands(program);
  registerStandbyCommands(program);
  registerFailoverCommand(program);
  registerFenceCommand(program);
  registerFailbackCommand(program);
  registerEvacuateCommand(program);
  registerServeCommand(program);
  registerAuditCommand(program);
  registerDemoCommand(program);
  registerTestbedCommands(program);
  registerCompletionCommand(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; they already printed.
      return error.exitCode === 0 ? 0 : EXIT_CODES['bad-input'];
    }
    process.stderr.write(`docker-mcp: ${describeError(error)}\n`);
    return error instanceof DockerMcpError ? EXIT_CODES[error.kind] : EXIT_CODES.failed;
  }
}
