/**
 * A stack as compose itself resolves it: `docker compose config --format json`
 * (v2) or `docker-compose config` (v1, YAML) run on the host, in the stack's
 * working directory with the files it was started with, so that `.env`,
 * `${VAR:-default}`, env_file, override files, extends and include count as
 * compose counts them. Parsing the printed config is pure.
 */
import path from 'node:path';
import { parse } from 'yaml';
import type { ComposeFlavour } from '../host/capabilities.js';
import { composeCommand, profileFlags } from './compose-cli.js';
import type { DockerHost } from './docker-host.js';
import { ComposeValidationError } from './errors.js';
import { normaliseHostPath } from '../names/validate.js';

/** Where a stack lives on a host: its project name, working directory and compose files (absolute). */
export interface StackLocation {
  readonly project: string;
  readonly workingDir: string;
  readonly configFiles: readonly string[];
}

export interface ResolvedMount {
  readonly service: string;
  readonly type: 'bind' | 'volume' | 'other';
  /** Absolute host path for a bind, the volume's key in the project for a volume. */
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
  /**
   * A bind whose missing host path Docker creates as an empty directory at
   * start: compose's short syntax (`bind.create_host_path`, v1's
   * `SOURCE:TARGET`); the long syntax fails instead.
   */
  readonly createsHostPath?: boolean;
}

export interface ResolvedPort {
  readonly service: string;
  readonly published: number;
  readonly protocol: string;
  readonly hostIp: string | null;
}

export interface ResolvedVolume {
  /** The key under `volumes:` that services refer to. */
  readonly key: string;
  /** The engine's name for it (`<project>_<key>` unless `name:` says otherwise). */
  readonly name: string;
  readonly driver: string;
  readonly external: boolean;
  /** `driver_opts` o=bind device=…: a named volume that is really a bind mount of this path. */
  readonly bindDevice: string | null;
  /** `driver_opts` as written (type=nfs, o=..., device=...). */
  readonly driverOptions: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ResolvedProject {
  /** `name:` as compose resolved it (v2 only prints one). */
  readonly name: string | null;
  readonly services: readonly string[];
  readonly images: Readonly<Record<string, string | null>>;
  readonly mounts: readonly ResolvedMount[];
  readonly ports: readonly ResolvedPort[];
  readonly volumes: readonly ResolvedVolume[];
  /** Files of top-level `configs:` and `secrets:`, absolute. */
  readonly files: readonly { readonly kind: 'config' | 'secret'; readonly name: string; readonly path: string }[];
  /**
   * Services that run once and exit (`restart` absent or "no", or another
   * service waits for them with `condition: service_completed_successfully`):
   * exited 0, they have done their job. Absent where parsed by an older version.
   */
  readonly oneShot?: readonly string[];
  /** Services compose builds (`build:`), and the image each build makes: `image:` when named, else compose's own name for it. */
  readonly built?: readonly BuiltImage[];
}

export interface BuiltImage {
  readonly service: string;
  readonly image: string;
  /** True when `image:` names it (the same on every host); false when compose names it by project and service (its flavour's way). */
  readonly named: boolean;
}

/** The name compose gives the image it builds for a service without `image:`: v2 `<project>-<service>`, v1 `<project>_<service>`. Pure. */
export function builtImageName(project: string, service: string, flavour: ComposeFlavour): string {
  return `${project}${flavour === 'v1' ? '_' : '-'}${service}`;
}

/** Run compose's own `config` in the stack's working directory and parse what it prints. */
export async function readResolvedProject(
  target: DockerHost,
  compose: { flavour: ComposeFlavour; command: readonly string[] },
  location: StackLocation,
  profiles: readonly string[] = [],
): Promise<ResolvedProject> {
  const args = [...profileFlags(profiles), 'config', ...(compose.flavour === 'v2' ? ['--format', 'json'] : [])];
  const config = composeCommand(compose, location.project, location.configFiles, args, location.workingDir);
  const result = await target.transport.exec(config, { okExitCodes: Array.from({ length: 256 }, (_, code) => code), timeoutMs: 60_000 });
  if (result.exitCode !== 0) throw new ComposeValidationError(target.host.id, location.project, result.stderr || result.stdout);
  return parseResolvedConfig(result.stdout, location.project, compose.flavour);
}

type Mapping = Record<string, unknown>;
const isMapping = (value: unknown): value is Mapping => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | null => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : null);

/** Parse compose's printed config: JSON (v2) is YAML too, so one parser reads both flavours. */
export function parseResolvedConfig(printed: string, project: string, flavour: ComposeFlavour = 'v2'): ResolvedProject {
  const root: unknown = parse(printed);
  if (!isMapping(root) || !isMapping(root.services)) throw new Error('compose config printed no services mapping');
  const name = text(root.name);
  const services = Object.keys(root.services).sort();
  const images: Record<string, string | null> = {};
  const mounts: ResolvedMount[] = [];
  const ports: ResolvedPort[] = [];
  const oneShot = new Set<string>();
  const built: BuiltImage[] = [];
  for (const service of services) {
    const definition = root.services[service];
    if (!isMapping(definition)) continue;
    images[service] = text(definition.image);
    if (definition.build !== undefined && definition.build !== null) {
      const named = images[service] !== null;
      built.push({ service, image: images[service] ?? builtImageName(name ?? project, service, flavour), named });
    }
    const restart = text(definition.restart);
    if (restart === null || restart === 'no') oneShot.add(service);
    for (const awaited of completedDependencies(definition.depends_on)) oneShot.add(awaited);
    for (const volume of Array.isArray(definition.volumes) ? definition.volumes : []) {
      const mount = resolvedMount(service, volume);
      if (mount) mounts.push(mount);
    }
    for (const port of Array.isArray(definition.ports) ? definition.ports : []) {
      const published = publishedPort(service, port);
      if (published) ports.push(published);
    }
  }
  const volumes = Object.entries(isMapping(root.volumes) ? root.volumes : {}).map(([key, definition]): ResolvedVolume => {
    const volume = isMapping(definition) ? definition : {};
    const options = isMapping(volume.driver_opts) ? volume.driver_opts : {};
    const device = text(options.device);
    const bind = (text(options.o) ?? '').split(',').includes('bind') && device !== null ? normaliseHostPath(device) : null;
    const external = volume.external === true || isMapping(volume.external);
    const labels = isMapping(volume.labels) ? Object.fromEntries(Object.entries(volume.labels).map(([k, v]) => [k, text(v) ?? ''])) : {};
    return { key, name: text(volume.name) ?? (external ? key : `${name ?? project}_${key}`), driver: text(volume.driver) ?? 'local', external, bindDevice: bind, driverOptions: Object.fromEntries(Object.entries(options).map(([k, v]) => [k, text(v) ?? ''])), labels };
  });
  const files = (['config', 'secret'] as const).flatMap((kind) =>
    Object.entries(isMapping(root[`${kind}s`]) ? (root[`${kind}s`] as Mapping) : {}).flatMap(([key, definition]) => {
      const file = isMapping(definition) ? text(definition.file) : null;
      return file === null ? [] : [{ kind, name: key, path: file }];
    }),
  );
  return { name, services, images, mounts, ports, volumes, files, oneShot: [...oneShot].filter((s) => services.includes(s)).sort(), built };
}

/** The services a `depends_on` waits for to complete successfully. */
function completedDependencies(dependsOn: unknown): string[] {
  if (!isMapping(dependsOn)) return [];
  return Object.entries(dependsOn).flatMap(([service, condition]) => (isMapping(condition) && condition.condition === 'service_completed_successfully' ? [service] : []));
}

function resolvedMount(service: string, volume: unknown): ResolvedMount | null {
  if (isMapping(volume)) {
    const source = text(volume.source);
    const target = text(volume.target);
    if (source === null || target === null) return null; // anonymous volume or tmpfs: nothing to move by name
    const type = volume.type === 'bind' ? 'bind' : volume.type === 'volume' ? 'volume' : 'other';
    const createsHostPath = type === 'bind' && isMapping(volume.bind) && volume.bind.create_host_path === true;
    return { service, type, source: type === 'bind' ? normaliseHostPath(source) : source, target, readOnly: volume.read_only === true, ...(createsHostPath ? { createsHostPath } : {}) };
  }
  if (typeof volume !== 'string') return null;
  // v1 prints "SOURCE:TARGET:MODE", its sources already absolute or volume names.
  const [source = '', target, mode = ''] = volume.split(':');
  if (target === undefined) return null;
  const bind = path.posix.isAbsolute(source);
  return { service, type: bind ? 'bind' : 'volume', source: bind ? normaliseHostPath(source) : source, target, readOnly: mode.split(',').includes('ro'), ...(bind ? { createsHostPath: true } : {}) };
}

function publishedPort(service: string, port: unknown): ResolvedPort | null {
  if (isMapping(port)) {
    const published = Number(text(port.published));
    if (!Number.isInteger(published) || published <= 0) return null;
    return { service, published, protocol: text(port.protocol) ?? 'tcp', hostIp: text(port.host_ip) };
  }
  const spec = text(port);
  if (spec === null) return null;
  // "[IP:]HOST:CONTAINER[/PROTO]"; a bare container port publishes nothing fixed.
  const [ports = '', protocol = 'tcp'] = spec.split('/');
  const parts = ports.split(':');
  if (parts.length < 2) return null;
  const published = Number(parts[parts.length - 2]);
  if (!Number.isInteger(published) || published <= 0) return null;
  return { service, published, protocol, hostIp: parts.length > 2 ? parts.slice(0, -2).join(':') : null };
}
