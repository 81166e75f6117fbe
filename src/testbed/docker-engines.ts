/**
 * One Docker engine per testbed host: its own socket, data root, exec root and
 * containerd namespace, and no network (`--bridge=none`, no iptables), so
 * nothing a test starts can reach anything.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { mkdir, open, rm } from 'node:fs/promises';
import { unmountAllUnder } from './mounts.js';
import { runLocal, succeeds } from './local-command.js';
import { testbedPaths, type TestbedHostSpec } from './layout.js';
import { clearStalePidFile, runningPid, stopDaemon, waitFor, type DaemonRef } from './processes.js';

export function dockerDaemon(host: TestbedHostSpec): DaemonRef {
  return { label: `${host.name} dockerd`, pidFile: testbedPaths(host).dockerPidFile, commandLineContains: 'dockerd' };
}

export function dockerHostUrl(host: TestbedHostSpec): string {
  return `unix://${testbedPaths(host).dockerSocket}`;
}

/** Run the docker client against this host's engine. */
export function dockerEnv(host: TestbedHostSpec): NodeJS.ProcessEnv {
  return { ...process.env, DOCKER_HOST: dockerHostUrl(host) };
}

function orphanedContainerd(host: TestbedHostSpec): DaemonRef {
  const containerdDir = path.join(testbedPaths(host).dockerExecRoot, 'containerd');
  return { label: `${host.name} containerd`, pidFile: path.join(containerdDir, 'containerd.pid'), commandLineContains: containerdDir };
}

const engineAnswers = (host: TestbedHostSpec) =>
  succeeds('docker', ['version', '--format', '{{.Server.Version}}'], { env: dockerEnv(host), timeoutMs: 10_000 });

/** Start the host's dockerd unless it runs. Returns whether it was started. */
export async function ensureDockerEngine(host: TestbedHostSpec): Promise<boolean> {
  const daemon = dockerDaemon(host);
  if ((await runningPid(daemon)) !== undefined && (await engineAnswers(host))) return false;
  const paths = testbedPaths(host);
  await clearStalePidFile(daemon);
  // The containerd of a dockerd that was killed lingers for a moment, and a new
  // dockerd that finds it waits on it and gives up: stop it first.
  await stopDaemon(orphanedContainerd(host), 5_000);
  for (const dir of [paths.dockerDataRoot, paths.dockerExecRoot]) await mkdir(dir, { recursive: true });
  const log = await open(paths.dockerLog, 'a');
  try {
    // dockerd does not daemonize itself: detach it so it outlives this command.
    const child = spawn(
      'dockerd',
      [
        '--data-root', paths.dockerDataRoot,
        '--exec-root', paths.dockerExecRoot,
        '--host', dockerHostUrl(host),
        '--pidfile', paths.dockerPidFile,
        '--bridge=none',
        '--iptables=false',
        '--ip6tables=false',
        '--containerd-namespace', host.name,
        '--containerd-plugins-namespace', `${host.name}-plugins`,
      ],
      { detached: true, stdio: ['ignore', log.fd, log.fd] },
    );
    child.unref();
  } finally {
    await log.close();
  }
  await waitFor(`${host.name} dockerd to answer (log: ${paths.dockerLog})`, () => engineAnswers(host), 60_000);
  return true;
}

export async function dockerEngineRunning(host: TestbedHostSpec): Promise<boolean> {
  return (await runningPid(dockerDaemon(host))) !== undefined;
}

/** Remove every container of the engine, stop it, and delete its state. */
export async function destroyDockerEngine(host: TestbedHostSpec): Promise<boolean> {
  const paths = testbedPaths(host);
  const running = await dockerEngineRunning(host);
  if (running) {
    const ids = (await runLocal('docker', ['ps', '-aq'], { env: dockerEnv(host), okExitCodes: [0, 1] })).stdout
      .split('\n')
      .filter(Boolean);
    if (ids.length > 0) await runLocal('docker', ['rm', '-f', ...ids], { env: dockerEnv(host), okExitCodes: [0, 1] });
  }
  await stopDaemon(dockerDaemon(host));
  // A container killed with its engine can leave a mount behind in the data root.
  await unmountAllUnder(paths.dockerDataRoot);
  await rm(paths.dockerDataRoot, { recursive: true, force: true });
  await rm(paths.dockerExecRoot, { recursive: true, force: true });
  return running;
}
