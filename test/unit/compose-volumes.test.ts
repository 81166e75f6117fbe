/**
 * What a migration does with a stack's named volumes, the services compose's
 * config leaves out (profiles), and images nobody can supply: pure decisions,
 * no host.
 */
import { describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/config/schema.js';
import type { ResolvedProject, ResolvedVolume } from '../../src/docker/compose-config.js';
import { profilesOf, withProfiles, type StackSource } from '../../src/docker/stack-source.js';
import { planMigration, volumeHandling } from '../../src/migration/plan.js';
import { whyImagesCannotBeSupplied } from '../../src/migration/preflight.js';

const COMPOSE = 'services:\n  app:\n    image: busybox\n    volumes:\n      - data:/data\n';
const host = (id: string, appdata: string, compose: string): HostConfig =>
  ({ id, hostname: id, user: 'root', port: 22, appdata_path: appdata, compose_path: compose, zfs_capable: false, enabled: true, tags: [] }) as unknown as HostConfig;
const volume = (key: string, more: Partial<ResolvedVolume> = {}): ResolvedVolume => ({
  key,
  name: `vault_${key}`,
  driver: 'local',
  external: false,
  bindDevice: null,
  driverOptions: {},
  labels: {},
  ...more,
});

function source(resolved: Partial<ResolvedProject>): StackSource {
  return {
    location: { project: 'vault', workingDir: '/srv/compose/vault', configFiles: ['/srv/compose/vault/docker-compose.yml'] },
    files: { composeFiles: [{ path: '/srv/compose/vault/docker-compose.yml', text: COMPOSE }], envFile: null },
    resolved: { name: 'vault', services: ['app', 'db'], images: { app: 'busybox', db: 'busybox' }, mounts: [], ports: [], volumes: [], files: [], ...resolved },
  };
}

const plan = (resolved: Partial<ResolvedProject>, runningServices?: string[]) =>
  planMigration({
    id: 'p',
    stack: 'vault',
    source: host('delta', '/srv/appdata', '/srv/compose'),
    target: host('epsilon', '/mnt/appdata', '/opt/stacks'),
    stackSource: source(resolved),
    ...(runningServices ? { runningServices } : {}),
  });

describe('named volumes in the plan', () => {
  it('copies a local volume once, however many services mount it, and lists it as a step after the stop', () => {
    const planned = plan({
      mounts: [
        { service: 'app', type: 'volume', source: 'data', target: '/data', readOnly: false },
        { service: 'db', type: 'volume', source: 'data', target: '/var/lib/db', readOnly: true },
      ],
      volumes: [volume('data')],
    });
    expect(planned.notMoved).toEqual([]);
    expect(planned.volumes).toEqual([{ key: 'data', name: 'vault_data', usedBy: ['app', 'db'], handling: 'copy', note: 'copied after the stop and verified by a checksum manifest' }]);
    const phases = planned.steps.map((s) => s.phase);
    const copy = planned.steps.findIndex((s) => s.description.startsWith('copy named volume vault_data'));
    expect(planned.steps[copy]?.phase).toBe('final-sync');
    expect(copy).toBeGreaterThan(phases.indexOf('stop'));
  });

  it('leaves a network share where it is, and refuses an external or plugin volume with the reason', () => {
    expect(volumeHandling(volume('media', { driverOptions: { type: 'nfs', o: 'addr=nas.lan,rw', device: ':/export/media' } }))).toEqual({
      handling: 'shared',
      note: 'stays where it is, reachable from both: a nfs share (:/export/media, addr=nas.lan,rw) the target mounts as the source does',
    });
    expect(volumeHandling(volume('x', { external: true, name: 'x' }))).toEqual({ refused: expect.stringContaining('an external volume (x)') });
    expect(volumeHandling(volume('y', { driver: 'rexray/ebs' }))).toEqual({ refused: expect.stringContaining('a volume of the rexray/ebs driver') });
    const planned = plan({
      mounts: [
        { service: 'app', type: 'volume', source: 'media', target: '/media', readOnly: false },
        { service: 'db', type: 'volume', source: 'y', target: '/y', readOnly: false },
      ],
      volumes: [volume('media', { driverOptions: { type: 'cifs', device: '//nas/media' } }), volume('y', { driver: 'rexray/ebs' })],
    });
    expect(planned.volumes?.map((v) => [v.name, v.handling])).toEqual([['vault_media', 'shared']]);
    expect(planned.notMoved.map((m) => [m.service, m.source])).toEqual([['db', 'y']]);
  });
});

describe('profiles', () => {
  const files = [
    { path: '/s/docker-compose.yml', text: 'services:\n  app: {}\n  worker:\n    profiles: [jobs, all]\n  cron:\n    profiles: [all]\n  debug:\n    profiles: [debug]\n' },
    { path: '/s/docker-compose.override.yml', text: 'services:\n  cron:\n    profiles: [jobs]\n' },
  ];
  it('reads the profiles a stack runs with from its running services, one per service, the override file winning', () => {
    expect(profilesOf(files, ['app', 'worker', 'cron'])).toEqual(['jobs']);
    expect(profilesOf(files, ['app'])).toEqual([]);
    expect(profilesOf(files, ['debug', 'app'])).toEqual(['debug']);
  });

  it("keeps only the services those profiles enable (compose v1's config prints every profile's)", () => {
    const resolved = { name: null, services: ['app', 'cron', 'debug', 'worker'], images: { app: 'a', cron: 'c', debug: 'd', worker: 'w' }, mounts: [], ports: [], volumes: [], files: [] };
    const enabled = withProfiles(resolved, files, ['jobs']);
    expect(enabled.services).toEqual(['app', 'cron', 'worker']);
    expect(Object.keys(enabled.images)).toEqual(['app', 'cron', 'worker']);
  });
});

describe('services compose config leaves out', () => {
  it('names the running services of a profile that compose config without --profile does not print', () => {
    expect(plan({}, ['app', 'db', 'backup', 'backup']).servicesOutsideConfig).toEqual(['backup']);
    expect(plan({}, ['app']).servicesOutsideConfig).toEqual([]);
  });
});

describe('images nobody can supply', () => {
  const pinned = 'ghcr.io/app/server:v1@sha256:' + 'a'.repeat(64);
  it('refuses an image neither host has, and a digest-pinned one the target lacks unless its engine keeps digests through docker load', () => {
    expect(whyImagesCannotBeSupplied('epsilon', ['x:1'], ['x:1'], false)).toMatch(/^neither host has these images: x:1/);
    expect(whyImagesCannotBeSupplied('epsilon', [pinned], [pinned], true)).toBe(`neither host has these images: ${pinned} (--force does not apply: the stack could not start)`);
    // The source has it, but docker load into the classic store drops the RepoDigest compose would look it up by.
    expect(whyImagesCannotBeSupplied('epsilon', [pinned, 'x:1'], [], false)).toMatch(/epsilon lacks these digest-pinned images: ghcr.io\/app\/server:v1@sha256:a+\. .*Pull them on epsilon/);
    expect(whyImagesCannotBeSupplied('epsilon', [pinned], [], true)).toBeNull();
    expect(whyImagesCannotBeSupplied('epsilon', ['x:1'], [], false)).toBeNull();
  });
});
