/**
 * Every name and path that reaches a host is checked here, once, where it
 * enters the program. The rules are deliberately narrower than what the
 * underlying tools accept: a name that passes can be logged, shown and used
 * as a file name without surprises.
 */
import path from 'node:path/posix';
import { InvalidInputError } from '../errors.js';

const HOST_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
// Stack names are DNS labels, as the Python docker-mcp enforces.
const STACK_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
// What OpenZFS itself accepts in a dataset's name below the pool (zfs_namecheck.c): any of these, in any place.
const DATASET_COMPONENT = /^[A-Za-z0-9_.: -]+$/;
const POOL_NAME = /^[A-Za-z][A-Za-z0-9_.:-]*$/;
const SNAPSHOT_PART = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const RESERVED_POOL_NAMES = new Set(['mirror', 'raidz', 'raidz1', 'raidz2', 'raidz3', 'spare', 'log', 'cache']);
const MAX_DATASET_LENGTH = 255;

export function validateHostId(value: string): string {
  if (!HOST_ID.test(value)) {
    throw new InvalidInputError('host id', value, 'use letters, digits, "_", "." and "-" (at most 63, not starting with a symbol)');
  }
  return value;
}

export function validateStackName(value: string): string {
  if (value.length > 63 || !STACK_NAME.test(value)) {
    throw new InvalidInputError(
      'stack name',
      value,
      'must be a DNS label: lowercase letters, digits and "-", at most 63, starting and ending with a letter or digit',
    );
  }
  return value;
}

export function validateServiceName(value: string): string {
  if (!SERVICE_NAME.test(value)) {
    throw new InvalidInputError('service name', value, 'use letters, digits, "_", "." and "-" (at most 63)');
  }
  return value;
}

export function validateDatasetName(value: string): string {
  const fail = (reason: string): never => {
    throw new InvalidInputError('dataset name', value, reason);
  };
  if (value.length === 0) fail('is empty');
  if (value.length > MAX_DATASET_LENGTH) fail(`is longer than ${MAX_DATASET_LENGTH} characters`);
  if (value.includes('@') || value.includes('#')) fail('names a snapshot or bookmark, not a dataset');
  const components = value.split('/');
  const [pool] = components;
  if (pool === undefined || !POOL_NAME.test(pool) || RESERVED_POOL_NAMES.has(pool)) {
    fail('the pool name must start with a letter and use letters, digits, "_", ".", ":" and "-"');
  }
  for (const component of components.slice(1)) {
    if (component === '' || component === '.' || component === '..' || !DATASET_COMPONENT.test(component)) {
      fail(`component ${JSON.stringify(component)} must be non-empty, not "." or "..", and hold only ASCII letters, digits, space, "_", ".", ":" and "-" (in any place, a leading "." included: OpenZFS's own rule)`);
    }
  }
  return value;
}

/** A full snapshot name, `dataset@snapshot`. */
export function validateSnapshotName(value: string): string {
  const at = value.indexOf('@');
  if (at < 0 || value.indexOf('@', at + 1) >= 0) {
    throw new InvalidInputError('snapshot name', value, 'must be DATASET@NAME with exactly one "@"');
  }
  validateDatasetName(value.slice(0, at));
  validateSnapshotPart(value.slice(at + 1));
  if (value.length > MAX_DATASET_LENGTH) {
    throw new InvalidInputError('snapshot name', value, `is longer than ${MAX_DATASET_LENGTH} characters`);
  }
  return value;
}

/** The part of a snapshot name after the "@". */
export function validateSnapshotPart(value: string): string {
  if (!SNAPSHOT_PART.test(value)) {
    throw new InvalidInputError('snapshot name', value, 'use letters, digits, "_", ".", ":" and "-"');
  }
  return value;
}

/** An absolute, normalised path with no control characters (config paths, mount points). */
export function validateAbsolutePath(value: string, what = 'path'): string {
  if (!value.startsWith('/')) throw new InvalidInputError(what, value, 'must be absolute');
  if (CONTROL_CHARS.test(value)) throw new InvalidInputError(what, value, 'contains control characters');
  const segments = value.split('/').slice(1);
  if (segments.some((s) => s === '..' || s === '.')) {
    throw new InvalidInputError(what, value, 'must not contain "." or ".." segments');
  }
  const normalised = path.normalize(value);
  if (normalised !== value && normalised !== value.replace(/\/+$/, '')) {
    throw new InvalidInputError(what, value, `is not normalised (did you mean ${normalised}?)`);
  }
  return value.length > 1 ? value.replace(/\/+$/, '') : value;
}

/**
 * A host path as compose and Docker take it: repeated and trailing slashes
 * dropped, "." and ".." resolved (`DATA_FOLDER=/root/n8n/` makes
 * `/root/n8n//.n8n`, which both accept as `/root/n8n/.n8n`). A relative path
 * is returned as it is.
 */
export function normaliseHostPath(value: string): string {
  if (!value.startsWith('/')) return value;
  const normalised = path.normalize(value);
  return normalised.length > 1 ? normalised.replace(/\/+$/, '') : normalised;
}

// What a data path may hold: it travels as a remote rsync path and into
// shell commands on both hosts, where quoting is the only other defence.
const DATA_PATH_CHARS = /^[A-Za-z0-9._+@=:,/ -]$/;

/**
 * A data path that is moved between hosts (a bind mount's host path): an
 * absolute, normalised path of ASCII letters, digits, space and `._-+@=:,/`.
 */
export function validateDataPath(value: string, what = 'data path'): string {
  const offending = [...new Set([...value].filter((char) => !DATA_PATH_CHARS.test(char)))];
  if (offending.length > 0) {
    throw new InvalidInputError(
      what,
      value,
      `contains ${offending.map((char) => JSON.stringify(char)).join(', ')}: data paths may hold only ASCII letters, digits, space and "._-+@=:,/"`,
    );
  }
  return validateAbsolutePath(value, what);
}

/**
 * A path that must lie strictly inside `base` (e.g. a service's data path
 * inside the host's appdata_path). Returns the path relative to base.
 */
export function relativePathInside(base: string, value: string, what = 'path'): string {
  const cleanBase = validateAbsolutePath(base, 'base path');
  const cleanValue = validateAbsolutePath(value, what);
  const relative = path.relative(cleanBase, cleanValue);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new InvalidInputError(what, value, `must lie inside ${cleanBase}`);
  }
  return relative;
}

const CONTAINER_REF = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;

/** A container name or id, as docker accepts them. */
export function validateContainerRef(value: string): string {
  if (!CONTAINER_REF.test(value)) {
    throw new InvalidInputError('container', value, 'use a container name or id: letters, digits, "_", "." and "-"');
  }
  return value;
}

const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

/** A Docker volume name, as the engine allows them. */
export function validateVolumeName(value: string): string {
  if (!VOLUME_NAME.test(value)) {
    throw new InvalidInputError('volume name', value, 'use letters, digits, "_", "." and "-", starting with a letter or digit');
  }
  return value;
}

// registry[:port]/path[:tag][@digest], lowercase path components as the registry spec wants.
const IMAGE_REF = /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** An image reference such as `nginx:1.27`, `ghcr.io/owner/app@sha256:...`. */
export function validateImageRef(value: string): string {
  // Docker's own limit: a repository name (before the tag or digest) of at most 255 characters.
  const repository = value.replace(/@sha256:[a-f0-9]{64}$/, '').replace(/:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, '');
  if (repository.length > 255 || !IMAGE_REF.test(value)) {
    throw new InvalidInputError('image', value, 'use an image reference such as nginx:1.27 or registry.example:5000/team/app:tag');
  }
  return value;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** A variable for a stack's .env file: a portable name, and a value on one line. */
export function validateEnvironmentVariable(name: string, value: string): void {
  if (!ENV_NAME.test(name)) throw new InvalidInputError('environment variable name', name, 'use letters, digits and "_", not starting with a digit');
  if (/[\r\n\0]/.test(value)) throw new InvalidInputError(`value of ${name}`, value, 'must be a single line');
  // Compose v1 reads "\\" in a quoted .env value as one backslash, v2 as two.
  if (/\\(?=[\\']|$)/.test(value)) {
    throw new InvalidInputError(`value of ${name}`, value, 'has a backslash before a backslash, before a quote or at the end, which compose v1 and v2 read differently');
  }
}

/** The name of a control character (C0 or DEL), for messages that must not print it raw. */
function controlCharacterName(char: string): string {
  const names: Record<string, string> = { '\n': 'newline', '\r': 'carriage return', '\t': 'tab', '\0': 'NUL', '\u007f': 'DEL' };
  return names[char] ?? `U+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * A value on one line: no control characters. hosts.yml values end up in
 * files, logs and ssh arguments, where a newline starts something new.
 */
export function validateSingleLine(value: string, what = 'value'): string {
  const found = CONTROL_CHARS.exec(value);
  if (found) throw new InvalidInputError(what, value, `contains a control character (${controlCharacterName(found[0])}); values must be on one line`);
  return value;
}

// ssh would take a leading "-" for an option, and whitespace splits words in
// ssh_config and in the command the source host runs.
function validateSshWord(value: string, what: string): string {
  if (value.length === 0) throw new InvalidInputError(what, value, 'must not be empty');
  validateSingleLine(value, what);
  if (value.startsWith('-')) throw new InvalidInputError(what, value, 'must not start with "-"');
  if (/\s/.test(value)) throw new InvalidInputError(what, value, 'must not contain whitespace');
  return value;
}

/** A hostname, address or ~/.ssh/config alias to hand to ssh. */
export function validateSshHostname(value: string): string {
  return validateSshWord(value, 'hostname');
}

/** A login name to hand to `ssh -l`. */
export function validateSshUser(value: string): string {
  return validateSshWord(value, 'user');
}
