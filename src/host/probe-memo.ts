/**
 * What a probe last found on a host (its compose flavour, its `zfs` send
 * features), remembered for a few minutes in the state directory. Every CLI
 * command is a new process with new SSH connections, and each would probe
 * again: `docker compose version` is a Go binary's start, about 2 s on a
 * small or emulated host, and `zfs`'s usage text about 1 s, before any real
 * work. A finding is read back only through its probe's own check, so a file
 * edited by hand gives a fresh probe, never a command of its choosing.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { HostConfig } from '../config/schema.js';
import { stateDir, writeDurably } from '../migration/journal.js';
import { validateHostId } from '../names/validate.js';

/** How long a finding stands: what is installed or removed meanwhile is seen by the first command after this. */
export const PROBE_MEMO_MS = 10 * 60_000;

export type ProbedLogin = Pick<HostConfig, 'id' | 'hostname' | 'user' | 'port'>;

export type ProbeName = 'compose' | 'zfs-features';

interface Remembered {
  readonly login: string;
  readonly at: number;
  readonly found: unknown;
}

/** Which login the finding belongs to: a host id pointed elsewhere in hosts.yml is a new host. */
function loginOf(host: ProbedLogin): string {
  return `${host.user}@${host.hostname}:${host.port}`;
}

function fileOf(host: ProbedLogin, probe: ProbeName, dir: string): string {
  return path.join(dir, 'hosts', `${validateHostId(host.id)}.${probe}.json`);
}

/** The finding, when fresh, of this login, and accepted by `check` (which returns null for anything else). */
export async function recallProbe<T>(host: ProbedLogin, probe: ProbeName, check: (found: unknown) => T | null, dir = stateDir(), now = Date.now()): Promise<T | null> {
  let remembered: Partial<Remembered>;
  try {
    remembered = JSON.parse(await readFile(fileOf(host, probe, dir), 'utf8')) as Partial<Remembered>;
  } catch {
    // No file, not JSON, or a host id no file may be named after: probe afresh.
    return null;
  }
  if (remembered.login !== loginOf(host) || typeof remembered.at !== 'number') return null;
  const age = now - remembered.at;
  if (!(age >= 0 && age < PROBE_MEMO_MS)) return null;
  return check(remembered.found);
}

/** Best effort: a state directory that cannot be written only means the next command probes again. */
export async function keepProbe(host: ProbedLogin, probe: ProbeName, found: unknown, dir = stateDir(), now = Date.now()): Promise<void> {
  try {
    const file = fileOf(host, probe, dir);
    const remembered: Remembered = { login: loginOf(host), at: now, found };
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeDurably(file, `${JSON.stringify(remembered)}\n`);
  } catch {
    // Not kept: the next command probes again.
  }
}

/** A probe that found nothing: what was remembered no longer holds. */
export async function forgetProbe(host: ProbedLogin, probe: ProbeName, dir = stateDir()): Promise<void> {
  try {
    await rm(fileOf(host, probe, dir), { force: true });
  } catch {
    // A host id no file may be named after has nothing to forget.
  }
}
