/**
 * The corpus on the container hosts: the apps whose published files compose
 * v1 reads, deployed by hand on alpha (compose v1, zfs-fuse), moved to beta
 * (compose v2) and on to gamma (no ZFS: rsync, compose v1), all at once,
 * without --force. After each move every service runs on the target only,
 * one-shots have run there once, and the data is equal by manifest. The
 * OpenZFS guests move every corpus app there and back (corpus-guests.test.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateStacks } from '../../src/migration/migrate-many.js';
import { CORPUS, standInsOf, type CorpusApp } from './corpus/apps.js';
import { dataDifferences, deployApp, readAppData, removeApp, serviceStates, waitSettled, writeAppData, type AppData, type CorpusHost } from './corpus/deploy.js';
import { openCorpusHost } from './corpus/hosts.js';
import { ensureStandIns, removeStandIns } from './corpus/standins.js';
import { Timings } from './corpus/timings.js';

/**
 * Compose v1 (alpha, gamma) cannot read immich's top-level `name:`; the
 * container hosts cannot start home-assistant's privileged container (they
 * are themselves unprivileged); authentik and nextcloud move on the guests
 * only, to keep this file cheap.
 */
const APPS: readonly CorpusApp[] = CORPUS.filter((app) => ['paperless-ngx', 'jellyfin', 'gitea', 'n8n'].includes(app.app));
const TIMEOUT_MS = 900_000;

const hosts = {} as Record<'alpha' | 'beta' | 'gamma', CorpusHost>;
let journalDir: string;
const original = new Map<string, AppData>();
const timings = new Timings();

const cleanUp = () => Promise.all(Object.values(hosts).map(async (host) => { for (const app of APPS) await removeApp(host, app); }));

beforeAll(async () => {
  journalDir = await mkdtemp(path.join(os.tmpdir(), 'e-corpus-journal-'));
  for (const id of ['alpha', 'beta', 'gamma'] as const) hosts[id] = await openCorpusHost(id);
  await timings.time('clean up before', cleanUp);
  await timings.time('stand-in images built on alpha, beta, gamma', () => Promise.all(Object.values(hosts).map((host) => ensureStandIns(host.docker, standInsOf(APPS)))));
  await timings.time('compose up -d of each app on alpha', async () => { for (const app of APPS) await deployApp(hosts.alpha, app); });
  await timings.time('every service running and healthy, data written and read', async () => {
    for (const app of APPS) {
      await waitSettled(hosts.alpha, app);
      await writeAppData(hosts.alpha, app);
      original.set(app.app, await readAppData(hosts.alpha, app));
    }
  });
}, TIMEOUT_MS);

afterAll(async () => {
  await timings.time('clean up after', async () => {
    await cleanUp();
    await Promise.all(Object.values(hosts).map((host) => removeStandIns(host.docker, standInsOf(APPS))));
  });
  console.info(timings.report('corpus on the container hosts'));
  for (const host of Object.values(hosts)) await host.docker.transport.close();
  await rm(journalDir, { recursive: true, force: true });
}, TIMEOUT_MS);

/**
 * Move every app at once (the engine's own batch), then check each app on
 * its own: which ran where, and its data.
 */
function describeMove(title: string, from: () => CorpusHost, to: () => CorpusHost): void {
  describe(title, () => {
    const outcome = new Map<string, string>();
    beforeAll(async () => {
      const results = await timings.time(`migrate ${title}`, () => migrateStacks(from().docker, to().docker, APPS.map((app) => app.project), { journalDir, concurrency: 4 }));
      for (const r of results) outcome.set(r.stack, r.ok ? 'moved' : r.error.message);
    }, TIMEOUT_MS);

    it.each(APPS.map((app) => [app.app, app] as const))('%s: moved without --force, runs there only, data equal', async (_name, app) => {
      expect(outcome.get(app.project)).toBe('moved');
      await waitSettled(to(), app);
      expect(await serviceStates(to(), app)).toEqual({ running: [...app.services].sort(), exited: [...app.oneShots].sort() });
      expect(await serviceStates(from(), app)).toEqual({ running: [], exited: [] });
      expect(dataDifferences(app, original.get(app.app)!, await readAppData(to(), app))).toEqual([]);
    }, TIMEOUT_MS);
  });
}

describe(`corpus on the container hosts: ${APPS.map((app) => app.app).join(', ')}`, () => {
  describeMove('alpha → beta (compose v1 → v2, zfs-fuse)', () => hosts.alpha, () => hosts.beta);
  describeMove('beta → gamma (no ZFS: rsync; compose v2 → v1)', () => hosts.beta, () => hosts.gamma);
});
