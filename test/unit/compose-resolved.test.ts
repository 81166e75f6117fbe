/**
 * The pure halves of reading a stack as compose resolves it: what compose's
 * `config` printed (v2 JSON, v1 YAML, both as printed by the testbed's
 * compose 2.26 and 1.29), where each path is written, and the rewrite of the
 * `.env` lines that set them.
 */
import { describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/config/schema.js';
import { parseResolvedConfig, type ResolvedProject } from '../../src/docker/compose-config.js';
import type { ContainerSummary } from '../../src/docker/inspect.js';
import { mountOrigin, type StackFiles } from '../../src/docker/mount-origin.js';
import type { StackSource } from '../../src/docker/stack-source.js';
import { planMigration } from '../../src/migration/plan.js';
import { portConflicts } from '../../src/migration/port-conflicts.js';
import { rewriteEnvPaths } from '../../src/migration/rewrite-compose.js';
import { misplacedBinds } from '../../src/migration/target-config.js';

const V2_JSON = JSON.stringify({
  name: 'h12-immich',
  services: {
    'immich-server': {
      image: 'local/busybox:test',
      ports: [{ mode: 'ingress', target: 2283, published: '12283', protocol: 'tcp' }],
      volumes: [
        { type: 'bind', source: '/srv/appdata/h12-immich/library', target: '/usr/src/app/upload', bind: { create_host_path: true } },
        { type: 'volume', source: 'model-cache', target: '/cache', volume: {} },
        { type: 'tmpfs', target: '/tmp' },
      ],
    },
  },
  volumes: { 'model-cache': { name: 'h12-immich_model-cache', labels: { backup: 'no' } } },
  secrets: { db_password: { name: 'h12-immich_db_password', file: '/root/secrets/db.txt' } },
});

const V1_YAML = `services:
  app:
    image: local/busybox:test
    ports:
    - published: 18080
      target: 80
    volumes:
    - /srv/alpha/appdata/h12-v1-app:/data:rw
    - /srv/alpha/appdata/h12-v1-ro:/ro:ro
    - vol:/vol:rw
version: '3.9'
volumes:
  vol:
    driver_opts: {type: none, o: bind, device: /srv/alpha/appdata/h12-v1-vol}
`;

describe('parseResolvedConfig', () => {
  it('reads v2 JSON: resolved images, binds, named volumes by their engine name, published ports, secret files', () => {
    const project = parseResolvedConfig(V2_JSON, 'h12-immich');
    expect(project.images).toEqual({ 'immich-server': 'local/busybox:test' });
    expect(project.mounts.map((m) => [m.type, m.source, m.target])).toEqual([
      ['bind', '/srv/appdata/h12-immich/library', '/usr/src/app/upload'],
      ['volume', 'model-cache', '/cache'],
    ]);
    expect(project.volumes).toEqual([{ key: 'model-cache', name: 'h12-immich_model-cache', driver: 'local', external: false, bindDevice: null, driverOptions: {}, labels: { backup: 'no' } }]);
    expect(project.ports).toEqual([{ service: 'immich-server', published: 12283, protocol: 'tcp', hostIp: null }]);
    expect(project.files).toEqual([{ kind: 'secret', name: 'db_password', path: '/root/secrets/db.txt' }]);
  });

  it('reads v1 YAML: short volume strings with their mode, a volume bound to a device, the project-prefixed volume name', () => {
    const project = parseResolvedConfig(V1_YAML, 'h12-v1');
    expect(project.name).toBeNull();
    expect(project.mounts.map((m) => [m.type, m.source, m.readOnly])).toEqual([
      ['bind', '/srv/alpha/appdata/h12-v1-app', false],
      ['bind', '/srv/alpha/appdata/h12-v1-ro', true],
      ['volume', 'vol', false],
    ]);
    expect(project.volumes[0]).toMatchObject({ name: 'h12-v1_vol', bindDevice: '/srv/alpha/appdata/h12-v1-vol' });
    expect(project.ports[0]).toMatchObject({ published: 18080 });
  });
});

const ENV = `# The location where your uploaded files are stored
UPLOAD_LOCATION=/srv/appdata/immich/library
# not a data path of the stack
BACKUP_TARGET=/srv/appdata/elsewhere
IMMICH_VERSION=v1.99.0
`;
const COMPOSE = `name: immich
services:
  immich-server:
    image: ghcr.io/immich-app/immich-server:\${IMMICH_VERSION:-release}
    volumes:
      - \${UPLOAD_LOCATION}:/usr/src/app/upload
      - \${MODEL_PATH:-/srv/appdata/immich/models}:/models
`;
const OVERRIDE = `services:
  immich-server:
    volumes:
      - /srv/appdata/immich/thumbs:/thumbs
`;
const FILES: StackFiles = {
  composeFiles: [
    { path: '/home/me/apps/photos/docker-compose.yml', text: COMPOSE },
    { path: '/home/me/apps/photos/docker-compose.override.yml', text: OVERRIDE },
  ],
  envFile: { path: '/home/me/apps/photos/.env', text: ENV },
};

describe('mountOrigin', () => {
  it('points a ${VAR} source at the .env line that sets it', () => {
    expect(mountOrigin(FILES, 'immich-server', '/usr/src/app/upload')).toEqual({
      file: '/home/me/apps/photos/.env',
      line: 2,
      variable: 'UPLOAD_LOCATION',
      written: 'UPLOAD_LOCATION=/srv/appdata/immich/library',
    });
  });

  it('points a literal path at the line of the file that holds it, the override file included', () => {
    expect(mountOrigin(FILES, 'immich-server', '/thumbs')).toMatchObject({ file: '/home/me/apps/photos/docker-compose.override.yml', line: 4, variable: null });
  });

  it('points a variable that .env does not set at the compose line with its default', () => {
    expect(mountOrigin(FILES, 'immich-server', '/models')).toMatchObject({ file: '/home/me/apps/photos/docker-compose.yml', line: 7, variable: 'MODEL_PATH' });
  });
});

describe('rewriteEnvPaths', () => {
  it("moves only the named variables' paths and keeps every other byte", () => {
    const rewritten = rewriteEnvPaths(ENV, '/srv/appdata', '/mnt/appdata', new Set(['UPLOAD_LOCATION']));
    expect(rewritten.text).toBe(ENV.replace('UPLOAD_LOCATION=/srv/appdata', 'UPLOAD_LOCATION=/mnt/appdata'));
    expect(rewritten.changes).toEqual(['UPLOAD_LOCATION: UPLOAD_LOCATION=/srv/appdata/immich/library → UPLOAD_LOCATION=/mnt/appdata/immich/library']);
  });

  it('keeps quotes and does not touch a path that only starts like the prefix', () => {
    const text = 'A="/srv/appdata/x"\nB=/srv/appdata2/y\n';
    expect(rewriteEnvPaths(text, '/srv/appdata', '/mnt/appdata', new Set(['A', 'B'])).text).toBe('A="/mnt/appdata/x"\nB=/srv/appdata2/y\n');
  });
});

const host = (id: string, appdata: string, compose: string): HostConfig =>
  ({ id, hostname: id, user: 'root', port: 22, appdata_path: appdata, compose_path: compose, zfs_capable: false, enabled: true, tags: [] }) as unknown as HostConfig;

function photosSource(resolved: Partial<ResolvedProject> = {}): StackSource {
  return {
    location: { project: 'immich', workingDir: '/home/me/apps/photos', configFiles: FILES.composeFiles.map((f) => f.path) },
    files: FILES,
    resolved: {
      name: 'immich',
      services: ['immich-server'],
      images: { 'immich-server': 'ghcr.io/immich-app/immich-server:v1.99.0' },
      mounts: [
        { service: 'immich-server', type: 'bind', source: '/srv/appdata/immich/library', target: '/usr/src/app/upload', readOnly: false },
        { service: 'immich-server', type: 'bind', source: '/srv/appdata/immich/thumbs', target: '/thumbs', readOnly: false },
      ],
      ports: [],
      volumes: [],
      files: [],
      ...resolved,
    },
  };
}

const plan = (source: StackSource) =>
  planMigration({
    id: 'p',
    stack: source.location.project,
    source: host('delta', '/srv/appdata', '/srv/compose'),
    target: host('epsilon', '/mnt/appdata', '/opt/stacks'),
    stackSource: source,
  });

describe('planMigration from a stack as compose resolves it', () => {
  it('moves a ${VAR} path by rewriting its .env line and a literal one in the override file; the image is the resolved one', () => {
    const planned = plan(photosSource());
    expect(planned.notMoved).toEqual([]);
    expect(planned.images).toEqual(['ghcr.io/immich-app/immich-server:v1.99.0']);
    expect(planned.dataPaths.map((d) => [d.sourcePath, d.targetPath])).toEqual([
      ['/srv/appdata/immich/library', '/mnt/appdata/immich/library'],
      ['/srv/appdata/immich/thumbs', '/mnt/appdata/immich/thumbs'],
    ]);
    expect(planned.targetStackDir).toBe('/opt/stacks/photos');
    const files = Object.fromEntries((planned.targetFiles ?? []).map((f) => [f.name, f]));
    expect(files['.env']?.text).toContain('UPLOAD_LOCATION=/mnt/appdata/immich/library');
    expect(files['.env']?.text).toContain('BACKUP_TARGET=/srv/appdata/elsewhere');
    expect(files['docker-compose.override.yml']?.text).toBe(OVERRIDE.replace('/srv/appdata', '/mnt/appdata'));
    expect(files['docker-compose.yml']?.changed).toBe(false);
  });

  it('refuses a path that comes from a default .env does not set, and a secret file outside the folder, saying why', () => {
    const planned = plan(
      photosSource({
        mounts: [{ service: 'immich-server', type: 'bind', source: '/srv/appdata/immich/models', target: '/models', readOnly: true }],
        files: [{ kind: 'secret', name: 'db_password', path: '/root/secrets/db.txt' }],
      }),
    );
    expect(planned.notMoved.map((m) => m.reason)).toEqual([
      'its path comes from ${MODEL_PATH}, which .env does not set (a default or the shell\'s environment): set MODEL_PATH in .env',
      'a file outside the stack folder and appdata_path, which stays where it is',
    ]);
  });

  it("names a bind that the target's resolved config puts elsewhere than its data went", () => {
    const planned = plan(photosSource());
    const onTarget = parseResolvedConfig(
      JSON.stringify({
        services: {
          'immich-server': {
            volumes: [
              { type: 'bind', source: '/mnt/appdata/immich/library', target: '/usr/src/app/upload' },
              { type: 'bind', source: '/srv/appdata/immich/thumbs', target: '/thumbs' },
            ],
          },
        },
      }),
      'immich',
    );
    expect(misplacedBinds(planned, onTarget, '/srv/appdata')).toEqual(['immich-server:/thumbs is /srv/appdata/immich/thumbs, its data is at /mnt/appdata/immich/thumbs']);
  });
});

describe('portConflicts', () => {
  const container = (name: string, stack: string | null, ports: string[], state = 'running') => ({ name, stack, ports, state }) as unknown as ContainerSummary;
  it('names the running container of another project that holds a published port', () => {
    const ports = [{ service: 'web', published: 8080, protocol: 'tcp', hostIp: null }];
    expect(portConflicts(ports, [container('nginx-1', 'proxy', ['0.0.0.0:8080->80/tcp', ':::8080->80/tcp'])], 'app')).toEqual([{ service: 'web', port: 8080, protocol: 'tcp', container: 'nginx-1' }]);
    expect(portConflicts(ports, [container('old', 'app', ['8080->80/tcp']), container('stopped', null, ['8080->80/tcp'], 'exited'), container('udp', null, ['8080->80/udp'])], 'app')).toEqual([]);
  });
});
