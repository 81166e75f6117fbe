import type { Command } from 'commander';
import {
  containerAction,
  containerLogs,
  followContainerLogs,
  inspectContainer,
  listContainers,
  removeContainer,
  type ContainerAction,
} from '../../docker/containers.js';
import type { ContainerSummary } from '../../docker/inspect.js';
import { InvalidInputError } from '../../errors.js';
import { forEachHost, type HostRow } from '../../host/fan-out.js';
import { cliContext, dockerHostOf } from '../context.js';
import { emit, table } from '../output.js';

interface JsonOption {
  json?: boolean;
}

export function registerContainerCommands(program: Command): void {
  const containers = program.command('containers').description('Containers on the configured hosts');

  containers
    .command('list')
    .description('List containers, running and stopped, on every enabled host (or the named ones), in parallel')
    .argument('[host...]', 'host ids (default: every enabled host)')
    .option('--running', 'only running containers')
    .option('--json', 'machine-readable output')
    .action(async (hostIds: string[], options: JsonOption & { running?: boolean }, command: Command) => {
      const context = await cliContext(command);
      const rows = await forEachHost(context.selectHosts(hostIds), (host) =>
        listContainers({ host, transport: context.ssh.get(host) }, { running: options.running ?? false }),
      );
      emit(rows, options, renderContainerRows);
      if (rows.some((row) => !row.ok)) process.exitCode = 3;
    });

  containers
    .command('inspect')
    .description("A container's full docker inspect record")
    .argument('<host>')
    .argument('<container>', 'name or id')
    .action(async (hostId: string, ref: string, _options: unknown, command: Command) => {
      const context = await cliContext(command);
      // docker's own record is JSON; it is printed as such.
      emit(await inspectContainer(dockerHostOf(context, hostId), ref), { json: true }, () => '');
    });

  for (const action of ['start', 'stop', 'restart'] as const satisfies readonly ContainerAction[]) {
    containers
      .command(action)
      .description(`${action[0]?.toUpperCase()}${action.slice(1)} a container`)
      .argument('<host>')
      .argument('<container>', 'name or id')
      .option('--json', 'machine-readable output')
      .action(async (hostId: string, ref: string, options: JsonOption, command: Command) => {
        const context = await cliContext(command);
        const container = await containerAction(dockerHostOf(context, hostId), ref, action);
        emit(container, options, (c) => `${c.name} on ${hostId}: ${c.state}${c.health ? ` (${c.health})` : ''}`);
      });
  }

  containers
    .command('logs')
    .description("A container's output")
    .argument('<host>')
    .argument('<container>', 'name or id')
    .option('--tail <lines>', 'only the last N lines', (value) => parseCount(value))
    .option('--since <time>', 'only since this time (e.g. 10m, 2026-01-01T00:00:00)')
    .option('-f, --follow', 'keep printing new output until interrupted')
    .option('--json', 'machine-readable output')
    .action(async (hostId: string, ref: string, options: JsonOption & { tail?: number; since?: string; follow?: boolean }, command: Command) => {
      const context = await cliContext(command);
      const target = dockerHostOf(context, hostId);
      const logOptions = { ...(options.tail !== undefined ? { tail: options.tail } : {}), ...(options.since ? { since: options.since } : {}) };
      if (options.follow) {
        const stream = await followContainerLogs(target, ref, logOptions);
        process.once('SIGINT', () => stream.kill());
        stream.stdout.pipe(process.stdout);
        await stream.done.catch(() => undefined);
        return;
      }
      const result = await containerLogs(target, ref, logOptions);
      if (result.note && !options.json) process.stderr.write(`note: ${result.note}\n`);
      emit({ host: hostId, container: ref, ...result }, options, (r) => r.logs);
    });

  containers
    .command('rm')
    .description('Remove a container (asks for --yes)')
    .argument('<host>')
    .argument('<container>', 'name or id')
    .option('--yes', 'confirm: the container and its writable layer are gone for good')
    .option('--force', 'also when it is running')
    .option('--json', 'machine-readable output')
    .action(async (hostId: string, ref: string, options: JsonOption & { yes?: boolean; force?: boolean }, command: Command) => {
      const context = await cliContext(command);
      const result = await removeContainer(dockerHostOf(context, hostId), ref, { confirmed: options.yes ?? false, force: options.force ?? false });
      emit(result, options, (r) => `removed ${r.removed} on ${hostId}`);
    });
}

function parseCount(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 0) throw new InvalidInputError('line count', value, 'must be a whole number');
  return count;
}

function renderContainerRows(rows: HostRow<ContainerSummary[]>[]): string {
  const lines: string[][] = [];
  for (const row of rows) {
    if (!row.ok) {
      lines.push([row.hostId, `FAILED: ${row.error.message}`, '', '', '', '']);
      continue;
    }
    for (const c of row.value) {
      lines.push([row.hostId, c.name, c.image, c.health ? `${c.state} (${c.health})` : c.state, c.stack ?? '-', c.ports.join(', ') || '-']);
    }
  }
  return table(['HOST', 'NAME', 'IMAGE', 'STATE', 'STACK', 'PORTS'], lines);
}
