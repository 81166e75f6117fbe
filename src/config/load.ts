/**
 * Load and validate hosts.yml. Errors name the file, the host, the field and
 * the line, so a user can fix the file without guessing.
 */
import { readFile } from 'node:fs/promises';
import { Document, LineCounter, isMap, isNode, isScalar, parseDocument } from 'yaml';
import type { z } from 'zod';
import { UnknownHostError, describeError } from '../errors.js';
import { log } from '../log.js';
import { validateHostId } from '../names/validate.js';
import { expandEnvironment } from './env-expansion.js';
import { ConfigInvalidError, type ConfigProblem } from './errors.js';
import { locateConfig, type ConfigLocation } from './locate.js';
import { configFileSchema, type HostConfig, type ServerSection, type TransferSection } from './schema.js';
import { unsupportedSettings, warnUnsupportedSettingsOnce } from './sections.js';

export interface LoadedConfig {
  readonly location: ConfigLocation;
  /** Hosts in file order, enabled or not. */
  readonly hosts: readonly HostConfig[];
  /** The parsed document, comments and unknown fields included, for writing back. */
  readonly document: Document;
  /** The Python tool's `server:` and `transfer:` sections (empty when absent). */
  readonly server: ServerSection;
  readonly transfer: TransferSection;
}

type ParsedConfig = Omit<LoadedConfig, 'location'>;

/** hosts.yml as found; a file that does not exist yet holds no hosts (the first one added creates it). */
export async function loadConfig(explicitPath?: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const location = locateConfig(explicitPath, env);
  if (location.ignoredFolderFile !== undefined) warnIgnoredFolderFileOnce(location.ignoredFolderFile, location.path);
  if (!location.exists) return { location, hosts: [], document: new Document(), server: {}, transfer: {} };
  const text = await readFile(location.path, 'utf8');
  const parsed = parseConfigText(text, location.path, env);
  warnUnsupportedSettingsOnce(location.path, unsupportedSettings(parsed.server, parsed.transfer));
  return { location, ...parsed };
}

const warnedFolderFiles = new Set<string>();

/** Loud, once per file and process: a user who relied on the Python tool's look-up must hear why their hosts are not these. */
function warnIgnoredFolderFileOnce(ignored: string, used: string): void {
  if (warnedFolderFiles.has(ignored)) return;
  warnedFolderFiles.add(ignored);
  log.warn(`NOT reading ${ignored}: a hosts file in the current folder is used only when named (a cloned repository's file could point your hosts elsewhere); using ${used}. To use it: --config ${ignored}`);
}

/** Parse hosts.yml text; `file` is only used in messages. */
export function parseConfigText(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): ParsedConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigInvalidError(
      file,
      document.errors.map((error) => ({
        line: lineCounter.linePos(error.pos[0]).line,
        message: error.message.split('\n')[0] ?? error.message,
      })),
    );
  }

  const raw = expandEnvironment(document.toJS() ?? {}, env);
  const parsed = configFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigInvalidError(
      file,
      parsed.error.issues.map((issue) => describeIssue(issue, raw, document, lineCounter)),
    );
  }
  const hosts = Object.entries(parsed.data.hosts).map(([id, fields]) => ({ ...fields, id }));
  return { hosts, document, server: parsed.data.server, transfer: parsed.data.transfer };
}

/** The enabled host with this id, or an error listing the ones there are. */
export function findHost(config: LoadedConfig, hostId: string): HostConfig {
  const host = config.hosts.find((candidate) => candidate.id === hostId);
  if (!host || !host.enabled) {
    throw new UnknownHostError(
      hostId,
      config.hosts.filter((candidate) => candidate.enabled).map((candidate) => candidate.id),
      config.location.exists ? undefined : `${config.location.path} does not exist yet: add a host to create it`,
    );
  }
  return host;
}

export function enabledHosts(config: LoadedConfig): HostConfig[] {
  return config.hosts.filter((host) => host.enabled);
}

function describeIssue(
  issue: z.core.$ZodIssue,
  raw: unknown,
  document: Document,
  lineCounter: LineCounter,
): ConfigProblem {
  const path = issue.path.map((segment) => String(segment));
  const inHosts = path[0] === 'hosts';
  const host = inHosts ? path[1] : undefined;
  const field = inHosts ? path.slice(2).join('.') || undefined : path.join('.') || undefined;
  return { host, field, line: lineOf(document, lineCounter, path), message: messageFor(issue, raw, path) };
}

function messageFor(issue: z.core.$ZodIssue, raw: unknown, path: readonly string[]): string {
  if (issue.code === 'invalid_key' && path[0] === 'hosts' && path[1] !== undefined) {
    try {
      validateHostId(path[1]);
    } catch (error) {
      return describeError(error);
    }
  }
  if (issue.code === 'invalid_type' && valueAt(raw, path) === undefined) return 'is required';
  return issue.message;
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/**
 * The line of the node at `path`; for a field that is missing, the line of
 * the key that should hold it (the host's name).
 */
function lineOf(document: Document, lineCounter: LineCounter, path: readonly string[]): number | undefined {
  let node: unknown = document.contents;
  let line: number | undefined;
  for (const segment of path) {
    if (!isMap(node)) break;
    const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === segment);
    if (!pair) break;
    if (isNode(pair.key) && pair.key.range) line = lineCounter.linePos(pair.key.range[0]).line;
    node = pair.value;
    if (isNode(node) && node.range && !isMap(node)) line = lineCounter.linePos(node.range[0]).line;
  }
  return line;
}
