/**
 * One `sudo` for many commands on a host logged in to as another user
 * (`sudo: true`): a small Perl loop started once through `sudo -n` on its own
 * session of the master connection, that runs each command it is sent with
 * `/bin/sh -c`, as root, and answers with its exit code, stdout and stderr.
 * Under emulation a `sudo` costs some 300 ms of the guest's CPU and a session
 * 50–80 ms more, for every command; through the loop a command costs its own
 * fork and exec only.
 *
 * It runs one command at a time: the transport sends a command here when the
 * loop is free or soon will be, and otherwise (and for streams, cancellable
 * commands, output of unknown size) runs it as before, one `sudo` each. A host without perl,
 * or whose sudo refuses, keeps the old way: nothing is ever sent to a loop
 * that did not say it was ready.
 */
import { execa, type ResultPromise } from 'execa';
import { command, type ShellCommand } from './quote.js';

/**
 * Protocol, both ways on the session's stdin and stdout: a request is a line
 * `<command bytes> <input bytes> <timeout s>` and those bytes; the answer a
 * line `<exit code> <stdout bytes> <stderr bytes> <ok|timeout>` and those
 * bytes. The command runs in a process group of its own, which a timeout
 * ends (TERM, then KILL a second later). SIGPIPE is ignored only while
 * writing a command's input, so the commands inherit its default action.
 * POSIX is in perl-base, which Debian and Ubuntu always install.
 */
export const ROOT_SHELL_SCRIPT = `use strict; use warnings; use POSIX ();
binmode STDIN; binmode STDOUT; $| = 1;
sub take { my ($n) = @_; my $buf = ''; while (length($buf) < $n) { my $got = read(STDIN, $buf, $n - length($buf), length($buf)); return undef unless $got; } return $buf; }
print "docker-mcp root shell ready\\n";
while (defined(my $header = <STDIN>)) {
  my ($clen, $ilen, $timeout) = $header =~ /^(\\d+) (\\d+) (\\d+)\\n\\z/ or exit 2;
  my $cmd = take($clen); my $in = take($ilen);
  exit 2 unless defined $cmd && defined $in;
  pipe(my $or, my $ow) or die "pipe: $!"; pipe(my $er, my $ew) or die "pipe: $!";
  my ($ir, $iw);
  if ($ilen > 0) { pipe($ir, $iw) or die "pipe: $!"; }
  my $pid = fork; die "fork: $!" unless defined $pid;
  if ($pid == 0) {
    setpgrp(0, 0);
    if ($ir) { open(STDIN, '<&', $ir) or POSIX::_exit(126); } else { open(STDIN, '<', '/dev/null') or POSIX::_exit(126); }
    open(STDOUT, '>&', $ow) or POSIX::_exit(126); open(STDERR, '>&', $ew) or POSIX::_exit(126);
    exec { '/bin/sh' } 'sh', '-c', $cmd; POSIX::_exit(127);
  }
  close $ow; close $ew; close $ir if $ir;
  my ($out, $err, $pending, $timedout) = ('', '', $in, 0);
  my $deadline = time + $timeout;
  while ($or || $er) {
    my ($rin, $win) = ('', '');
    vec($rin, fileno($or), 1) = 1 if $or; vec($rin, fileno($er), 1) = 1 if $er;
    vec($win, fileno($iw), 1) = 1 if $iw;
    my $left = $deadline - time;
    if ($left <= 0) { $timedout = 1; last; }
    my $n = select(my $rout = $rin, my $wout = $win, undef, $left);
    next if $n <= 0;
    if ($iw && vec($wout, fileno($iw), 1)) {
      local $SIG{PIPE} = 'IGNORE';
      my $w = syswrite($iw, $pending, 65536);
      if (defined $w) { substr($pending, 0, $w) = ''; }
      if (!defined $w || length($pending) == 0) { close $iw; undef $iw; }
    }
    if ($or && vec($rout, fileno($or), 1)) { my $r = sysread($or, $out, 65536, length $out); if (!$r) { close $or; undef $or; } }
    if ($er && vec($rout, fileno($er), 1)) { my $r = sysread($er, $err, 65536, length $err); if (!$r) { close $er; undef $er; } }
  }
  if ($iw) { close $iw; undef $iw; }
  if ($timedout) { kill 'TERM', -$pid; sleep 1; kill 'KILL', -$pid; close $or if $or; close $er if $er; }
  waitpid($pid, 0);
  my $status = ($? & 127) ? 128 + ($? & 127) : $? >> 8;
  print "$status " . length($out) . ' ' . length($err) . ($timedout ? ' timeout' : ' ok') . "\\n", $out, $err;
}
`;

/** What the host runs: the loop, as root through sudo on a sudo login, else as the login. */
export function rootShellCommand(sudo: boolean): ShellCommand {
  return command([...(sudo ? ['sudo', '-n', '--'] : []), 'perl', '-e', ROOT_SHELL_SCRIPT]);
}

export interface RootShellAnswer {
  readonly exitCode: number;
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** The loop's session ended (its connection, its sudo): the command's fate is unknown. */
export class RootShellEndedError extends Error {
  constructor(readonly detail: string) {
    super(detail);
  }
}

const READY = Buffer.from('docker-mcp root shell ready\n');

/** One loop on one host: started by `start()`, one request at a time. */
export class RootShell {
  private child: ResultPromise | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: ((chunk: Buffer | null) => void) | undefined;
  private ended = false;
  private stderrTail = '';
  private busy = false;
  private readonly queue: Array<(taken: boolean) => void> = [];

  /** `launch`: the program and arguments that run `remote` on the host (ssh through the master connection). */
  constructor(
    private readonly launch: (remote: ShellCommand) => readonly [string, readonly string[]],
    private readonly sudo = true,
  ) {}

  get alive(): boolean {
    return this.child !== undefined && !this.ended;
  }

  /**
   * Take the loop for one command: at once when idle, else after the
   * commands queued before this one, unless that takes longer than `waitMs`
   * (a long command under way, or one that waits for another): false, and
   * the caller runs its command another way. Give it back with `release`.
   */
  acquire(waitMs: number): Promise<boolean> {
    if (!this.alive) return Promise.resolve(false);
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        const index = this.queue.indexOf(take);
        if (index >= 0) this.queue.splice(index, 1);
        resolve(false);
      }, waitMs);
      const take = (taken: boolean) => {
        clearTimeout(timer);
        resolve(taken);
      };
      this.queue.push(take);
    });
  }

  release(): void {
    const next = this.queue.shift();
    if (next && this.alive) next(true);
    else {
      this.busy = false;
      for (const waiting of this.queue.splice(0)) waiting(false);
    }
  }

  /** Start the loop; false when it did not say it was ready (no perl, sudo refused): nothing was run. */
  async start(timeoutMs: number): Promise<boolean> {
    const [file, args] = this.launch(rootShellCommand(this.sudo));
    const child = execa(file, args, { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: false, reject: false, encoding: 'buffer' });
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => this.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => (this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-2000)));
    child.stdout?.on('end', () => this.end());
    void child.then(() => this.end());
    // A process that is done with its commands exits without closing this: ssh sees end-of-file and the loop ends.
    this.unref();
    const timer = setTimeout(() => this.kill(), timeoutMs);
    try {
      const ready = await this.take(READY.length);
      return ready !== null && ready.equals(READY);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Run one command; the caller has taken the loop (`acquire`). */
  async run(text: string, input: Buffer, timeoutMs: number): Promise<RootShellAnswer> {
    const child = this.child;
    if (!child?.stdin || this.ended) throw new RootShellEndedError(this.why());
    const body = Buffer.from(text, 'utf8');
    const timeoutSeconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    child.stdin.write(Buffer.concat([Buffer.from(`${body.length} ${input.length} ${timeoutSeconds}\n`), body, input]));
    // The loop ends a command at its timeout; this guards against a loop that no longer answers.
    const guard = setTimeout(() => this.kill(), timeoutMs + 15_000);
    try {
      const header = await this.takeLine();
      const match = header === null ? null : /^(\d+) (\d+) (\d+) (ok|timeout)$/.exec(header);
      if (!match) throw new RootShellEndedError(this.why());
      const stdout = await this.take(Number(match[2]));
      const stderr = await this.take(Number(match[3]));
      if (stdout === null || stderr === null) throw new RootShellEndedError(this.why());
      return { exitCode: Number(match[1]), stdout, stderr: stderr.toString('utf8'), timedOut: match[4] === 'timeout' };
    } finally {
      clearTimeout(guard);
    }
  }

  /** End the loop: its stdin closes, and it exits after the command under way. */
  close(): void {
    this.child?.stdin?.end();
  }

  kill(): void {
    this.ended = true;
    this.child?.kill('SIGTERM');
    this.wake();
  }

  private why(): string {
    const said = this.stderrTail.trim();
    return `the sudo session that ran its commands ended${said ? `: ${said}` : ''}`;
  }

  private unref(): void {
    const child = this.child;
    if (!child) return;
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
  }

  private push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    this.wake();
  }

  private end(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(null);
  }

  private async take(count: number): Promise<Buffer | null> {
    for (;;) {
      if (this.buffer.length >= count) {
        const taken = this.buffer.subarray(0, count);
        this.buffer = this.buffer.subarray(count);
        return Buffer.from(taken);
      }
      if (this.ended) return null;
      await new Promise<unknown>((resolve) => (this.waiting = resolve));
    }
  }

  private async takeLine(): Promise<string | null> {
    for (;;) {
      const end = this.buffer.indexOf(0x0a);
      if (end >= 0) {
        const line = this.buffer.subarray(0, end).toString('utf8');
        this.buffer = this.buffer.subarray(end + 1);
        return line;
      }
      if (this.ended) return null;
      await new Promise<unknown>((resolve) => (this.waiting = resolve));
    }
  }
}
