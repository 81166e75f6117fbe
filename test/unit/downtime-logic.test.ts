import { describe, expect, it } from 'vitest';
import { stackSourceOf } from '../fixtures/stack-source.js';
import { InvalidInputError } from '../../src/errors.js';
import { phaseTimings } from '../../src/migration/execute.js';
import { folderDifference, remainingDifferences } from '../../src/migration/folder-sync.js';
import { planMigration, sha256 } from '../../src/migration/plan.js';
import { formatRate, parseBwlimit } from '../../src/transfer/bwlimit.js';
import type { Manifest, ManifestEntry } from '../../src/transfer/manifest.js';
import { rsyncArguments } from '../../src/transfer/rsync-transfer.js';
import type { HostConfig } from '../../src/config/schema.js';

const entry = (path: string, fields: Partial<ManifestEntry> = {}): ManifestEntry => ({
  path,
  type: 'f',
  mode: '644',
  uid: 0,
  gid: 0,
  size: 1,
  mtime: '1.0',
  linkTarget: '',
  hardLinkGroup: null,
  sparse: false,
  sha256: `hash-${path}`,
  xattrs: {},
  ...fields,
});
const manifest = (...entries: ManifestEntry[]): Manifest => ({ root: '/x', entries: new Map(entries.map((e) => [e.path, e])), totalBytes: 0, xattrsChecked: true });
const dir = (path: string, fields: Partial<ManifestEntry> = {}) => entry(path, { type: 'd', mode: '755', size: 0, sha256: null, ...fields });

describe('parseBwlimit', () => {
  it('reads bytes a second with the suffixes pv and rsync use (powers of 1024)', () => {
    expect(parseBwlimit('2M')).toBe(2 * 2 ** 20);
    expect(parseBwlimit('500K')).toBe(500 * 1024);
    expect(parseBwlimit('1G')).toBe(2 ** 30);
    expect(parseBwlimit('1.5m')).toBe(1.5 * 2 ** 20);
    expect(parseBwlimit('50MiB')).toBe(50 * 2 ** 20);
    expect(parseBwlimit('50MB/s')).toBe(50 * 2 ** 20);
    expect(parseBwlimit('4096')).toBe(4096);
  });

  it('refuses what is not a rate, or less than rsync can keep to, naming the parameter', () => {
    for (const bad of ['', 'fast', '5X', '-1M', '1M2', '0', '10', '1 M B', 'M']) {
      expect(() => parseBwlimit(bad), bad).toThrow(InvalidInputError);
    }
    expect(() => parseBwlimit('5X')).toThrow(/bwlimit "5X".*500K, 50M or 1G/);
    expect(() => parseBwlimit('100')).toThrow(/below 1K/);
  });

  it('prints a rate for people', () => {
    expect(formatRate(2 * 2 ** 20)).toBe('2 MiB/s');
    expect(formatRate(1536)).toBe('1.5 KiB/s');
  });

  it('is passed to rsync in KiB', () => {
    const host = { id: 'gamma', hostname: 'gamma', user: 'root', port: 22 } as HostConfig;
    expect(rsyncArguments('/a', host, '/b', undefined, 2 * 2 ** 20)).toContain('--bwlimit=2048');
    expect(rsyncArguments('/a', host, '/b').some((a) => a.startsWith('--bwlimit'))).toBe(false);
  });
});

describe('folderDifference', () => {
  it('is empty when the copy equals the source but for the rewritten files and the root mtime', () => {
    const source = manifest(dir('', { mtime: '5.0' }), entry('docker-compose.yml'), entry('notes'));
    const copy = manifest(dir('', { mtime: '9.0' }), entry('docker-compose.yml', { sha256: 'rewritten', mode: '600' }), entry('notes'));
    expect(folderDifference(source, copy, new Set(['docker-compose.yml']))).toEqual({ remove: [], send: [] });
  });

  it('sends what changed or appeared, removes what is gone, replaces a changed file rather than writing into it', () => {
    const source = manifest(dir(''), entry('changed', { sha256: 'new' }), dir('conf', { mtime: '2.0' }), entry('conf/new'), entry('same'));
    const copy = manifest(dir(''), entry('changed'), dir('conf'), dir('gone'), entry('gone/inside'), entry('same'));
    expect(folderDifference(source, copy, new Set())).toEqual({ remove: ['changed', 'gone'], send: ['changed', 'conf', 'conf/new'] });
  });

  it('removes an entry whose type changed before sending it again', () => {
    const source = manifest(dir(''), entry('x'));
    const copy = manifest(dir(''), dir('x'), entry('x/y'));
    expect(folderDifference(source, copy, new Set())).toEqual({ remove: ['x'], send: ['x'] });
  });

  it('checks the rewritten files against their rewritten text', () => {
    const source = manifest(dir(''), entry('docker-compose.yml'));
    const file = { name: 'docker-compose.yml', text: 'services: {}\n', changed: true };
    expect(remainingDifferences(source, manifest(dir(''), entry('docker-compose.yml', { sha256: sha256(file.text) })), [file])).toEqual([]);
    expect(remainingDifferences(source, manifest(dir(''), entry('docker-compose.yml')), [file])).toHaveLength(1);
  });
});

describe('the plan', () => {
  it('puts the stack folder and the images before the stop, the folder sync after the verification', () => {
    const host = (id: string): HostConfig => ({ id, hostname: id, user: 'root', port: 22, compose_path: `/srv/${id}/compose`, appdata_path: `/srv/${id}/appdata` }) as HostConfig;
    const plan = planMigration({
      id: 'm1',
      stack: 'app',
      source: host('alpha'),
      target: host('beta'),
      stackSource: stackSourceOf('/srv/alpha/compose/app', 'app', { web: { image: 'busybox', binds: ['/srv/alpha/appdata/app:/data'] } }),
    });
    expect([...new Set(plan.steps.map((s) => s.phase))]).toEqual(['preflight', 'seed', 'stack-folder', 'images', 'stop', 'final-sync', 'verify', 'folder-sync', 'start']);
  });
});

describe('phaseTimings', () => {
  it('times each phase of this run to the next one, the last to the end, and marks the outage from the stop', () => {
    const at = (s: number) => new Date(1_000_000 + s * 1000).toISOString();
    const phases = [
      { phase: 'preflight', state: 'started' as const, at: at(0), detail: null },
      { phase: 'stack-folder', state: 'started' as const, at: at(1), detail: null },
      { phase: 'stop', state: 'started' as const, at: at(1.5), detail: null },
      { phase: 'start', state: 'started' as const, at: at(2), detail: null },
    ];
    expect(phaseTimings(phases, 1_000_000, 1_000_000 + 3000)).toEqual([
      { phase: 'preflight', seconds: 1, inDowntime: false },
      { phase: 'stack-folder', seconds: 0.5, inDowntime: false },
      { phase: 'stop', seconds: 0.5, inDowntime: true },
      { phase: 'start', seconds: 1, inDowntime: true },
    ]);
  });
});
