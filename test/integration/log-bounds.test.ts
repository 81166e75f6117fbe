/**
 * One logs call holds a bounded amount of output, however much the container
 * wrote: on alpha, a container and a stack that each print 50 MiB in lines of 8 KiB, read back
 * through the engine as the MCP tools and the CLI do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerLogs } from '../../src/docker/containers.js';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { MAX_LOG_BYTES } from '../../src/docker/log-output.js';
import { deployStack, stackAction } from '../../src/docker/stacks.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { cleanUpPrefix } from './stack-fixture.js';
import { testbedHost } from './testbed.js';

const prefix = `secb${process.pid}`;
const chatty = `${prefix}-chatty`;
const quiet = `${prefix}-quiet`;
const stack = `${prefix}-stack`;
let alpha: DockerHost;

// 6400 lines of 8 KiB (under docker's 16 KiB, so each is one log entry that --tail counts), then a
// marker: the end of the log is what must survive the cut.
const LINE = 8191;
const script = `line=$(head -c ${LINE} /dev/zero | tr "\\0" x); i=0; while [ $i -lt 6400 ]; do echo "$line"; i=$((i+1)); done; echo last-line-marker; exec sleep 3600`;

async function waitForMarker(read: () => Promise<string>): Promise<void> {
  for (let attempt = 0; attempt < 120; attempt++) {
    if ((await read()).includes('last-line-marker')) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error('the chatty container never printed its marker');
}

beforeAll(async () => {
  const host = await testbedHost('alpha');
  alpha = { host, transport: new SshTransport(host) };
  await cleanUpPrefix(alpha, 'alpha', prefix);
  await alpha.transport.exec(command(['docker', 'run', '-d', '--init', '--name', chatty, '--network', 'none', 'local/busybox:test', 'sh', '-c', script]));
  await alpha.transport.exec(command(['docker', 'run', '-d', '--init', '--name', quiet, '--network', 'none', 'local/busybox:test', 'sh', '-c', 'echo hello-quiet; exec sleep 3600']));
  const compose = `services:\n  talk:\n    image: local/busybox:test\n    command: ["sh", "-c", ${JSON.stringify(script.replaceAll('$', '$$$$'))}]\n    network_mode: none\n    init: true\n`;
  await deployStack(alpha, stack, compose);
  await waitForMarker(async () => (await alpha.transport.exec(command(['docker', 'logs', '--tail', '1', chatty]))).stdout);
  await waitForMarker(async () => (await alpha.transport.exec(command(['sh', '-c', 'docker logs --tail 1 "$(docker ps -q --filter label=com.docker.compose.project="$1")" 2>&1', 'sh', stack]))).stdout);
}, 180_000);

afterAll(async () => {
  await stackAction(alpha, stack, 'down').catch(() => undefined);
  await cleanUpPrefix(alpha, 'alpha', prefix);
  await alpha.transport.close();
});

describe('logs of a container that printed 50 MiB', () => {
  it('the MCP call (lines: 10000, the most it allows) returns at most the bound, the newest lines, and says it was cut', async () => {
    const result = await containerLogs(alpha, chatty, { tail: 10_000 });
    expect(Buffer.byteLength(result.logs)).toBeLessThanOrEqual(MAX_LOG_BYTES);
    expect(Buffer.byteLength(result.logs)).toBeGreaterThan(MAX_LOG_BYTES - 2 * 1024 * 1024);
    expect(result.truncated).toBe(true);
    expect(result.note).toMatch(/only the last 4 MiB/);
    expect(result.logs.endsWith('last-line-marker\n')).toBe(true);
    // Cut at a line start: every line kept is whole.
    expect(result.logs.split('\n').slice(0, -2).every((line) => line.length === LINE)).toBe(true);
  });

  it('the whole log (the CLI without --tail) is bounded the same way', async () => {
    const result = await containerLogs(alpha, chatty);
    expect(Buffer.byteLength(result.logs)).toBeLessThanOrEqual(MAX_LOG_BYTES);
    expect(result.truncated).toBe(true);
  });

  it('a small log comes back whole, not marked as cut', async () => {
    const result = await containerLogs(alpha, quiet, { tail: 10 });
    expect(result).toEqual({ logs: 'hello-quiet\n', truncated: false });
  });
});

describe('logs of a compose stack that printed 50 MiB', () => {
  it('returns at most the bound and says it was cut', async () => {
    const result = await stackAction(alpha, stack, 'logs', { tail: 10_000 });
    expect(Buffer.byteLength(result.output)).toBeLessThanOrEqual(MAX_LOG_BYTES);
    expect(result.truncated).toBe(true);
    expect(result.note).toMatch(/only the last 4 MiB/);
    expect(result.output).toMatch(/last-line-marker\n$/);
  });
});
