/**
 * The corpus on the OpenZFS guests: every app's published files, deployed by
 * hand on delta (/srv/appdata, /srv/compose) and moved to epsilon
 * (/mnt/appdata, /opt/stacks, a sudo login) and back, all apps at once,
 * without --force. After each move every service runs on the target only,
 * one-shots have run there once, and the data is equal by manifest. Before
 * moving, each app's dry run must plan the move without a refusal (the plans
 * in docs/corpus/ come from the same runs: npm run corpus:plans).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { CORPUS } from './corpus/apps.js';
import type { CorpusHost } from './corpus/deploy.js';
import { openCorpusHost } from './corpus/hosts.js';
import { CorpusSuite } from './corpus/suite.js';

/** CORPUS_APPS=gitea,home-assistant moves only those (every app by default). */
const CHOSEN = process.env.CORPUS_APPS?.split(',');
const APPS = CHOSEN === undefined ? CORPUS : CORPUS.filter((app) => CHOSEN.includes(app.app));
const TIMEOUT_MS = 1_800_000;

const hosts = {} as Record<'delta' | 'epsilon', CorpusHost>;
const suite = new CorpusSuite(APPS);

beforeAll(async () => {
  for (const id of ['delta', 'epsilon'] as const) hosts[id] = await openCorpusHost(id);
  await suite.setUp(Object.values(hosts), hosts.delta);
}, TIMEOUT_MS);

afterAll(() => suite.tearDown('corpus on the OpenZFS guests'), TIMEOUT_MS);

describe('corpus dry runs delta → epsilon', () => {
  it.each(APPS.map((app) => [app.app, app] as const))('%s: the dry run plans the move, refusing nothing', async (_name, app) => {
    const args = ['migrate', 'delta', 'epsilon', app.project, '--dry-run', '--json'];
    const run = await suite.timings.time(`dry run of ${app.app}`, () => runCli(args, { DOCKER_MCP_STATE_DIR: suite.stateDir }, undefined, 600_000));
    expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: '' });
    // The dry run asks both hosts what pre-flight asks: a refusal there would be in the plan.
    expect((JSON.parse(run.stdout) as { refusals: unknown[] }).refusals).toEqual([]);
  }, TIMEOUT_MS);
});

describe('corpus on the OpenZFS guests, every app', () => {
  suite.describeMove('there: delta → epsilon', () => hosts.delta, () => hosts.epsilon, TIMEOUT_MS);
  suite.describeMove('and back: epsilon → delta', () => hosts.epsilon, () => hosts.delta, TIMEOUT_MS);
});
