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
 * Run a pipeline under `sh -c` with pipefail where the shell has it, so a
 * failing producer is not hidden by a succeeding consumer.
 */
export function strictPipeline(...commands: readonly ShellCommand[]): ShellCommand {
  const inner = `(set -o pipefail 2>/dev/null || true; ${pipeline(...commands).text})`;
  return shell(inner);
}

/** Wrap a composed command so it runs as one argument of `sh -c`. */
export function asShellArgument(cmd: ShellCommand): string {
  return quoteArg(cmd.text);
}

function join(commands: readonly ShellCommand[], separator: string): ShellCommand {
  if (commands.length === 0) throw new InvalidInputError('command list', '', 'is empty');
  return shell(commands.map(group).join(separator));
}

function group(cmd: ShellCommand): string {
  return /[|&;]/.test(unquotedParts(cmd.text)) ? `{ ${cmd.text}; }` : cmd.text;
}

/** The text outside single quotes, to tell whether a command is compound. */
function unquotedParts(text: string): string {
  return text.replace(/'[^']*'/g, '');
}

function shell(text: string): ShellCommand {
  return { __shell: true, text };
}
