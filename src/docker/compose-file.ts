/**
 * The checks made on a compose file before it is sent to a host (size, YAML,
 * alias bombs, a services mapping), and the shape of a mount as the plan
 * takes it. What a stack mounts is read by compose's own `config` on its host
 * (compose-config.ts), never here: one reader, so the plan cannot disagree
 * with compose. Pure.
 */
import { parseDocument } from 'yaml';
import { InvalidInputError } from '../errors.js';

export interface ServiceDataPath {
  readonly service: string;
  /** Host path for a bind mount (resolved against the stack folder), volume name otherwise. */
  readonly source: string;
  /** Path inside the container. */
  readonly target: string;
  readonly kind: 'bind' | 'volume';
  /** For a named volume that is really a bind (driver_opts o=bind, device=...). */
  readonly volumeName: string | null;
  readonly underAppdata: boolean;
  /** Its path is written with a ${VAR} (where it is written says which). */
  readonly hasVariables: boolean;
  readonly readOnly: boolean;
}

type Mapping = Record<string, unknown>;
const isMapping = (value: unknown): value is Mapping => typeof value === 'object' && value !== null && !Array.isArray(value);

export const MAX_COMPOSE_FILE_BYTES = 1024 * 1024;
// Real compose files use a handful of anchors; thousands mean an alias bomb.
const MAX_ALIASES = 1000;

/**
 * Parse a compose file far enough to refuse what must never reach a host:
 * a huge file, YAML that does not parse, an alias bomb ("billion laughs"),
 * a file without a services mapping. Compose itself checks the rest.
 */
export function checkComposeText(text: string, where: string): Mapping & { services: Mapping } {
  if (Buffer.byteLength(text) > MAX_COMPOSE_FILE_BYTES) {
    throw new InvalidInputError('compose file', where, `is larger than ${MAX_COMPOSE_FILE_BYTES} bytes`);
  }
  // Compose honours YAML merge keys (`<<: *common`), which YAML 1.2 left out.
  const document = parseDocument(text, { merge: true });
  if (document.errors.length > 0) {
    throw new InvalidInputError('compose file', where, document.errors.map((e) => e.message.split('\n')[0]).join('; '));
  }
  let root: unknown;
  try {
    root = document.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (error) {
    throw new InvalidInputError('compose file', where, `cannot be expanded: ${(error as Error).message}`);
  }
  if (!isMapping(root) || !isMapping(root.services)) {
    throw new InvalidInputError('compose file', where, 'has no "services" mapping');
  }
  return root as Mapping & { services: Mapping };
}

export function isUnderPath(source: string, appdataPath: string | null): boolean {
  if (!appdataPath || !source.startsWith('/')) return false;
  return source === appdataPath || source.startsWith(`${appdataPath.replace(/\/$/, '')}/`);
}
