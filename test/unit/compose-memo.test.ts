import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/config/schema.js';
import { COMPOSE_MEMO_MS, rememberCompose, rememberedCompose } from '../../src/host/compose-memo.js';

const host = { id: 'nas', hostname: 'nas.lan', user: 'root', port: 22 } as HostConfig;

describe('the compose flavour remembered across processes', () => {
  it('is found again while fresh, for the same login only, and not after COMPOSE_MEMO_MS', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'compose-memo-'));
    expect(await rememberedCompose(host, dir)).toBeNull();
    await rememberCompose(host, { flavour: 'v1', version: '1.29.2', command: ['docker-compose'] }, dir, 1_000);
    expect(await rememberedCompose(host, dir, 1_000 + COMPOSE_MEMO_MS - 1)).toEqual({ flavour: 'v1', version: '1.29.2', command: ['docker-compose'] });
    expect(await rememberedCompose(host, dir, 1_000 + COMPOSE_MEMO_MS)).toBeNull();
    expect(await rememberedCompose(host, dir, 999)).toBeNull();
    expect(await rememberedCompose({ ...host, hostname: 'other.lan' }, dir, 1_000)).toBeNull();
    expect(await rememberedCompose({ ...host, port: 2222 }, dir, 1_000)).toBeNull();
  });

  it('rebuilds the command from the flavour and ignores a file it did not write', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'compose-memo-'));
    await rememberCompose(host, { flavour: 'v2', version: '2.29.1', command: ['docker', 'compose'] }, dir, 5_000);
    const file = path.join(dir, 'hosts', 'nas.compose.json');
    const written = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(written).not.toHaveProperty('command');
    await writeFile(file, JSON.stringify({ ...written, command: ['sh', '-c', 'evil'] }));
    expect((await rememberedCompose(host, dir, 5_000))?.command).toEqual(['docker', 'compose']);
    await writeFile(file, JSON.stringify({ ...written, flavour: 'v3' }));
    expect(await rememberedCompose(host, dir, 5_000)).toBeNull();
    await writeFile(file, 'not json');
    expect(await rememberedCompose(host, dir, 5_000)).toBeNull();
  });
});
