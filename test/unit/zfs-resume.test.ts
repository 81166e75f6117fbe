/**
 * The resumable-receive branch needs OpenZFS (`receive -s`, `send -t`), which
 * the testbed's zfs-fuse lacks; so these hosts are fakes that answer like
 * OpenZFS 2.1 would (its real usage text is in test/fixtures).
 */
import { readFileSync } from 'node:fs';
import { PassThrough, Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CommandFailedError } from '../../src/ssh/errors.js';
import type { ShellCommand } from '../../src/ssh/quote.js';
import type { ExecResult, RemoteStream, SshTransport } from '../../src/ssh/transport.js';
import { transferDatasetByZfs } from '../../src/transfer/zfs-transfer.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';

const OPENZFS_USAGE = readFileSync(new URL('../fixtures/openzfs-2.1-zfs-usage.txt', import.meta.url), 'utf8');
const GUID = '12345678901234567890';

class FakeOpenZfsHost {
  readonly commands: string[] = [];
  streamsStarted = 0;

  constructor(
    readonly hostId: string,
    private readonly answer: (text: string) => { stdout?: string; stderr?: string; exitCode?: number },
    private readonly openStream: (text: string, attempt: number) => RemoteStream,
  ) {}

  async exec(cmd: ShellCommand): Promise<ExecResult> {
    this.commands.push(cmd.text);
    const { stdout = '', stderr = '', exitCode = 0 } = this.answer(cmd.text);
    return { command: cmd.text, exitCode, stdout, stderr, durationMs: 0 };
  }

  async stream(cmd: ShellCommand): Promise<RemoteStream> {
    this.commands.push(cmd.text);
    this.streamsStarted += 1;
    return this.openStream(cmd.text, this.streamsStarted);
  }
}

const listing = (dataset: string, snapshots: boolean) =>
  [
    `${dataset}\ttype\tfilesystem`,
    `${dataset}\tmountpoint\t/mnt/${dataset}`,
    `${dataset}\tmounted\tyes`,
    `${dataset}\tdocker-mcp:managed\tyes`,
    ...(snapshots ? [`${dataset}@docker-mcp-t\ttype\tsnapshot`, `${dataset}@docker-mcp-t\tguid\t${GUID}`, `${dataset}@docker-mcp-t\tcreatetxg\t9`, `${dataset}@docker-mcp-t\treferenced\t4096`] : []),
  ].join('\n');

const sendStream = (): RemoteStream => ({
  stdin: null,
  stdout: Readable.from([Buffer.alloc(4096, 1)]),
  stderr: Readable.from([]),
  done: Promise.resolve({ command: 'send', exitCode: 0, stdout: undefined, stderr: '', durationMs: 0 }),
  kill: () => {},
});

/** A receive that reads its input, then fails (first attempt) or succeeds. */
const receiveStream = (fail: boolean): RemoteStream => {
  let finish!: (failed: boolean) => void;
  const finished = new Promise<boolean>((resolve) => (finish = resolve));
  const stdin = new Writable({ write: (_chunk, _encoding, callback) => callback(), final: (callback) => { finish(fail); callback(); } });
  return {
    stdin,
    stdout: new PassThrough().end(),
    stderr: Readable.from([]),
    done: finished.then((failed) => {
      if (failed) throw new CommandFailedError('target', 'zfs receive -s', 1, 'connection reset');
      return { command: 'receive', exitCode: 0, stdout: undefined, stderr: '', durationMs: 0 };
    }),
    kill: () => finish(true),
  };
};

describe('transferDatasetByZfs on OpenZFS hosts (faked: the testbed has zfs-fuse)', () => {
  it('receives resumably and, when the stream breaks, resumes from the target token', async () => {
    let received = false;
    const noTools = (text: string) => text.startsWith('sh -c') && text.includes('command -v');
    const source = new FakeOpenZfsHost('source', (text) => {
      if (noTools(text)) return { stdout: '' };
      if (text.startsWith('zfs get')) return { stdout: listing('tank/app', true) };
      if (text === 'zfs 2>&1') return { stdout: OPENZFS_USAGE, exitCode: 2 };
      if (text.startsWith('zfs send -n -v -P')) return { stdout: `full\ttank/app@docker-mcp-t\t4096\nsize\t4096\n` };
      throw new Error(`unexpected source command ${text}`);
    }, () => sendStream());
    const target = new FakeOpenZfsHost('target', (text) => {
      if (noTools(text)) return { stdout: '' };
      if (text === 'zfs 2>&1') return { stdout: OPENZFS_USAGE, exitCode: 2 };
      if (text.startsWith('zfs get -H -p -o property,value receive_resume_token')) return { stdout: 'receive_resume_token\t1-c0ffee-40\n' };
      if (text.startsWith('zfs get')) return received ? { stdout: listing('pool/app', true) } : { stderr: "cannot open 'pool/app': dataset does not exist", exitCode: 1 };
      if (text.startsWith('zfs set')) return { stdout: listing('pool/app', true) };
      throw new Error(`unexpected target command ${text}`);
    }, (_text, attempt) => {
      if (attempt === 2) received = true;
      return receiveStream(attempt === 1);
    });

    const outcome = await transferDatasetByZfs({
      service: 'app',
      source: new ZfsHost(source as unknown as SshTransport),
      sourceDataset: 'tank/app',
      target: new ZfsHost(target as unknown as SshTransport),
      targetDataset: 'pool/app',
      snapshotName: 'docker-mcp-t',
    });

    expect(outcome).toMatchObject({ mode: 'full', resumed: true, estimatedBytes: 4096 });
    expect(source.commands.filter((c) => c.startsWith('zfs send') && !c.includes(' -n '))).toEqual(['zfs send -L -e -c tank/app@docker-mcp-t', 'zfs send -t 1-c0ffee-40']);
    expect(target.commands.filter((c) => c.includes('zfs receive')).every((c) => c.includes('zfs receive -s -u pool/app'))).toBe(true);
  });
});
