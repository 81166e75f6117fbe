/**
 * What a standby host holds for other hosts' stacks, as this controller's
 * standby.yml declares it: copies, not stacks. They are listed as such, and
 * a stack is never deployed or started on the host that keeps its copy (it
 * would run in two places, and the next pass would fail on what it wrote).
 */
import type { LoadedConfig } from '../config/load.js';
import type { DockerHost } from '../docker/docker-host.js';
import { DockerMcpError, describeError } from '../errors.js';
import { stagedFolderDir } from './stage-folder.js';
import { stagedVolumesDir } from './stage-volumes.js';
import { removeStaged, standbyStagingDir } from './staging.js';
import { loadStandbyFile, removeStandby, writeStandbyFile, type StandbyDeclaration } from './declarations.js';
import { readPassRecord } from './pass-state.js';

export interface StandbyCopy {
  /** The stack's name on its own host, as compose knows it. */
  readonly stack: string;
  /** The host the stack runs on. */
  readonly of: string;
  /** The newest snapshot present on this host for every dataset of the stack, and its time; null before the first good pass. */
  readonly confirmed: { readonly snapshot: string; readonly at: string } | null;
}

/** The copies each host keeps, by host id (hosts that keep none are absent). */
export async function standbyCopiesByHost(config: LoadedConfig): Promise<Map<string, StandbyCopy[]>> {
  const { standbys } = await loadStandbyFile(config.location.path);
  const byHost = new Map<string, StandbyCopy[]>();
  // A failed-over stack runs on its standby: a stack there, not a copy.
  for (const declaration of standbys.filter((d) => !d.failedOver)) {
    const record = await readPassRecord(declaration.host, declaration.stack);
    const copies = byHost.get(declaration.to) ?? [];
    copies.push({ stack: declaration.stack, of: declaration.host, confirmed: record?.confirmed ?? null });
    byHost.set(declaration.to, copies);
  }
  return byHost;
}

export interface FailedOverStack {
  readonly stack: string;
  /** The standby that runs it now. */
  readonly to: string;
  readonly at: string;
  /** When this host was fenced for it (stopped, read-only); absent until it was reached. */
  readonly fencedAt?: string;
  /** Whether this host wrote after the snapshot the standby started from (null: its zfs cannot tell). */
  readonly diverged?: boolean | null;
}

/** Stacks failed over away from each host, by host id: the host's copy is fenced (or to be), the stack runs elsewhere. */
export async function failedOverByHost(config: LoadedConfig): Promise<Map<string, FailedOverStack[]>> {
  const { standbys } = await loadStandbyFile(config.location.path);
  const byHost = new Map<string, FailedOverStack[]>();
  for (const { host, stack, to, failedOver } of standbys) {
    if (!failedOver) continue;
    const fenced = failedOver.fencedAt ? { fencedAt: failedOver.fencedAt, diverged: failedOver.diverged ?? null } : {};
    byHost.set(host, [...(byHost.get(host) ?? []), { stack, to, at: failedOver.at, ...fenced }]);
  }
  return byHost;
}

/** How a failed-over stack stands on the host it left, in a word or two. */
export function fenceState(s: FailedOverStack): string {
  if (!s.fencedAt) return 'to be fenced (on the next contact)';
  return s.diverged === true ? 'fenced, DIVERGED' : s.diverged === false ? 'fenced' : 'fenced (divergence unknown)';
}

/** Refuse to deploy or start `stack` on `hostId` when that host keeps the stack's standby copy. */
export async function refuseStartOnStandby(config: LoadedConfig, hostId: string, stack: string, action: string): Promise<void> {
  const { standbys, path } = await loadStandbyFile(config.location.path);
  const kept = standbys.find((declaration) => declaration.to === hostId && declaration.stack === stack && !declaration.failedOver);
  if (kept) throw new StackIsStandbyCopyError(kept, action, path);
}

export class StackIsStandbyCopyError extends DockerMcpError {
  readonly kind = 'bad-input' as const;

  constructor(
    readonly declaration: StandbyDeclaration,
    readonly action: string,
    readonly file: string,
  ) {
    const { host, stack, to } = declaration;
    super(
      `refused to ${action} ${stack} on ${to}: ${to} keeps the standby copy of ${host}/${stack} (${file}), read-only and unmounted until a move; ` +
        `started here it would run in two places and the next pass would fail on what it wrote. ` +
        `To run it on ${to}, move it: docker-mcp migrate ${host} ${to} ${stack} (it sends only what changed since the last pass). ` +
        `To stop keeping the copy: docker-mcp standby remove ${stack} --on ${host}`,
    );
  }
}

/**
 * After `stack` moved from `source` to `target`: a move onto its standby
 * makes the copy the stack itself, so the declaration is removed (the
 * target runs it now; its passes would fail); a move elsewhere leaves the
 * declaration naming a host the stack left, which is said. The note to show,
 * or null when no standby of the stack is declared on `source`.
 */
export async function settleStandbyAfterMove(config: LoadedConfig, source: string, targetHost: DockerHost, stack: string): Promise<string | null> {
  const target = targetHost.host.id;
  const file = await loadStandbyFile(config.location.path);
  const declared = file.standbys.find((declaration) => declaration.host === source && declaration.stack === stack);
  if (!declared) return null;
  if (declared.to !== target) {
    return (
      `${file.path} still names ${source} as where ${stack} runs (its standby on ${declared.to}): its passes fail until it is declared again: ` +
      `docker-mcp standby remove ${stack} --on ${source}; docker-mcp standby add ${stack} --on ${target} --to ${declared.to}`
    );
  }
  removeStandby(file, source, stack);
  await writeStandbyFile(file);
  const staged = await removeStagedCopies(targetHost, source, stack);
  return (
    `${target} kept ${stack}'s standby copy and now runs it: its standby declaration is removed from ${file.path}${staged}. ` +
    `To keep ${source} as its standby: docker-mcp standby add ${stack} --on ${target} --to ${source}`
  );
}

/**
 * What a pass staged apart (the copy by rsync, staging.ts; the stack folder,
 * stage-folder.ts; the named volumes, stage-volumes.ts): the stack runs from
 * its own verified data, folder and volumes now, so those go.
 */
export async function removeStagedCopies(standby: DockerHost, source: string, stack: string): Promise<string> {
  const left: string[] = [];
  const staged = [
    standby.host.appdata_path ? standbyStagingDir(standby.host, source, stack) : null,
    stagedFolderDir(standby.host, source, stack),
    stagedVolumesDir(standby.host, source, stack),
  ];
  for (const dir of staged) {
    if (dir !== null) await removeStaged(standby, dir).catch((error: unknown) => left.push(`${standby.host.id}:${dir} (${describeError(error)})`));
  }
  return left.length > 0 ? `; what the passes staged could not all be removed, remove it by hand: ${left.join('; ')}` : '';
}
