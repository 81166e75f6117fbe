/**
 * Named volumes on one host's engine, and their contents read and written
 * through a short-lived helper container (any image with sh, tar, find,
 * stat and sha256sum: busybox has them), so the same commands work on every
 * host whatever its filesystem or where the engine keeps its volumes.
 */
import { validateImageRef, validateVolumeName } from '../names/validate.js';
import { andThen, command, type ShellCommand } from '../ssh/quote.js';
import type { SshTransport } from '../ssh/transport.js';

export interface VolumeState {
  readonly name: string;
  readonly driver: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly options: Readonly<Record<string, string>>;
}

/** The volume as the engine knows it, or null when it has none of that name. */
export async function inspectVolume(host: SshTransport, name: string): Promise<VolumeState | null> {
  const result = await host.exec(command(['docker', 'volume', 'inspect', '--format', '{{json .}}', '--', validateVolumeName(name)]), { okExitCodes: [0, 1] });
  if (result.exitCode !== 0) return null;
  const parsed = JSON.parse(result.stdout) as { Name: string; Driver: string; Labels: Record<string, string> | null; Options: Record<string, string> | null };
  return { name: parsed.Name, driver: parsed.Driver, labels: parsed.Labels ?? {}, options: parsed.Options ?? {} };
}

/** Create a local volume with these labels (compose's own among them, so compose adopts it). */
export async function createVolume(host: SshTransport, name: string, labels: Readonly<Record<string, string>>): Promise<void> {
  const labelArgs = Object.entries(labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]);
  await host.exec(command(['docker', 'volume', 'create', '--driver', 'local', ...labelArgs, '--', validateVolumeName(name)]));
}

export async function removeVolume(host: SshTransport, name: string): Promise<void> {
  await host.exec(command(['docker', 'volume', 'rm', '--', validateVolumeName(name)]));
}

/** Containers (running or not) that mount the volume, by name. */
export async function containersUsingVolume(host: SshTransport, name: string): Promise<string[]> {
  const result = await host.exec(command(['docker', 'ps', '-a', '--format', '{{.Names}}', '--filter', `volume=${validateVolumeName(name)}`]));
  return result.stdout.split('\n').filter(Boolean);
}

/**
 * Where the engine keeps the volume's contents on the host, when this login
 * reaches them there with GNU tar (a local engine, not a rootless or remote
 * one): the copy then keeps xattrs, POSIX ACLs and sparse files, which the
 * helper's tar (busybox in most images) drops. Null otherwise.
 */
export async function volumeHostPath(host: SshTransport, name: string): Promise<string | null> {
  const inspected = await host.exec(command(['docker', 'volume', 'inspect', '--format', '{{.Mountpoint}}', '--', validateVolumeName(name)]), { okExitCodes: [0, 1] });
  const mountpoint = inspected.stdout.trim();
  if (inspected.exitCode !== 0 || !mountpoint.startsWith('/') || /[\u0000-\u001f\u007f]/.test(mountpoint)) return null;
  const probe = await host.exec(andThen(command(['test', '-d', mountpoint]), command(['tar', '--version'])), { okExitCodes: Array.from({ length: 256 }, (_, code) => code) });
  return probe.exitCode === 0 && probe.stdout.includes('GNU tar') ? mountpoint : null;
}

/** What a helper image must have to read and write a volume's contents. */
const HELPER_TOOLS = ['sh', 'tar', 'find', 'stat', 'sha256sum', 'du'];

/**
 * The first of `candidates` this host has and can run as a volume helper, or
 * null; with `measure`, in the same run (a container start is slow on a small
 * host), the bytes those volumes' contents take (du, in KiB blocks).
 */
export async function chooseHelperImage(host: SshTransport, candidates: readonly string[], measure: readonly string[] = []): Promise<{ readonly image: string; readonly bytes: number } | null> {
  const tools = HELPER_TOOLS.map((tool) => `command -v ${tool} >/dev/null`).join(' && ');
  const mounts = measure.flatMap((volume, index) => ['-v', `${validateVolumeName(volume)}:/m/${index}:ro`]);
  for (const image of candidates) {
    const script = measure.length > 0 ? `${tools} && du -sk /m/*` : tools;
    const probe = command([
      'docker', 'run', '--rm', '--pull', 'never', '--network', 'none', '--user', '0:0', '--log-driver', 'none', ...mounts,
      '--entrypoint', 'sh', '--', validateImageRef(image), '-c', script,
    ]);
    const result = await host.exec(probe, { okExitCodes: Array.from({ length: 256 }, (_, code) => code), timeoutMs: 600_000 });
    if (result.exitCode !== 0) continue;
    const bytes = result.stdout.split('\n').reduce((sum, line) => sum + Number(/^(\d+)/.exec(line)?.[1] ?? 0) * 1024, 0);
    return { image, bytes };
  }
  return null;
}

/**
 * `docker run --rm` of the helper with the volume at /v, as root, without a
 * network, its entrypoint replaced by the command given.
 */
export function helperRun(image: string, volume: string | null, writable: boolean, argv: readonly string[], interactive = false): ShellCommand {
  const [entrypoint, ...args] = argv;
  if (entrypoint === undefined) throw new Error('helperRun needs a command');
  return command([
    'docker', 'run', '--rm', '--pull', 'never', ...(interactive ? ['-i'] : []), '--network', 'none', '--user', '0:0', '--log-driver', 'none',
    ...(volume === null ? [] : ['-v', `${validateVolumeName(volume)}:/v${writable ? '' : ':ro'}`]),
    '--entrypoint', entrypoint, '--', validateImageRef(image), ...args,
  ]);
}

/** The volume's contents as a tar stream on stdout. */
export const volumeTarCommand = (image: string, volume: string) => helperRun(image, volume, false, ['tar', '-C', '/v', '-cf', '-', '.']);

/** Empty the volume, then unpack a tar stream from stdin into it (numeric owners, modes, times). */
export const volumeUntarCommand = (image: string, volume: string) =>
  helperRun(image, volume, true, ['sh', '-c', 'find /v -mindepth 1 -maxdepth 1 -exec rm -rf -- {} + && tar -C /v --numeric-owner -xpf -'], true);

/**
 * A manifest of the volume's contents, one line per entry, sorted: type,
 * mode, owner and, for files, size and mtime; every file's SHA-256; every
 * link's target. The mtimes of directories and links are left out: busybox
 * tar sets neither (a directory's changes as it is filled), and they tell
 * nothing about the data.
 */
export async function volumeManifest(host: SshTransport, image: string, volume: string): Promise<{ readonly lines: readonly string[]; readonly entries: number; readonly bytes: number }> {
  const script = [
    'cd /v',
    "find . -mindepth 1 ! -type d ! -type l -exec stat -c 'meta %n|%F|%a|%u|%g|%s|%Y' {} +",
    "find . -type d -exec stat -c 'meta %n|%F|%a|%u|%g' {} +",
    "find . -type l -exec stat -c 'meta %n|%F|%u|%g' {} +",
    "find . -type f -exec sha256sum {} + | sed 's/^/hash /'",
    'find . -type l -exec sh -c \'for l; do echo "link $l|$(readlink "$l")"; done\' sh {} +',
  ].join(' && ');
  const result = await host.exec(helperRun(image, volume, false, ['sh', '-c', script]), { timeoutMs: 3_600_000 });
  const lines = result.stdout.split('\n').filter(Boolean).sort();
  const meta = lines.filter((line) => line.startsWith('meta '));
  const bytes = meta.reduce((sum, line) => {
    const fields = line.split('|');
    return fields[1] === 'regular file' || fields[1] === 'regular empty file' ? sum + Number(fields[5] ?? 0) : sum;
  }, 0);
  return { lines, entries: meta.length, bytes };
}
