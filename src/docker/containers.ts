/** Containers on one host: list, inspect, start/stop/restart, logs, remove. */
import { validateContainerRef } from '../names/validate.js';
import { CommandFailedError } from '../ssh/errors.js';
import { command, redirect } from '../ssh/quote.js';
import type { RemoteStream, SshTransport } from '../ssh/transport.js';
import type { DockerHost } from './docker-host.js';
import { ConfirmationRequiredError, UnknownContainerError } from './errors.js';
import { parseInspectJson, summarizeContainer, type ContainerSummary, type InspectedContainer } from './inspect.js';
import { MAX_LOG_BYTES, boundedLog } from './log-output.js';

// One round trip: the ids, then every container's full JSON. A container
// removed in between makes inspect exit 1 but still print the others.
const LIST_SCRIPT = 'ids=$(docker ps -aq --no-trunc) || exit $?; if [ -z "$ids" ]; then echo "[]"; else docker inspect $ids; fi';

export async function listContainers(target: DockerHost, options: { running?: boolean } = {}): Promise<ContainerSummary[]> {
  const containers = (await inspectAllContainers(target.transport)).map(summarizeContainer);
  return (options.running ? containers.filter((c) => c.state === 'running') : containers).sort((a, b) => a.name.localeCompare(b.name));
}

/** `docker inspect` of every container, running or not, in one round trip; one that goes away meanwhile is left out. */
export async function inspectAllContainers(transport: SshTransport): Promise<InspectedContainer[]> {
  const result = await transport.exec(command(['sh', '-c', LIST_SCRIPT]), { okExitCodes: [0, 1], joinInFlight: true });
  if (result.exitCode !== 0 && !result.stdout.trim().startsWith('[')) {
    throw new CommandFailedError(transport.hostId, 'docker ps -aq', result.exitCode, result.stderr);
  }
  return parseInspectJson(result.stdout);
}

export async function inspectContainer(target: DockerHost, ref: string): Promise<InspectedContainer> {
  const result = await target.transport.exec(command(['docker', 'inspect', '--type', 'container', validateContainerRef(ref)]), { okExitCodes: [0, 1] });
  if (result.exitCode !== 0) throw noSuchContainerOr(target, ref, result.stderr, 'docker inspect');
  const [container] = parseInspectJson(result.stdout);
  if (!container) throw new UnknownContainerError(target.host.id, ref);
  return container;
}

export type ContainerAction = 'start' | 'stop' | 'restart';

/** `stopTimeoutSeconds`: how long stop and restart wait for the container to exit before killing it (docker's default: 10). */
export async function containerAction(target: DockerHost, ref: string, action: ContainerAction, options: { stopTimeoutSeconds?: number } = {}): Promise<ContainerSummary> {
  const wait = action !== 'start' && options.stopTimeoutSeconds !== undefined ? ['--time', String(options.stopTimeoutSeconds)] : [];
  const result = await target.transport.exec(command(['docker', action, ...wait, validateContainerRef(ref)]), { okExitCodes: [0, 1], timeoutMs: 120_000 + (options.stopTimeoutSeconds ?? 0) * 1000 });
  if (result.exitCode !== 0) throw noSuchContainerOr(target, ref, result.stderr, `docker ${action}`);
  return summarizeContainer(await inspectContainer(target, ref));
}

export interface LogOptions {
  readonly tail?: number;
  readonly since?: string;
}

function logArguments(ref: string, options: LogOptions, follow: boolean): string[] {
  return [
    'docker',
    'logs',
    ...(options.tail !== undefined ? ['--tail', String(options.tail)] : []),
    ...(options.since ? ['--since', options.since] : []),
    ...(follow ? ['--follow'] : []),
    validateContainerRef(ref),
  ];
}

export interface ContainerLogs {
  readonly logs: string;
  /** Only the last MAX_LOG_BYTES were kept. */
  readonly truncated: boolean;
  readonly note?: string;
}

/** The container's output, stdout and stderr interleaved as docker keeps them; at most MAX_LOG_BYTES, the newest. */
export async function containerLogs(target: DockerHost, ref: string, options: LogOptions = {}): Promise<ContainerLogs> {
  const result = await target.transport.exec(redirect(command(logArguments(ref, options, false)), { stderr: 'stdout' }), { okExitCodes: [0, 1], maxOutputBytes: MAX_LOG_BYTES });
  if (result.exitCode !== 0) throw noSuchContainerOr(target, ref, result.stdout, 'docker logs');
  const { text, ...bound } = boundedLog(result.stdout, result.truncated === true);
  return { logs: text, ...bound };
}

/** Follow the logs until the caller kills the stream. */
export async function followContainerLogs(target: DockerHost, ref: string, options: LogOptions = {}): Promise<RemoteStream> {
  await inspectContainer(target, ref);
  return target.transport.stream(redirect(command(logArguments(ref, options, true)), { stderr: 'stdout' }));
}

/** `forceWord`: how the caller's surface spells force (the CLI's --force, MCP's force: true). */
export async function removeContainer(target: DockerHost, ref: string, options: { confirmed: boolean; force?: boolean; forceWord?: string }): Promise<{ removed: string }> {
  const container = summarizeContainer(await inspectContainer(target, ref));
  if (!options.confirmed) {
    throw new ConfirmationRequiredError(
      `removing container ${container.name} on ${target.host.id} (${container.state}) cannot be undone: repeat with --yes to confirm`,
    );
  }
  if (container.state === 'running' && !options.force) {
    throw new ConfirmationRequiredError(`container ${container.name} on ${target.host.id} is running: stop it first, or add ${options.forceWord ?? '--force'}`);
  }
  await target.transport.exec(command(['docker', 'rm', ...(options.force ? ['--force'] : []), validateContainerRef(ref)]));
  return { removed: container.name };
}

function noSuchContainerOr(target: DockerHost, ref: string, stderr: string, what: string): Error {
  if (/No such (container|object)/i.test(stderr)) return new UnknownContainerError(target.host.id, ref);
  return new CommandFailedError(target.host.id, what, 1, stderr);
}
