/**
 * Which stacks are kept replicated on a standby host. They live in
 * standby.yml beside hosts.yml, a file of their own, so the Python tool's
 * hosts.yml stays exactly as it reads it. Edits go into the parsed YAML
 * document (comments and unknown fields are kept) and the write is atomic,
 * 0600, with the previous file kept as standby.yml.bak.
 *
 *   standbys:
 *     alpha/authelia:      # HOST/STACK: the stack as it runs on HOST
 *       to: beta           # the standby host
 *       every: 15m         # how often a pass runs
 *       keep: 4            # snapshots kept on the standby
 *       failed_over:       # written by `failover`: beta runs it now
 *         at: 2026-12-07T08:00:00.000Z
 *         snapshot: docker-mcp-standby-20261207T074500Z
 *         snapshot_at: 2026-12-07T07:45:00.000Z
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Document, LineCounter, parseDocument, YAMLMap } from 'yaml';
import { z } from 'zod';
import { ConfigInvalidError, type ConfigProblem } from '../config/errors.js';
import type { LoadedConfig } from '../config/load.js';
import { replaceFileAtomically } from '../config/write.js';
import { InvalidInputError } from '../errors.js';
import { validateHostId, validateStackName } from '../names/validate.js';

export const STANDBY_FILE_NAME = 'standby.yml';
export const DEFAULT_INTERVAL = '15m';
export const DEFAULT_KEEP = 4;
const SHORTEST_INTERVAL_MS = 60_000;
const LONGEST_INTERVAL_MS = 7 * 24 * 3_600_000;

export interface StandbyDeclaration {
  /** The host the stack runs on. */
  readonly host: string;
  readonly stack: string;
  /** The standby host. */
  readonly to: string;
  /** As written (`15m`), and in milliseconds. */
  readonly every: string;
  readonly intervalMs: number;
  readonly keep: number;
  /** Set by a failover: the standby runs the stack since, from that snapshot; no pass runs from the host. */
  readonly failedOver?: FailedOver;
}

export interface FailedOver {
  readonly at: string;
  /** What the stack started from on the standby, and when that copy was taken (writes after it stayed on the host). */
  readonly snapshot: string;
  readonly snapshotAt: string;
  /** When every service ran on the standby: absent while a failover is under way, or was cut off (then `failover` again finishes it). */
  readonly runningAt?: string;
  /** When the old host was fenced for the stack (stopped there, its datasets read-only): absent until it was reached. */
  readonly fencedAt?: string;
  /** Whether the old host had written after that snapshot (null: its zfs cannot tell); known once fenced. */
  readonly diverged?: boolean | null;
  /** Set by a failback once it kept what the old host wrote after the snapshot (keep-diverged.ts): a rerun does not keep it twice. */
  readonly failbackKept?: FailbackKept;
}

export interface FailbackKept {
  readonly at: string;
  /** `<dataset>-kept-<time>` datasets, and the directory with the old folder and volumes' tar files. */
  readonly datasets: readonly string[];
  readonly directory: string | null;
}

export interface StandbyFile {
  readonly path: string;
  readonly document: Document;
  readonly standbys: readonly StandbyDeclaration[];
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `2h`, `1d` in milliseconds; from one minute to seven days. */
export function parseInterval(value: string): number {
  const match = /^(\d{1,6})([smhd])$/.exec(value.trim());
  const ms = match?.[1] && match[2] ? Number(match[1]) * (UNIT_MS[match[2]] as number) : NaN;
  if (!Number.isFinite(ms)) throw new InvalidInputError('interval', value, 'must be a number and a unit: 90s, 15m, 2h, 1d');
  if (ms < SHORTEST_INTERVAL_MS || ms > LONGEST_INTERVAL_MS) throw new InvalidInputError('interval', value, 'must be from 1m to 7d');
  return ms;
}

function parseKeep(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 1000) throw new InvalidInputError('keep', String(value), 'must be a whole number from 1 to 1000');
  return value;
}

/** Checked with the same validators as the command line, so a hand-edited file is held to the same rules. */
function checkedBy<T>(check: (value: T) => unknown) {
  return (value: T, ctx: z.RefinementCtx) => {
    try {
      check(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof InvalidInputError ? error.reason : String(error) });
    }
  };
}

const entrySchema = z
  .object({
    to: z.string().superRefine(checkedBy(validateHostId)),
    every: z.string().default(DEFAULT_INTERVAL).superRefine(checkedBy(parseInterval)),
    keep: z.number().default(DEFAULT_KEEP).superRefine(checkedBy(parseKeep)),
    failed_over: z
      .object({
        at: z.string(),
        snapshot: z.string(),
        snapshot_at: z.string(),
        running_at: z.string().optional(),
        fenced_at: z.string().optional(),
        diverged: z.boolean().nullable().optional(),
        failback_kept: z.object({ at: z.string(), datasets: z.array(z.string()), directory: z.string().nullable() }).optional(),
      })
      .optional(),
  })
  .passthrough();

const fileSchema = z
  .object({ standbys: z.record(z.string(), entrySchema).nullish() })
  .passthrough();

/** `alpha/authelia` → host and stack, each checked. */
function splitKey(key: string): { host: string; stack: string } {
  const slash = key.indexOf('/');
  if (slash <= 0) throw new InvalidInputError('standby', key, 'must be HOST/STACK (the stack as it runs on HOST)');
  return { host: validateHostId(key.slice(0, slash)), stack: validateStackName(key.slice(slash + 1)) };
}

const keyOf = (host: string, stack: string) => `${host}/${stack}`;

/** standby.yml beside this hosts.yml. */
export function standbyFileFor(hostsFile: string): string {
  return path.join(path.dirname(hostsFile), STANDBY_FILE_NAME);
}

/** Parse standby.yml text; `file` is only used in messages. */
export function parseStandbyText(text: string, file: string): Omit<StandbyFile, 'path'> {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigInvalidError(file, document.errors.map((error) => ({ line: lineCounter.linePos(error.pos[0]).line, message: error.message.split('\n')[0] ?? error.message })));
  }
  const raw: unknown = document.toJS() ?? {};
  const parsed = fileSchema.safeParse(raw);
  const keys = raw !== null && typeof raw === 'object' && 'standbys' in raw && raw.standbys !== null && typeof raw.standbys === 'object' ? Object.keys(raw.standbys) : [];
  const problems: ConfigProblem[] = keys.flatMap((key) => {
    try {
      splitKey(key);
      return [];
    } catch (error) {
      return [{ field: `standbys.${key}`, message: error instanceof InvalidInputError ? error.reason : String(error) }];
    }
  });
  if (!parsed.success) problems.push(...parsed.error.issues.map((issue): ConfigProblem => ({ field: issue.path.map(String).join('.'), message: issue.message })));
  if (problems.length > 0 || !parsed.success) throw new ConfigInvalidError(file, problems);
  const standbys = Object.entries(parsed.data.standbys ?? {}).map(([key, entry]): StandbyDeclaration => {
    const { host, stack } = splitKey(key);
    const f = entry.failed_over;
    const fenced = f?.fenced_at ? { fencedAt: f.fenced_at, diverged: f.diverged ?? null } : {};
    const kept = f?.failback_kept ? { failbackKept: f.failback_kept } : {};
    const running = f?.running_at ? { runningAt: f.running_at } : {};
    const failedOver = f ? { failedOver: { at: f.at, snapshot: f.snapshot, snapshotAt: f.snapshot_at, ...running, ...fenced, ...kept } } : {};
    return { host, stack, to: entry.to, every: entry.every, intervalMs: parseInterval(entry.every), keep: entry.keep, ...failedOver };
  });
  return { document, standbys };
}

/** The declarations beside this hosts.yml; none when the file does not exist yet. */
export async function loadStandbyFile(hostsFile: string): Promise<StandbyFile> {
  const file = standbyFileFor(hostsFile);
  const text = existsSync(file) ? await readFile(file, 'utf8') : '';
  return { path: file, ...parseStandbyText(text, file) };
}

export interface StandbyRequest {
  readonly host: string;
  readonly stack: string;
  readonly to: string;
  readonly every?: string;
  readonly keep?: number;
}

/**
 * Declare (or change) the standby of a stack, after checking it against
 * hosts.yml: both hosts known and enabled, and not the same host. Returns the
 * declaration and whether it replaced one.
 */
export function declareStandby(file: StandbyFile, config: LoadedConfig, request: StandbyRequest): { declaration: StandbyDeclaration; replaced: StandbyDeclaration | null } {
  const host = validateHostId(request.host);
  const stack = validateStackName(request.stack);
  const to = validateHostId(request.to);
  for (const id of [host, to]) {
    const known = config.hosts.find((h) => h.id === id);
    if (!known) throw new InvalidInputError('host', id, `is not in ${config.location.path}`);
    if (!known.enabled) throw new InvalidInputError('host', id, `is disabled in ${config.location.path}`);
  }
  if (host === to) throw new InvalidInputError('standby', to, `is the host ${stack} runs on; a standby must be another host`);
  const previous = file.standbys.find((s) => s.host === host && s.stack === stack) ?? null;
  const every = request.every ?? previous?.every ?? DEFAULT_INTERVAL;
  const keep = parseKeep(request.keep ?? previous?.keep ?? DEFAULT_KEEP);
  const declaration: StandbyDeclaration = { host, stack, to, every, intervalMs: parseInterval(every), keep };

  const { document } = file;
  if (!(document.get('standbys') instanceof YAMLMap)) document.set('standbys', document.createNode({}));
  document.setIn(['standbys', keyOf(host, stack), 'to'], to);
  document.setIn(['standbys', keyOf(host, stack), 'every'], every);
  document.setIn(['standbys', keyOf(host, stack), 'keep'], keep);
  return { declaration, replaced: previous };
}

/** Record that the standby runs the stack now (a failover). */
export function markFailedOver(file: StandbyFile, declaration: StandbyDeclaration, failedOver: FailedOver): void {
  file.document.setIn(['standbys', keyOf(declaration.host, declaration.stack), 'failed_over'], file.document.createNode({ at: failedOver.at, snapshot: failedOver.snapshot, snapshot_at: failedOver.snapshotAt }));
}

/** Record that the failover finished: every service runs on the standby. */
export function markFailoverRunning(file: StandbyFile, declaration: StandbyDeclaration, at: string): void {
  file.document.setIn(['standbys', keyOf(declaration.host, declaration.stack), 'failed_over', 'running_at'], at);
}

/** Record that the old host was fenced for the stack. */
export function markFenced(file: StandbyFile, declaration: StandbyDeclaration, fencedAt: string, diverged: boolean | null): void {
  const key = keyOf(declaration.host, declaration.stack);
  file.document.setIn(['standbys', key, 'failed_over', 'fenced_at'], fencedAt);
  file.document.setIn(['standbys', key, 'failed_over', 'diverged'], diverged);
}

/** Record what a failback kept on the old host, before anything there is rolled back. */
export function markFailbackKept(file: StandbyFile, declaration: StandbyDeclaration, kept: FailbackKept): void {
  file.document.setIn(['standbys', keyOf(declaration.host, declaration.stack), 'failed_over', 'failback_kept'], file.document.createNode({ ...kept, datasets: [...kept.datasets] }));
}

/** After a failback: the stack runs on its host again and the standby keeps its copy. */
export function clearFailedOver(file: StandbyFile, declaration: StandbyDeclaration): void {
  file.document.deleteIn(['standbys', keyOf(declaration.host, declaration.stack), 'failed_over']);
}

/** Forget the standby of a stack; the declaration removed, or null when there was none. */
export function removeStandby(file: StandbyFile, host: string, stack: string): StandbyDeclaration | null {
  const declared = file.standbys.find((s) => s.host === host && s.stack === stack) ?? null;
  // The document, not the list read at load, says whether it is still there.
  return declared && file.document.deleteIn(['standbys', keyOf(host, stack)]) ? declared : null;
}

/** Write the document back, only if it reads back as a valid standby.yml. */
export async function writeStandbyFile(file: StandbyFile): Promise<StandbyDeclaration[]> {
  const text = file.document.toString();
  const reread = parseStandbyText(text, file.path);
  await replaceFileAtomically(file.path, text);
  return [...reread.standbys];
}
