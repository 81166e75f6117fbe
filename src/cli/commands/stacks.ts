import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ContainerSummary } from '../../docker/inspect.js';
import { deployQuestion, type DeployReview } from '../../docker/deploy-review.js';
import {
  deployStack,
  previewDeploy,
  listStacks,
  stackAction,
  stackContainers,
  viewStack,
  type StackAction,
  type StackSummary,
} from '../../docker/stacks.js';
import { discoverStacks, type StackDataReport } from '../../docker/stack-source.js';
import { InvalidInputError } from '../../errors.js';
import { failedOverByHost, fenceState, refuseStartOnStandby, standbyCopiesByHost, type FailedOverStack, type StandbyCopy } from '../../standby/copies.js';
import { noteDeployedStack, noteListing } from '../../standby/seen-stacks.js';
import { forEachHost, type HostRow } from '../../host/fan-out.js';
import { confirmAtTerminal } from '../ask.js';
import { cliContext, dockerHostOf } from '../context.js';
import { writtenAt } from '../format.js';
import { emit, table } from '../output.js';

interface JsonOption {
  json?: boolean;
}

export function registerStackCommands(program: Command): void {
  const stacks = program.command('stacks').description('Compose stacks on the configured hosts');

  stacks
    .command('list')
    .description("Stacks on every enabled host (or the named ones): the engine's compose projects and the compose_path folders")
    .argument('[host...]', 'host ids (default: every enabled host)')
    .option('--json', 'machine-readable output')
    .action(async (hostIds: string[], options: JsonOption, command: Command) => {
      const context = await cliContext(command);
      const rows = await forEachHost(context.selectHosts(hostIds), async (host) => noteListing(host.id, await listStacks({ host, transport: context.ssh.get(host) })));
      const copies = await standbyCopiesByHost(context.config);
      const failedOver = await failedOverByHost(context.config);
      // Each host's row says which copies it keeps of other hosts' stacks (not stacks there), and which of its stacks were failed over away.
      const withCopies = rows.map((row) => ({ ...row, standbyCopies: copies.get(row.hostId) ?? [], failedOver: failedOver.get(row.hostId) ?? [] }));
      emit(withCopies, options, renderStackRows);
      if (rows.some((row) => !row.ok)) process.exitCode = 3;
    });

  stacks
    .command('view')
    .description("The stack's compose file, as stored on the host")
    .argument('<host>')
    .argument('<stack>')
    .option('--json', 'machine-readable output')
    .action(async (hostId: string, stack: string, options: JsonOption, command: Command) => {
      const context = await cliContext(command);
      const view = await viewStack(dockerHostOf(context, hostId), stack);
      emit(view, options, (v) => v.content);
    });

  stacks
    .command('deploy')
    .description(
      'Write <compose_path>/<stack>/docker-compose.yml on the host (validated by compose first), then start it. Asks first (or needs --yes) when it replaces a stack ' +
        "(the old compose file and .env are kept as .bak) or when the file reaches outside the stack's data (host paths outside appdata and the stack folder, the Docker socket, privileged, host namespaces, cap_add, devices, unconfined profiles)",
    )
    .argument('<host>')
    .argument('<stack>')
    .requiredOption('-f, --file <file>', 'the compose file to deploy, or - for standard input')
    .option('--no-start', 'only write the file')
    .option('--dry-run', 'show what the deploy would do and what it would ask, change nothing')
    .option('--yes', 'confirm without being asked (needed without a terminal)')
    .option('--json', 'machine-readable output')
    .action(async (hostId: string, stack: string, options: JsonOption & { file: string; start: boolean; dryRun?: boolean; yes?: boolean }, command: Command) => {
      const context = await cliContext(command);
      const content = options.file === '-' ? await readStdin() : await readFile(options.file, 'utf8').catch((error: unknown) => {
        throw new InvalidInputError('compose file', options.file, error instanceof Error ? error.message : String(error));
      });
      const target = dockerHostOf(context, hostId);
      await refuseStartOnStandby(context.config, hostId, stack, 'deploy');
      if (options.dryRun) {
        const review = await previewDeploy(target, stack, content);
        emit({ ...review, question: review.needsConfirmation ? deployQuestion(review) : null }, options, renderDeployReview);
        return;
      }
      const result = await deployStack(target, stack, content, {
        start: options.start,
        approve: (review) => (review.needsConfirmation ? confirmAtTerminal(deployQuestion(review), options.yes === true) : Promise.resolve()),
      });
      await noteDeployedStack(hostId, stack);
      emit(result, options, (r) => `${r.created ? 'deployed' : 'updated'} ${r.stack} on ${hostId} (${r.file})${r.backups.length > 0 ? `; kept ${r.backups.join(', ')}` : ''}\n${r.output}`);
    });

  for (const action of ['up', 'down', 'restart', 'pull'] as const satisfies readonly StackAction[]) {
    stacks
      .command(action)
      .description(`docker compose ${action === 'up' ? 'up -d' : action} for the stack`)
      .argument('<host>')
      .argument('<stack>')
      .option('--json', 'machine-readable output')
      .action(async (hostId: string, stack: string, options: JsonOption, command: Command) => {
        const context = await cliContext(command);
        if (action === 'up' || action === 'restart') await refuseStartOnStandby(context.config, hostId, stack, action);
        const result = await stackAction(dockerHostOf(context, hostId), stack, action);
        emit({ host: hostId, stack, action, ...result }, options, (r) => r.output || `${action}: done`);
      });
  }

  stacks
    .command('logs')
    .description("The stack's output, all services")
    .argument('<host>')
    .argument('<stack>')
    .option('--tail <lines>', 'only the last N lines per service', (value) => Number(value))
    .option('--json', 'machine-readable output')
    .action(async (hostId: string, stack: string, options: JsonOption & { tail?: number }, command: Command) => {
      const context = await cliContext(command);
      const result = await stackAction(dockerHostOf(context, hostId), stack, 'logs', options.tail !== undefined ? { tail: options.tail } : {});
      if (result.note && !options.json) process.stderr.write(`note: ${result.note}\n`);
      emit({ host: hostId, stack, logs: result.output, truncated: result.truncated === true, ...(result.note ? { note: result.note } : {}) }, options, (r) => r.logs);
    });

  stacks
    .command('ps')
    .description("The stack's containers and their state")
    .argument('<host>')
    .argument('<stack>')
    .option('--json', 'machine-readable output')
    .action(async (hostId: string, stack: string, options: JsonOption, command: Command) => {
      const context = await cliContext(command);
      const containers = await stackContainers(dockerHostOf(context, hostId), stack);
      emit(containers, options, renderContainers);
    });

  stacks
    .command('discover')
    .description('Which stacks use which data paths: bind mounts under appdata_path, other binds, named volumes')
    .argument('[host...]', 'host ids (default: every enabled host)')
    .option('--stack <stack>', 'only this stack')
    .option('--json', 'machine-readable output')
    .action(async (hostIds: string[], options: JsonOption & { stack?: string }, command: Command) => {
      const context = await cliContext(command);
      const rows = await forEachHost(context.selectHosts(hostIds), (host) =>
        discoverStacks({ host, transport: context.ssh.get(host) }, options.stack),
      );
      emit(rows, options, renderDiscovery);
      if (rows.some((row) => !row.ok)) process.exitCode = rows.some((row) => !row.ok && row.error.kind === 'bad-input') ? 2 : 3;
    });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function renderDeployReview(review: DeployReview & { question: ReturnType<typeof deployQuestion> | null }): string {
  if (!review.question) return `would deploy project ${review.project} on ${review.host}: writes ${review.composeFile}; nothing to confirm\n`;
  const details = review.question.details.map((line) => `  ${line}\n`).join('');
  return `would ask: ${review.question.effect}${details ? `:\n${details}` : '\n'}`;
}

function renderStackRows(rows: (HostRow<StackSummary[]> & { standbyCopies: readonly StandbyCopy[]; failedOver: readonly FailedOverStack[] })[]): string {
  const lines: string[][] = [];
  const copies: string[][] = [];
  const away: string[][] = [];
  for (const row of rows) {
    for (const s of row.failedOver) away.push([row.hostId, s.stack, s.to, s.at, fenceState(s)]);
    for (const copy of row.standbyCopies) copies.push([row.hostId, copy.stack, `${copy.of}/${copy.stack}`, copy.confirmed ? `${copy.confirmed.at} (${copy.confirmed.snapshot})` : 'none yet']);
    if (!row.ok) {
      lines.push([row.hostId, `FAILED: ${row.error.message}`, '', '', '']);
      continue;
    }
    for (const s of row.value) lines.push([row.hostId, s.name, `${s.running}/${s.containers.length}`, s.foundIn, s.composeFile ?? '-']);
  }
  const stacks = table(['HOST', 'STACK', 'RUNNING', 'FOUND IN', 'COMPOSE FILE'], lines);
  const failedOver = away.length === 0 ? '' : `\nfailed over away (they run on their standby; what is here stays stopped and read-only until a failback)\n${table(['HOST', 'STACK', 'RUNS ON', 'SINCE', 'HERE'], away)}`;
  if (copies.length === 0) return `${stacks}${failedOver}`;
  return `${stacks}${failedOver}\nstandby copies (not stacks: read-only until a migrate; deploy, up and restart of them there are refused)\n${table(['HOST', 'STACK', 'COPY OF', 'LAST CONFIRMED PASS'], copies)}`;
}

function renderContainers(containers: ContainerSummary[]): string {
  return table(
    ['NAME', 'SERVICE', 'IMAGE', 'STATE'],
    containers.map((c) => [c.name, c.service ?? '-', c.image, c.health ? `${c.state} (${c.health})` : c.state]),
  );
}

function renderDiscovery(rows: HostRow<StackDataReport[]>[]): string {
  const lines: string[][] = [];
  for (const row of rows) {
    if (!row.ok) {
      lines.push([row.hostId, `FAILED: ${row.error.message}`, '', '', '']);
      continue;
    }
    for (const report of row.value) {
      if (report.dataPaths.length === 0) lines.push([row.hostId, report.stack, '-', '-', 'no data paths', '-']);
      for (const p of report.dataPaths) {
        const where = p.kind === 'volume' ? 'named volume' : p.underAppdata ? 'bind, under appdata' : 'bind, outside appdata';
        lines.push([row.hostId, report.stack, p.service, p.source, where, writtenAt(p.writtenAt)]);
      }
    }
  }
  return table(['HOST', 'STACK', 'SERVICE', 'SOURCE (AS COMPOSE RESOLVES IT)', 'KIND', 'WRITTEN AT'], lines);
}
