import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/config/schema.js';
import {
  AuthenticationFailedError,
  CommandFailedError,
  CommandTimeoutError,
  HostKeyMismatchError,
  HostUnreachableError,
} from '../../src/ssh/errors.js';
import { DEFAULT_SSH_OPTIONS } from '../../src/ssh/options.js';
import { command, pipeline } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { testbedHost } from './testbed.js';

const anyArgument = fc.string({ unit: 'binary', maxLength: 120 }).filter((s) => !s.includes('\0') && s.isWellFormed());

let alpha: HostConfig;
let transport: SshTransport;

beforeAll(async () => {
  alpha = await testbedHost('alpha');
  transport = new SshTransport(alpha);
});

afterAll(async () => {
  await transport.close();
});

describe('quoting through the real remote shell', () => {
  it('brings any argument list back byte for byte', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyArgument, { minLength: 1, maxLength: 6 }), async (args) => {
        const result = await transport.execBytes(command(['printf', '%s\\0', ...args]));
        const echoed = result.stdout.toString('utf8').split('\0');
        echoed.pop();
        expect(echoed).toEqual(args);
        expect(Buffer.concat(args.map((a) => Buffer.concat([Buffer.from(a, 'utf8'), Buffer.from([0])])))).toEqual(result.stdout);
      }),
      { numRuns: 200 },
    );
  });

  it('never runs text hidden in an argument', async () => {
    const canary = `/tmp/docker-mcp-canary-${process.pid}`;
    const hostile = [`$(touch ${canary})`, `\`touch ${canary}\``, `; touch ${canary}`, `' ; touch ${canary}; '`, `\n touch ${canary}`];
    const result = await transport.exec(command(['printf', '%s\\n', ...hostile]));
    expect(result.stdout).toBe(hostile.map((h) => `${h}\n`).join(''));
    const check = await transport.exec(command(['test', '-e', canary]), { okExitCodes: [0, 1] });
    expect(check.exitCode).toBe(1);
  });
});

describe('exec', () => {
  it('runs on the host it names, whose docker is its own engine', async () => {
    const result = await transport.exec(command(['sh', '-c', 'echo "$DOCKER_HOST"']));
    expect(result.stdout.trim()).toMatch(/alpha/);
  });

  it('feeds stdin and pipes between commands', async () => {
    const result = await transport.exec(pipeline(command(['cat']), command(['wc', '-c'])), { input: 'x'.repeat(1000) });
    expect(result.stdout.trim()).toBe('1000');
  });

  it('reports a failed command with its command line, exit code and stderr', async () => {
    const failing = command(['sh', '-c', 'echo boom >&2; exit 7']);
    const error = await transport.exec(failing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandFailedError);
    expect(error).toMatchObject({ hostId: 'alpha', exitCode: 7, command: failing.text });
    expect((error as CommandFailedError).stderr).toContain('boom');
  });

  it('treats exit 255 of the remote command as the command failing, not ssh', async () => {
    const error = await transport.exec(command(['sh', '-c', 'exit 255'])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandFailedError);
  });

  it('accepts exit codes the caller says are answers', async () => {
    const result = await transport.exec(command(['test', '-e', '/nonexistent']), { okExitCodes: [1] });
    expect(result.exitCode).toBe(1);
  });

  it('stops a command that runs past its timeout', async () => {
    const started = Date.now();
    const error = await transport.exec(command(['sleep', '30']), { timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('runs many commands at once over the one connection', async () => {
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => transport.exec(command(['echo', String(i)]))));
    expect(results.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
  });
});

describe('reads that join one already running', () => {
  it('asks once while the same read runs, and again once it has ended; other commands and writes are never joined', async () => {
    const counter = `/tmp/docker-mcp-join-${process.pid}`;
    // Counts its own runs in a file: a stand-in for a read, whose runs could not be told apart.
    const read = command(['sh', '-c', 'echo run >> "$1"; sleep 1; wc -l < "$1"', 'sh', counter]);
    const joined = await Promise.all([transport.exec(read, { joinInFlight: true }), transport.exec(read, { joinInFlight: true })]);
    expect(joined.map((r) => r.stdout.trim())).toEqual(['1', '1']);
    const later = await transport.exec(read, { joinInFlight: true });
    expect(later.stdout.trim()).toBe('2');
    const separate = await Promise.all([transport.exec(read), transport.exec(read, { joinInFlight: true })]);
    expect(separate.map((r) => r.stdout.trim()).sort()).toEqual(['4', '4']);
    const withInput = await Promise.all([transport.exec(read, { joinInFlight: true, input: 'a' }), transport.exec(read, { joinInFlight: true, input: 'a' })]);
    expect(withInput.map((r) => r.stdout.trim())).toEqual(['6', '6']);
    await transport.exec(command(['rm', '-f', counter]));
  });
});

describe('master connections of several processes', () => {
  it("closing this process's connection leaves another process's command running (an MCP server and a CLI at once)", async () => {
    const transportModule = fileURLToPath(new URL('../../src/ssh/transport.ts', import.meta.url));
    const quoteModule = fileURLToPath(new URL('../../src/ssh/quote.ts', import.meta.url));
    const marker = `/tmp/docker-mcp-mux-test-${process.pid}`;
    const script = [
      `import { SshTransport } from ${JSON.stringify(transportModule)};`,
      `import { command } from ${JSON.stringify(quoteModule)};`,
      'const transport = new SshTransport(JSON.parse(process.env.HOST));',
      "const result = await transport.exec(command(['sh', '-c', 'touch \"$1\"; sleep 4; rm -f \"$1\"; echo survived', 'sh', process.env.MARKER]));",
      'process.stdout.write(result.stdout);',
      'await transport.close();',
    ].join('\n');
    const other = execa('node', ['--import', 'tsx', '--input-type=module', '-e', script], { env: { HOST: JSON.stringify(alpha), MARKER: marker }, reject: false, timeout: 60_000 });
    // Once the other process's command runs on alpha, this one connects, runs a command and closes.
    const mine = new SshTransport(alpha);
    const started = Date.now();
    while ((await mine.exec(command(['test', '-e', marker]), { okExitCodes: [0, 1] })).exitCode !== 0) {
      if (Date.now() - started > 30_000) throw new Error('the other process never started its command');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await mine.close();
    const result = await other;
    expect([result.exitCode, result.stdout.trim()]).toEqual([0, 'survived']);
  });
});

describe('stream', () => {
  it('streams stdout and stdin both ways for pipes', async () => {
    const remote = await transport.stream(command(['sh', '-c', 'cat | wc -c']), { stdin: 'pipe' });
    const chunks: Buffer[] = [];
    remote.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    remote.stderr.resume();
    const payload = Buffer.alloc(5 * 1024 * 1024, 7);
    remote.stdin?.end(payload);
    await remote.done;
    expect(Buffer.concat(chunks).toString().trim()).toBe(String(payload.length));
  });

  it('rejects with a typed error when the streamed command fails', async () => {
    const remote = await transport.stream(command(['sh', '-c', 'echo partial; echo broken >&2; exit 3']));
    remote.stdout.resume();
    await expect(remote.done).rejects.toMatchObject({ exitCode: 3, stderr: expect.stringContaining('broken') });
  });

  it('ends the remote command, every process of its pipeline, when it is cancelled (sshd itself would let it run on)', async () => {
    const marker = String(70_000 + Math.floor(Math.random() * 20_000));
    const running = () => transport.exec(command(['pgrep', '-f', `^sleep ${marker}$`]), { okExitCodes: [0, 1] });
    const cancel = new AbortController();
    const remote = await transport.stream(command(['sh', '-c', `sleep ${marker} | cat; echo ended`]), { signal: cancel.signal });
    remote.stdout.resume();
    remote.stderr.resume();
    expect(remote.stdin).toBeNull();
    await waitUntil(async () => (await running()).exitCode === 0);
    cancel.abort();
    await expect(remote.done).rejects.toThrow();
    await waitUntil(async () => (await running()).exitCode === 1);
  });

  it('keeps a command that reads no input running until it ends by itself, with its exit code and output', async () => {
    const remote = await transport.stream(command(['sh', '-c', 'sleep 2; echo out; echo err >&2; exit 4']));
    const chunks: Buffer[] = [];
    remote.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    await expect(remote.done).rejects.toMatchObject({ exitCode: 4, stderr: 'err\n' });
    expect(Buffer.concat(chunks).toString()).toBe('out\n');
  });
});

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('typed connection failures', () => {
  const options = { ...DEFAULT_SSH_OPTIONS, multiplex: false, connectTimeoutSeconds: 3 };

  it('says unreachable when nothing listens', async () => {
    const nowhere = new SshTransport({ ...alpha, id: 'nowhere', hostname: '127.0.0.99' }, options);
    await expect(nowhere.exec(command(['true']))).rejects.toBeInstanceOf(HostUnreachableError);
  });

  it('says authentication failed for a key the host does not know', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-key-'));
    const key = path.join(dir, 'stranger');
    await new SshTransport(alpha).exec(command(['true']));
    const { execFileSync } = await import('node:child_process');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const stranger = new SshTransport({ ...alpha, id: 'stranger', identity_file: key }, options);
    await expect(stranger.exec(command(['true']))).rejects.toBeInstanceOf(AuthenticationFailedError);
  });

  it('says the host key changed when known_hosts holds another key', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-kh-'));
    const knownHosts = path.join(dir, 'known_hosts');
    const genuine = readFileSync(alpha.known_hosts_file as string, 'utf8');
    const line = genuine.split('\n').find((l) => l.startsWith(alpha.hostname));
    expect(line).toBeDefined();
    // Same host, another key: a man in the middle, as far as ssh can tell.
    const other = genuine.split('\n').find((l) => l.length > 0 && !l.startsWith(alpha.hostname)) as string;
    writeFileSync(knownHosts, `${alpha.hostname} ${other.split(' ').slice(1).join(' ')}\n`);
    const spoofed = new SshTransport({ ...alpha, id: 'spoofed', known_hosts_file: knownHosts }, options);
    const error = await spoofed.exec(command(['true'])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    expect((error as HostKeyMismatchError).reason).toBe('changed');
  });

  it('says the host key is unknown when known_hosts lacks the host', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-kh-'));
    const knownHosts = path.join(dir, 'known_hosts');
    writeFileSync(knownHosts, '');
    const unknown = new SshTransport({ ...alpha, id: 'unknown', known_hosts_file: knownHosts }, options);
    const error = await unknown.exec(command(['true'])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    expect((error as HostKeyMismatchError).reason).toBe('unknown');
  });
});
