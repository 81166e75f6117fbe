/** `docker inspect` JSON of containers, typed to the fields the tool reads. */

export interface InspectedContainer {
  readonly Id: string;
  readonly Name: string;
  readonly Created: string;
  readonly Path?: string;
  readonly Args?: readonly string[];
  readonly RestartCount?: number;
  readonly State: {
    readonly Status: string;
    readonly Running: boolean;
    readonly StartedAt?: string;
    readonly ExitCode?: number;
    readonly Health?: { readonly Status: string };
  };
  readonly Config: { readonly Image: string; readonly Labels: Readonly<Record<string, string>> | null };
  readonly NetworkSettings?: {
    readonly Ports?: Readonly<Record<string, readonly { HostIp: string; HostPort: string }[] | null>> | null;
    readonly Networks?: Readonly<Record<string, { readonly IPAddress?: string }>> | null;
  };
  readonly Mounts?: readonly { readonly Type: string; readonly Source: string; readonly Destination: string; readonly Name?: string; readonly RW?: boolean }[];
}

export interface ContainerSummary {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly state: string;
  readonly health: string | null;
  /** The exit code of a container that exited, else null. */
  readonly exitCode?: number | null;
  readonly ports: readonly string[];
  /** Compose project (stack) and service, from compose's labels. */
  readonly stack: string | null;
  readonly service: string | null;
  /** Where compose ran for this container's project: its working directory and files (labels). */
  readonly projectDir: string | null;
  readonly configFiles: readonly string[];
  readonly created: string;
  readonly mounts: readonly { readonly type: string; readonly source: string; readonly destination: string }[];
}

export const COMPOSE_PROJECT_LABEL = 'com.docker.compose.project';
export const COMPOSE_SERVICE_LABEL = 'com.docker.compose.service';
export const COMPOSE_WORKING_DIR_LABEL = 'com.docker.compose.project.working_dir';
export const COMPOSE_CONFIG_FILES_LABEL = 'com.docker.compose.project.config_files';

export function parseInspectJson(text: string): InspectedContainer[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const parsed: unknown = JSON.parse(trimmed);
  if (!Array.isArray(parsed)) throw new Error('docker inspect did not print a JSON array');
  return parsed as InspectedContainer[];
}

export function summarizeContainer(container: InspectedContainer): ContainerSummary {
  const labels = container.Config.Labels ?? {};
  const ports = Object.entries(container.NetworkSettings?.Ports ?? {}).flatMap(([containerPort, bindings]) =>
    bindings && bindings.length > 0
      ? bindings.map((binding) => `${binding.HostIp && binding.HostIp !== '0.0.0.0' ? `${binding.HostIp}:` : ''}${binding.HostPort}->${containerPort}`)
      : [containerPort],
  );
  return {
    id: container.Id.slice(0, 12),
    name: container.Name.replace(/^\//, ''),
    image: container.Config.Image,
    state: container.State.Status,
    health: container.State.Health?.Status ?? null,
    exitCode: container.State.Status === 'exited' ? (container.State.ExitCode ?? null) : null,
    ports,
    stack: labels[COMPOSE_PROJECT_LABEL] ?? null,
    service: labels[COMPOSE_SERVICE_LABEL] ?? null,
    projectDir: labels[COMPOSE_WORKING_DIR_LABEL] ?? null,
    // Comma-separated, as compose writes it (a file name with a comma cannot be told apart).
    configFiles: (labels[COMPOSE_CONFIG_FILES_LABEL] ?? '').split(',').filter(Boolean),
    created: container.Created,
    mounts: (container.Mounts ?? []).map((mount) => ({ type: mount.Type, source: mount.Source, destination: mount.Destination })),
  };
}

/** More than the summary, still far less than `docker inspect` (its full text is the containers:// resource). */
export interface ContainerDetails extends ContainerSummary {
  readonly fullId: string;
  readonly startedAt: string | null;
  readonly restartCount: number;
  readonly command: readonly string[];
  readonly networks: readonly { readonly name: string; readonly ipAddress: string | null }[];
  /** Labels other than compose's own (those are stack, service, projectDir and configFiles). */
  readonly labels: Readonly<Record<string, string>>;
}

export function describeContainer(container: InspectedContainer): ContainerDetails {
  const labels = Object.fromEntries(Object.entries(container.Config.Labels ?? {}).filter(([key]) => !key.startsWith('com.docker.compose.')));
  return {
    ...summarizeContainer(container),
    fullId: container.Id,
    startedAt: container.State.StartedAt && !container.State.StartedAt.startsWith('0001-') ? container.State.StartedAt : null,
    restartCount: container.RestartCount ?? 0,
    command: [...(container.Path ? [container.Path] : []), ...(container.Args ?? [])],
    networks: Object.entries(container.NetworkSettings?.Networks ?? {}).map(([name, network]) => ({ name, ipAddress: network.IPAddress || null })),
    labels,
  };
}
