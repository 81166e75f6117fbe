/**
 * One corpus test file's run: the apps deployed by hand on one host, moved
 * between hosts all at once, each app then checked on its own (which
 * services run where, its data by manifest), and the cost of each phase.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { migrateStacks } from '../../../src/migration/migrate-many.js';
import { standInsOf, type CorpusApp } from './apps.js';
import { dataDifferences, deployApp, readAppData, removeApp, serviceStates, waitSettled, writeAppData, type AppData, type CorpusHost } from './deploy.js';
import { ensureStandIns, removeStandIns } from './standins.js';
import { Timings } from './timings.js';

export class CorpusSuite {
  readonly stateDir = mkdtempSync(path.join(os.tmpdir(), 'e-corpus-'));
  readonly timings = new Timings();
  private readonly original = new Map<string, AppData>();
  private hosts: readonly CorpusHost[] = [];

  constructor(readonly apps: readonly CorpusApp[]) {}

  /** Stand-ins on every host, then each app deployed on `home`, settled, given data of the test's own, and its data read. */
  async setUp(hosts: readonly CorpusHost[], home: CorpusHost): Promise<void> {
    this.hosts = hosts;
    await this.timings.time('clean up before', () => this.removeApps());
    await this.timings.time(`stand-in images built on ${this.hosts.map((h) => h.id).join(', ')}`, () => Promise.all(this.hosts.map((host) => ensureStandIns(host.docker, standInsOf(this.apps)))));
    await this.timings.time(`compose up -d of each app on ${home.id}`, async () => {
      for (const app of this.apps) await deployApp(home, app);
    });
    await this.timings.time('every service running and healthy, data written and read', async () => {
      for (const app of this.apps) {
        await waitSettled(home, app);
        await writeAppData(home, app);
        this.original.set(app.app, await readAppData(home, app));
      }
    });
  }

  async tearDown(title: string): Promise<void> {
    await this.timings.time('clean up after', async () => {
      await this.removeApps();
      await Promise.all(this.hosts.map((host) => removeStandIns(host.docker, standInsOf(this.apps))));
    });
    console.info(this.timings.report(title));
    for (const host of this.hosts) await host.docker.transport.close();
    rmSync(this.stateDir, { recursive: true, force: true });
  }

  /** A describe block: every app moved at once (the engine's own batch), then a test per app. */
  describeMove(title: string, from: () => CorpusHost, to: () => CorpusHost, timeoutMs: number): void {
    describe(title, () => {
      const outcome = new Map<string, string>();
      beforeAll(async () => {
        const projects = this.apps.map((app) => app.project);
        const results = await this.timings.time(`migrate ${title}`, () => migrateStacks(from().docker, to().docker, projects, { journalDir: path.join(this.stateDir, 'migrations'), concurrency: 4 }));
        for (const r of results) {
          outcome.set(r.stack, r.ok ? 'moved' : r.error.message);
          if (r.ok) this.timings.note(`  ${r.stack}: ${r.report.phases.map((p) => `${p.phase} ${p.seconds.toFixed(0)}`).join(', ')}`, r.report.totalSeconds);
        }
      }, timeoutMs);

      it.each(this.apps.map((app) => [app.app, app] as const))('%s: moved without --force, runs there only, data equal', async (_name, app) => {
        expect(outcome.get(app.project)).toBe('moved');
        await waitSettled(to(), app);
        expect(await serviceStates(to(), app)).toEqual({ running: [...app.services].sort(), exited: [...app.oneShots].sort() });
        expect(await serviceStates(from(), app)).toEqual({ running: [], exited: [] });
        expect(dataDifferences(app, this.original.get(app.app)!, await readAppData(to(), app))).toEqual([]);
      }, timeoutMs);
    });
  }

  private removeApps(): Promise<void[]> {
    return Promise.all(
      this.hosts.map(async (host) => {
        for (const app of this.apps) await removeApp(host, app);
      }),
    );
  }
}
