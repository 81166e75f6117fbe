/**
 * What a user does with a corpus app, done over SSH: put its files in a
 * folder under the host's compose path, `compose up -d` there; and what a
 * test checks after a move: which services run where, and the data, by
 * manifest, of every bind-mounted folder and named volume.
 */
import type { DockerHost } from '../../../src/docker/docker-host.js';
import { listContainers } from '../../../src/docker/containers.js';
import { volumeManifest } from '../../../src/docker/volumes.js';
import { command } from '../../../src/ssh/quote.js';
import { TESTBED_IMAGE } from '../../../src/testbed/layout.js';
import { compareManifests, readManifest, type Manifest } from '../../../src/transfer/manifest.js';
import { ZfsHost } from '../../../src/zfs/zfs-host.js';
import { appFiles, hostDataPaths, stackFolder, volumeName, type CorpusApp } from './apps.js';

/** A testbed host as the corpus uses it: its engine, and the paths its hosts.yml entry names. */
export interface CorpusHost {
  readonly id: string;
  readonly docker: DockerHost;
  readonly appdata: string;
  readonly composeRoot: string;
  /** The appdata dataset, where the host has ZFS. */
  readonly dataset: string | null;
}

const ALL_EXIT_CODES = Array.from({ length: 256 }, (_, code) => code);

export function sh(host: CorpusHost, script: string, ...args: string[]) {
  return host.docker.transport.exec(command(['sh', '-c', script, 'sh', ...args]), { timeoutMs: 600_000 });
}

/** compose v2 where the host has it, else docker-compose (v1). */
const COMPOSE = 'if docker compose version >/dev/null 2>&1; then docker compose "$@"; else docker-compose "$@"; fi';

export const appDir = (host: CorpusHost, app: CorpusApp) => `${host.composeRoot}/${stackFolder(app)}`;

/** Write the app's files into its folder and start it as its docs say: `compose up -d` there. */
export async function deployApp(host: CorpusHost, app: CorpusApp): Promise<void> {
  const dir = appDir(host, app);
  for (const [name, text] of Object.entries(appFiles(app, host.appdata))) {
    await host.docker.transport.exec(command(['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat > "$1"', 'sh', `${dir}/${name}`]), { input: text });
  }
  const up = await host.docker.transport.exec(command(['sh', '-c', `cd "$1" && shift && { ${COMPOSE}; }`, 'sh', dir, 'up', '-d']), {
    timeoutMs: 600_000,
    okExitCodes: ALL_EXIT_CODES,
  });
  if (up.exitCode !== 0) throw new Error(`compose up of ${app.app} on ${host.id} failed (${up.exitCode}): ${up.stderr.slice(-2000)}`);
}

/** Add data of the test's own to each bind-mounted folder: files a move must carry as they are. */
export async function writeAppData(host: CorpusHost, app: CorpusApp): Promise<void> {
  for (const dir of hostDataPaths(app, host.appdata, host.composeRoot)) {
    await sh(
      host,
      'set -e; mkdir -p "$1/corpus/deep"; head -c 200000 /dev/urandom > "$1/corpus/blob.bin"; echo kept > "$1/corpus/deep/.dotfile"; chown -R 1000:1000 "$1/corpus"; chmod 0640 "$1/corpus/blob.bin"',
      dir,
    );
  }
}

export interface ServiceState {
  readonly running: string[];
  readonly exited: string[];
}

/** Services of the app on the host that run, and those that exited with code 0. */
export async function serviceStates(host: CorpusHost, app: CorpusApp): Promise<ServiceState> {
  const containers = (await listContainers(host.docker)).filter((c) => c.stack === app.project);
  const running = containers.filter((c) => c.state === 'running').map((c) => c.service ?? c.name);
  const exitedOk: string[] = [];
  for (const c of containers.filter((c) => c.state === 'exited')) {
    const code = await host.docker.transport.exec(command(['docker', 'inspect', '--format', '{{.State.ExitCode}}', c.id]));
    if (code.stdout.trim() === '0') exitedOk.push(c.service ?? c.name);
  }
  return { running: running.sort(), exited: exitedOk.sort() };
}

/**
 * Wait until every service runs, healthy where it has a healthcheck, and its
 * stand-in has written its data (so what is compared later is settled).
 */
export async function waitSettled(host: CorpusHost, app: CorpusApp, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const containers = (await listContainers(host.docker)).filter((c) => c.stack === app.project && c.state === 'running');
    const services = containers.map((c) => c.service).sort();
    const unhealthy = containers.filter((c) => c.health !== null && c.health !== 'healthy').map((c) => `${c.service}: ${c.health}`);
    const ready = await Promise.all(
      containers.map(async (c) => (await host.docker.transport.exec(command(['docker', 'exec', c.id, 'test', '-e', '/tmp/standin-ready']), { okExitCodes: ALL_EXIT_CODES })).exitCode === 0),
    );
    if (JSON.stringify(services) === JSON.stringify([...app.services].sort()) && unhealthy.length === 0 && ready.every(Boolean)) return;
    last = `running ${services.join(', ') || 'none'}${unhealthy.length ? `; not healthy: ${unhealthy.join(', ')}` : ''}`;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  throw new Error(`${app.app} on ${host.id} did not settle in ${timeoutMs / 1000}s: ${last}`);
}

/** The app's data on a host: a manifest per bind-mounted folder, the contents of each named volume. */
export interface AppData {
  readonly folders: readonly Manifest[];
  readonly volumes: readonly (readonly string[])[];
}

export async function readAppData(host: CorpusHost, app: CorpusApp): Promise<AppData> {
  const folders = await Promise.all(hostDataPaths(app, host.appdata, host.composeRoot).map((p) => readManifest(host.docker.transport, p, { hashes: true })));
  const volumes: (readonly string[])[] = [];
  for (const key of app.volumes) volumes.push((await volumeManifest(host.docker.transport, TESTBED_IMAGE, volumeName(app, key))).lines);
  return { folders, volumes };
}

/** Where the data on `after` differs from `before`, in words; empty when equal. */
export function dataDifferences(app: CorpusApp, before: AppData, after: AppData): string[] {
  const folders = before.folders.flatMap((manifest, index) =>
    compareManifests(manifest, after.folders[index] as Manifest, { ignoreRootMtime: true }).map((d) => `${app.dataPaths[index]}: ${JSON.stringify(d)}`),
  );
  const volumes = app.volumes.filter((_, index) => JSON.stringify(before.volumes[index]) !== JSON.stringify(after.volumes[index])).map((key) => `volume ${key} differs`);
  return [...folders, ...volumes];
}

/**
 * Remove everything the app made on the host: its containers and networks
 * and volumes (by compose's project label), its datasets, folders, and the
 * image compose built for it.
 */
export async function removeApp(host: CorpusHost, app: CorpusApp): Promise<void> {
  const label = `label=com.docker.compose.project=${app.project}`;
  await sh(host, 'docker ps -aq --filter "$1" | xargs -r docker rm -f >/dev/null; true', label);
  await sh(host, 'docker network ls -q --filter "$1" | xargs -r docker network rm >/dev/null 2>&1; true', label);
  await sh(host, 'docker volume ls -q --filter "$1" | xargs -r docker volume rm -f >/dev/null; true', label);
  // What compose built (`<project>_<service>` on v1, `<project>-<service>` on v2), also as carried by a move, which may drop the label.
  await sh(host, 'docker images --format "{{.Repository}}:{{.Tag}}" | grep -E "^$1[-_]" | xargs -r docker rmi -f >/dev/null 2>&1; true', app.project);
  if (host.dataset !== null) {
    const listed = await host.docker.transport.exec(command(['zfs', 'list', '-H', '-o', 'name', '-r', host.dataset]));
    const ours = listed.stdout
      .split('\n')
      .filter((name) => name.startsWith(`${host.dataset}/e-`) && ownedBy(app, name.slice(host.dataset!.length + 1)))
      .sort()
      .reverse();
    // Through the engine's own destroy: it releases docker-mcp's holds, which a plain destroy stops at.
    for (const name of ours) await new ZfsHost(host.docker.transport).destroyDataset(name);
  }
  const tops = [...new Set(app.dataPaths.filter((p) => !p.startsWith('./')).map((p) => p.split('/')[0] as string))];
  // The stack folder by both its names: a move that names the folder after the project leaves that one.
  await sh(host, 'rm -rf "$1/$2" "$1/$3"; cd "$4" || exit 0; shift 4; for d in "$@"; do rm -rf "./$d"; done', host.composeRoot, stackFolder(app), app.project, host.appdata, ...tops);
}

/** Whether a dataset below appdata holds one of the app's data folders. */
function ownedBy(app: CorpusApp, relative: string): boolean {
  return app.dataPaths.some((p) => !p.startsWith('./') && (p === relative || p.startsWith(`${relative}/`) || relative.startsWith(`${p}/`))) || relative === stackFolder(app);
}
