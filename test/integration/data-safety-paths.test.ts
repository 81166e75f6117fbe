/**
 * rsync into a target path that is a symbolic link (gamma, the host without
 * ZFS): rsync would follow it and --delete would empty the linked directory.
 * Refused in pre-flight, and again by the transfer itself right before rsync
 * runs (a link made after pre-flight).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackSourceOf } from '../fixtures/stack-source.js';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { planMigration } from '../../src/migration/plan.js';
import { preflight } from '../../src/migration/preflight.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { transferServices } from '../../src/transfer/transfer-services.js';
import { testbedHost } from './testbed.js';

const prefix = `h11a-p${process.pid}`;
const hosts = {} as Record<'alpha' | 'gamma', DockerHost>;
const sh = (id: 'alpha' | 'gamma', script: string, ...args: string[]) => hosts[id].transport.exec(command(['sh', '-c', script, 'sh', ...args]));
const source = `/srv/alpha/appdata/${prefix}-app`;
const target = `/srv/gamma/appdata/${prefix}-app`;
const outside = `/tmp/${prefix}-outside`;

beforeAll(async () => {
  for (const id of ['alpha', 'gamma'] as const) {
    const host = await testbedHost(id);
    hosts[id] = { host, transport: new SshTransport(host) };
  }
  await sh('alpha', 'mkdir -p "$1" && echo new > "$1/file"', source);
  // The target's data path links out of appdata, to a directory holding someone's file.
  await sh('gamma', 'mkdir -p "$1" && echo keep > "$1/canary" && ln -sfn "$1" "$2"', outside, target);
});

afterAll(async () => {
  await sh('alpha', 'rm -rf "$1"', source);
  await sh('gamma', 'rm -rf "$1" "$2"', target, outside);
  for (const host of Object.values(hosts)) await host.transport.close();
});

describe('an rsync target path that is a symbolic link out of appdata', () => {
  it('is refused by pre-flight, naming where it leads', async () => {
    const stackSource = stackSourceOf(`/srv/alpha/compose/${prefix}-x`, `${prefix}-x`, { app: { binds: [`${source}:/data`] } });
    const plan = planMigration({ id: `${prefix}-x`, stack: `${prefix}-x`, source: hosts.alpha.host, target: hosts.gamma.host, stackSource });
    expect(plan.dataPaths).toMatchObject([{ targetPath: target, method: 'rsync' }]);
    await expect(preflight(plan, hosts.alpha, hosts.gamma)).rejects.toThrow(new RegExp(`gamma:${target} resolves to ${outside}, outside appdata_path`));
    expect((await sh('gamma', 'ls "$1"', outside)).stdout).toBe('canary\n');
  });

  it('is refused by the transfer itself before rsync runs, and the linked directory keeps its files', async () => {
    const summary = await transferServices({ source: hosts.alpha, target: hosts.gamma, services: [{ service: 'app', sourcePath: source, targetPath: target }], method: 'rsync' });
    expect(summary.results[0]).toMatchObject({ ok: false, method: 'rsync', error: { message: expect.stringMatching(new RegExp(`gamma:${target} resolves to ${outside}`)) } });
    expect((await sh('gamma', 'ls "$1"', outside)).stdout).toBe('canary\n');
  });
});
