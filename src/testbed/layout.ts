/**
 * Where the local testbed keeps everything. Shared by the testbed commands and
 * by config look-up (the testbed's hosts.yml is the last place looked in).
 */
import path from 'node:path';

export type TestbedHostName = 'alpha' | 'beta' | 'gamma';

export interface TestbedHostSpec {
  readonly name: TestbedHostName;
  /** Loopback address its sshd listens on, port 22. */
  readonly address: string;
  /** alpha and beta get a zfs-fuse pool; gamma is the plain-directory (rsync) host. */
  readonly zfs: boolean;
  /** beta has compose v2 (the docker CLI plugin); alpha and gamma only v1: a mixed fleet. */
  readonly composeV2: boolean;
}

export const TESTBED_HOSTS: readonly TestbedHostSpec[] = [
  { name: 'alpha', address: '127.0.0.11', zfs: true, composeV2: false },
  { name: 'beta', address: '127.0.0.12', zfs: true, composeV2: true },
  { name: 'gamma', address: '127.0.0.13', zfs: false, composeV2: false },
];

/** Size of each file-backed pool. */
export const TESTBED_POOL_SIZE = '3G';

export const TESTBED_IMAGE = 'local/busybox:test';

export function testbedDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_MCP_TESTBED_DIR ?? '/var/lib/docker-mcp-testbed';
}

export function testbedHostsFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(testbedDir(env), 'hosts.yml');
}

/** Runtime files (sockets, pid files) live under /run so a reboot clears them. */
export function testbedRunDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_MCP_TESTBED_RUN_DIR ?? '/run/docker-mcp-testbed';
}

export interface TestbedPaths {
  readonly srvRoot: string;
  readonly appdata: string;
  readonly compose: string;
  readonly pool: string;
  readonly poolImage: string;
  readonly dockerSocket: string;
  readonly dockerDataRoot: string;
  readonly dockerExecRoot: string;
  readonly dockerPidFile: string;
  readonly dockerLog: string;
  readonly sshdConfig: string;
  readonly sshdPidFile: string;
  readonly sshdLog: string;
  readonly hostKey: string;
}

export function testbedPaths(host: TestbedHostSpec, env: NodeJS.ProcessEnv = process.env): TestbedPaths {
  const dir = path.join(testbedDir(env), host.name);
  const run = path.join(testbedRunDir(env), host.name);
  const srvRoot = `/srv/${host.name}`;
  return {
    srvRoot,
    appdata: `${srvRoot}/appdata`,
    compose: `${srvRoot}/compose`,
    pool: host.name,
    poolImage: path.join(dir, 'pool.img'),
    dockerSocket: path.join(run, 'docker.sock'),
    dockerDataRoot: path.join(dir, 'docker'),
    dockerExecRoot: path.join(run, 'exec'),
    dockerPidFile: path.join(run, 'dockerd.pid'),
    dockerLog: path.join(dir, 'dockerd.log'),
    sshdConfig: path.join(dir, 'sshd_config'),
    sshdPidFile: path.join(run, 'sshd.pid'),
    sshdLog: path.join(dir, 'sshd.log'),
    hostKey: path.join(dir, 'ssh_host_ed25519_key'),
  };
}

/** Files shared by the whole testbed. */
export function testbedSharedPaths(env: NodeJS.ProcessEnv = process.env) {
  const dir = testbedDir(env);
  const run = testbedRunDir(env);
  return {
    dir,
    hostsFile: testbedHostsFile(env),
    clientKey: path.join(dir, 'client_ed25519'),
    authorizedKeys: path.join(dir, 'authorized_keys'),
    knownHosts: path.join(dir, 'known_hosts'),
    zfsPidFile: path.join(run, 'zfs-fuse.pid'),
    /** Present when zfs-fuse was started by the testbed (and so is ours to stop). */
    zfsOwnedMarker: path.join(run, 'zfs-fuse.owned'),
    zfsLog: path.join(dir, 'zfs-fuse.log'),
    imageRoot: path.join(dir, 'image-root'),
  };
}
