/**
 * The pure decisions behind moving real apps' own compose files (issue 24):
 * which binds the target host provides itself, how paths and dataset names
 * are taken, one-shot services, built images, the stack folder's name.
 */
import { describe, expect, it } from 'vitest';
import { builtImageName, parseResolvedConfig } from '../../src/docker/compose-config.js';
import { classifyOutsideBind } from '../../src/migration/host-paths.js';
import { hostProvidedMismatches } from '../../src/migration/preflight.js';
import { appFolderFor, planMigration } from '../../src/migration/plan.js';
import { nearestExisting } from '../../src/zfs/convert-directory.js';
import { isUp } from '../../src/migration/wait-running.js';
import { mountOrigin } from '../../src/docker/mount-origin.js';
import type { HostConfig } from '../../src/config/schema.js';
import type { StackSource } from '../../src/docker/stack-source.js';

describe('classifyOutsideBind', () => {
  const provided = (source: string, readOnly: boolean) => classifyOutsideBind(source, readOnly, '/srv/appdata');
  it("takes what install guides bind from the host as the host's own: time zone, D-Bus, the Docker socket, devices", () => {
    expect(provided('/etc/localtime', true)).toEqual({ kind: 'host-provided', what: "the host's time zone" });
    expect(provided('/etc/timezone', true)).toMatchObject({ kind: 'host-provided' });
    expect(provided('/run/dbus', true)).toMatchObject({ kind: 'host-provided' });
    expect(provided('/var/run/docker.sock', false)).toEqual({ kind: 'host-provided', what: "the host's Docker socket" });
    expect(provided('/dev/dri', false)).toMatchObject({ kind: 'host-provided' });
    expect(provided('/sys', true)).toMatchObject({ kind: 'host-provided' });
    expect(provided('/', true)).toMatchObject({ kind: 'host-provided' });
    expect(provided('/etc//localtime/', true)).toMatchObject({ kind: 'host-provided' });
  });

  it('refuses a read-write bind of host configuration, saying to mount it read-only', () => {
    const decision = provided('/etc/localtime', false);
    expect(decision.kind).toBe('not-moved');
    expect(decision.kind === 'not-moved' && decision.reason).toMatch(/read-write.*":ro"/);
    expect(provided('/', false).kind).toBe('not-moved');
  });

  it("refuses the stack's own data outside appdata, read-write or read-only, with the choices", () => {
    const rw = provided('/root/n8n', false);
    const ro = provided('/opt/certs', true);
    expect(rw.kind === 'not-moved' && rw.reason).toMatch(/the stack's own data.*under \/srv\/appdata.*--force/);
    expect(ro.kind === 'not-moved' && ro.reason).toMatch(/read-only.*--force/);
    expect(provided('/etc/letsencrypt', true).kind).toBe('not-moved');
    expect(provided('/runner', false).kind).toBe('not-moved');
  });
});

describe('hostProvidedMismatches', () => {
  const bind = (service: string, source: string) => ({ service, source, target: source, readOnly: true, what: 'x' });
  it('names what the target lacks or has as another kind, once per path with every service using it', () => {
    const binds = [bind('server', '/etc/localtime'), bind('db', '/etc/localtime'), bind('ha', '/run/dbus'), bind('auth', '/var/run/docker.sock')];
    const source = new Map([['/etc/localtime', 'regular file'], ['/run/dbus', 'directory'], ['/var/run/docker.sock', 'socket']]);
    const target = new Map([['/etc/localtime', 'regular file'], ['/run/dbus', 'missing'], ['/var/run/docker.sock', 'socket']]);
    expect(hostProvidedMismatches(binds, source, target)).toEqual([{ path: '/run/dbus', what: 'x', services: ['ha'], source: 'directory', target: 'missing' }]);
    expect(hostProvidedMismatches(binds, source, new Map([...target, ['/etc/localtime', 'directory'], ['/run/dbus', 'directory']]))).toEqual([
      { path: '/etc/localtime', what: 'x', services: ['db', 'server'], source: 'regular file', target: 'directory' },
    ]);
  });

  it('lets an empty directory Docker made on the source go missing on the target (Docker makes it there too), and nothing else', () => {
    const binds = [bind('ha', '/run/dbus'), bind('server', '/etc/timezone')];
    const source = new Map([['/run/dbus', 'directory'], ['/etc/timezone', 'directory']]);
    const target = new Map([['/run/dbus', 'missing'], ['/etc/timezone', 'regular file']]);
    const madeByDocker = new Set(['/run/dbus', '/etc/timezone']);
    // /etc/timezone is a file on the target: the service would get another kind of thing, refused still.
    expect(hostProvidedMismatches(binds, source, target, madeByDocker)).toEqual([
      { path: '/etc/timezone', what: 'x', services: ['server'], source: 'directory', target: 'regular file' },
    ]);
    expect(hostProvidedMismatches(binds, source, target).map((m) => m.path)).toEqual(['/run/dbus', '/etc/timezone']);
  });
});

describe('binds whose missing host path Docker makes (compose short syntax)', () => {
  it('are told apart from the long syntax, which fails instead, in v2 and v1 output', () => {
    const v2 = parseResolvedConfig(
      JSON.stringify({
        services: {
          gitea: {
            volumes: [
              { type: 'bind', source: '/etc/timezone', target: '/etc/timezone', read_only: true, bind: { create_host_path: true } },
              { type: 'bind', source: '/run/dbus', target: '/run/dbus' },
            ],
          },
        },
      }),
      'gitea',
    );
    expect(v2.mounts.map((m) => [m.source, m.createsHostPath ?? false])).toEqual([['/etc/timezone', true], ['/run/dbus', false]]);
    const v1 = parseResolvedConfig('services:\n  gitea:\n    volumes:\n    - /etc/timezone:/etc/timezone:ro\n    - data:/data:rw\n', 'gitea');
    expect(v1.mounts.map((m) => [m.source, m.createsHostPath ?? false])).toEqual([['/etc/timezone', true], ['data', false]]);
  });
});

describe("n8n's DATA_FOLDER=/root/n8n/ (compose resolves …/n8n//.n8n)", () => {
  it('is read as compose and Docker take it: one slash, no trailing one', () => {
    const v2 = parseResolvedConfig(JSON.stringify({ services: { n8n: { volumes: [{ type: 'bind', source: '/srv/appdata/n8n//.n8n', target: '/home/node/.n8n' }, { type: 'bind', source: '/srv/appdata/n8n/files/', target: '/files' }] } } }), 'n8n');
    expect(v2.mounts.map((m) => m.source)).toEqual(['/srv/appdata/n8n/.n8n', '/srv/appdata/n8n/files']);
    const v1 = parseResolvedConfig('services:\n  n8n:\n    volumes:\n    - /srv/appdata/n8n//.n8n:/home/node/.n8n:rw\n', 'n8n');
    expect(v1.mounts[0]?.source).toBe('/srv/appdata/n8n/.n8n');
  });
});

describe('appFolderFor: nested data paths (the linuxserver.io layout)', () => {
  it('moves appdata/jellyfin/config and /cache with their plain app folder, as one dataset', () => {
    expect(appFolderFor('/srv/appdata/jellyfin/config', '/srv/appdata', ['/srv/appdata'])).toBe('/srv/appdata/jellyfin');
    expect(appFolderFor('/srv/appdata/jellyfin/cache/x', '/srv/appdata/', [])).toBe('/srv/appdata/jellyfin');
  });

  it('moves a path one level down, or at a dataset, as it is', () => {
    expect(appFolderFor('/srv/appdata/jellyfin', '/srv/appdata', [])).toBeNull();
    expect(appFolderFor('/srv/appdata/jellyfin/config', '/srv/appdata', ['/srv/appdata/jellyfin', '/srv/appdata/jellyfin/config'])).toBeNull();
    expect(appFolderFor('/srv/other/x/y', '/srv/appdata', [])).toBeNull();
  });

  it('moves a path inside a dataset with that dataset, whole (the way back after the app folder became one)', () => {
    expect(appFolderFor('/srv/appdata/jellyfin/config', '/srv/appdata', ['/srv/appdata', '/srv/appdata/jellyfin'])).toBe('/srv/appdata/jellyfin');
    expect(appFolderFor('/srv/appdata/media/tv/sonarr/config', '/srv/appdata', ['/srv/appdata/media', '/srv/appdata/media/tv'])).toBe('/srv/appdata/media/tv');
    expect(appFolderFor('/srv/appdata/n8n/.n8n', '/srv/appdata', ['/srv/appdata'])).toBe('/srv/appdata/n8n');
  });

  it('in a plan between ZFS hosts: one data path for the app folder, used by what mounts inside it; rsync keeps the paths', () => {
    const zfsHost = (id: string, appdata: string, dataset: string) =>
      ({ id, hostname: id, user: 'root', port: 22, appdata_path: appdata, compose_path: '/srv/compose', zfs_capable: true, zfs_dataset: dataset, enabled: true, tags: [] }) as unknown as HostConfig;
    const compose = 'services:\n  jellyfin:\n    image: busybox\n    volumes:\n      - /srv/appdata/jellyfin/config:/config\n      - /srv/appdata/jellyfin/cache:/cache\n';
    const stackSource: StackSource = {
      location: { project: 'jellyfin', workingDir: '/srv/compose/jellyfin', configFiles: ['/srv/compose/jellyfin/docker-compose.yml'] },
      files: { composeFiles: [{ path: '/srv/compose/jellyfin/docker-compose.yml', text: compose }], envFile: null },
      resolved: {
        name: 'jellyfin',
        services: ['jellyfin'],
        images: { jellyfin: 'busybox' },
        mounts: [
          { service: 'jellyfin', type: 'bind', source: '/srv/appdata/jellyfin/config', target: '/config', readOnly: false },
          { service: 'jellyfin', type: 'bind', source: '/srv/appdata/jellyfin/cache', target: '/cache', readOnly: false },
        ],
        ports: [],
        volumes: [],
        files: [],
      },
    };
    const input = { id: 'j', stack: 'jellyfin', stackSource, sourceDatasetMounts: ['/srv/appdata'] };
    const planned = planMigration({ ...input, source: zfsHost('delta', '/srv/appdata', 'tank/appdata'), target: zfsHost('epsilon', '/mnt/appdata', 'tank/appdata') });
    expect(planned.dataPaths).toEqual([
      { service: 'jellyfin', sourcePath: '/srv/appdata/jellyfin', targetPath: '/mnt/appdata/jellyfin', usedBy: ['jellyfin'], method: 'zfs', appFolderOf: ['/srv/appdata/jellyfin/cache', '/srv/appdata/jellyfin/config'] },
    ]);
    const byRsync = planMigration({ ...input, method: 'rsync', source: zfsHost('delta', '/srv/appdata', 'tank/appdata'), target: zfsHost('epsilon', '/mnt/appdata', 'tank/appdata') });
    expect(byRsync.dataPaths.map((d) => d.sourcePath)).toEqual(['/srv/appdata/jellyfin/cache', '/srv/appdata/jellyfin/config']);
  });
});

describe('nearestExisting', () => {
  it('finds the closest dataset above, the pool at last', () => {
    expect(nearestExisting('tank/appdata/jellyfin/config', new Set(['tank', 'tank/appdata']))).toBe('tank/appdata');
    expect(nearestExisting('tank/appdata/x', new Set(['tank']))).toBe('tank');
    expect(nearestExisting('tank/appdata/x', new Set())).toBeNull();
  });
});

describe("one-shot services (n8n's initContainer)", () => {
  it('are those that do not restart, and those another waits for with service_completed_successfully', () => {
    const printed = JSON.stringify({
      services: {
        n8n: { image: 'n8n', restart: 'always', depends_on: { initContainer: { condition: 'service_completed_successfully', required: true }, db: { condition: 'service_healthy' } } },
        initContainer: { image: 'busybox', restart: 'always' },
        db: { image: 'postgres', restart: 'unless-stopped' },
        migrate: { image: 'busybox', restart: 'no' },
        plain: { image: 'busybox' },
      },
    });
    expect(parseResolvedConfig(printed, 'n8n').oneShot).toEqual(['initContainer', 'migrate', 'plain']);
  });

  it('count as started once they exited 0; running ones must be healthy where checked', () => {
    expect(isUp({ service: 'init', state: 'completed', health: null })).toBe(true);
    expect(isUp({ service: 'n8n', state: 'running', health: 'healthy' })).toBe(true);
    expect(isUp({ service: 'n8n', state: 'running', health: 'starting' })).toBe(false);
    expect(isUp({ service: 'init', state: 'exited', health: null })).toBe(false);
  });
});

describe("images compose builds (nextcloud's build: ./proxy)", () => {
  const printed = (flavour: 'v1' | 'v2') =>
    parseResolvedConfig(
      JSON.stringify({ name: flavour === 'v2' ? 'cloud' : undefined, services: { proxy: { build: { context: '/srv/compose/cloud/proxy' } }, app: { image: 'nextcloud:29', build: { context: '.' } }, db: { image: 'mariadb:11' } } }),
      'cloud',
      flavour,
    );
  it("are named as each flavour of compose names them, or by image: when it says", () => {
    expect(builtImageName('cloud', 'proxy', 'v2')).toBe('cloud-proxy');
    expect(builtImageName('cloud', 'proxy', 'v1')).toBe('cloud_proxy');
    expect(printed('v2').built).toEqual([
      { service: 'app', image: 'nextcloud:29', named: true },
      { service: 'proxy', image: 'cloud-proxy', named: false },
    ]);
    expect(printed('v1').built?.find((b) => b.service === 'proxy')?.image).toBe('cloud_proxy');
  });
});

describe('the stack folder on the target (paperless-ngx with COMPOSE_PROJECT_NAME=paperless)', () => {
  it('keeps its own name, whatever the project is called', () => {
    const host = (id: string, compose: string) => ({ id, hostname: id, user: 'root', port: 22, appdata_path: '/srv/appdata', compose_path: compose, zfs_capable: false, enabled: true, tags: [] }) as unknown as HostConfig;
    const compose = 'services:\n  webserver:\n    image: paperless\n';
    const stackSource: StackSource = {
      location: { project: 'paperless', workingDir: '/srv/compose/paperless-ngx', configFiles: ['/srv/compose/paperless-ngx/docker-compose.yml'] },
      files: { composeFiles: [{ path: '/srv/compose/paperless-ngx/docker-compose.yml', text: compose }], envFile: { path: '/srv/compose/paperless-ngx/.env', text: 'COMPOSE_PROJECT_NAME=paperless\n' } },
      resolved: { name: 'paperless', services: ['webserver'], images: { webserver: 'paperless' }, mounts: [], ports: [], volumes: [], files: [] },
    };
    const planned = planMigration({ id: 'p', stack: 'paperless', stackSource, source: host('a', '/srv/compose'), target: host('b', '/opt/stacks') });
    expect(planned.stack).toBe('paperless');
    expect(planned.targetStackDir).toBe('/opt/stacks/paperless-ngx');
  });
});

describe('the plan says what pre-flight will refuse (--dry-run --json)', () => {
  it('lists each refusal known from the plan, and whether --force goes past it', () => {
    const host = (id: string) => ({ id, hostname: id, user: 'root', port: 22, appdata_path: '/srv/appdata', compose_path: '/srv/compose', zfs_capable: false, enabled: true, tags: [] }) as unknown as HostConfig;
    const stackSource: StackSource = {
      location: { project: 'n8n', workingDir: '/srv/compose/n8n', configFiles: ['/srv/compose/n8n/docker-compose.yml'] },
      files: { composeFiles: [{ path: '/srv/compose/n8n/docker-compose.yml', text: 'services:\n  n8n:\n    volumes:\n      - /root/n8n:/home/node/.n8n\n' }], envFile: null },
      resolved: { name: 'n8n', services: ['n8n'], images: { n8n: 'n8n' }, mounts: [{ service: 'n8n', type: 'bind', source: '/root/n8n', target: '/home/node/.n8n', readOnly: false }], ports: [], volumes: [], files: [] },
    };
    const planned = planMigration({ id: 'p', stack: 'n8n', stackSource, source: host('a'), target: host('b'), runningServices: ['n8n', 'worker'] });
    expect(planned.refusals?.map((r) => [r.reason.slice(0, 40), r.forceApplies])).toEqual([
      ['n8n: /root/n8n would not move (a read-wr', true],
      ["worker runs on a but compose's config do", false],
    ]);
  });
});

describe('where a relative bind is written', () => {
  it('is found though compose prints its container path without the trailing slash the file has', () => {
    const files = { composeFiles: [{ path: '/c/docker-compose.yml', text: 'services:\n  web:\n    volumes:\n      - ./data:/data/\n      - type: bind\n        source: ./conf\n        target: /etc/conf/\n' }], envFile: null };
    expect(mountOrigin(files, 'web', '/data')).toMatchObject({ line: 4, written: './data:/data/' });
    expect(mountOrigin(files, 'web', '/etc/conf')).toMatchObject({ line: 6, written: './conf' });
  });
});
