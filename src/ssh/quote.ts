/**
 * The one place where shell text is assembled. Every remote command is an
 * argument array; these helpers turn it into a string that a POSIX shell
 * (sh, dash, bash, zsh, busybox ash) parses back into exactly those arguments.
 */
import { InvalidInputError } from '../errors.js';

/** A shell command assembled by this module; never build one by hand. */
export interface ShellCommand {
  readonly __shell: true;
  readonly text: string;
}

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quote one argument for a POSIX shell. NUL cannot pass through a shell. */
export function quoteArg(arg: string): string {
  if (arg.includes('\0')) {
    throw new InvalidInputError('shell argument', arg, 'contains a NUL byte');
  }
  if (SAFE_WORD.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** A simple command: program and arguments, each quoted. */
export function command(argv: readonly string[]): ShellCommand {
  if (argv.length === 0) {
    throw new InvalidInputError('command', '', 'is empty');
  }
  return shell(argv.map(quoteArg).join(' '));
}

/** `a | b | c`, with `set -o pipefail` semantics provided by the caller's shell. */
export function pipeline(...commands: readonly ShellCommand[]): ShellCommand {
  return join(commands, ' | ');
}

/** `a && b && c`: stop at the first failure. */
export function andThen(...commands: readonly ShellCommand[]): ShellCommand {
  return join(commands, ' && ');
}

/** `a; b; c`: each runs whatever the others did; the exit status is the last one's. */
export function sequence(...commands: readonly ShellCommand[]): ShellCommand {
  return join(commands, '; ');
}

/** `a || b`: run b only when a fails. */
export function orElse(first: ShellCommand, second: ShellCommand): ShellCommand {
  return shell(`${group(first)} || ${group(second)}`);
}

/** Run `cmd` with stdout sent to /dev/null and/or stderr merged as asked. */
export function redirect(
  cmd: ShellCommand,
  options: { stdout?: 'null'; stderr?: 'null' | 'stdout'; stdinFile?: string; stdoutFile?: string },
): ShellCommand {
  let text = group(cmd);
  if (options.stdinFile !== undefined) text += ` < ${quoteArg(options.stdinFile)}`;
  if (options.stdoutFile !== undefined) text += ` > ${quoteArg(options.stdoutFile)}`;
  if (options.stdout === 'null') text += ' >/dev/null';
  if (options.stderr === 'null') text += ' 2>/dev/null';
  if (options.stderr === 'stdout') text += ' 2>&1';
  return shell(text);
}

/** Set environment variables for one command: `env K=V ... cmd args`. */
export function withEnv(env: Readonly<Record<string, string>>, argv: readonly string[]): ShellCommand {
  const assignments = Object.entries(env).map(([key, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new InvalidInputError('environment variable name', key, 'must match [A-Za-z_][A-Za-z0-9_]*');
    }
    return `${key}=${value}`;
  });
  return command(['env', ...assignments, ...argv]);
}

/**
 * A pipeline that fails when any of its commands fails, so a failing producer
 * is not hidden by a succeeding consumer. With pipefail where the shell has
 * it; a shell without it (dash before 0.5.12-12) exits on `set -o pipefail`
 * (an error of a special builtin), so that is tried in a subshell first, and
 * otherwise each producer writes its failing status to a temporary file.
 */
export function strictPipeline(...commands: readonly ShellCommand[]): ShellCommand {
  const producers = commands.slice(0, -1).map((cmd) => shell(`{ ${cmd.text}; } || echo "$?" > "$docker_mcp_failed"`));
  const last = commands.at(-1);
  if (!last) throw new InvalidInputError('command list', '', 'is empty');
  const withoutPipefail =
    `docker_mcp_failed=$(mktemp) || exit; ${pipeline(...producers, last).text}; docker_mcp_status=$?; ` +
    `if [ "$docker_mcp_status" -eq 0 ] && [ -s "$docker_mcp_failed" ]; then docker_mcp_status=$(cat "$docker_mcp_failed"); fi; ` +
    `rm -f "$docker_mcp_failed"; exit "$docker_mcp_status"`;
  return shell(`(if (set -o pipefail) 2>/dev/null; then set -o pipefail; ${pipeline(...commands).text}; else ${withoutPipefail}; fi)`);
}

/**
 * Run a composed command as root through passwordless sudo, for hosts logged
 * in to as another user (`sudo: true` in hosts.yml). sudo's secure_path puts
 * /usr/sbin (zfs, zpool) on the PATH a non-root login lacks.
 */
export function asRoot(cmd: ShellCommand): ShellCommand {
  return command(['sudo', '-n', '--', 'sh', '-c', cmd.text]);
}

/**
 * Run a command so that it ends with the connection that started it. sshd
 * does not signal a command when its client goes away (a cancelled transfer's
 * `zfs send | ssh target zfs receive` would run on), so the command runs in a
 * session of its own while a watcher reads the connection's stdin: at
 * end-of-file it kills the command's whole process group. The caller keeps
 * stdin open and never writes to it. Without `setsid` the command runs as is.
 */
export function endingWithConnection(cmd: ShellCommand): ShellCommand {
  const watcher = 'cat >/dev/null 2>&1; kill -s TERM -- -"$1" 2>/dev/null';
  const script =
    'command -v setsid >/dev/null 2>&1 || exec sh -c "$1" </dev/null; ' +
    // Asynchronous commands get /dev/null as stdin, so the connection's stdin is handed over on fd 3.
    'exec 3<&0 </dev/null; setsid sh -c "$1" 3<&- & job=$!; ' +
    `setsid sh -c ${quoteArg(watcher)} sh "$job" <&3 3<&- & watcher=$!; exec 3<&-; ` +
    'wait "$job"; status=$?; kill -s TERM -- -"$watcher" 2>/dev/null; exit "$status"';
  return command(['sh', '-c', script, 'sh', cmd.text]);
}

/** Wrap a composed command so it runs as one argument of `sh -c`. */
export function asShellArgument(cmd: ShellCommand): string {
  return quoteArg(cmd.text);
}

function join(commands: readonly ShellCommand[], separator: string): ShellCommand {
  if (commands.length === 0) throw new InvalidInputError('command list', '', 'is empty');
  return shell(commands.map(group).join(separator));
}

/**
 * Brace anything that is not a simple command: a list, a pipeline, or a
 * command that already has a redirection (a second one would replace it).
 */
function group(cmd: ShellCommand): string {
  return /[|&;<>()]/.test(unquotedParts(cmd.text)) ? `{ ${cmd.text}; }` : cmd.text;
}

/**
 * The text outside quoting, to tell whether a command is compound. Only this
 * module writes shell text, so the quoting is `'...'` and `\'` (from quoteArg).
 */
function unquotedParts(text: string): string {
  let outside = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === "'") quoted = false;
    } else if (char === "'") {
      quoted = true;
    } else if (char === '\\') {
      i++;
    } else {
      outside += char;
    }
  }
  return outside;
}

function shell(text: string): ShellCommand {
  return { __shell: true, text };
}
