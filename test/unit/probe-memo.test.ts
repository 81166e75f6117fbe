import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { composeFound } from '../../src/host/capabilities.js';
import { forgetProbe, keepProbe, PROBE_MEMO_MS, recallProbe } from '../../src/host/probe-memo.js';
import { NO_ZFS_FEATURES, zfsFeaturesFound } from '../../src/host/zfs-features.js';

const host = { id: 'nas', hostname: 'nas.lan', user: 'root', port: 22 };

describe('probe findings remembered across processes', () => {
  it('are found again while fresh, for the same login only, and not after PROBE_MEMO_MS', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'probe-memo-'));
    expect(await recallProbe(host, 'compose', composeFound, dir)).toBeNull();
    await keepProbe(host, 'compose', { flavour: 'v1', version: '1.29.2' }, dir, 1_000);
    expect(await recallProbe(host, 'compose', composeFound, dir, 1_000 + PROBE_MEMO_MS - 1)).toEqual({ flavour: 'v1', version: '1.29.2', command: ['docker-compose'] });
    expect(await recallProbe(host, 'compose', composeFound, dir, 1_000 + PROBE_MEMO_MS)).toBeNull();
    expect(await recallProbe(host, 'compose', composeFound, dir, 999)).toBeNull();
    expect(await recallProbe({ ...host, hostname: 'other.lan' }, 'compose', composeFound, dir, 1_000)).toBeNull();
    expect(await recallProbe({ ...host, port: 2222 }, 'compose', composeFound, dir, 1_000)).toBeNull();
    expect(await recallProbe(host, 'zfs-features', zfsFeaturesFound, dir, 1_000)).toBeNull();
    await forgetProbe(host, 'compose', dir);
    expect(await recallProbe(host, 'compose', composeFound, dir, 1_000)).toBeNull();
    await forgetProbe(host, 'compose', dir);
  });

  it('go through their probe’s check: the compose command is rebuilt from the flavour, anything else is probed afresh', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'probe-memo-'));
    const file = path.join(dir, 'hosts', 'nas.compose.json');
    await keepProbe(host, 'compose', { flavour: 'v2', version: '2.29.1' }, dir, 5_000);
    const written = JSON.parse(await readFile(file, 'utf8')) as { found: Record<string, unknown> };
    await writeFile(file, JSON.stringify({ ...written, found: { ...written.found, command: ['sh', '-c', 'evil'] } }));
    expect((await recallProbe(host, 'compose', composeFound, dir, 5_000))?.command).toEqual(['docker', 'compose']);
    for (const found of [{ flavour: 'v3', version: '2.0' }, { flavour: 'v2', version: '2; rm -rf /' }, 'v2', null]) {
      await writeFile(file, JSON.stringify({ ...written, found }));
      expect(await recallProbe(host, 'compose', composeFound, dir, 5_000)).toBeNull();
    }
    await writeFile(file, 'not json');
    expect(await recallProbe(host, 'compose', composeFound, dir, 5_000)).toBeNull();
  });

  it('keep zfs features only as the exact set of known flags', () => {
    const all = Object.fromEntries(Object.keys(NO_ZFS_FEATURES).map((key) => [key, true]));
    expect(zfsFeaturesFound(all)).toEqual(all);
    expect(zfsFeaturesFound({ ...all, extra: true })).toBeNull();
    expect(zfsFeaturesFound({ ...all, rawSend: 'yes' })).toBeNull();
    const { rawSend: _dropped, ...missing } = all;
    expect(zfsFeaturesFound(missing)).toBeNull();
  });
});
