/**
 * The stacks this controller last saw on each host, kept in the state
 * directory so that a host that is gone can still be accounted for: a
 * failover of a whole host names the stacks it had that no standby keeps.
 * A listing replaces the host's list (what it answered is what it has); a
 * migration moves one stack from its source's list to its target's.
 * Best effort by design: a listing or a migration is never refused for the
 * sake of this hint, and what it cannot know is said in docs/failover.md.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeDurably } from '../migration/journal.js';
import { validateHostId } from '../names/validate.js';
import { standbyStateDir } from './pass-state.js';

export interface SeenStacks {
  readonly host: string;
  /** When the host last answered a listing (null: only migrations told of its stacks). */
  readonly listedAt: string | null;
  /** Each stack and when it was last seen there (listed, or migrated onto it). */
  readonly stacks: Readonly<Record<string, string>>;
}

export function seenStacksDir(dir = standbyStateDir()): string {
  return path.join(dir, 'seen');
}

export async function readSeenStacks(host: string, dir = standbyStateDir()): Promise<SeenStacks> {
  try {
    return JSON.parse(await readFile(fileOf(host, dir), 'utf8')) as SeenStacks;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { host, listedAt: null, stacks: {} };
    throw error;
  }
}

/** The host answered a listing with these stacks. */
export async function recordListedStacks(host: string, stacks: readonly string[], dir = standbyStateDir()): Promise<void> {
  const at = new Date().toISOString();
  await update(host, dir, () => ({ host, listedAt: at, stacks: Object.fromEntries(stacks.map((name) => [name, at])) }));
}

/** A migration moved `stack` from `from` to `to`. */
export async function recordMovedStack(from: string, to: string, stack: string, dir = standbyStateDir()): Promise<void> {
  const at = new Date().toISOString();
  await update(from, dir, (seen) => ({ ...seen, stacks: Object.fromEntries(Object.entries(seen.stacks).filter(([name]) => name !== stack)) }));
  await update(to, dir, (seen) => ({ ...seen, stacks: { ...seen.stacks, [stack]: at } }));
}

/** `deploy` put `stack` on `host`: it is the host's until a listing says otherwise. */
export async function recordDeployedStack(host: string, stack: string, dir = standbyStateDir()): Promise<void> {
  const at = new Date().toISOString();
  await update(host, dir, (seen) => ({ ...seen, stacks: { ...seen.stacks, [stack]: at } }));
}

export function noteDeployedStack(host: string, stack: string, dir?: string): Promise<void> {
  return recordDeployedStack(host, stack, dir).catch(() => undefined);
}

/** The same, never failing the operation that saw the stacks. */
export function noteListedStacks(host: string, stacks: readonly string[], dir?: string): Promise<void> {
  return recordListedStacks(host, stacks, dir).catch(() => undefined);
}

/** A listing's stacks, returned as they are once recorded as the host's. */
export async function noteListing<T extends { readonly name: string }>(host: string, stacks: T[]): Promise<T[]> {
  await noteListedStacks(host, stacks.map((s) => s.name));
  return stacks;
}

export function noteMovedStack(from: string, to: string, stack: string, dir?: string): Promise<void> {
  return recordMovedStack(from, to, stack, dir).catch(() => undefined);
}

function fileOf(host: string, dir: string): string {
  return path.join(seenStacksDir(dir), `${validateHostId(host)}.json`);
}

// One process lists every host at once and runs migrations side by side: each host's file is rewritten one change at a time.
const turns = new Map<string, Promise<unknown>>();

async function update(host: string, dir: string, change: (seen: SeenStacks) => SeenStacks): Promise<void> {
  const file = fileOf(host, dir);
  const run = (turns.get(file) ?? Promise.resolve()).then(async () => {
    const next = change(await readSeenStacks(host, dir));
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeDurably(file, `${JSON.stringify(next, null, 2)}\n`);
  });
  const settled = run.catch(() => undefined);
  turns.set(file, settled);
  void settled.then(() => {
    if (turns.get(file) === settled) turns.delete(file);
  });
  await run;
}
