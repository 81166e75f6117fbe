/**
 * Stand-in images for the corpus: built on a testbed host, offline, from
 * `local/busybox:test`, and tagged with the real images' names so the
 * published compose files run unchanged. Each one writes a little data once
 * into every writable directory mounted into it (as an app fills its data
 * folders on first start), then waits; and it carries stubs for what the
 * apps' healthchecks call, so the healthchecks pass.
 */
import { TESTBED_IMAGE } from '../../../src/testbed/layout.js';
import type { DockerHost } from '../../../src/docker/docker-host.js';
import { command } from '../../../src/ssh/quote.js';

export interface StandIn {
  /** The real image's name, as the compose files write it. */
  readonly image: string;
  /** The healthcheck the real image declares in its Dockerfile, if any (compose's `healthcheck: disable: false` relies on it). */
  readonly healthcheck?: readonly string[];
  /** Plain busybox, no stand-in program: for a one-shot that runs its own command. */
  readonly plain?: boolean;
  /** The user the real image runs as, so what the stand-in writes has the owner the app's files have. */
  readonly user?: string;
}

/**
 * The program: the directories mounted read-write into the container (from
 * its mount table, leaving out the runtime's own) get a file, unless one is
 * there already, so a restart or a move adds nothing.
 * /tmp/standin-ready says it is done. It exits at once on SIGTERM, as
 * `docker stop` asks.
 */
const PROGRAM = String.raw`#!/bin/sh
trap 'exit 0' TERM INT
awk '{ split($6, opts, ","); if (opts[1] == "rw") print $5 }' /proc/self/mountinfo | while read -r dir; do
  case "$dir" in /|/proc|/proc/*|/sys|/sys/*|/dev|/dev/*|/etc/*|/run/*|/var/run/*) continue ;; esac
  [ -d "$dir" ] || continue
  [ -e "$dir/standin.dat" ] || head -c 65536 /dev/urandom > "$dir/standin.dat"
done
touch /tmp/standin-ready
while :; do sleep 3600 & wait $!; done
`;

/** Every healthcheck the corpus's files and images run calls one of these; each answers like a healthy service. */
const STUBS = ['curl', 'wget', 'pg_isready', 'redis-cli', 'immich-healthcheck', 'python3', 'ak', 'healthcheck.sh'];
const STUB = '#!/bin/sh\necho PONG\n';

const base64 = (text: string) => Buffer.from(text).toString('base64');

/** Where the program is also put: an `entrypoint:` a corpus file names (nextcloud's cron). */
const ENTRYPOINTS = ['/cron.sh'];

/** The users real images have, which a compose file may name (authentik's worker runs as `user: root`). */
const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n';
const GROUP = 'root:x:0:\nnode:x:1000:\n';
const USERS = `RUN echo ${base64(PASSWD)} | base64 -d > /etc/passwd && echo ${base64(GROUP)} | base64 -d > /etc/group`;

/**
 * How often a stand-in's healthcheck runs. Every check is a process started
 * in the container: on an emulated guest each one costs seconds of CPU, and
 * a few containers checked every 2 s kept a guest busy with nothing else.
 * Engines with the API 1.44 `--start-interval` check every 2 s only until
 * healthy, then once a minute; older ones (the container hosts' 20.10,
 * not emulated) every 2 s.
 */
export function healthcheckTiming(apiVersion: string): string {
  const [major = 0, minor = 0] = apiVersion.split('.').map(Number);
  return major > 1 || (major === 1 && minor >= 44) ? '--interval=60s --start-period=300s --start-interval=2s' : '--interval=2s';
}

export function standInDockerfile(standIn: StandIn, timing = '--interval=2s'): string {
  if (standIn.plain) return `FROM ${TESTBED_IMAGE}\n${USERS}\n`;
  const lines = [
    `FROM ${TESTBED_IMAGE}`,
    USERS,
    `RUN mkdir -p /stub && echo ${base64(STUB)} | base64 -d > /stub/ok && chmod 755 /stub/ok && for n in ${STUBS.join(' ')}; do ln -s ok /stub/$n; done`,
    `RUN echo ${base64(PROGRAM)} | base64 -d > /stub/standin && chmod 755 /stub/standin${ENTRYPOINTS.map((p) => ` && cp /stub/standin ${p}`).join('')}`,
    'ENV PATH=/stub:/bin',
    'ENTRYPOINT ["/stub/standin"]',
    'CMD []',
  ];
  if (standIn.user !== undefined) lines.push('RUN chmod 1777 /tmp', `USER ${standIn.user}`);
  // Short intervals keep the tests quick; the check itself is the real image's.
  if (standIn.healthcheck) lines.push(`HEALTHCHECK ${timing} --timeout=5s --retries=3 CMD ${JSON.stringify(standIn.healthcheck)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Build the stand-ins the host lacks: one build for each distinct
 * Dockerfile, tagged with every name that shares it (the guests build slowly).
 */
export async function ensureStandIns(host: DockerHost, standIns: readonly StandIn[]): Promise<void> {
  const missing: StandIn[] = [];
  for (const standIn of standIns) {
    const present = await host.transport.exec(command(['docker', 'image', 'inspect', '--format', '{{.Id}}', standIn.image]), { okExitCodes: [0, 1] });
    if (present.exitCode !== 0) missing.push(standIn);
  }
  if (missing.length === 0) return;
  const api = await host.transport.exec(command(['docker', 'version', '--format', '{{.Server.APIVersion}}']));
  const timing = healthcheckTiming(api.stdout.trim());
  const byDockerfile = new Map<string, string[]>();
  for (const standIn of missing) {
    const dockerfile = standInDockerfile(standIn, timing);
    byDockerfile.set(dockerfile, [...(byDockerfile.get(dockerfile) ?? []), standIn.image]);
  }
  for (const [dockerfile, images] of byDockerfile) {
    await host.transport.exec(command(['docker', 'build', '-q', ...images.flatMap((image) => ['-t', image]), '-']), { input: dockerfile, timeoutMs: 600_000 });
  }
}

/** Remove the stand-ins from the host (an image still used by a container stays). */
export async function removeStandIns(host: DockerHost, standIns: readonly StandIn[]): Promise<void> {
  await host.transport.exec(command(['docker', 'rmi', ...standIns.map((s) => s.image)]), { okExitCodes: [0, 1] });
}
