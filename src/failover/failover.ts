/**
 * Failover: the stack's host is gone, and its standby starts the stack from
 * the last copy it holds of every dataset at once (the pass record's
 * `confirmed`). The order, each step checked before the next:
 *
 *   1. the declaration (standby.yml) names the stack and its standby;
 *   2. the host is tried several times over a bounded time and must not
 *      answer (a host that answers is moved, not failed over), unless the
 *      operator says it is dead (`--primary-dead`, where the network is split);
 *   3. what the failover would overwrite is checked first: a refusal changes nothing;
 *   4. standby.yml records the failover, before any copy changes: no pass
 *      from the old host runs into the stack from then on;
 *   5. the copies become the stack's data, its named volumes are filled, the
 *      staged folder is moved into compose_path, and compose starts it
 *      (never building: the builds were carried by the passes);
 *   6. it waits until every service runs, and reports the data-loss window:
 *      what was written on the old host after that copy stayed there.
 */
import path from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { stackActionAt } from '../docker/stacks.js';
import { InvalidInputError } from '../errors.js';
import { helperCandidatesOf } from '../migration/preflight.js';
import { crashHereIfTestAsks } from '../migration/test-crash-hook.js';
import { waitUntilRunning } from '../migration/wait-running.js';
import { validateStackName } from '../names/validate.js';
import { command } from '../ssh/quote.js';
import type { ProgressListener } from '../transfer/progress.js';
import { removeStagedCopies } from '../standby/copies.js';
import type { HostOf } from '../standby/manage.js';
import { loadStandbyFile, markFailedOver, markFailoverRunning, writeStandbyFile, type StandbyDeclaration, type StandbyFile } from '../standby/declarations.js';
import { readPassRecord, standbyStateDir, takePassLock } from '../standby/pass-state.js';
import { standbyStagingDir } from '../standby/staging.js';
import { bringUpDatasets, bringUpRsyncCopies, FailoverRefusedError } from './bring-up-copies.js';
import { checkPrimary, type PrimaryCheckOptions } from './primary-check.js';
import { refuseExistingVolumes, restoreVolumes } from './restore-volumes.js';

export interface FailoverRequest {
  readonly stack: string;
  /** The standby, when the stack has more than one declared. */
  readonly to?: string;
  /** The operator's word that the host is down: it is not tried. */
  readonly primaryDead?: boolean;
  readonly primaryCheck?: PrimaryCheckOptions;
  readonly startTimeoutMs?: number;
  readonly onProgress?: ProgressListener;
  readonly stateDir?: string;
  readonly journalDir?: string;
}

export interface FailoverReport {
  readonly stack: string;
  readonly from: string;
  readonly to: string;
  /** How the host was found gone: its tries, or the operator's word. */
  readonly primary: readonly string[];
  /** The copy the stack started from, and when it was taken: writes on the old host after it are not here. */
  readonly snapshot: string;
  readonly snapshotAt: string;
  readonly lossWindowSeconds: number;
  /** The datasets (ZFS) or data paths (rsync) the stack now runs on. */
  readonly data: readonly string[];
  readonly volumes: readonly string[];
  readonly folder: string;
  readonly services: readonly { readonly service: string; readonly state: string }[];
  readonly seconds: number;
  readonly notes: readonly string[];
}

export class PrimaryAnswersError extends FailoverRefusedError {}

/** Which declaration `request` names. */
function declarationFor(standbys: readonly StandbyDeclaration[], request: FailoverRequest, file: string): StandbyDeclaration {
  const stack = validateStackName(request.stack);
  const named = standbys.filter((d) => d.stack === stack && (request.to === undefined || d.to === request.to));
  if (named.length === 0) throw new InvalidInputError('stack', stack, `has no standby declared${request.to ? ` on ${request.to}` : ''} in ${file}: there is no copy to fail over to`);
  if (named.length > 1) throw new InvalidInputError('stack', stack, `has standbys on ${named.map((d) => d.to).join(', ')}: say which with --to`);
  return named[0] as StandbyDeclaration;
}

export async function failover(config: LoadedConfig, hostOf: HostOf, request: FailoverRequest): Promise<FailoverReport> {
  const began = Date.now();
  const file = await loadStandbyFile(config.location.path);
  const declaration = declarationFor(file.standbys, request, file.path);
  const { host: from, to, stack } = declaration;
  // One cut off before the stack ran (no running_at) is finished by running it again; its steps find what was done.
  if (declaration.failedOver?.runningAt) {
    throw new FailoverRefusedError(`${stack} was failed over from ${from} to ${to} at ${declaration.failedOver.at} already: ${to} runs it`);
  }
  const primary = await confirmPrimaryGone(config, from, request, (answer) =>
    `${from} answers (${answer}): it may still run ${stack}, so a failover would run it twice. Nothing was changed. ` +
      `Move it instead: docker-mcp migrate ${from} ${to} ${stack} (it sends only what changed since the last pass). ` +
      `Only if you know ${from} is down and only this machine still reaches it, add --primary-dead`,
  );
  return failoverDeclared(hostOf, file, declaration, primary, request, began);
}

/**
 * Step 2: the host's tries, or the operator's word; a host that answers is
 * refused with `refusal(its last try)`. Done once for a host, however many
 * of its stacks then fail over.
 */
export async function confirmPrimaryGone(
  config: LoadedConfig,
  from: string,
  request: Pick<FailoverRequest, 'primaryDead' | 'primaryCheck' | 'onProgress'>,
  refusal: (answer: string | undefined) => string,
): Promise<string[]> {
  if (request.primaryDead) return [`${new Date().toISOString()}: not tried: --primary-dead, the operator's word that ${from} is down`];
  const fromHost = config.hosts.find((h) => h.id === from);
  if (!fromHost) throw new InvalidInputError('host', from, `is not in ${config.location.path}`);
  request.onProgress?.({ type: 'migration-phase', phase: 'primary', message: `trying ${from}: a failover runs only when it does not answer` });
  const check = await checkPrimary(fromHost, request.primaryCheck);
  if (check.answered) throw new PrimaryAnswersError(refusal(check.tries.at(-1)));
  return [...check.tries];
}

/**
 * Steps 3 to 6 for one declared stack whose host was found gone (`primary`
 * says how). `file` may be shared by the stacks of one host failing over at
 * once: its writes take turns.
 */
export async function failoverDeclared(
  hostOf: HostOf,
  file: StandbyFile,
  declaration: StandbyDeclaration,
  primary: readonly string[],
  request: Pick<FailoverRequest, 'startTimeoutMs' | 'onProgress' | 'stateDir' | 'journalDir'>,
  began = Date.now(),
): Promise<FailoverReport> {
  const phase = (name: string, message: string) => request.onProgress?.({ type: 'migration-phase', phase: name, message });
  const { host: from, to, stack } = declaration;
  const dir = request.stateDir ?? standbyStateDir();
  const release = await takePassLock(from, stack, dir, request.journalDir);
  try {
    const record = await readPassRecord(from, stack, dir);
    const confirmed = record?.confirmed;
    if (!record || !confirmed) throw new FailoverRefusedError(`${to} holds no confirmed copy of ${from}/${stack} yet: there is nothing to start it from`);
    const compose = record.stagedCompose;
    const stagedFolder = record.stagedFolder;
    if (!compose || !stagedFolder) {
      throw new FailoverRefusedError(`the last pass of ${from}/${stack} staged no stack folder on ${to} (${record.error ?? 'an older version made it'}): run a pass that stages it, or start the stack by hand`);
    }
    const standby = await hostOf(to);
    const byZfs = record.datasets.some((d) => d.standbyDataset !== null);
    const volumes = record.volumesStaged ?? [];

    const resumed = declaration.failedOver;
    let failedOverAt: Date;
    if (resumed) {
      // Cut off earlier: standby.yml recorded it, so what it changed is this failover's own, and each step below skips what is done.
      if (resumed.snapshot !== confirmed.snapshot) throw new FailoverRefusedError(`the failover of ${stack} cut off earlier started from @${resumed.snapshot}, but the pass record names @${confirmed.snapshot}: finish it by hand`);
      phase('check', `finishing the failover of ${stack} to ${to} started at ${resumed.at}`);
      failedOverAt = new Date(resumed.at);
    } else {
      phase('check', `what the failover would overwrite on ${to}`);
      const folderThere = await standby.transport.exec(command(['sh', '-c', '[ -e "$1" ] || [ -L "$1" ]', 'folder-there', compose.stackDir]), { okExitCodes: [0, 1] });
      if (folderThere.exitCode === 0) throw new FailoverRefusedError(`${to} already has ${compose.stackDir}, where the stack folder goes: nothing was changed; move it away first`);
      await refuseExistingVolumes(standby, volumes);
      failedOverAt = new Date();
      markFailedOver(file, declaration, { at: failedOverAt.toISOString(), snapshot: confirmed.snapshot, snapshotAt: confirmed.at });
      await writeInTurn(file);
    }

    phase('data', byZfs ? `rolling each dataset back to @${confirmed.snapshot}, writable and mounted` : `moving the copies by rsync into ${to}'s appdata`);
    const resuming = resumed !== undefined;
    const data = byZfs ? await bringUpDatasets(standby, record, confirmed.snapshot, resuming) : await bringUpRsyncCopies(standby, record, standbyStagingDir(standby.host, from, stack), resuming);
    crashHereIfTestAsks('failover-data');
    // The folder moves after the volumes are filled: once it has, they were, and the stack may have written in them since.
    const moved = resuming && (await standby.transport.exec(command(['sh', '-c', '[ ! -e "$1" ] && [ -d "$2" ]', 'folder-moved', stagedFolder, compose.stackDir]), { okExitCodes: [0, 1] })).exitCode === 0;
    if (volumes.length > 0 && !moved) phase('volumes', `filling ${volumes.map((v) => v.volume).join(', ')} from the tar files the passes staged`);
    const restored = moved ? volumes.map((v) => v.volume) : await restoreVolumes(standby, volumes, helperCandidatesOf(compose.images ?? []));
    phase('folder', `${stagedFolder} → ${compose.stackDir}`);
    if (!moved) await standby.transport.exec(command(['mv', '-T', '--', stagedFolder, compose.stackDir]));

    phase('start', `compose up on ${to}, then waiting until every service runs`);
    const location = { project: stack, workingDir: compose.stackDir, configFiles: (compose.files ?? []).map((name) => path.posix.join(compose.stackDir, name)) };
    await stackActionAt(standby, location, 'up', compose.profiles, compose.built ? ['--no-build'] : []);
    const health = await waitUntilRunning(standby, stack, compose.services, request.startTimeoutMs ?? 120_000, compose.oneShot);
    if (!health.ready) {
      throw new Error(
        `${stack} started on ${to} from @${confirmed.snapshot}, but not every service runs: ${health.services.map((s) => `${s.service} ${s.state}`).join(', ')}. ` +
          `Its data and folder are in place there and standby.yml records the failover: look at its logs (docker-mcp stacks logs ${to} ${stack})`,
      );
    }
    markFailoverRunning(file, declaration, new Date().toISOString());
    await writeInTurn(file);
    const left = await removeStagedCopies(standby, from, stack);
    return {
      stack,
      from,
      to,
      primary: [...primary],
      snapshot: confirmed.snapshot,
      snapshotAt: confirmed.at,
      lossWindowSeconds: Math.max(0, (failedOverAt.getTime() - Date.parse(confirmed.at)) / 1000),
      data,
      volumes: restored,
      folder: compose.stackDir,
      services: health.services.map((s) => ({ service: s.service, state: s.state })),
      seconds: (Date.now() - began) / 1000,
      notes: [
        `what ${from} wrote after ${confirmed.at} is not here: it stays on ${from}`,
        `${from} may start ${stack} again when it boots (restart policies): stop it there before anything else`,
        ...(left ? [left.replace(/^; /, '')] : []),
      ],
    };
  } finally {
    await release();
  }
}

// Stacks failing over at once share one standby.yml document; two writes of it at once would share a temporary file.
let writing: Promise<unknown> = Promise.resolve();

function writeInTurn(file: StandbyFile): Promise<unknown> {
  const write = writing.then(() => writeStandbyFile(file));
  writing = write.catch(() => undefined);
  return write;
}
