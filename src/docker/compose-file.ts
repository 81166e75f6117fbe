/**
 * What a compose file says about data: for every service, its bind mounts and
 * named volumes, and which of them lie under the host's appdata path. Pure:
 * the migration plan uses it to find every service's data path.
 */
import path from 'node:path';
import { parseDocument } from 'yaml';
import { InvalidInputError } from '../errors.js';
import { normaliseHostPath } from '../names/validate.js';
import { splitVolumeSpec } from './mount-origin.js';

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
  /** The source still holds ${VAR}: resolve with compose's own `config` for the real path. */
  readonly hasVariables: boolean;
  readonly readOnly: boolean;
}

export interface ComposeSummary {
  readonly services: readonly string[];
  readonly images: Readonly<Record<string, string | null>>;
  readonly dataPaths: readonly ServiceDataPath[];
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

export function parseComposeFile(text: string, stackDir: string, appdataPath: string | null): ComposeSummary {
  const root = checkComposeText(text, stackDir);
  const namedVolumes = isMapping(root.volumes) ? root.volumes : {};
  const services = Object.keys(root.services);
  const images: Record<string, string | null> = {};
  const dataPaths: ServiceDataPath[] = [];
  for (const [service, definition] of Object.entries(root.services)) {
    images[service] = isMapping(definition) && typeof definition.image === 'string' ? definition.image : null;
    const volumes = isMapping(definition) && Array.isArray(definition.volumes) ? definition.volumes : [];
    for (const volume of volumes) {
      const mount = parseVolume(volume);
      if (!mount) continue;
      const hasVariables = /\$\{?[A-Za-z_]/.test(mount.source);
      if (mount.kind === 'bind') {
        const source = resolveHostPath(mount.source, stackDir);
        dataPaths.push({ service, source, target: mount.target, kind: 'bind', volumeName: null, underAppdata: isUnderPath(source, appdataPath), hasVariables, readOnly: mount.readOnly });
        continue;
      }
      const device = bindDeviceOf(namedVolumes[mount.source]);
      if (device) {
        const source = resolveHostPath(device, stackDir);
        dataPaths.push({ service, source, target: mount.target, kind: 'bind', volumeName: mount.source, underAppdata: isUnderPath(source, appdataPath), hasVariables: /\$\{?[A-Za-z_]/.test(device), readOnly: mount.readOnly });
      } else {
        dataPaths.push({ service, source: mount.source, target: mount.target, kind: 'volume', volumeName: mount.source, underAppdata: false, hasVariables, readOnly: mount.readOnly });
      }
    }
  }
  return { services, images, dataPaths };
}

interface ParsedMount {
  readonly kind: 'bind' | 'volume';
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
}

function parseVolume(volume: unknown): ParsedMount | null {
  if (typeof volume === 'string') {
    const parts = splitVolumeSpec(volume);
    if (parts.length === 1) return null; // an anonymous volume: no data to move by path
    const [source = '', target = '', mode = ''] = parts;
    const kind = /^[./~]/.test(source) || source.startsWith('$') ? 'bind' : 'volume';
    return { kind, source, target, readOnly: mode.split(',').includes('ro') };
  }
  if (isMapping(volume) && typeof volume.source === 'string' && typeof volume.target === 'string') {
    if (volume.type === 'bind') return { kind: 'bind', source: volume.source, target: volume.target, readOnly: volume.read_only === true };
    if (volume.type === 'volume' || volume.type === undefined) return { kind: 'volume', source: volume.source, target: volume.target, readOnly: volume.read_only === true };
  }
  return null;
}

/** `driver_opts: {type: none, o: bind, device: /path}`: a named volume that is a bind mount. */
function bindDeviceOf(definition: unknown): string | null {
  if (!isMapping(definition) || !isMapping(definition.driver_opts)) return null;
  const options = definition.driver_opts;
  const o = typeof options.o === 'string' ? options.o : '';
  return o.split(',').includes('bind') && typeof options.device === 'string' ? options.device : null;
}

function resolveHostPath(source: string, stackDir: string): string {
  if (source.startsWith('/')) return normaliseHostPath(source);
  if (source.startsWith('~') || source.startsWith('$')) return source;
  return normaliseHostPath(path.posix.join(stackDir, source));
}

export function isUnderPath(source: string, appdataPath: string | null): boolean {
  if (!appdataPath || !source.startsWith('/')) return false;
  return source === appdataPath || source.startsWith(`${appdataPath.replace(/\/$/, '')}/`);
}
