/**
 * Write hosts.yml back without losing what we do not understand: edits go
 * into the parsed YAML document, so comments, unknown fields and other
 * top-level blocks stay. The write is atomic and keeps the old file as .bak.
 */
import { copyFile, mkdir, open, rename, unlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Document, YAMLMap } from 'yaml';
import { validateHostId } from '../names/validate.js';
import { literal } from './env-expansion.js';
import { parseConfigText } from './load.js';
import type { HostFields } from './schema.js';

export type HostFieldUpdate = Partial<{ [K in keyof HostFields]: HostFields[K] | null }>;

/**
 * Set (or, with null, delete) fields of one host, creating the host if needed.
 * Values are stored literally: what a caller wrote never expands a variable.
 */
export function setHostFields(document: Document, hostId: string, fields: HostFieldUpdate): void {
  validateHostId(hostId);
  // createNode, not new YAMLMap(): a map made without the document's schema cannot take setIn's new keys.
  if (!(document.get('hosts') instanceof YAMLMap)) document.set('hosts', document.createNode({}));
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (value === null) document.deleteIn(['hosts', hostId, key]);
    else document.setIn(['hosts', hostId, key], stored(value));
  }
}

export function removeHost(document: Document, hostId: string): boolean {
  return document.deleteIn(['hosts', hostId]);
}

/**
 * Validate the document as hosts.yml, then replace `file` atomically: write a
 * temporary file beside it, fsync, keep the previous file as `file.bak`, rename.
 */
export async function writeConfigFile(file: string, document: Document): Promise<void> {
  const text = document.toString();
  // Refuse to write a file we could not read back.
  parseConfigText(text, file);
  await replaceFileAtomically(file, text);
}

/** Replace `file` with `text` (mode 0600), keeping the previous file as `file.bak`; never a half-written file. */
export async function replaceFileAtomically(file: string, text: string): Promise<void> {
  // The first write creates the file, and its folder (~/.config/docker-mcp) if need be.
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    if (existsSync(file)) await copyFile(file, `${file}.bak`);
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

function stored(value: unknown): unknown {
  if (typeof value === 'string') return literal(value);
  return Array.isArray(value) ? value.map(stored) : value;
}
