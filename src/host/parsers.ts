/** Pure parsers for what the capability probes print. Tested with recorded outputs. */

export interface DockerVersion {
  readonly serverVersion: string;
  readonly apiVersion: string;
  readonly clientVersion: string | null;
}

/** `docker version --format '{{json .}}'` */
export function parseDockerVersion(json: string): DockerVersion | null {
  try {
    const parsed = JSON.parse(json) as { Server?: { Version?: string; ApiVersion?: string }; Client?: { Version?: string } };
    if (!parsed.Server?.Version) return null;
    return {
      serverVersion: parsed.Server.Version,
      apiVersion: parsed.Server.ApiVersion ?? '',
      clientVersion: parsed.Client?.Version ?? null,
    };
  } catch {
    return null;
  }
}

/** `docker compose version --short` / `docker-compose version --short`: "2.24.5" or "v2.24.5" or "1.29.2". */
export function parseComposeVersion(text: string): string | null {
  const match = /v?(\d+\.\d+\.\d+[^\s]*)/.exec(text.trim());
  return match?.[1] ?? null;
}

/** First line of `rsync --version`: "rsync  version 3.2.7  protocol version 31". */
export function parseRsyncVersion(text: string): { version: string; protocol: number | null } | null {
  const match = /rsync\s+version\s+v?(\S+)(?:\s+protocol version\s+(\d+))?/.exec(text);
  if (!match?.[1]) return null;
  return { version: match[1], protocol: match[2] ? Number(match[2]) : null };
}

/** `df -Pk PATH`: the free bytes of the filesystem holding PATH. */
export function parseDfFreeBytes(text: string): number | null {
  const lines = text.trim().split('\n');
  const last = lines[lines.length - 1];
  if (lines.length < 2 || !last) return null;
  // Filesystem names may contain spaces; the numbers are the last five fields.
  const fields = last.trim().split(/\s+/);
  const available = fields[fields.length - 3];
  return available !== undefined && /^\d+$/.test(available) ? Number(available) * 1024 : null;
}

export interface ZfsFilesystem {
  readonly name: string;
  readonly mountpoint: string;
  readonly availableBytes: number | null;
}

/**
 * `zfs get -H -p -o name,property,value type,mountpoint,available`: one line
 * per dataset and property. (zfs-fuse's `zfs list` has no `-p`, `zfs get`
 * has it everywhere.) Only filesystems are returned.
 */
export function parseZfsFilesystems(text: string): ZfsFilesystem[] {
  const byName = new Map<string, Map<string, string>>();
  for (const line of text.split('\n')) {
    const [name, property, value] = line.split('\t');
    if (!name || !property || value === undefined) continue;
    let properties = byName.get(name);
    if (!properties) byName.set(name, (properties = new Map()));
    properties.set(property, value);
  }
  return [...byName]
    .filter(([, properties]) => properties.get('type') === 'filesystem')
    .map(([name, properties]) => {
      const available = properties.get('available') ?? '';
      return {
        name,
        mountpoint: properties.get('mountpoint') ?? '',
        availableBytes: /^\d+$/.test(available) ? Number(available) : null,
      };
    });
}

/** The filesystem mounted at `path` or at its closest mounted ancestor. */
export function filesystemHolding(filesystems: readonly ZfsFilesystem[], path: string): ZfsFilesystem | null {
  let best: ZfsFilesystem | null = null;
  for (const fs of filesystems) {
    if (!fs.mountpoint.startsWith('/')) continue;
    const inside = path === fs.mountpoint || path.startsWith(fs.mountpoint === '/' ? '/' : `${fs.mountpoint}/`);
    if (inside && (!best || fs.mountpoint.length > best.mountpoint.length)) best = fs;
  }
  return best;
}
