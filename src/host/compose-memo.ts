/**
 * The compose flavour last found on a host, remembered for a few minutes in
 * the state directory. Every CLI command is a new process with new SSH
 * connections, and each would run `docker compose version` again: a Go
 * binary's start, about 2 s on a small or emulated host, before any real
 * work. Only the flavour and version are kept; the command that runs compose
 * is rebuilt from the flavour, never read back from the file.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { HostConfig } from '../config/schema.js';
import { stateDir, writeDurably } from '../migration/journal.js';
import { validateHostId } from '../names/validate.js';
import type { ComposeCapability, ComposeFlavour } from './capabilities.js';

/** How long a finding stands: a compose installed or removed meanwhile is seen by the next command after this. */
export const COMPOSE_MEMO_MS = 10 * 60_000;

const COMMANDS: Readonly<Record<ComposeFlavour, readonly string[]>> = { v2: ['docker', 'compose'], v1: ['docker-compose'] };

interface Remembered {
  readonly login: string;
  readonly flavour: ComposeFlavour;
  readonly version: string;
  readonly at: number;
}

/** Which login the finding belongs to: a host id pointed elsewhere in hosts.yml is a new host. */
function loginOf(host: HostConfig): string {
  return `${host.user}@${host.hostname}:${host.port}`;
}

function fileOf(host: HostConfig, dir: string): string {
  return path.join(dir, 'hosts', `${validateHostId(host.id)}.compose.json`);
}

export async function rememberedCompose(host: HostConfig, dir = stateDir(), now = Date.now()): Promise<ComposeCapability | null> {
  let remembered: Partial<Remembered>;
  try {
    remembered = JSON.parse(await readFile(fileOf(host, dir), 'utf8')) as Partial<Remembered>;
  } catch {
    return null;
  }
  const { login, flavour, version, at } = remembered;
  if (login !== loginOf(host) || (flavour !== 'v1' && flavour !== 'v2') || typeof version !== 'string' || typeof at !== 'number') return null;
  if (!(now - at >= 0 && now - at < COMPOSE_MEMO_MS)) return null;
  return { flavour, version, command: COMMANDS[flavour] };
}

/** Best effort: a state directory that cannot be written only means the next command probes again. */
export async function rememberCompose(host: HostConfig, compose: ComposeCapability, dir = stateDir(), now = Date.now()): Promise<void> {
  const file = fileOf(host, dir);
  const remembered: Remembered = { login: loginOf(host), flavour: compose.flavour, version: compose.version, at: now };
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
    .then(() => writeDurably(file, `${JSON.stringify(remembered)}\n`))
    .catch(() => undefined);
}
