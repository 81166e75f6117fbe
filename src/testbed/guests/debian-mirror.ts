/**
 * The Debian archive this machine's apt already uses: the guests' packages
 * come from the same place as the machine's own, named by its configuration
 * rather than by the project.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { TestbedError } from '../local-command.js';

const SOURCES_DIR = '/etc/apt/sources.list.d';
const SOURCES_LIST = '/etc/apt/sources.list';

/** URIs named by one sources file, one-line (`deb URI suite ...`) or deb822 (`URIs: ...`) style. */
export function sourceUris(text: string): string[] {
  const uris: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line);
    if (oneLine?.[1]) uris.push(oneLine[1]);
    const deb822 = /^URIs:\s*(.+)$/i.exec(line);
    if (deb822?.[1]) uris.push(...deb822[1].trim().split(/\s+/));
  }
  return uris;
}

/** The main archive among them: a path ending in /debian (not -security, -ports...). */
export function mainArchive(uris: readonly string[]): string | undefined {
  return uris.find((uri) => /^https?:\/\/[^\s]+\/debian\/?$/.test(uri));
}

export async function debianMirror(): Promise<string> {
  const files = [SOURCES_LIST];
  try {
    for (const name of await readdir(SOURCES_DIR)) {
      if (name.endsWith('.list') || name.endsWith('.sources')) files.push(path.join(SOURCES_DIR, name));
    }
  } catch {
    // no sources.list.d
  }
  const uris: string[] = [];
  for (const file of files) {
    try {
      uris.push(...sourceUris(await readFile(file, 'utf8')));
    } catch {
      // missing file
    }
  }
  const mirror = mainArchive(uris);
  if (!mirror) throw new TestbedError(`no Debian archive found in this machine's apt sources (${files.join(', ')}); the OpenZFS guests are built from it`);
  return mirror.replace(/\/$/, '');
}
