import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerSummary } from '../../src/docker/inspect.js';
import type { HostRow } from '../../src/host/fan-out.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { runCli } from './cli.js';
import { TESTBED_HOST_IDS, testbedHost } from './testbed.js';

const name = `t3c${process.pid}`;
let beta: SshTransport;

beforeAll(async () => {
  beta = new SshTransport(await testbedHost('beta'));
  await beta.exec(command(['docker', 'run', '-d', '--init', '--name', name, '--network', 'none', 'local/busybox:test', 'sh', '-c', 'echo hello-from-beta; exec sleep 3600']));
});

afterAll(async () => {
  await beta.exec(command(['docker', 'rm', '-f', name]), { okExitCodes: [0, 1] });
  await beta.close();
});

const listOn = async (host: string) => {
  const rows = JSON.parse((await runCli(['containers', 'list', '--json'])).stdout) as HostRow<ContainerSummary[]>[];
  const row = rows.find((r) => r.hostId === host);
  return row?.ok ? row.value : [];
};

describe('docker-mcp containers', () => {
  it('lists containers of every host in one call, each on its own host', async () => {
    const rows = JSON.parse((await runCli(['containers', 'list', '--json'])).stdout) as HostRow<ContainerSummary[]>[];
    expect(rows.map((r) => [r.hostId, r.ok])).toEqual(TESTBED_HOST_IDS.map((id) => [id, true]));
    expect((await listOn('beta')).find((c) => c.name === name)).toMatchObject({ state: 'running', image: 'local/busybox:test', stack: null });
    expect((await listOn('alpha')).some((c) => c.name === name)).toBe(false);
  });

  it('stops, lists the stopped one, starts and restarts it', async () => {
    const stopped = await runCli(['containers', 'stop', 'beta', name, '--json']);
    expect(JSON.parse(stopped.stdout)).toMatchObject({ name, state: 'exited' });
    expect((await listOn('beta')).find((c) => c.name === name)?.state).toBe('exited');
    const running = JSON.parse((await runCli(['containers', 'list', 'beta', '--running', '--json'])).stdout) as HostRow<ContainerSummary[]>[];
    expect(running[0]?.ok && running[0].value.some((c) => c.name === name)).toBe(false);
    expect(JSON.parse((await runCli(['containers', 'start', 'beta', name, '--json'])).stdout)).toMatchObject({ state: 'running' });
    expect(JSON.parse((await runCli(['containers', 'restart', 'beta', name, '--json'])).stdout)).toMatchObject({ state: 'running' });
  });

  it('inspect prints docker\'s record; logs prints its output', async () => {
    const inspected = JSON.parse((await runCli(['containers', 'inspect', 'beta', name])).stdout) as { Name: string };
    expect(inspected.Name).toBe(`/${name}`);
    const logs = await runCli(['containers', 'logs', 'beta', name, '--tail', '10']);
    expect(logs.stdout).toContain('hello-from-beta');
  });

  it('rm without --yes is refused and removes nothing; an unknown container is bad input', async () => {
    const refused = await runCli(['containers', 'rm', 'beta', name]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/--yes/);
    expect((await listOn('beta')).some((c) => c.name === name)).toBe(true);
    const unknown = await runCli(['containers', 'stop', 'beta', 'no-such-container']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('no container "no-such-container" on beta');
  });

  it('rm --yes --force removes it', async () => {
    const removed = await runCli(['containers', 'rm', 'beta', name, '--yes', '--force', '--json']);
    expect(JSON.parse(removed.stdout)).toEqual({ removed: name });
    expect((await listOn('beta')).some((c) => c.name === name)).toBe(false);
  });
});
