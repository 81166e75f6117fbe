/**
 * A stack read from its host: where it lives, what compose resolves it to,
 * and the text of the files it was written in (compose files and `.env`).
 */
import path from 'node:path';
import { parse } from 'yaml';
import { command } from '../ssh/quote.js';
import { readResolvedProject, type ResolvedProject, type StackLocation } from './compose-config.js';
import type { DockerHost } from './docker-host.js';
import { isUnderPath, type ServiceDataPath } from './compose-file.js';
import { listContainers } from './containers.js';
import type { ContainerSummary } from './inspect.js';
import { mountOrigin, type MountOrigin, type StackFile, type StackFiles } from './mount-origin.js';
import { hostCompose, listStacks, locateStack, locateStackWithContainers } from './stacks.js';

export interface StackSource {
  readonly location: StackLocation;
  readonly resolved: ResolvedProject;
  readonly files: StackFiles;
}

/** A stack read from its host, with every container there as listed when the stack was located. */
export interface ReadStackSource extends StackSource {
  readonly containers: readonly ContainerSummary[];
}

export async function readStackSource(target: DockerHost, stack: string): Promise<ReadStackSource> {
  const { location, containers } = await locateStackWithContainers(target, stack);
  const [resolved, files] = await Promise.all([readResolvedProject(target, await hostCompose(target), location), readStackFiles(target, location)]);
  return { location, resolved, files, containers };
}

export async function readStackFiles(target: DockerHost, location: StackLocation): Promise<StackFiles> {
  const read = async (file: string): Promise<StackFile> => ({ path: file, text: (await target.transport.exec(command(['cat', '--', file]))).stdout });
  const envPath = path.posix.join(location.workingDir, '.env');
  const [composeFiles, envFile] = await Promise.all([
    Promise.all(location.configFiles.map(read)),
    target.transport.exec(command(['test', '-f', envPath]), { okExitCodes: [0, 1] }).then((r) => (r.exitCode === 0 ? read(envPath) : null)),
  ]);
  return { composeFiles, envFile };
}

/** A mount as compose resolves it, and where its host path is written. */
export interface DiscoveredMount extends ServiceDataPath {
  readonly writtenAt: MountOrigin | null;
}

export interface StackDataReport {
  readonly stack: string;
  readonly composeFile: string;
  readonly composeFiles: readonly string[];
  readonly services: readonly string[];
  readonly dataPaths: readonly DiscoveredMount[];
  /** Mounts of the stack's containers as the engine reports them. */
  readonly mountsInUse: readonly { readonly container: string; readonly type: string; readonly source: string; readonly destination: string }[];
}

/** The stack's mounts as data paths: binds (a named volume bound to a device counts as its path) and named volumes. */
export function dataPathsOf(source: StackSource, appdataPath: string | null): DiscoveredMount[] {
  return source.resolved.mounts.flatMap((mount): DiscoveredMount[] => {
    if (mount.type === 'other') return [];
    const volume = mount.type === 'volume' ? source.resolved.volumes.find((v) => v.key === mount.source) : undefined;
    const bindPath = mount.type === 'bind' ? mount.source : (volume?.bindDevice ?? null);
    const writtenAt = mountOrigin(source.files, mount.service, mount.target);
    const common = { service: mount.service, target: mount.target, readOnly: mount.readOnly, hasVariables: writtenAt?.variable != null, writtenAt };
    if (bindPath !== null) return [{ ...common, source: bindPath, kind: 'bind', volumeName: volume?.key ?? null, underAppdata: isUnderPath(bindPath, appdataPath) }];
    return [{ ...common, source: mount.source, kind: 'volume', volumeName: mount.source, underAppdata: false }];
  });
}

/** Which stacks use which data paths, as compose resolves them, and where each path is written. */
export async function discoverStacks(target: DockerHost, onlyStack?: string): Promise<StackDataReport[]> {
  const [stacks, containers] = await Promise.all([listStacks(target), listContainers(target)]);
  const chosen = onlyStack === undefined ? stacks.filter((s) => s.composeFile !== null).map((s) => s.name) : [(await locateStack(target, onlyStack)).project];
  const reports: StackDataReport[] = [];
  for (const stack of chosen) {
    const source = await readStackSource(target, stack);
    reports.push({
      stack: source.location.project,
      composeFile: source.location.configFiles[0] as string,
      composeFiles: source.location.configFiles,
      services: source.resolved.services,
      dataPaths: dataPathsOf(source, target.host.appdata_path ?? null),
      mountsInUse: containers
        .filter((c) => c.stack === source.location.project)
        .flatMap((c) => c.mounts.map((mount) => ({ container: c.name, ...mount }))),
    });
  }
  return reports;
}

/**
 * Files the stack reads besides its compose files: each service's env_file
 * (from the files' own text: compose folds them into `environment`), and
 * the files of `configs:` and `secrets:` (as compose resolves them).
 */
export function referencedFiles(source: StackSource): { readonly what: string; readonly path: string }[] {
  const envFiles = source.files.composeFiles.flatMap((file) => {
    const root: unknown = parse(file.text);
    const services = isMapping(root) && isMapping(root.services) ? root.services : {};
    return Object.entries(services).flatMap(([service, definition]) => {
      const declared: unknown = isMapping(definition) ? definition.env_file : undefined;
      const entries: unknown[] = Array.isArray(declared) ? declared : declared === undefined ? [] : [declared];
      return entries.flatMap((entry) => {
        const file = typeof entry === 'string' ? entry : isMapping(entry) && typeof entry.path === 'string' ? entry.path : null;
        return file === null || file.includes('$') ? [] : [{ what: `${service}: env_file`, path: path.posix.resolve(source.location.workingDir, file) }];
      });
    });
  });
  return [...envFiles, ...source.resolved.files.map((f) => ({ what: `${f.kind} ${f.name}`, path: f.path }))];
}

/** Each service's `profiles:` as the compose files write them (a later file's list replaces an earlier one's, as compose merges them). Pure. */
export function declaredProfiles(composeFiles: readonly StackFile[]): Map<string, string[]> {
  const declared = new Map<string, string[]>();
  for (const file of composeFiles) {
    const root: unknown = parse(file.text);
    const definitions = isMapping(root) && isMapping(root.services) ? root.services : {};
    for (const [service, definition] of Object.entries(definitions)) {
      const listed: unknown = isMapping(definition) ? definition.profiles : undefined;
      if (Array.isArray(listed)) declared.set(service, listed.filter((p): p is string => typeof p === 'string' && !p.includes('$')));
    }
  }
  return declared;
}

/**
 * The profiles the stack runs with, from the services running: for each
 * running service in a profile, one of its profiles (one already chosen when
 * it has it, so that few other services come along). Pure.
 */
export function profilesOf(composeFiles: readonly StackFile[], runningServices: readonly string[]): string[] {
  const declared = declaredProfiles(composeFiles);
  const chosen = new Set<string>();
  for (const service of [...new Set(runningServices)].sort()) {
    const listed = declared.get(service) ?? [];
    if (listed.length > 0 && !listed.some((p) => chosen.has(p))) chosen.add(listed[0] as string);
  }
  return [...chosen].sort();
}

/**
 * The project as compose starts it with these profiles: compose v1's
 * `config` prints the services of every profile, v2's only the enabled
 * ones; either way, only services with no profile or an enabled one stay. Pure.
 */
export function withProfiles(resolved: ResolvedProject, composeFiles: readonly StackFile[], profiles: readonly string[]): ResolvedProject {
  const declared = declaredProfiles(composeFiles);
  const enabled = (service: string) => {
    const listed = declared.get(service) ?? [];
    return listed.length === 0 || listed.some((p) => profiles.includes(p));
  };
  return {
    ...resolved,
    services: resolved.services.filter(enabled),
    images: Object.fromEntries(Object.entries(resolved.images).filter(([service]) => enabled(service))),
    mounts: resolved.mounts.filter((m) => enabled(m.service)),
    ports: resolved.ports.filter((p) => enabled(p.service)),
  };
}

const isMapping = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
