import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { main } from '../../src/cli/main.js';
import {
  clearFailedOver,
  declareStandby,
  loadStandbyFile,
  markFailbackKept,
  markFailedOver,
  markFenced,
  parseInterval,
  parseStandbyText,
  removeStandby,
  writeStandbyFile,
} from '../../src/standby/declarations.js';
import type { HostConfig } from '../../src/config/schema.js';
import { InvalidInputError } from '../../src/errors.js';
import { stagedPathFor, standbyStagingDir } from '../../src/standby/staging.js';

const HOSTS = `hosts:
  alpha:
    hostname: 127.0.0.11
    user: root
  beta:
    hostname: 127.0.0.12
    user: root
  old:
    hostname: 127.0.0.14
    user: root
    enabled: false
`;

function hostsFile(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-standby-'));
  const file = path.join(dir, 'hosts.yml');
  writeFileSync(file, HOSTS);
  return file;
}

/** The CLI's output and exit code (main() writes to process.stdout/stderr; it takes argv as node gives it, so `--config` is not skipped). */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const write = (sink: 'out' | 'err') => (chunk: string | Uint8Array) => {
    if (sink === 'out') out += String(chunk);
    else err += String(chunk);
    return true;
  };
  const [stdout, stderr] = [process.stdout.write, process.stderr.write];
  process.stdout.write = write('out') as typeof process.stdout.write;
  process.stderr.write = write('err') as typeof process.stderr.write;
  const exitCode = process.exitCode;
  try {
    const code = await main(['node', 'docker-mcp', ...args]);
    return { code, out, err };
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
    process.exitCode = exitCode;
  }
}

describe('standby intervals', () => {
  it('reads 90s, 15m, 2h, 1d and refuses what is not one of them, or out of 1m..7d', () => {
    expect(['90s', '15m', '2h', '1d'].map(parseInterval)).toEqual([90_000, 900_000, 7_200_000, 86_400_000]);
    for (const bad of ['15', '15 min', 'm', '-5m', '30s', '8d', '']) expect(() => parseInterval(bad), bad).toThrow(/interval/);
  });
});

describe('standby.yml', () => {
  it('is written beside hosts.yml, 0600, keeps comments and unknown fields, and a .bak of what it replaced', async () => {
    const hosts = hostsFile();
    const standbyPath = path.join(path.dirname(hosts), 'standby.yml');
    writeFileSync(standbyPath, '# my standbys\nstandbys:\n  alpha/app:   # the important one\n    to: beta\n    note: mine\n');
    const config = await loadConfig(hosts);
    const file = await loadStandbyFile(hosts);
    expect(file.standbys).toEqual([{ host: 'alpha', stack: 'app', to: 'beta', every: '15m', intervalMs: 900_000, keep: 4 }]);
    declareStandby(file, config, { host: 'beta', stack: 'db', to: 'alpha', every: '1h', keep: 2 });
    const written = await writeStandbyFile(file);
    expect(written.map((s) => `${s.host}/${s.stack}>${s.to}@${s.every}x${s.keep}`)).toEqual(['alpha/app>beta@15mx4', 'beta/db>alpha@1hx2']);
    const text = readFileSync(standbyPath, 'utf8');
    expect(text).toContain('# my standbys');
    expect(text).toContain('# the important one');
    expect(text).toContain('note: mine');
    expect(statSync(standbyPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${standbyPath}.bak`, 'utf8')).not.toContain('beta/db');
  });

  it('changes a declared standby in place, keeping what was not given, and removes one', async () => {
    const hosts = hostsFile();
    const config = await loadConfig(hosts);
    const file = await loadStandbyFile(hosts);
    expect(file.standbys).toEqual([]);
    declareStandby(file, config, { host: 'alpha', stack: 'app', to: 'beta', every: '2h', keep: 7 });
    await writeStandbyFile(file);
    const again = await loadStandbyFile(hosts);
    const { declaration, replaced } = declareStandby(again, config, { host: 'alpha', stack: 'app', to: 'beta', keep: 3 });
    expect(replaced?.keep).toBe(7);
    expect(declaration).toMatchObject({ every: '2h', keep: 3 });
    expect(removeStandby(again, 'alpha', 'app')?.to).toBe('beta');
    expect(removeStandby(again, 'alpha', 'app')).toBeNull();
    expect(await writeStandbyFile(again)).toEqual([]);
  });

  it('records a failover, its fence and what a failback kept, and a failback clears them, the declaration kept', async () => {
    const hosts = hostsFile();
    const config = await loadConfig(hosts);
    const file = await loadStandbyFile(hosts);
    const { declaration } = declareStandby(file, config, { host: 'alpha', stack: 'app', to: 'beta', every: '2h', keep: 7 });
    markFailedOver(file, declaration, { at: '2026-12-07T08:00:00.000Z', snapshot: 'docker-mcp-standby-x', snapshotAt: '2026-12-07T07:45:00.000Z' });
    markFenced(file, declaration, '2026-12-07T09:00:00.000Z', true);
    markFailbackKept(file, declaration, { at: '2026-12-07T10:00:00.000Z', datasets: ['alpha/appdata/app-kept-x'], directory: '/srv/a/.docker-mcp-kept/app-x' });
    const [written] = await writeStandbyFile(file);
    expect(written?.failedOver).toEqual({
      at: '2026-12-07T08:00:00.000Z',
      snapshot: 'docker-mcp-standby-x',
      snapshotAt: '2026-12-07T07:45:00.000Z',
      fencedAt: '2026-12-07T09:00:00.000Z',
      diverged: true,
      failbackKept: { at: '2026-12-07T10:00:00.000Z', datasets: ['alpha/appdata/app-kept-x'], directory: '/srv/a/.docker-mcp-kept/app-x' },
    });
    const again = await loadStandbyFile(hosts);
    clearFailedOver(again, again.standbys[0]!);
    const [cleared] = await writeStandbyFile(again);
    expect(cleared).toEqual({ host: 'alpha', stack: 'app', to: 'beta', every: '2h', intervalMs: 7_200_000, keep: 7 });
    expect(readFileSync(again.path, 'utf8')).not.toContain('failed_over');
  });

  it('refuses unknown or disabled hosts, the same host twice, bad names, and a hand-edited file that breaks the rules, naming the field', async () => {
    const hosts = hostsFile();
    const config = await loadConfig(hosts);
    const file = await loadStandbyFile(hosts);
    expect(() => declareStandby(file, config, { host: 'alpha', stack: 'app', to: 'gamma' })).toThrow(/"gamma": is not in .*hosts\.yml/);
    expect(() => declareStandby(file, config, { host: 'alpha', stack: 'app', to: 'old' })).toThrow(/"old": is disabled/);
    expect(() => declareStandby(file, config, { host: 'alpha', stack: 'app', to: 'alpha' })).toThrow(/must be another host/);
    expect(() => declareStandby(file, config, { host: 'alpha', stack: 'App!', to: 'beta' })).toThrow(/stack name/);
    expect(() => declareStandby(file, config, { host: 'alpha', stack: 'app', to: 'beta', keep: 0 })).toThrow(/keep/);
    expect(() => parseStandbyText('standbys:\n  app:\n    to: beta\n', 'standby.yml')).toThrow(/standbys\.app.*HOST\/STACK/s);
    expect(() => parseStandbyText('standbys:\n  alpha/app:\n    to: beta\n    every: soon\n', 'standby.yml')).toThrow(/standbys\.alpha\/app\.every.*90s, 15m/s);
    expect(() => parseStandbyText('standbys:\n  alpha/app: {}\n', 'standby.yml')).toThrow(/standbys\.alpha\/app\.to/);
  });
});

describe('docker-mcp standby (without looking the stack up: --no-check)', () => {
  it('adds, lists and removes, and says what it did; a bad --every loses nothing already declared', async () => {
    const hosts = hostsFile();
    const added = await cli(['--config', hosts, 'standby', 'add', 'app', '--on', 'alpha', '--to', 'beta', '--every', '30m', '--no-check']);
    expect(added).toMatchObject({ code: 0, err: '' });
    expect(added.out).toContain('declared: alpha/app → standby beta, every 30m, keeping 4 snapshots');
    const refused = await cli(['--config', hosts, 'standby', 'add', 'app', '--on', 'alpha', '--to', 'beta', '--every', 'often', '--no-check']);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/invalid interval "often"/);
    const listed = await cli(['--config', hosts, 'standby', 'list', '--json']);
    expect(JSON.parse(listed.out)).toEqual([{ host: 'alpha', stack: 'app', to: 'beta', every: '30m', intervalMs: 1_800_000, keep: 4 }]);
    const removed = await cli(['--config', hosts, 'standby', 'remove', 'app', '--on', 'alpha']);
    expect(removed.out).toContain('removed: alpha/app → standby beta');
    const missing = await cli(['--config', hosts, 'standby', 'remove', 'app', '--on', 'alpha']);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/"alpha\/app": is not declared; none is/);
    expect((await cli(['--config', hosts, 'standby', 'list'])).out).toMatch(/^no standby declared/);
  });
});

describe('where a standby by rsync keeps its copy', () => {
  const standby = { id: 'gamma', hostname: '127.0.0.13', user: 'u', port: 22, appdata_path: '/srv/appdata' } as unknown as HostConfig;

  it('under the standby appdata, in docker-mcp\'s own directory, by source host and stack, each path as a migration there lays it out', () => {
    const dir = standbyStagingDir(standby, 'alpha', 'paperless');
    expect(dir).toBe('/srv/appdata/.docker-mcp-standby/alpha/paperless');
    expect(stagedPathFor(standby, dir, '/srv/appdata/paperless/data')).toBe('/srv/appdata/.docker-mcp-standby/alpha/paperless/paperless/data');
  });

  it('refuses names that would leave that directory, a target path outside appdata, and a standby without appdata_path', () => {
    expect(() => standbyStagingDir(standby, '../x', 'paperless')).toThrow(InvalidInputError);
    expect(() => standbyStagingDir(standby, 'alpha', '../../etc')).toThrow(InvalidInputError);
    expect(() => stagedPathFor(standby, '/srv/appdata/.docker-mcp-standby/alpha/p', '/etc/passwd')).toThrow(InvalidInputError);
    expect(() => standbyStagingDir({ ...standby, appdata_path: undefined } as unknown as HostConfig, 'alpha', 'p')).toThrow(/appdata_path/);
  });
});
