/**
 * A durable record of every migration on this controller: its plan and the
 * state of each phase, written (atomically, fsynced) before the phase's side
 * effects. One lock file per stack keeps two migrations of it apart.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DockerMcpError, InvalidInputError } from '../errors.js';
import { validateStackName } from '../names/validate.js';
import type { RouteKeyRecord } from '../transfer/route-key.js';
import type { TransferSummary } from '../transfer/transfer-services.js';
import type { MigrationPlan } from './plan.js';
import type { PreflightResult, TargetPathBefore } from './preflight.js';

export type PhaseState = 'started' | 'done' | 'failed';
export type MigrationStatus = 'running' | 'succeeded' | 'failed' | 'refused';

/** The choices a migration was started with: a resume goes on with the same ones. */
export interface RecordedOptions {
  readonly method: 'auto' | 'zfs' | 'rsync';
  readonly route: 'auto' | 'direct' | 'relay';
  readonly compress: 'auto' | 'on' | 'off';
  readonly keepFailed: boolean;
  readonly removeSource: boolean;
  readonly force: boolean;
  /** --bwlimit in bytes a second; absent: no limit (and in journals written before it existed). */
  readonly bwlimit?: number;
  /** Where the target keeps the stack's standby copy by rsync, when standby.yml declares the target its standby. */
  readonly standbyStaging?: string;
}

/**
 * What the phases found and did, saved as each one ends, so that a resume
 * (another process) knows what is the migration's own and can finish the report.
 * Absent in journals written before these were kept.
 */
export interface JournalResults {
  movingBack?: boolean;
  /** Taken before anything reached the target: what a rollback may remove. */
  targetBefore?: readonly TargetPathBefore[];
  preflight?: PreflightResult;
  seed?: TransferSummary | null;
  final?: TransferSummary;
  verified?: readonly VerifiedPath[];
  /** The stack folder's copy on the target, proven identical to the source's by their manifests. */
  stackFolderVerified?: VerifiedPath;
  removedFromSource?: readonly string[];
  /** What --remove-source left on the source, and why. */
  keptOnSource?: readonly string[];
  /** Named volumes this migration created on the target, each journalled before it is created: a rollback removes these, and only these. */
  volumesCreated?: readonly string[];
  /** Named volumes copied to the target and proven equal by their checksum manifests: --remove-source may remove these on the source. */
  volumesVerified?: readonly VerifiedVolume[];
  /** The migration's own source-to-target key while it is in place (route-key.ts); null once revoked. */
  routeKey?: RouteKeyRecord | null;
  /** Target paths cloned from the standby's rsync copy before the first transfer (standby/staging.ts). */
  seededFromStandby?: readonly string[];
}

export interface VerifiedVolume {
  readonly volume: string;
  readonly entries: number;
  readonly bytes: number;
}

export interface VerifiedPath {
  readonly path: string;
  readonly entries: number;
  readonly bytes: number;
}

export interface JournalEntry extends JournalResults {
  readonly id: string;
  readonly stack: string;
  readonly source: string;
  readonly target: string;
  pid: number;
  readonly createdAt: string;
  status: MigrationStatus;
  detail: string | null;
  readonly phases: { phase: string; state: PhaseState; at: string; detail: string | null }[];
  readonly plan: MigrationPlan;
  readonly options?: RecordedOptions;
}

export class MigrationLockedError extends DockerMcpError {
  readonly kind = 'bad-input' as const;
}

/** `--resume` of a migration that is not interrupted (it finished, or still runs). */
export class NotResumableError extends DockerMcpError {
  readonly kind = 'bad-input' as const;
}

/** Where docker-mcp keeps what it writes for itself: $DOCKER_MCP_STATE_DIR, else $XDG_STATE_HOME/docker-mcp. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_MCP_STATE_DIR ?? path.join(env.XDG_STATE_HOME ?? path.join(os.homedir(), '.local/state'), 'docker-mcp');
}

export function journalDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stateDir(env), 'migrations');
}

export async function writeDurably(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
  const dir = openSync(path.dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

export class MigrationJournal {
  private constructor(
    private readonly file: string,
    private readonly lockFile: string,
    readonly entry: JournalEntry,
  ) {}

  /**
   * Take the stack's lock and record the plan. Refused when another migration
   * of the stack holds the lock, naming it and whether its process still runs.
   */
  static async begin(plan: MigrationPlan, dir = journalDir(), recorded: { options?: RecordedOptions; movingBack?: boolean } = {}): Promise<MigrationJournal> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const lockFile = path.join(dir, `${validateStackName(plan.stack)}.lock`);
    try {
      const handle = await open(lockFile, 'wx', 0o600);
      await handle.writeFile(JSON.stringify({ id: plan.id, pid: process.pid }));
      await handle.sync();
      await handle.close();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = JSON.parse(await readFile(lockFile, 'utf8').catch(() => '{}')) as { id?: string; pid?: number };
      const alive = holder.pid !== undefined && processAlive(holder.pid);
      throw new MigrationLockedError(
        alive
          ? `migration ${holder.id} of stack ${plan.stack} is running (pid ${holder.pid}); wait for it to finish`
          : `migration ${holder.id} of stack ${plan.stack} was interrupted (its process ${holder.pid} is gone): ` +
              `run "docker-mcp migrate --resume ${holder.id}" to finish it or roll it back ("docker-mcp migrations show ${holder.id}" shows where it stopped)`,
      );
    }
    const entry: JournalEntry = {
      id: plan.id,
      stack: plan.stack,
      source: plan.source,
      target: plan.target,
      pid: process.pid,
      createdAt: new Date().toISOString(),
      status: 'running',
      detail: null,
      phases: [],
      plan,
      ...(recorded.options ? { options: recorded.options } : {}),
      ...(recorded.movingBack === undefined ? {} : { movingBack: recorded.movingBack }),
    };
    const journal = new MigrationJournal(path.join(dir, `${plan.id}.json`), lockFile, entry);
    await journal.save();
    return journal;
  }

  /**
   * Take over the lock of an interrupted migration to resume it: refused when
   * it finished, or when its process (or another migration of the stack) still runs.
   */
  static async resume(id: string, dir = journalDir()): Promise<MigrationJournal> {
    const entry = await readMigration(id, dir);
    if (entry.status !== 'running') {
      throw new NotResumableError(`migration ${id} is not interrupted: it ${entry.status}${entry.detail ? ` (${entry.detail})` : ''}; there is nothing to resume`);
    }
    const lockFile = path.join(dir, `${validateStackName(entry.stack)}.lock`);
    const holder = JSON.parse(await readFile(lockFile, 'utf8').catch(() => '{}')) as { id?: string; pid?: number };
    if (holder.id !== undefined && holder.id !== id) {
      throw new MigrationLockedError(`stack ${entry.stack} is locked by migration ${holder.id}, not ${id}: resume or finish that one first`);
    }
    if (holder.pid !== undefined && holder.pid !== process.pid && processAlive(holder.pid)) {
      throw new MigrationLockedError(`migration ${id} of stack ${entry.stack} is still running (pid ${holder.pid}); wait for it to finish`);
    }
    await writeDurably(lockFile, JSON.stringify({ id, pid: process.pid }));
    const journal = new MigrationJournal(path.join(dir, `${id}.json`), lockFile, entry);
    entry.pid = process.pid;
    await journal.save();
    return journal;
  }

  /** The directory of this journal, where the other migrations' journals are too. */
  get directory(): string {
    return path.dirname(this.file);
  }

  /** Save what a phase found or did (see JournalResults). */
  async record(results: JournalResults): Promise<void> {
    Object.assign(this.entry, results);
    await this.save();
  }

  /** Record a phase's state; call with 'started' before its side effects. */
  async phase(phase: string, state: PhaseState, detail: string | null = null): Promise<void> {
    this.entry.phases.push({ phase, state, at: new Date().toISOString(), detail });
    await this.save();
  }

  /** Record the outcome and release the stack's lock. */
  async finish(status: Exclude<MigrationStatus, 'running'>, detail: string | null = null): Promise<void> {
    this.entry.status = status;
    this.entry.detail = detail;
    await this.save();
    await rm(this.lockFile, { force: true });
  }

  /** Saves made at once (a phase's steps run side by side) go one after another, each with the entry as it is then. */
  private saving: Promise<void> = Promise.resolve();

  private save(): Promise<void> {
    const saved = this.saving.then(() => writeDurably(this.file, `${JSON.stringify(this.entry, null, 2)}\n`));
    this.saving = saved.catch(() => undefined);
    return saved;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function listMigrations(dir = journalDir()): Promise<JournalEntry[]> {
  const files = await readdir(dir).catch(() => [] as string[]);
  const entries = await Promise.all(
    files.filter((f) => f.endsWith('.json')).map(async (f) => JSON.parse(await readFile(path.join(dir, f), 'utf8')) as JournalEntry),
  );
  return entries.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export async function readMigration(id: string, dir = journalDir()): Promise<JournalEntry> {
  const entry = (await listMigrations(dir)).find((e) => e.id === id);
  if (!entry) throw new InvalidInputError('migration id', id, `there is no such migration in ${dir}`);
  return entry;
}

/** Whether the stack's last successful migration went from `host` to `to`. */
export async function lastMovedAway(stack: string, host: string, to: string, dir = journalDir()): Promise<boolean> {
  const succeeded = (await listMigrations(dir)).filter((e) => e.stack === stack && e.status === 'succeeded');
  const last = succeeded.at(-1);
  return last !== undefined && last.source === host && last.target === to;
}

/** An ended migration's key, taken away later by another migration (route-key-lifecycle.ts): its journal says so. */
export async function forgetRevokedRouteKey(id: string, dir = journalDir()): Promise<void> {
  const entry = await readMigration(id, dir);
  if (entry.status === 'running') throw new Error(`migration ${id} is not ended; its own run or resume revokes its key`);
  await writeDurably(path.join(dir, `${id}.json`), `${JSON.stringify({ ...entry, routeKey: null }, null, 2)}\n`);
}
