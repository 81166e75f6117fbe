/**
 * Compose stacks on one host: the engine's compose projects plus the folders
 * under the host's compose_path (`<compose_path>/<stack>/docker-compose.yml`).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { composeFound, detectCompose, keepComposeFinding, type ComposeCapability } from '../host/capabilities.js';
import { recallProbe } from '../host/probe-memo.js';
import { InvalidInputError } from '../errors.js';
import { validateEnvironmentVariable, validateServiceName, validateStackName } from '../names/validate.js';
import { CommandFailedError } from '../ssh/errors.js';
import { andThen, command, redirect } from '../ssh/quote.js';
import type { SshTransport } from '../ssh/transport.js';
import { composeCommand, profileFlags } from './compose-cli.js';
import { parseResolvedConfig, type StackLocation } from './compose-config.js';
import { declaredName, refuseForeignProjectName, riskySettings, type DeployReview } from './deploy-review.js';
import { checkComposeText } from './compose-file.js';
import { listContainers } from './containers.js';
import type { DockerHost } from './docker-host.js';
import { ComposeValidationError, HostSetupError, StackOutsideComposePathError, UnknownStackError } from './errors.js';
import type { ContainerSummary } from './inspect.js';
import { checkLabelHints, pathsOf, type LabelVerdict } from './label-location.js';
import { COMPOSE_FILE_NAMES, stackNameOfComposeFile } from './stack-folder-layout.js';
import { log } from '../log.js';
import { MAX_LOG_BYTES, boundedLog } from './log-output.js';

// Compose files and .env hold secrets: files written after this are 0600, whatever the host's umask.
const OWNER_ONLY = command(['umask', '077']);

export { COMPOSE_FILE_NAMES } from './stack-folder-layout.js';

export interface StackSummary {
  readonly name: string;
  /** Where the stack was found: the engine's labels, the compose folder, or both. */
  readonly foundIn: 'engine' | 'folder' | 'both';
  readonly composeFile: string | null;
  /** The project's working directory, where its compose files and .env are. */
  readonly folder: string | null;
  readonly containers: readonly { readonly name: string; readonly service: string | null; readonly state: string; readonly health: string | null }[];
  readonly running: number;
  /** Why the engine's labels for it were not believed (a project found only by its labels then has no folder). */
  readonly labelsIgnored?: string;
}

const composeByTransport = new WeakMap<SshTransport, Promise<ComposeCapability>>();

/** The host's compose flavour, detected once per connection. */
export function hostCompose(target: DockerHost): Promise<ComposeCapability> {
  let detected = composeByTransport.get(target.transport);
  if (!detected) {
    detected = (async () => {
      const remembered = await recallProbe(target.host, 'compose', composeFound);
      if (remembered) return remembered;
      const compose = await detectCompose(target.transport);
      if (!compose) throw new HostSetupError(`${target.host.id} has neither "docker compose" nor "docker-compose"`);
      await keepComposeFinding(target.host, compose);
      return compose;
    })();
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

/** A stack folder under compose_path: its compose file, its override file, and the project name it declares. */
interface FolderStack {
  readonly folder: string;
  readonly dir: string;
  readonly file: string;
  readonly location: StackLocation;
}

// Each stack folder's compose file, override file (or ""), top-level
// `name:` line (or "") and its .env's COMPOSE_PROJECT_NAME (or ""),
// NUL-terminated: a folder name may hold any byte but NUL and "/", tabs and
// newlines included. $1 is compose_path.
const FOLDERS_SCRIPT = `[ -d "$1" ] || exit 0
for dir in "$1"/*/; do
  dir=\${dir%/}
  for name in ${COMPOSE_FILE_NAMES.join(' ')}; do
    if [ -f "$dir/$name" ]; then
      override="$dir/\${name%.*}.override.\${name##*.}"
      [ -f "$override" ] || override=
      env=
      [ -f "$dir/.env" ] && env=$(sed -n 's/^[[:space:]]*\\(export[[:space:]]\\{1,\\}\\)\\{0,1\\}COMPOSE_PROJECT_NAME[[:space:]]*=[[:space:]]*//p' "$dir/.env" | tail -n 1)
      printf '%s\\000%s\\000%s\\000%s\\000' "$dir/$name" "$override" "$(sed -n 's/^name:[[:space:]]*//p' "$dir/$name" | head -n 1)" "$env"
      break
    fi
  done
done`;

async function stackFolders(target: DockerHost): Promise<Map<string, FolderStack>> {
  const root = composePath(target);
  const result = await target.transport.exec(command(['sh', '-c', FOLDERS_SCRIPT, 'stack-folders', root]));
  const folders = new Map<string, FolderStack>();
  const fields = result.stdout.split('\0');
  for (let i = 0; i + 3 < fields.length; i += 4) {
    const [file = '', override = '', declaredName = '', envName = ''] = fields.slice(i, i + 4);
    const folder = stackNameOfComposeFile(root, file);
    // Control characters in a folder name look like an attempt to forge an entry; other
    // invalid names (docker-mcp's own aside folders, "My Stack") are only skipped.
    if (folder === null) {
      log[/[\u0000-\u001f\u007f]/.test(file) ? 'warn' : 'debug']({ host: target.host.id, file }, 'skipped a folder under compose_path whose name is not a valid stack name');
      continue;
    }
    const dir = `${root}/${folder}`;
    const configFiles = override ? [file, override] : [file];
    folders.set(folder, { folder, dir, file, location: { project: declaredProjectName(envName) ?? declaredProjectName(declaredName) ?? folder, workingDir: dir, configFiles } });
  }
  return folders;
}

/** A literal `name:` (or .env COMPOSE_PROJECT_NAME, which compose puts first) value that is a valid project name; one with variables is left to compose. */
function declaredProjectName(line: string): string | null {
  const value = line.replace(/\s+#.*$/, '').trim().replace(/^(["'])(.*)\1$/, '$2');
  if (value === '' || value.includes('$')) return null;
  try {
    return validateStackName(value);
  } catch {
    return null;
  }
}

export interface KnownStack {
  readonly summary: StackSummary;
  readonly location: StackLocation | null;
  /** The compose files its containers' labels name (absolute), believed or not. */
  readonly labelFiles: readonly string[];
}

/**
 * Every compose project on the host, once: a project the engine runs from a
 * folder under compose_path is that folder's stack. The engine's labels
 * are hints, checked on the host (label-location.ts): a project whose labels
 * do not lead into a stack folder of its own is listed, with why, but has no
 * place to read, change or remove.
 */
export async function knownStacks(target: DockerHost): Promise<KnownStack[]> {
  return (await knownStacksAndContainers(target)).stacks;
}

/** The stacks, and the container listing they were read from (one `docker inspect` serves both). */
export async function knownStacksAndContainers(target: DockerHost): Promise<{ stacks: KnownStack[]; containers: ContainerSummary[] }> {
  const [containers, folders] = await Promise.all([listContainers(target), stackFolders(target)]);
  const byProject = new Map<string, ContainerSummary[]>();
  for (const container of containers) {
    if (container.stack) byProject.set(container.stack, [...(byProject.get(container.stack) ?? []), container]);
  }
  const hints = [...byProject].map(([project, [first]]) => ({ project, workingDir: first?.projectDir ?? null, configFiles: first?.configFiles ?? [] }));
  const verdicts = await checkLabelHints(target.transport, composePath(target), hints);
  const labelFiles = (project: string) => (pathsOf(hints.find((h) => h.project === project) ?? { project, workingDir: null, configFiles: [] }) ?? []).slice(1);
  const checkedDir = (project: string) => {
    const verdict = verdicts.get(project);
    return verdict && 'location' in verdict ? verdict.location.workingDir : null;
  };
  const stacks: KnownStack[] = [];
  const claimed = new Map<string, string>();
  for (const folder of folders.values()) {
    // The project the folder declares first, when its containers say they run from here.
    const candidates = [folder.location.project, ...byProject.keys()];
    const project = candidates.find((name) => byProject.has(name) && checkedDir(name) === folder.dir) ?? folder.location.project;
    const members = byProject.get(project) ?? [];
    claimed.set(project, folder.dir);
    stacks.push({ summary: summarize(project, members.length > 0 ? 'both' : 'folder', folder.file, folder.dir, members), location: { ...folder.location, project }, labelFiles: labelFiles(project) });
  }
  const owners = new Map([...claimed].map(([project, dir]) => [dir, project]));
  for (const [project, members] of byProject) {
    if (claimed.has(project)) continue;
    const verdict = verdicts.get(project) ?? { ignored: 'its containers carry no labels' };
    const owner = 'location' in verdict ? owners.get(verdict.location.workingDir) : undefined;
    const checked: LabelVerdict = owner !== undefined && 'location' in verdict ? { ignored: `its labels name the folder of stack ${owner}, ${verdict.location.workingDir}` } : verdict;
    const location = 'location' in checked ? checked.location : null;
    const summary = summarize(project, 'engine', location?.configFiles[0] ?? null, location?.workingDir ?? null, members);
    stacks.push({ summary: 'ignored' in checked ? { ...summary, labelsIgnored: checked.ignored } : summary, location, labelFiles: labelFiles(project) });
  }
  return { stacks: stacks.sort((a, b) => a.summary.name.localeCompare(b.summary.name)), containers };
}

function summarize(name: string, foundIn: StackSummary['foundIn'], composeFile: string | null, folder: string | null, members: readonly ContainerSummary[]): StackSummary {
  return {
    name,
    foundIn,
    composeFile,
    folder,
    containers: members.map((c) => ({ name: c.name, service: c.service, state: c.state, health: c.health })),
    running: members.filter((c) => c.state === 'running').length,
  };
}

export async function listStacks(target: DockerHost): Promise<StackSummary[]> {
  return (await knownStacks(target)).map((s) => s.summary);
}

/**
 * Where a stack lives, by its project name or its folder's name; a typed
 * error listing the stacks there are when it is neither.
 */
export async function locateStack(target: DockerHost, stack: string): Promise<StackLocation> {
  return (await locateStackWithContainers(target, stack)).location;
}

/** locateStack, with the host's container listing it was found in. */
export async function locateStackWithContainers(target: DockerHost, stack: string): Promise<{ location: StackLocation; containers: ContainerSummary[] }> {
  const { stacks, containers } = await knownStacksAndContainers(target);
  const byName = stacks.find((s) => s.summary.name === stack) ?? stacks.find((s) => s.summary.folder !== null && path.posix.basename(s.summary.folder) === stack);
  if (byName?.summary.labelsIgnored) throw new StackOutsideComposePathError(target.host.id, byName.summary.name, byName.summary.labelsIgnored);
  if (!byName?.location) throw new UnknownStackError(target.host.id, stack, stacks.filter((s) => s.location).map((s) => s.summary.name));
  return { location: byName.location, containers };
}

/** The stack's (first) compose file on the host, or a typed error listing the stacks there are. */
export async function stackComposeFile(target: DockerHost, stack: string): Promise<string> {
  const location = await locateStack(target, stack);
  return location.configFiles[0] as string;
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
  /** Copies of the files the deploy replaced (`<file>.bak`, 0600). */
  readonly backups: readonly string[];
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
  /**
   * A deploy a user or a model asked for (not a migration's copy of a stack
   * that already runs): a project name other than the folder's, or one
   * another stack runs as, is refused, and this is called with what the
   * deploy does before anything on the host changes; it throws to stop it.
   */
  readonly approve?: (review: DeployReview) => Promise<void>;
}

export async function deployStack(target: DockerHost, stack: string, content: string, options: DeployOptions = {}): Promise<DeployResult> {
  const staged = await stageDeploy(target, stack, content, options, options.approve !== undefined);
  try {
    await options.approve?.(staged.review);
    const backups = await backUp(target, staged.review.replaces);
    // Copy next to the final name, then rename: readers never see half a file.
    const next = `${staged.review.folder}/.${stack}.docker-mcp-new`;
    await target.transport.exec(
      andThen(
        command(['mkdir', '-p', '--', staged.review.folder]),
        OWNER_ONLY,
        command(['cp', '--', staged.temporary, next]),
        command(['mv', '-f', '--', next, staged.review.composeFile]),
      ),
    );
    if (options.environment !== undefined) await writeEnvFile(target, staged.review.folder, options.environment);
    const run = (args: readonly string[]) => composeRun(target, staged.location, args, options.signal);
    let output = '';
    if (options.start !== false) {
      if (options.pullImages) output += (await run(['pull'])).output;
      output += (await run(['up', '-d', ...(options.recreate ? ['--force-recreate'] : [])])).output;
    }
    return { stack, file: staged.review.composeFile, created: staged.created, output, backups };
  } finally {
    await staged.cleanUp();
  }
}

/** What `deployStack` would do, with its refusals, and nothing on the host changed: a dry run. */
export async function previewDeploy(target: DockerHost, stack: string, content: string, options: Pick<DeployOptions, 'environment'> = {}): Promise<DeployReview> {
  const staged = await stageDeploy(target, stack, content, options, true);
  await staged.cleanUp();
  return staged.review;
}

interface StagedDeploy {
  readonly review: DeployReview;
  readonly location: StackLocation;
  readonly created: boolean;
  /** The compose file, validated, in a private temporary file. */
  readonly temporary: string;
  cleanUp(): Promise<void>;
}

/**
 * The compose file (and the .env the deploy writes) in private temporary
 * files, resolved by compose there as it will be in the stack folder, and
 * what the deploy will do. Nothing in the stack folder changes.
 */
async function stageDeploy(target: DockerHost, stack: string, content: string, options: Pick<DeployOptions, 'environment'>, asked: boolean): Promise<StagedDeploy> {
  validateStackName(stack);
  const root = checkComposeText(content, `for ${stack}`);
  for (const [name, value] of Object.entries(options.environment ?? {})) validateEnvironmentVariable(name, value);
  const [compose, folders, stacks] = await Promise.all([hostCompose(target), stackFolders(target), asked ? knownStacks(target) : Promise.resolve(null)]);
  const dir = `${composePath(target)}/${stack}`;
  const existing = folders.get(stack);
  const file = existing?.file ?? `${dir}/docker-compose.yml`;
  const base = `/tmp/docker-mcp-${stack}-${randomBytes(6).toString('hex')}`;
  const temporary = `${base}.yml`;
  const temporaryEnv = options.environment === undefined ? null : `${base}.env`;
  const cleanUp = async (): Promise<void> => {
    await target.transport.exec(command(['rm', '-f', '--', temporary, ...(temporaryEnv ? [temporaryEnv] : [])]));
  };
  try {
    await target.transport.exec(andThen(OWNER_ONLY, redirect(command(['cat']), { stdoutFile: temporary })), { input: content });
    if (temporaryEnv && options.environment) await target.transport.exec(andThen(OWNER_ONLY, redirect(command(['cat']), { stdoutFile: temporaryEnv })), { input: envFileText(options.environment) });
    // No project flag: compose v2 then prints the name it would give the project itself (name:, COMPOSE_PROJECT_NAME).
    const config = command([
      ...compose.command,
      '--file',
      temporary,
      ...(temporaryEnv ? ['--env-file', temporaryEnv] : []),
      '--project-directory',
      dir,
      'config',
      ...(compose.flavour === 'v2' ? ['--format', 'json'] : []),
    ]);
    const [printed, envExists] = await Promise.all([
      target.transport.exec(config, { okExitCodes: Array.from({ length: 256 }, (_, code) => code), timeoutMs: 60_000 }),
      target.transport.exec(command(['test', '-f', `${dir}/.env`]), { okExitCodes: [0, 1] }).then((r) => r.exitCode === 0),
    ]);
    if (printed.exitCode !== 0) throw new ComposeValidationError(target.host.id, stack, printed.stderr || printed.stdout);
    if (stacks) {
      const declared = declaredName(root);
      refuseForeignProjectName(stack, {
        declaredName: declared !== null && declared.includes('$') ? null : declared,
        resolvedName: compose.flavour === 'v2' ? parseResolvedConfig(printed.stdout, stack).name : null,
        environmentName: options.environment?.COMPOSE_PROJECT_NAME ?? null,
      });
      refuseTakeover(target.host.id, stack, dir, stacks);
    }
    const replaces = [...(existing ? [existing.file] : []), ...(temporaryEnv && envExists ? [`${dir}/.env`] : [])];
    const risky = riskySettings(printed.stdout, { appdataPath: target.host.appdata_path ?? null, stackFolder: dir });
    const project = existing?.location.project ?? stack;
    const review: DeployReview = {
      host: target.host.id,
      stack,
      project,
      folder: dir,
      composeFile: file,
      envFile: temporaryEnv ? `${dir}/.env` : null,
      replaces,
      risky,
      needsConfirmation: replaces.length > 0 || risky.length > 0,
    };
    const location = { project, workingDir: dir, configFiles: existing?.location.configFiles ?? [file] };
    return { review, location, created: !existing, temporary, cleanUp };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

/** A stack name that another folder's stack (or containers started elsewhere) already runs as. */
function refuseTakeover(hostId: string, stack: string, dir: string, stacks: readonly KnownStack[]): void {
  const other = stacks.find((s) => s.summary.name === stack && s.summary.folder !== dir);
  if (other) {
    throw new InvalidInputError('stack', stack, `is already the project of ${other.summary.folder ?? 'containers started elsewhere'} on ${hostId}: deploying it here would take over that project's containers`);
  }
}

// Each file that exists is copied to <file>.bak, created afresh so that its mode is 0600 whatever the old copy's was.
const BACKUP_SCRIPT = `umask 077
for file in "$@"; do
  [ -f "$file" ] || continue
  rm -f -- "$file.bak" && cp -- "$file" "$file.bak" && chmod 600 -- "$file.bak" || exit 1
done`;

async function backUp(target: DockerHost, files: readonly string[]): Promise<string[]> {
  if (files.length === 0) return [];
  await target.transport.exec(command(['sh', '-c', BACKUP_SCRIPT, 'back-up', ...files]));
  return files.map((file) => `${file}.bak`);
}

function envFileText(environment: Readonly<Record<string, string>>): string {
  // Single-quoted values are literal in compose v1 and v2 ("$NAME" included, not "${NAME}": validateEnvironmentVariable refuses that); both read \' as a quote.
  return Object.entries(environment)
    .map(([name, value]) => `${name}='${value.replaceAll("'", "\\'")}'\n`)
    .join('');
}

async function writeEnvFile(target: DockerHost, dir: string, environment: Readonly<Record<string, string>>): Promise<void> {
  const text = envFileText(environment);
  const staged = `${dir}/.env.docker-mcp-new`;
  await target.transport.exec(andThen(OWNER_ONLY, redirect(command(['cat']), { stdoutFile: staged }), command(['mv', '-f', '--', staged, `${dir}/.env`])), { input: text });
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

export async function stackAction(
  target: DockerHost,
  stack: string,
  action: StackAction,
  options: { tail?: number; signal?: AbortSignal; flags?: readonly string[]; services?: readonly string[]; profiles?: readonly string[] } = {},
): Promise<{ readonly output: string; readonly truncated?: boolean; readonly note?: string }> {
  const location = await locateStack(target, stack);
  const tail = action === 'logs' && options.tail !== undefined ? ['--tail', String(options.tail)] : [];
  // Validated names start with a letter or digit, so none reads as an option.
  const services = (options.services ?? []).map(validateServiceName);
  const args = [...profileFlags(options.profiles ?? []), ...ACTION_ARGS[action], ...tail, ...(options.flags ?? []), ...services];
  if (action !== 'logs') return composeRun(target, location, args, options.signal);
  const { output, truncated } = await composeRun(target, location, args, options.signal, MAX_LOG_BYTES);
  const { text, ...bound } = boundedLog(output, truncated);
  return { output: text, ...bound };
}

/**
 * A compose command on a stack whose place is already known (a migration's
 * plan has it): no look-up through the engine first, so an outage is only as
 * long as compose itself takes.
 */
export async function stackActionAt(
  target: DockerHost,
  location: StackLocation,
  action: 'up' | 'down',
  profiles: readonly string[] = [],
  flags: readonly string[] = [],
): Promise<{ readonly output: string }> {
  return composeRun(target, location, [...profileFlags(profiles), ...ACTION_ARGS[action], ...flags]);
}

/** The stack's containers, from the engine (compose's ps output differs by flavour; labels do not). */
export async function stackContainers(target: DockerHost, stack: string): Promise<ContainerSummary[]> {
  const { project } = await locateStack(target, stack);
  return (await listContainers(target)).filter((c) => c.stack === project);
}

async function composeRun(
  target: DockerHost,
  location: StackLocation,
  args: readonly string[],
  signal?: AbortSignal,
  maxOutputBytes?: number,
): Promise<{ readonly output: string; readonly truncated: boolean }> {
  const compose = await hostCompose(target);
  // Merged so the output reads as compose printed it; on failure it is the error's detail.
  const cmd = redirect(composeCommand(compose, location.project, location.configFiles, args, location.workingDir), { stderr: 'stdout' });
  const result = await target.transport.exec(cmd, { timeoutMs: 600_000, okExitCodes: Array.from({ length: 256 }, (_, code) => code), ...(signal ? { signal } : {}), ...(maxOutputBytes ? { maxOutputBytes } : {}) });
  // What compose printed, and what ssh itself said (its stderr is not part of the remote redirect).
  if (result.exitCode !== 0) throw new CommandFailedError(target.host.id, cmd.text, result.exitCode, [result.stdout, result.stderr].filter(Boolean).join('\n'));
  return { output: result.stdout, truncated: result.truncated === true };
}
