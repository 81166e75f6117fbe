/**
 * The corpus on the container hosts: apps whose published files compose v1
 * reads, deployed by hand on alpha (compose v1, zfs-fuse), moved to beta
 * (compose v2) and on to gamma (no ZFS: rsync, compose v1), all at once,
 * without --force. After each move every service runs on the target only,
 * one-shots have run there once, and the data is equal by manifest. The
 * OpenZFS guests move every corpus app there and back (corpus-guests.test.ts).
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { CORPUS } from './corpus/apps.js';
import type { CorpusHost } from './corpus/deploy.js';
import { openCorpusHost } from './corpus/hosts.js';
import { CorpusSuite } from './corpus/suite.js';

/**
 * Compose v1 (alpha, gamma) cannot read immich's top-level `name:`; the
 * container hosts cannot start home-assistant's privileged container (they
 * are themselves unprivileged); authentik and nextcloud move on the guests
 * only, to keep this file cheap.
 */
const CHOSEN = process.env.CORPUS_APPS?.split(',') ?? ['paperless-ngx', 'jellyfin', 'gitea', 'n8n'];
/** CORPUS_APPS=authentik,nextcloud moves others (those compose v1 reads and an unprivileged host starts). */
const APPS = CORPUS.filter((app) => CHOSEN.includes(app.app));
const TIMEOUT_MS = 900_000;

const hosts = {} as Record<'alpha' | 'beta' | 'gamma', CorpusHost>;
const suite = new CorpusSuite(APPS);

beforeAll(async () => {
  for (const id of ['alpha', 'beta', 'gamma'] as const) hosts[id] = await openCorpusHost(id);
  await suite.setUp(Object.values(hosts), hosts.alpha);
}, TIMEOUT_MS);

afterAll(() => suite.tearDown('corpus on the container hosts'), TIMEOUT_MS);

describe(`corpus on the container hosts: ${APPS.map((app) => app.app).join(', ')}`, () => {
  suite.describeMove('alpha → beta (compose v1 → v2, zfs-fuse)', () => hosts.alpha, () => hosts.beta, TIMEOUT_MS);
  suite.describeMove('beta → gamma (no ZFS: rsync; compose v2 → v1)', () => hosts.beta, () => hosts.gamma, TIMEOUT_MS);
});
