/**
 * Run commands on one host over SSH: captured (`exec`) or streamed (`stream`,
 * for pipes such as `zfs send`). One multiplexed master connection per host
 * makes a command cost a round trip, not a handshake.
 */
import { execa } from 'execa';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Readable, Writable } from 'node:stream';
import { log } from '../log.js';
import { logCommand } from './command-log.js';
import { TailBuffer } from './tail-buffer.js';
import { asRoot, endingWithConnection, type ShellCommand } from './quote.js';
import { CommandFailedError, CommandTimeoutError, HostUnreachableError, classifySshFailure } from './errors.js';
import { RootShell, RootShellEndedError, type RootShellAnswer } from './root-shell.js';
import { DEFAULT_SSH_OPTIONS, controlArguments, sshArguments, type SshConnectionOptions, type SshHost } from './options.js';

export interface ExecOptions {
  /** Kill the command after this long. Default: 60 s. */
  readonly timeoutMs?: number;
  /** Data for the remote command's stdin. */
  readonly input?: string | Uint8Array;
  /** Exit codes that are answers, not failures (e.g. 1 for "not found"). */
  readonly okExitCodes?: readonly number[];
  readonly signal?: AbortSignal;
  /** Keep only the last this many bytes of stdout (for output of unknown size, such as logs); the result says when it cut. */
  readonly maxOutputBytes?: number;
  /**
   * A read that changes nothing: while the same command is already running on
   * this host, take its answer instead of asking again (parallel steps that
   * each check the same thing ask once). Ignored with input or a signal.
   */
  readonly joinInFlight?: boolean;
}

export interface ExecResult<Output = string> {
  readonly command: string;
  readonly exitCode: number;
  readonly stdout: Output;
  readonly stderr: string;
  readonly durationMs: number;
  /** Set when `maxOutputBytes` cut the start of stdout. */
  readonly truncated?: boolean;
}

export interface StreamOptions {
  readonly stdin?: 'pipe' | 'ignore';
  readonly signal?: AbortSignal;
}

/** A running remote command whose stdio are streams. */
export interface RemoteStream {
  readonly stdin: Writable | null;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Settles when the command ends: resolves on exit 0, rejects with a typed error otherwise. */
  readonly done: Promise<ExecResult<undefined>>;
  kill(): void;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** A root shell that has not said it is ready by then is given up (see root-shell.ts). */
const ROOT_SHELL_START_MS = 30_000;
/** Loops that ended (a dropped connection) are started again this many times, then the host keeps one sudo per command. */
const ROOT_SHELL_STARTS = 4;
/**
 * A command waits this long for a busy loop before it takes a sudo of its
 * own: a guest of one vCPU runs parallel commands no sooner than one after
 * another, and a sudo costs more than most commands themselves.
 */
const ROOT_SHELL_WAIT_MS = 1_500;
/** `DOCKER_MCP_SUDO_PER_COMMAND=1`: one sudo per command, as before the root shell (to compare, or where a loop misbehaves). */
const ROOT_SHELL_OFF = process.env.DOCKER_MCP_SUDO_PER_COMMAND === '1';
/**
 * `DOCKER_MCP_SHELL_LOOP=all`: the loop on every host, not only sudo logins
 * (there it saves each command's session and login shell, not a sudo). Not
 * the default until the hosts' lane has run with it: to measure.
 */
const LOOP_ON_EVERY_HOST = process.env.DOCKER_MCP_SHELL_LOOP === 'all';
// sshd allows 10 sessions per connection by default (MaxSessions).
const MAX_SESSIONS_PER_HOST = 8;

export interface ReverseTunnel {
  /** The port on the host's loopback that leads to the tunnel's destination. */
  readonly port: number;
  close(): Promise<void>;
}

export class SshTransport {
  private readonly sessions: LimitFunction = pLimit(MAX_SESSIONS_PER_HOST);
  private master: Promise<void> | undefined;
  private readonly readsInFlight = new Map<string, Promise<ExecResult>>();
  private rootShell: RootShell | undefined;
  private rootShellStarting: Promise<void> | undefined;
  private rootShellStarts = 0;
  private rootShellRefused = false;

  constructor(
    readonly host: SshHost,
    private readonly options: SshConnectionOptions = DEFAULT_SSH_OPTIONS,
  ) {}

  private firstContactHook: (() => Promise<void>) | undefined;
  private firstContactDone: Promise<void> | undefined;

  /**
   * Run `hook` once before this transport's first command (a fence: see
   * src/failover/fence.ts). Its failure fails that command, and the next
   * command tries it again: nothing reaches the host before it succeeded.
   */
  onFirstContact(hook: () => Promise<void>): void {
    this.firstContactHook = hook;
  }

  private passFirstContact(): Promise<void> {
    const hook = this.firstContactHook;
    if (!hook) return Promise.resolve();
    this.firstContactDone ??= hook().catch((error: unknown) => {
      this.firstContactDone = undefined;
      throw error;
    });
    return this.firstContactDone;
  }

  get hostId(): string {
    return this.host.id;
  }

  /** The ssh arguments for this host, for callers that build their own pipes. */
  sshArguments(): string[] {
    return sshArguments(this.host, this.options);
  }

  /** Open (or reuse) the master connection. Typed error when the host cannot be reached. */
  async connect(): Promise<void> {
    if (!this.options.multiplex) return;
    this.master ??= this.openMaster().catch((error: unknown) => {
      this.master = undefined;
      throw error;
    });
    return this.master;
  }

  async exec(cmd: ShellCommand, options: ExecOptions = {}): Promise<ExecResult> {
    if (!options.joinInFlight || options.input !== undefined || options.signal !== undefined) return this.execOnce(cmd, options);
    const key = JSON.stringify([cmd.text, options.okExitCodes ?? [], options.timeoutMs ?? null, options.maxOutputBytes ?? null]);
    const running = this.readsInFlight.get(key);
    if (running) return running;
    const started = this.execOnce(cmd, options).finally(() => this.readsInFlight.delete(key));
    this.readsInFlight.set(key, started);
    return started;
  }

  private async execOnce(cmd: ShellCommand, options: ExecOptions): Promise<ExecResult> {
    const result = await this.run(cmd, options, 'utf8');
    return { ...result, stdout: typeof result.stdout === 'string' ? result.stdout : Buffer.from(result.stdout).toString('utf8') };
  }

  /** Like exec, but stdout is kept as raw bytes. */
  async execBytes(cmd: ShellCommand, options: ExecOptions = {}): Promise<ExecResult<Buffer>> {
    const result = await this.run(cmd, options, 'buffer');
    return { ...result, stdout: Buffer.from(result.stdout) };
  }

  /** Start a command with streamed stdio. The caller must consume stdout and stderr. */
  async stream(cmd: ShellCommand, options: StreamOptions = {}): Promise<RemoteStream> {
    await this.passFirstContact();
    await this.connect();
    let release!: () => void;
    const slot = new Promise<void>((resolve) => (release = resolve));
    await new Promise<void>((started) => {
      void this.sessions(() => {
        started();
        return slot;
      });
    });
    const started = Date.now();
    log.debug({ host: this.host.id, command: cmd.text }, 'ssh stream');
    // A command that reads no input ends when this connection does (a cancel kills the ssh client only).
    const bound = options.stdin === undefined;
    const child = execa('ssh', [...this.sshArguments(), this.remoteText(bound ? endingWithConnection(cmd) : cmd)], {
      stdin: bound ? 'pipe' : options.stdin,
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: { stdout: false, stderr: true },
      reject: false,
      cancelSignal: options.signal,
      encoding: 'buffer',
      stripFinalNewline: false,
    });
    const done = child
      .then((result) => {
        const stderr = Buffer.from(result.stderr ?? new Uint8Array()).toString('utf8');
        this.throwOnFailure(cmd, result.exitCode, stderr, result.timedOut, 0, result.isCanceled);
        logCommand({ kind: 'stream', host: this.host.id, command: cmd.text, ms: Date.now() - started });
        return { command: cmd.text, exitCode: 0, stdout: undefined, stderr, durationMs: Date.now() - started };
      })
      .finally(release);
    return {
      stdin: bound ? null : child.stdin,
      stdout: child.stdout,
      stderr: child.stderr,
      done,
      kill: () => child.kill('SIGTERM'),
    };
  }

  /**
   * Make `toHost:toPort`, as this machine reaches it, reachable from the
   * host's own loopback: a remote forward on the master connection (`-R 0:`
   * lets sshd pick the port). Hosts that cannot reach each other (separate
   * networks, a name only this machine resolves) can then still talk, through
   * here. Close it when done.
   */
  async openReverseTunnel(toHost: string, toPort: number): Promise<ReverseTunnel> {
    if (!this.options.multiplex) throw new Error('a reverse tunnel needs the multiplexed master connection');
    await this.connect();
    const spec = `0:${toHost}:${toPort}`;
    const opened = await execa('ssh', controlArguments(this.host, 'forward', this.options, ['-R', spec]), { reject: false, timeout: 15_000, stdin: 'ignore' });
    const port = Number(/^\s*(\d+)\s*$/m.exec(String(opened.stdout))?.[1] ?? /Allocated port (\d+)/.exec(String(opened.stderr))?.[1]);
    if (opened.exitCode !== 0 || !Number.isInteger(port) || port <= 0) {
      throw new CommandFailedError(this.host.id, `ssh -O forward -R ${spec}`, opened.exitCode ?? -1, String(opened.stderr) || String(opened.stdout));
    }
    return {
      port,
      close: async () => {
        await execa('ssh', controlArguments(this.host, 'cancel', this.options, ['-R', `${port}:${toHost}:${toPort}`]), { reject: false, timeout: 10_000, stdin: 'ignore' });
      },
    };
  }

  /** The text ssh sends: the command itself, or the command run as root for a `sudo` host. */
  private remoteText(cmd: ShellCommand): string {
    return this.host.sudo ? asRoot(cmd).text : cmd.text;
  }

  /** Close the master connection, if this process opened or reused one. */
  async close(): Promise<void> {
    this.rootShell?.close();
    this.rootShell = undefined;
    if (!this.options.multiplex || !this.master) return;
    this.master = undefined;
    await execa('ssh', controlArguments(this.host, 'exit', this.options), { reject: false, timeout: 5_000 });
  }

  private async run(
    cmd: ShellCommand,
    options: ExecOptions,
    encoding: 'utf8' | 'buffer',
  ): Promise<ExecResult<Uint8Array | string>> {
    await this.passFirstContact();
    await this.connect();
    const rootShell = await this.idleRootShell(options);
    if (rootShell) return this.runInRootShell(rootShell, cmd, options, encoding);
    return this.sessions(async () => {
      const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const started = Date.now();
      const bounded = options.maxOutputBytes !== undefined ? new TailBuffer(options.maxOutputBytes) : undefined;
      const child = execa('ssh', [...this.sshArguments(), this.remoteText(cmd)], {
        input: options.input,
        stdin: options.input === undefined ? 'ignore' : 'pipe',
        reject: false,
        cancelSignal: options.signal,
        encoding: 'buffer',
        stripFinalNewline: false,
        buffer: { stdout: bounded === undefined, stderr: true },
        maxBuffer: bounded === undefined ? 256 * 1024 * 1024 : Math.max(1024 * 1024, bounded.limit),
      });
      if (bounded) child.stdout?.on('data', (chunk: Buffer) => bounded.push(chunk));
      // Not execa's own timeout: with a multiplexed connection the master holds
      // the other end of our stdout pipe until the remote command ends, so
      // killing the ssh client alone would leave us waiting for end-of-stream.
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGTERM');
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, timeoutMs);
      const result = await child.finally(() => clearTimeout(timer));
      if (timedOut) throw new CommandTimeoutError(this.host.id, cmd.text, timeoutMs);
      const stderr = Buffer.from(result.stderr ?? new Uint8Array()).toString('utf8');
      const exitCode = result.exitCode ?? -1;
      log.debug({ host: this.host.id, command: cmd.text, exitCode, ms: Date.now() - started }, 'ssh exec');
      logCommand({ kind: 'exec', host: this.host.id, command: cmd.text, exitCode, ms: Date.now() - started });
      // ssh's own failures (exit 255 with ssh's words on stderr) are never an answer of the remote command.
      if (!(options.okExitCodes ?? []).includes(exitCode) || classifySshFailure(this.host.id, exitCode, stderr)) {
        this.throwOnFailure(cmd, result.exitCode, stderr, result.timedOut, timeoutMs, result.isCanceled);
      }
      const kept = bounded?.result();
      const bytes = kept?.bytes ?? result.stdout ?? new Uint8Array();
      const stdout = encoding === 'utf8' ? Buffer.from(bytes).toString('utf8') : bytes;
      return { command: cmd.text, exitCode, stdout, stderr, durationMs: Date.now() - started, ...(kept?.truncated ? { truncated: true } : {}) };
    });
  }

  /**
   * The host's root shell when a command can go there now: a sudo login, a
   * command that is not cancellable and whose output is kept whole, and the
   * loop free within ROOT_SHELL_WAIT_MS (it runs one command at a time).
   * Taken for this command when returned.
   */
  private async idleRootShell(options: ExecOptions): Promise<RootShell | undefined> {
    if (!(this.host.sudo || LOOP_ON_EVERY_HOST) || ROOT_SHELL_OFF || this.rootShellRefused || options.signal !== undefined || options.maxOutputBytes !== undefined) return undefined;
    if (!this.rootShell?.alive && !this.rootShellStarting) {
      if (this.rootShellStarts >= ROOT_SHELL_STARTS) return undefined;
      this.rootShellStarts++;
      const shell = new RootShell((remote) => ['ssh', [...this.sshArguments(), remote.text]], this.host.sudo === true);
      this.rootShellStarting = shell.start(ROOT_SHELL_START_MS).then(
        (ready) => {
          if (ready) this.rootShell = shell;
          else {
            shell.kill();
            this.rootShellRefused = true;
          }
          log.debug({ host: this.host.id, ready }, 'root shell');
        },
        () => {
          shell.kill();
          this.rootShellRefused = true;
        },
      );
      await this.rootShellStarting.finally(() => (this.rootShellStarting = undefined));
    }
    const shell = this.rootShell;
    return shell && (await shell.acquire(ROOT_SHELL_WAIT_MS)) ? shell : undefined;
  }

  private async runInRootShell(shell: RootShell, cmd: ShellCommand, options: ExecOptions, encoding: 'utf8' | 'buffer'): Promise<ExecResult<Uint8Array | string>> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const started = Date.now();
    const input = options.input === undefined ? Buffer.alloc(0) : Buffer.from(options.input);
    let answer: RootShellAnswer;
    try {
      answer = await shell.run(cmd.text, input, timeoutMs);
    } catch (error) {
      if (!(error instanceof RootShellEndedError)) throw error;
      // The connection under it may be gone: checked (and reopened) before the next command.
      this.master = undefined;
      throw new HostUnreachableError(this.host.id, error.detail);
    } finally {
      shell.release();
    }
    if (answer.timedOut) throw new CommandTimeoutError(this.host.id, cmd.text, timeoutMs);
    const { exitCode, stderr } = answer;
    log.debug({ host: this.host.id, command: cmd.text, exitCode, ms: Date.now() - started, rootShell: true }, 'ssh exec');
    logCommand({ kind: 'exec', host: this.host.id, command: cmd.text, exitCode, ms: Date.now() - started, rootShell: true });
    if (!(options.okExitCodes ?? []).includes(exitCode) || classifySshFailure(this.host.id, exitCode, stderr)) {
      this.throwOnFailure(cmd, exitCode, stderr, false, timeoutMs, false);
    }
    const stdout = encoding === 'utf8' ? answer.stdout.toString('utf8') : answer.stdout;
    return { command: cmd.text, exitCode, stdout, stderr, durationMs: Date.now() - started };
  }

  private throwOnFailure(
    cmd: ShellCommand,
    exitCode: number | undefined,
    stderr: string,
    timedOut: boolean,
    timeoutMs: number,
    canceled: boolean,
  ): void {
    if (timedOut) throw new CommandTimeoutError(this.host.id, cmd.text, timeoutMs);
    const sshFailure = classifySshFailure(this.host.id, exitCode, stderr);
    if (sshFailure) {
      // The master connection may be gone: check (and reopen) it before the next command.
      this.master = undefined;
      throw sshFailure;
    }
    if (canceled) throw new CommandFailedError(this.host.id, cmd.text, exitCode ?? -1, 'cancelled');
    if (exitCode !== 0) throw new CommandFailedError(this.host.id, cmd.text, exitCode ?? -1, stderr);
  }

  private async openMaster(): Promise<void> {
    const check = await execa('ssh', controlArguments(this.host, 'check', this.options), {
      reject: false,
      timeout: 5_000,
      stdin: 'ignore',
    });
    if (check.exitCode === 0) return;
    // The master forks into the background and keeps running; its stdio must
    // not be pipes we wait on, or this call would not return until it exits.
    const open = await execa('ssh', [...this.sshArguments(), 'true'], {
      reject: false,
      timeout: (this.options.connectTimeoutSeconds + 5) * 1000,
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: ['pipe'],
    });
    const stderr = String(open.stderr ?? '');
    if (open.timedOut) throw new CommandTimeoutError(this.host.id, 'ssh (connect)', (this.options.connectTimeoutSeconds + 5) * 1000);
    const failure = classifySshFailure(this.host.id, open.exitCode, stderr);
    if (failure) throw failure;
    if (open.exitCode !== 0) throw new CommandFailedError(this.host.id, 'true', open.exitCode ?? -1, stderr);
  }
}
