/**
 * docs/corpus/<app>.md from real dry runs: each corpus app deployed by hand on
 * the source host, `docker-mcp migrate SOURCE TARGET STACK --dry-run` run,
 * its output written as a page, the app removed again.
 *
 *   npm run corpus:plans -- [SOURCE TARGET [APP...]]    (default: delta epsilon, every app)
 *
 * An app the source cannot start (home-assistant's privileged container on
 * the unprivileged container hosts) is planned from its folder, stopped, and
 * the page says so.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCli } from '../cli.js';
import { TESTBED_HOST_IDS } from '../testbed.js';
import { CORPUS, standInsOf } from './apps.js';
import { deployApp, removeApp, waitSettled } from './deploy.js';
import { openCorpusHost, type HostId } from './hosts.js';
import { planPage } from './plan-page.js';
import { ensureStandIns, removeStandIns } from './standins.js';

const OUT = fileURLToPath(new URL('../../../docs/corpus', import.meta.url));

function hostId(value: string | undefined, fallback: HostId): HostId {
  if (value === undefined) return fallback;
  if (!(TESTBED_HOST_IDS as readonly string[]).includes(value)) throw new Error(`not a testbed host: ${value} (one of ${TESTBED_HOST_IDS.join(', ')})`);
  return value as HostId;
}

async function main(): Promise<void> {
  const source = await openCorpusHost(hostId(process.argv[2], 'delta'));
  const target = await openCorpusHost(hostId(process.argv[3], 'epsilon'));
  const only = process.argv.slice(4);
  const apps = only.length === 0 ? CORPUS : CORPUS.filter((app) => only.includes(app.app));
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'e-corpus-plans-'));
  await mkdir(OUT, { recursive: true });
  try {
    await Promise.all([source, target].map((host) => ensureStandIns(host.docker, standInsOf(apps))));
    for (const app of apps) {
      for (const host of [source, target]) await removeApp(host, app);
      let stopped: string | null = null;
      try {
        await deployApp(source, app);
        await waitSettled(source, app);
      } catch (error) {
        stopped = whyNotRunning(error);
      }
      const args = ['migrate', source.id, target.id, app.project, '--dry-run'];
      const run = await runCli(args, { DOCKER_MCP_STATE_DIR: stateDir }, undefined, 600_000);
      await writeFile(path.join(OUT, `${app.app}.md`), planPage(app, { source: source.id, target: target.id, stopped }, `docker-mcp ${args.join(' ')}`, run));
      process.stdout.write(`${app.app}: exit ${run.exitCode}${stopped === null ? '' : ' (planned stopped)'}\n`);
      for (const host of [source, target]) await removeApp(host, app);
    }
  } finally {
    await Promise.all([source, target].map((host) => removeStandIns(host.docker, standInsOf(apps))));
    for (const host of [source, target]) await host.docker.transport.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** The line of compose's output that says why the app did not start. */
function whyNotRunning(error: unknown): string {
  const lines = (error instanceof Error ? error.message : String(error)).split('\n').map((line) => line.trim()).filter(Boolean);
  return [...lines].reverse().find((line) => /error/i.test(line)) ?? lines.at(-1) ?? 'unknown';
}

await main();
