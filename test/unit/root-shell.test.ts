/**
 * The root shell's loop (src/ssh/root-shell.ts), run here with this
 * machine's perl instead of through ssh and sudo: what a command gets and
 * what comes back must be what `sudo -n -- sh -c` over its own session gave.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT_SHELL_SCRIPT, RootShell } from '../../src/ssh/root-shell.js';

let shell: RootShell | undefined;
afterEach(() => shell?.kill());

async function started(): Promise<RootShell> {
  shell = new RootShell(() => ['perl', ['-e', ROOT_SHELL_SCRIPT]]);
  expect(await shell.start(10_000)).toBe(true);
  return shell;
}

describe('root shell', () => {
  it('runs commands one after another on one loop: exit code, stdout and stderr apart', async () => {
    const loop = await started();
    expect(await loop.run('echo out; echo err >&2; exit 3', Buffer.alloc(0), 10_000)).toEqual({ exitCode: 3, stdout: Buffer.from('out\n'), stderr: 'err\n', timedOut: false });
    const second = await loop.run("printf '%s' \"$0\"", Buffer.alloc(0), 10_000);
    expect(second.stdout.toString()).toBe('sh');
  });

  it('gives a command its input and then end-of-file, and /dev/null without one', async () => {
    const loop = await started();
    const input = Buffer.alloc(300_000, 'x');
    expect((await loop.run('wc -c', input, 10_000)).stdout.toString().trim()).toBe('300000');
    expect((await loop.run('cat', Buffer.alloc(0), 10_000)).stdout.length).toBe(0);
    // One that reads none of it is not held up by it.
    expect((await loop.run('echo done', input, 10_000)).stdout.toString()).toBe('done\n');
  });

  it('keeps bytes as they are, newlines and NULs included, and long output whole', async () => {
    const loop = await started();
    const bytes = await loop.run("printf 'a\\000b\\n\\n'; head -c 500000 /dev/zero", Buffer.alloc(0), 10_000);
    expect(bytes.stdout.subarray(0, 5)).toEqual(Buffer.from('a\0b\n\n'));
    expect(bytes.stdout.length).toBe(500_005);
  });

  it('ends a command that outlives its timeout, with the processes it started, and goes on', async () => {
    const loop = await started();
    const answer = await loop.run('sleep 30 & sleep 30; echo never', Buffer.alloc(0), 1_000);
    expect(answer.timedOut).toBe(true);
    expect((await loop.run('echo next', Buffer.alloc(0), 10_000)).stdout.toString()).toBe('next\n');
  });

  it('a command that is killed by a signal answers 128 plus its number; a default SIGPIPE is kept', async () => {
    const loop = await started();
    expect((await loop.run('kill -9 $$', Buffer.alloc(0), 10_000)).exitCode).toBe(137);
    // yes dies of SIGPIPE once head has read its line, so the pipeline ends.
    expect((await loop.run('yes | head -n 1', Buffer.alloc(0), 10_000)).stdout.toString()).toBe('y\n');
  });

  it('is taken by one command at a time: the next waits its turn, or gives up after its wait', async () => {
    const loop = await started();
    expect(await loop.acquire(0)).toBe(true);
    const next = loop.acquire(5_000);
    expect(await loop.acquire(50)).toBe(false);
    loop.release();
    expect(await next).toBe(true);
    loop.release();
    expect(await loop.acquire(0)).toBe(true);
  });

  it('says so when it cannot start, and when its session ends under a command', async () => {
    const refused = new RootShell(() => ['sh', ['-c', 'echo "sudo: a password is required" >&2; exit 1']]);
    expect(await refused.start(10_000)).toBe(false);
    const loop = await started();
    await expect(loop.run('kill -9 $PPID; sleep 5', Buffer.alloc(0), 10_000)).rejects.toThrow(/ended/);
    expect(loop.alive).toBe(false);
  });
});
