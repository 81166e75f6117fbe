/**
 * What a deploy does, read before it is done: the files it replaces, the
 * project name compose will give it, and the settings of the compose file
 * that reach past the stack's own data (host paths outside appdata and the
 * stack folder, as binds or as the files of secrets and configs, the Docker socket, privileged mode, the host's namespaces,
 * added capabilities, devices, unconfined security profiles). Pure: the
 * input is compose's own resolved config, so `.env` variables count.
 */
import path from 'node:path';
import { parse } from 'yaml';
import { InvalidInputError } from '../errors.js';
import { isUnderPath } from './compose-file.js';
import { parseResolvedConfig } from './compose-config.js';

export interface DeployReview {
  readonly host: string;
  readonly stack: string;
  /** The compose project the stack runs as (always the folder's name: others are refused). */
  readonly project: string;
  readonly folder: string;
  /** The compose file written. */
  readonly composeFile: string;
  /** The .env written, when the deploy gives `environment`. */
  readonly envFile: string | null;
  /** Files there now that the deploy replaces; each is kept as `<file>.bak` (mode 0600). */
  readonly replaces: readonly string[];
  /** The compose file's settings that reach outside the stack, one line each ("service: setting"). */
  readonly risky: readonly string[];
  /** True when a user must say yes first: the deploy replaces files, or the file has risky settings. */
  readonly needsConfirmation: boolean;
}

/** The question put to the user, the same in the CLI's prompt, a dry run and over MCP. */
export function deployQuestion(review: DeployReview): { readonly effect: string; readonly details: readonly string[] } {
  const written = [review.composeFile, ...(review.envFile ? [review.envFile] : [])];
  const created = written.filter((file) => !review.replaces.includes(file));
  const parts = [
    ...(created.length > 0 ? [`writes ${created.join(' and ')}`] : []),
    ...(review.replaces.length > 0 ? [`replaces ${review.replaces.join(' and ')} (the old ${review.replaces.length > 1 ? 'ones' : 'one'} kept as .bak)`] : []),
  ];
  const effect = `deploying project ${review.project} on ${review.host} ${parts.join(' and ')}`;
  if (review.risky.length === 0) return { effect, details: [] };
  return { effect: `${effect}; its compose file reaches outside the stack's own data`, details: review.risky };
}

type Mapping = Record<string, unknown>;
const isMapping = (value: unknown): value is Mapping => typeof value === 'object' && value !== null && !Array.isArray(value);
const DOCKER_SOCKET = /(^|\/)docker\.sock$/;

/**
 * The lines of compose's printed config (`config`, JSON on v2, YAML on v1)
 * that give a service more than its own data: each one named by service.
 */
export function riskySettings(printedConfig: string, places: { readonly appdataPath: string | null; readonly stackFolder: string }): string[] {
  const root: unknown = parse(printedConfig);
  const services = isMapping(root) && isMapping(root.services) ? root.services : {};
  const lines: string[] = [];
  const resolved = parseResolvedConfig(printedConfig, path.posix.basename(places.stackFolder));
  const outside = (source: string) => !isUnderPath(source, places.appdataPath) && !isUnderPath(source, places.stackFolder);
  for (const mount of resolved.mounts) {
    const volume = mount.type === 'volume' ? resolved.volumes.find((v) => v.key === mount.source) : undefined;
    const hostPath = mount.type === 'bind' ? mount.source : (volume?.bindDevice ?? null);
    if (hostPath === null) continue;
    const how = mount.type === 'bind' ? 'bind' : `volume ${mount.source} (a bind of)`;
    const access = mount.readOnly ? ', read-only' : '';
    if (DOCKER_SOCKET.test(hostPath)) lines.push(`${mount.service}: ${how} ${hostPath} → ${mount.target}${access} (the Docker socket: root on the host)`);
    else if (outside(hostPath)) lines.push(`${mount.service}: ${how} ${hostPath} → ${mount.target}${access} (outside appdata and the stack folder)`);
  }
  for (const file of resolved.files) {
    if (outside(file.path)) lines.push(`${file.kind} ${file.name}: file ${file.path} (outside appdata and the stack folder)`);
  }
  for (const [service, definition] of Object.entries(services)) {
    if (!isMapping(definition)) continue;
    if (definition.privileged === true) lines.push(`${service}: privileged: true`);
    for (const key of ['pid', 'network_mode', 'ipc', 'userns_mode', 'uts', 'cgroup'] as const) {
      if (definition[key] === 'host') lines.push(`${service}: ${key}: host`);
    }
    const listed = (key: string) => (Array.isArray(definition[key]) ? (definition[key] as unknown[]) : []);
    const capabilities = listed('cap_add').map(String);
    if (capabilities.length > 0) lines.push(`${service}: cap_add: ${capabilities.join(', ')}`);
    const devices = listed('devices').map((device) => (isMapping(device) ? [device.source, device.target, device.permissions].filter((part) => part !== undefined).join(':') : String(device)));
    if (devices.length > 0) lines.push(`${service}: devices: ${devices.join(', ')}`);
    const unconfined = listed('security_opt').map(String).filter((option) => /unconfined/.test(option));
    if (unconfined.length > 0) lines.push(`${service}: security_opt: ${unconfined.join(', ')}`);
  }
  return lines;
}

/**
 * Refuse a project name other than the folder's: compose v2 takes it from
 * `name:` or `COMPOSE_PROJECT_NAME` (of `.env` too), and a folder `evil` that
 * says `name: victim` would act on victim's containers. `resolvedName` is
 * what compose v2 printed without a project flag (null on v1, which has no
 * `name:`); `declaredName` the file's literal `name:`; `environmentName`
 * the `COMPOSE_PROJECT_NAME` the deploy writes to `.env`.
 */
export function refuseForeignProjectName(stack: string, names: { readonly declaredName: string | null; readonly resolvedName: string | null; readonly environmentName: string | null }): void {
  for (const [where, name] of [
    ['name:', names.declaredName],
    ['COMPOSE_PROJECT_NAME', names.environmentName],
    ['the project name compose resolves (name: or COMPOSE_PROJECT_NAME in .env)', names.resolvedName],
  ] as const) {
    if (name !== null && name !== stack) {
      throw new InvalidInputError(
        'compose file',
        `for ${stack}`,
        `${where} says project ${JSON.stringify(name)}, not the stack's folder name ${JSON.stringify(stack)}: it would act on that project's containers. Deploy it as stack ${JSON.stringify(name)}, or remove the name`,
      );
    }
  }
}

/** The file's literal top-level `name:`, or null (absent, or not a string). */
export function declaredName(root: Mapping): string | null {
  return typeof root.name === 'string' ? root.name : null;
}
