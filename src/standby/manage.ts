/**
 * The standby operations as the CLI and the MCP tool both offer them:
 * declare (looking the stack up first), forget, run passes, and read status.
 */
import type { LoadedConfig } from '../config/load.js';
import type { DockerHost } from '../docker/docker-host.js';
import { locateStack } from '../docker/stacks.js';
import { InvalidInputError } from '../errors.js';
import type { ProgressListener } from '../transfer/progress.js';
import { declareStandby, loadStandbyFile, removeStandby, writeStandbyFile, type StandbyDeclaration, type StandbyRequest } from './declarations.js';
import { readPassRecord, StandbyPassRunningError, type StandbyPassRecord } from './pass-state.js';
import { standbyStatus, type StandbyStatus } from './status.js';
import { emptyRecord, runStandbyPass, type StandbyPassOptions } from './sync-pass.js';

export type HostOf = (hostId: string) => DockerHost | Promise<DockerHost>;

export interface Declared {
  readonly declared: StandbyDeclaration;
  readonly replaced: StandbyDeclaration | null;
  readonly file: string;
}

/** Declare (or change) a standby; `check`: look the stack up on its host and store the name compose knows it by. */
export async function addStandby(config: LoadedConfig, hostOf: HostOf, request: StandbyRequest & { readonly check: boolean }): Promise<Declared> {
  const { check, ...wanted } = request;
  const stack = check ? (await locateStack(await hostOf(wanted.host), wanted.stack)).project : wanted.stack;
  const file = await loadStandbyFile(config.location.path);
  const { declaration, replaced } = declareStandby(file, config, { ...wanted, stack });
  await writeStandbyFile(file);
  return { declared: declaration, replaced, file: file.path };
}

/** Forget a declaration; the copies on the standby are left as they are. */
export async function forgetStandby(config: LoadedConfig, host: string, stack: string): Promise<{ removed: StandbyDeclaration; file: string }> {
  const file = await loadStandbyFile(config.location.path);
  const removed = removeStandby(file, host, stack);
  if (!removed) throw notDeclared(`${host}/${stack}`, file.standbys);
  await writeStandbyFile(file);
  return { removed, file: file.path };
}

export async function listStandbys(config: LoadedConfig): Promise<{ standbys: StandbyDeclaration[]; file: string }> {
  const file = await loadStandbyFile(config.location.path);
  return { standbys: [...file.standbys], file: file.path };
}

/**
 * Passes of the named declarations (`STACK` on any host, or `HOST/STACK`;
 * none named: all), one after another. A stack whose lock is held (its pass
 * or migration runs) is skipped, said so in its record, and the others run.
 */
export async function syncStandbys(
  config: LoadedConfig,
  hostOf: HostOf,
  names: readonly string[],
  options: { onProgress?: ProgressListener; signal?: AbortSignal; bwlimit?: number } = {},
): Promise<StandbyPassRecord[]> {
  const { standbys } = await loadStandbyFile(config.location.path);
  const records: StandbyPassRecord[] = [];
  for (const declaration of chosenDeclarations(standbys, names)) {
    if (options.signal?.aborted) break;
    records.push(await passOrSkipped(declaration, hostOf, options));
  }
  return records;
}

/** One pass of a declaration; while its lock is held (its pass or migration runs), a record that says it was skipped. */
export async function passOrSkipped(declaration: StandbyDeclaration, hostOf: HostOf, options: StandbyPassOptions = {}): Promise<StandbyPassRecord> {
  const started = new Date();
  try {
    return await runStandbyPass(await hostOf(declaration.host), await hostOf(declaration.to), declaration, options);
  } catch (error) {
    if (!(error instanceof StandbyPassRunningError)) throw error;
    return { ...emptyRecord(declaration, started), skipped: true, error: error.message };
  }
}

export async function standbyStatuses(config: LoadedConfig, now = new Date()): Promise<StandbyStatus[]> {
  const { standbys } = await loadStandbyFile(config.location.path);
  return Promise.all(standbys.map(async (declaration) => standbyStatus(declaration, await readPassRecord(declaration.host, declaration.stack), now)));
}

/** The declarations named, or all of them; an unknown name is an error before anything runs. */
export function chosenDeclarations(standbys: readonly StandbyDeclaration[], names: readonly string[]): StandbyDeclaration[] {
  if (names.length === 0) return [...standbys];
  return names.flatMap((name) => {
    const matching = standbys.filter((s) => name === `${s.host}/${s.stack}` || name === s.stack);
    if (matching.length === 0) throw notDeclared(name, standbys);
    return matching;
  });
}

function notDeclared(name: string, standbys: readonly StandbyDeclaration[]): InvalidInputError {
  const declared = standbys.map((s) => `${s.host}/${s.stack}`);
  return new InvalidInputError('standby', name, declared.length > 0 ? `is not declared; declared: ${declared.join(', ')}` : 'is not declared; none is');
}
