/**
 * The corpus: real apps' own compose files (test/fixtures/corpus/<app>/,
 * sources in SOURCE.md there), what each needs to run on a testbed host, and
 * where it keeps its data, so a test can deploy it by hand and check a move.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StandIn } from './standins.js';

export const CORPUS_DIR = fileURLToPath(new URL('../../fixtures/corpus', import.meta.url));
/** In the fixtures, where the host's appdata goes: the one edit a user makes. */
export const APPDATA_TOKEN = '@APPDATA@';

export interface CorpusApp {
  /** Fixture folder, and (with `e-`) the stack's folder on the host. */
  readonly app: string;
  /** The compose project: the folder's name unless the files name it. */
  readonly project: string;
  /** Services that keep running. */
  readonly services: readonly string[];
  /** One-shot services: run once, exit 0, and stay exited. */
  readonly oneShots: readonly string[];
  /** Bind-mounted data folders, relative to the host's appdata or (./) to the stack folder. */
  readonly dataPaths: readonly string[];
  /** Named volumes, by their key in the file. */
  readonly volumes: readonly string[];
  readonly standIns: readonly StandIn[];
  /** The case of the engine it shows. */
  readonly shows: string;
}

const postgres = (image: string): StandIn => ({ image, healthcheck: ['pg_isready'] });
/** An image whose real counterpart declares no healthcheck. */
const unchecked = (image: string): StandIn => ({ image });

export const CORPUS: readonly CorpusApp[] = [
  {
    app: 'immich',
    project: 'e-immich',
    services: ['database', 'immich-machine-learning', 'immich-server', 'redis'],
    oneShots: [],
    dataPaths: ['e-immich/library', 'e-immich/postgres'],
    volumes: ['model-cache'],
    standIns: [
      { image: 'ghcr.io/immich-app/immich-server:release', healthcheck: ['immich-healthcheck'] },
      { image: 'ghcr.io/immich-app/immich-machine-learning:release', healthcheck: ['python3', 'healthcheck.py'] },
      unchecked('docker.io/valkey/valkey:9'),
      postgres('ghcr.io/immich-app/postgres:14-vectorchord0.4.3-pgvectors0.2.0'),
    ],
    shows: '/etc/localtime mounted read-only, a named volume, nested data paths under appdata, `name:` in the file',
  },
  {
    app: 'paperless-ngx',
    project: 'e-paperless',
    services: ['broker', 'db', 'webserver'],
    oneShots: [],
    dataPaths: ['./export', './consume'],
    volumes: ['data', 'media', 'pgdata', 'redisdata'],
    standIns: [
      unchecked('docker.io/valkey/valkey:9-alpine'),
      unchecked('docker.io/library/postgres:18'),
      { image: 'ghcr.io/paperless-ngx/paperless-ngx:latest', healthcheck: ['curl', '-fs', '-S', '-L', '--max-time', '2', 'http://localhost:8000'] },
    ],
    shows: 'COMPOSE_PROJECT_NAME in .env different from the folder name; named volumes; folders beside the compose file',
  },
  {
    app: 'jellyfin',
    project: 'e-jellyfin',
    services: ['jellyfin'],
    oneShots: [],
    dataPaths: ['e-jellyfin/library', 'e-tvseries', 'e-movies'],
    volumes: [],
    standIns: [unchecked('lscr.io/linuxserver/jellyfin:latest')],
    shows: 'a config folder nested two levels under appdata (e-jellyfin/library) beside media folders; UDP ports',
  },
  {
    app: 'home-assistant',
    project: 'e-home-assistant',
    services: ['homeassistant'],
    oneShots: [],
    dataPaths: ['e-home-assistant/config'],
    volumes: [],
    standIns: [unchecked('ghcr.io/home-assistant/home-assistant:stable')],
    shows: '/etc/localtime and /run/dbus from the host; privileged, host network; `version: "3"`',
  },
  {
    app: 'gitea',
    project: 'e-gitea',
    services: ['db', 'server'],
    oneShots: [],
    dataPaths: ['./gitea', './postgres'],
    volumes: [],
    standIns: [unchecked('gitea/gitea:latest'), unchecked('postgres:14')],
    shows: '/etc/timezone and /etc/localtime from the host; data in folders beside the compose file',
  },
  {
    app: 'authentik',
    project: 'e-authentik',
    services: ['postgresql', 'server', 'worker'],
    oneShots: [],
    dataPaths: ['./data', './certs', './custom-templates'],
    volumes: ['database'],
    standIns: [postgres('docker.io/library/postgres:16-alpine'), { image: 'ghcr.io/goauthentik/server:2026.2.2', healthcheck: ['ak', 'healthcheck'] }],
    shows: 'the Docker socket mounted into the worker; depends_on with service_healthy; required variables (${VAR:?})',
  },
  {
    app: 'n8n',
    project: 'e-n8n',
    services: ['n8n', 'n8n-runner', 'traefik'],
    oneShots: ['initContainer'],
    dataPaths: ['e-n8n/.n8n', 'e-n8n/letsencrypt'],
    volumes: [],
    standIns: [
      unchecked('traefik'),
      { image: 'busybox', plain: true },
      // Both run as the image's user node (1000), which the initContainer gives the data folder to.
      { image: 'docker.n8n.io/n8nio/n8n:stable', user: '1000:1000' },
      { image: 'n8nio/runners:stable', user: '1000:1000' },
    ],
    shows: 'DATA_FOLDER with a trailing slash (so `//` in the paths) and a `.n8n` folder; a one-shot initContainer behind service_completed_successfully; the Docker socket',
  },
  {
    app: 'nextcloud',
    project: 'e-nextcloud',
    services: ['app', 'cron', 'db', 'letsencrypt-companion', 'proxy', 'redis'],
    oneShots: [],
    dataPaths: [],
    volumes: ['db', 'nextcloud', 'certs', 'acme', 'vhost.d', 'html'],
    standIns: [
      unchecked('postgres:alpine'),
      unchecked('redis:alpine'),
      unchecked('nextcloud:apache'),
      unchecked('nginxproxy/acme-companion'),
      // What ./proxy/Dockerfile builds FROM; compose builds the proxy on each host.
      unchecked('nginxproxy/nginx-proxy:1.7-alpine'),
    ],
    shows: 'a service built by compose (`build: ./proxy`); six named volumes; the Docker socket in two services',
  },
];

export const stackFolder = (app: CorpusApp) => `e-${app.app}`;

/** The app's files as the user has them on a host: the fixtures with the host's appdata written in. */
export function appFiles(app: CorpusApp, appdata: string): Record<string, string> {
  const root = path.join(CORPUS_DIR, app.app);
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else files[path.relative(root, full)] = readFileSync(full, 'utf8').replaceAll(APPDATA_TOKEN, appdata);
    }
  };
  walk(root);
  return files;
}

/** Absolute data folders of the app on a host. */
export function hostDataPaths(app: CorpusApp, appdata: string, composeRoot: string): string[] {
  return app.dataPaths.map((p) => (p.startsWith('./') ? `${composeRoot}/${stackFolder(app)}/${p.slice(2)}` : `${appdata}/${p}`));
}

export const volumeName = (app: CorpusApp, key: string) => `${app.project}_${key}`;

/** Every stand-in the given apps need, each once. */
export function standInsOf(apps: readonly CorpusApp[]): StandIn[] {
  const byImage = new Map<string, StandIn>();
  for (const app of apps) for (const standIn of app.standIns) byImage.set(standIn.image, standIn);
  return [...byImage.values()];
}
