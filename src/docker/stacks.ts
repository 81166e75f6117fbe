/**
 * Compose stacks on one host: the engine's compose projects plus the folders
 * under the host's compose_path (`<compose_path>/<stack>/docker-compose.yml`).
 */
import { randomBytes } from 'node:crypto';
import { detectCompose, type ComposeCapability } from '../host/capabilities.js';
import { validateEnvironmentVariable, validateStackName } from '../names/validate.js';
import { CommandFailedError } from '../ssh/errors.js';
import { andThen, command, redirect } from '../ssh/quote.js';
import type { SshTransport } from '../ssh/transport.js';
import { composeCommand } from './compose-cli.js';
import { checkComposeText, parseComposeFile, type ServiceDataPath } from './compose-file.js';
import { listContainers } from './containers.js';
import type { DockerHost } from './docker-host.js';
import { ComposeValidationError, HostSetupError, UnknownStackError } from './errors.js';
import type { ContainerSummary } from './inspect.js';

export const COMPOSE_FILE_NAMES = ['docker-compose.yml', 'docker-compose.yaml', 'compose.yml', 'compose.yaml'] as const;

export interface StackSummary {
  readonly name: string;
  /** Where the stack was found: the engine's labels, the compose folder, or both. */
  readonly foundIn: 'engine' | 'folder' | 'both';
  readonly composeFile: string | null;
  readonly containers: readonly { readonly name: string; readonly service: string | null; readonly state: string; readonly health: string | null }[];
  readonly running: number;
}

const composeByTransport = new WeakMap<SshTransport, Promise<ComposeCapability>>();

/** The host's compose flavour, detected once per connection. */
export function hostCompose(target: DockerHost): Promise<ComposeCapability> {
  let detected = composeByTransport.get(target.transport);
  if (!detected) {
    detected = detectCompose(target.transport).then((compose) => {
      if (!compose) throw new HostSetupError(`${target.host.id} has neither "docker compose" nor "docker-compose"`);
      return compose;
    });
    detected.catch(() => composeByTransport.delete(target.transport));
    composeByTransport.set(target.transport, detected);
  }
  return detected;
}

function composePath(target: DockerHost): string {
  const path = target.host.compose_path;
  if (!path) throw new HostSetupError(`${target.host.id} has no compose_path in hosts.yml: stacks need one`);
  return path;
}

// Stack folders with a compose file, as "folder<TAB>file" lines. $1 is compose_path.
const FOLDERS_SCRIPT = `[ -d "$1" ] || exit 0
for dir in "$1"/*/; do
  dir=\${dir%/}
  for name in ${COMPOSE_FILE_NAMES.join(' ')}; do
    if [ -f "$dir/$name" ]; then printf '%s\\t%s\\n' "\${dir##*/}" "$dir/$name"; break; fi
  done
done`;

async function stackFolders(target: DockerHost): Promise<Map<string, string>> {
  const result = await target.transport.exec(command(['sh', '-c', FOLDERS_SCRIPT, 'stack-folders', composePath(target)]));
  const folders = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const [name, file] = line.split('\t');
    if (name && file) folders.set(name, file);
  }
  return folders;
}

export async function listStacks(target: DockerHost): Promise<StackSummary[]> {
  const [containers, folders] = await Promise.all([listContainers(target), stackFolders(target)]);
  const byStack = new Map<string, ContainerSummary[]>();
  for (const container of containers) {
    if (container.stack) byStack.set(container.stack, [...(byStack.get(container.stack) ?? []), container]);
  }
  const names = new Set([...byStack.keys(), ...folders.keys()]);
  return [...names].sort().map((name) => {
    const members = byStack.get(name) ?? [];
    return {
      name,
      foundIn: byStack.has(name) && folders.has(name) ? 'both' : byStack.has(name) ? 'engine' : 'folder',
      composeFile: folders.get(name) ?? null,
      containers: members.map((c) => ({ name: c.name, service: c.service, state: c.state, health: c.health })),
      running: members.filter((c) => c.state === 'running').length,
    };
  });
}

/** The stack's compose file on the host, or a typed error listing the stacks there are. */
export async function stackComposeFile(target: DockerHost, stack: string): Promise<string> {
  validateStackName(stack);
  const folders = await stackFolders(target);
  const file = folders.get(stack);
  if (!file) throw new UnknownStackError(target.host.id, stack, [...folders.keys()].sort());
  return file;
}

export async function viewStack(target: DockerHost, stack: string): Promise<{ readonly file: string; readonly content: string }> {
  const file = await stackComposeFile(target, stack);
  const result = await target.transport.exec(command(['cat', '--', file]));
  return { file, content: result.stdout };
}

export interface DeployResult {
  readonly stack: string;
  readonly file: string;
  readonly created: boolean;
  readonly output: string;
}

/**
 * Write the compose file and start the stack. The file is validated with
 * compose's own `config` first, from a temporary file: when it does not
 * validate, nothing on the host changes.
 */
export interface DeployOptions {
  /** Only write the files (default: start the stack). */
  readonly start?: boolean;
  /** Written as the stack's .env file, which compose reads for variables. */
  readonly environment?: Readonly<Record<string, string>>;
  /** Pull the stack's images before starting it. */
  readonly pullImages?: boolean;
  /** Recreate containers even when their configuration did not change. */
  readonly recreate?: boolean;
  readonly signal?: AbortSignal;
}

export async function deployStack(target: DockerHost, stack: string, content: string, options: DeployOptions = {}): Promise<DeployResult> {
  validateStackName(stack);
  checkComposeText(content, `for ${stack}`);
  for (const [name, value] of Object.entries(options.environment ?? {})) validateEnvironmentVariable(name, value);
  const [compose, folders] = await Promise.all([hostCompose(target), stackFolders(target)]);
  const dir = `${composePath(target)}/${stack}`;
  const file = folders.get(stack) ?? `${dir}/docker-compose.yml`;
  const temporary = `/tmp/docker-mcp-${stack}-${randomBytes(6).toString('hex')}.yml`;
  const validate = await target.transport.exec(
    andThen(
      redirect(command(['cat']), { stdoutFile: temporary }),
      composeCommand(compose, stack, temporary, ['--project-directory', dir, 'config', '--quiet']),
    ),
    { input: content, okExitCodes: Array.from({ length: 256 }, (_, code) => code) },
  );
  if (validate.exitCode !== 0) {
    await target.transport.exec(command(['rm', '-f', '--', temporary]));
    throw new ComposeValidationError(target.host.id, stack, validate.stderr || validate.stdout);
  }
  // Copy next to the final name, then rename: readers never see half a file.
  const staged = `${dir}/.${stack}.docker-mcp-new`;
  await target.transport.exec(
    andThen(
      command(['mkdir', '-p', '--', dir]),
      command(['cp', '--', temporary, staged]),
      command(['mv', '-f', '--', staged, file]),
      command(['rm', '-f', '--', temporary]),
    ),
  );
  if (options.environment !== undefined) await writeEnvFile(target, dir, options.environment);
  const run = (args: readonly string[]) => composeRun(target, stack, file, args, options.signal);
  let output = '';
  if (options.start !== false) {
    if (options.pullImages) output += (await run(['pull'])).output;
    output += (await run(['up', '-d', ...(options.recreate ? ['--force-recreate'] : [])])).output;
  }
  return { stack, file, created: !folders.has(stack), output };
}

async function writeEnvFile(target: DockerHost, dir: string, environment: Readonly<Record<string, string>>): Promise<void> {
  // Single-quoted values: compose takes them literally, with no interpolation.
  const text = Object.entries(environment)
    .map(([name, value]) => (value.includes("'") ? `${name}=${JSON.stringify(value)}` : `${name}='${value}'`))
    .map((line) => `${line}\n`)
    .join('');
  const staged = `${dir}/.env.docker-mcp-new`;
  await target.transport.exec(andThen(redirect(command(['cat']), { stdoutFile: staged }), command(['mv', '-f', '--', staged, `${dir}/.env`])), { input: text });
}

export type StackAction = 'up' | 'down' | 'restart' | 'pull' | 'build' | 'logs';

const ACTION_ARGS: Record<StackAction, readonly string[]> = {
  up: ['up', '-d'],
  down: ['down'],
  restart: ['restart'],
  pull: ['pull'],
  build: ['build'],
  logs: ['logs', '--no-color'],
};

export async function stackAction(target: DockerHost, stack: string, action: StackAction, options: { tail?: number; signal?: AbortSignal } = {}): Promise<{ readonly output: string }> {
  const file = await stackComposeFile(target, stack);
  const args = action === 'logs' && options.tail !== undefined ? [...ACTION_ARGS.logs, '--tail', String(options.tail)] : ACTION_ARGS[action];
  return composeRun(target, stack, file, args, options.signal);
}

/** The stack's containers, from the engine (compose's ps output differs by flavour; labels do not). */
export async function stackContainers(target: DockerHost, stack: string): Promise<ContainerSummary[]> {
  validateStackName(stack);
  const containers = (await listContainers(target)).filter((c) => c.stack === stack);
  if (containers.length === 0) await stackComposeFile(target, stack);
  return containers;
}

async function composeRun(target: DockerHost, stack: string, file: string, args: readonly string[], signal?: AbortSignal): Promise<{ readonly output: string }> {
  const compose = await hostCompose(target);
  // Merged so the output reads as compose printed it; on failure it is the error's detail.
  const cmd = redirect(composeCommand(compose, stack, file, args), { stderr: 'stdout' });
  const result = await target.transport.exec(cmd, { timeoutMs: 600_000, okExitCodes: Array.from({ length: 256 }, (_, code) => code), ...(signal ? { signal } : {}) });
  // What compose printed, and what ssh itself said (its stderr is not part of the remote redirect).
  if (result.exitCode !== 0) throw new CommandFailedError(target.host.id, cmd.text, result.exitCode, [result.stdout, result.stderr].filter(Boolean).join('\n'));
  return { output: result.stdout };
}

export interface StackDataReport {
  readonly stack: string;
  readonly composeFile: string;
  readonly services: readonly string[];
  readonly dataPaths: readonly ServiceDataPath[];
  /** Mounts of the stack's containers as the engine reports them. */
  readonly mountsInUse: readonly { readonly container: string; readonly type: string; readonly source: string; readonly destination: string }[];
}

/** Which stacks use which data paths: bind mounts (under appdata or not) and named volumes. */
export async function discoverStacks(target: DockerHost, onlyStack?: string): Promise<StackDataReport[]> {
  const [folders, containers] = await Promise.all([stackFolders(target), listContainers(target)]);
  if (onlyStack !== undefined && !folders.has(validateStackName(onlyStack))) {
    throw new UnknownStackError(target.host.id, onlyStack, [...folders.keys()].sort());
  }
  const reports: StackDataReport[] = [];
  for (const [stack, file] of [...folders].sort(([a], [b]) => a.localeCompare(b))) {
    if (onlyStack !== undefined && stack !== onlyStack) continue;
    const text = (await target.transport.exec(command(['cat', '--', file]))).stdout;
    const summary = parseComposeFile(text, file.slice(0, file.lastIndexOf('/')), target.host.appdata_path ?? null);
    reports.push({
      stack,
      composeFile: file,
      services: summary.services,
      dataPaths: summary.dataPaths,
      mountsInUse: containers
        .filter((c) => c.stack === stack)
        .flatMap((c) => c.mounts.map((mount) => ({ container: c.name, ...mount }))),
    });
  }
  return reports;
}
