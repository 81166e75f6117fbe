/**
 * Compose v2 for the container hosts that should have it (beta): the docker
 * CLI plugin from Debian trixie's `docker-compose` package (a static Go
 * binary that runs on this Debian 12 machine). It is fetched with a
 * private apt configuration (the machine's own apt state is left alone),
 * kept in a cache, and put in the host's own DOCKER_CONFIG directory so that
 * the other hosts keep compose v1 only: a mixed fleet.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { debianMirror } from './guests/debian-mirror.js';
import { testbedDir, type TestbedHostSpec } from './layout.js';
import { runLocal, TestbedError } from './local-command.js';

const SUITE = 'trixie';
const PLUGIN_IN_PACKAGE = 'usr/libexec/docker/cli-plugins/docker-compose';

function composeCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_MCP_COMPOSE_CACHE ?? '/var/cache/docker-mcp-testbed/compose-v2';
}

/** The per-host docker CLI configuration directory (`DOCKER_CONFIG`), holding its plugins. */
export function dockerConfigDir(host: TestbedHostSpec): string {
  return path.join(testbedDir(), host.name, 'docker-config');
}

let fetching: Promise<string> | undefined;

/** The cached plugin binary, fetched the first time. */
function composePlugin(): Promise<string> {
  fetching ??= fetchComposePlugin().finally(() => (fetching = undefined));
  return fetching;
}

async function fetchComposePlugin(): Promise<string> {
  const cache = composeCacheDir();
  const binary = path.join(cache, 'docker-compose');
  if (existsSync(binary)) return binary;
  const work = path.join(cache, 'apt');
  await rm(work, { recursive: true, force: true });
  for (const dir of ['lists/partial', 'archives/partial', 'debs', 'unpacked']) await mkdir(path.join(work, dir), { recursive: true });
  const sourcesList = path.join(work, 'sources.list');
  await writeFile(sourcesList, `deb ${await debianMirror()} ${SUITE} main\n`);
  const aptOptions = [
    '-o', `Dir::Etc::SourceList=${sourcesList}`,
    '-o', 'Dir::Etc::SourceParts=/nonexistent',
    '-o', `Dir::State::Lists=${path.join(work, 'lists')}`,
    '-o', `Dir::Cache::Archives=${path.join(work, 'archives')}`,
    '-o', 'Dir::State::status=/dev/null',
    '-o', 'APT::Sandbox::User=root',
  ];
  await runLocal('apt-get', [...aptOptions, 'update'], { timeoutMs: 600_000 });
  await runLocal('apt-get', [...aptOptions, '--download-only', '--no-install-recommends', '-y', 'install', 'docker-compose'], { timeoutMs: 600_000 });
  const archives = await readdir(path.join(work, 'archives'));
  const deb = archives.find((name) => /^docker-compose_.*\.deb$/.test(name));
  if (!deb) throw new TestbedError(`the ${SUITE} docker-compose package was not downloaded (found: ${archives.join(', ')})`);
  const unpacked = path.join(work, 'unpacked');
  await runLocal('dpkg-deb', ['-x', path.join(work, 'archives', deb), unpacked]);
  await copyFile(path.join(unpacked, PLUGIN_IN_PACKAGE), binary);
  await runLocal('chmod', ['755', binary]);
  await rm(work, { recursive: true, force: true });
  return binary;
}

/** Put compose v2 in the host's DOCKER_CONFIG unless it is there. Returns whether it did. */
export async function ensureComposeV2(host: TestbedHostSpec): Promise<boolean> {
  const pluginDir = path.join(dockerConfigDir(host), 'cli-plugins');
  const target = path.join(pluginDir, 'docker-compose');
  if (existsSync(target)) return false;
  const binary = await composePlugin();
  await mkdir(pluginDir, { recursive: true });
  await copyFile(binary, target);
  await runLocal('chmod', ['755', target]);
  return true;
}
