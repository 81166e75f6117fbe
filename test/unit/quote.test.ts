import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { andThen, command, orElse, pipeline, quoteArg, redirect, sequence, strictPipeline, withEnv, type ShellCommand } from '../../src/ssh/quote.js';

/** Any well-formed string without NUL: what can travel as a shell argument. */
export const shellSafeString = fc
  .string({ unit: 'binary', maxLength: 80 })
  .filter((s) => !s.includes('\0') && s.isWellFormed());

/** Run `printf '%s\0' ARGS...` through a real local shell and split the output back. */
function echoThroughShell(shell: string, args: readonly string[]): string[] {
  const text = command(['printf', '%s\\0', ...args]).text;
  const output = execFileSync(shell, ['-c', text]);
  const parts = output.toString('utf8').split('\0');
  parts.pop();
  return parts;
}

describe('quoteArg', () => {
  it('leaves plain words alone and quotes everything else', () => {
    expect(quoteArg('alpha/appdata')).toBe('alpha/appdata');
    expect(quoteArg('')).toBe("''");
    expect(quoteArg('a b')).toBe("'a b'");
    expect(quoteArg("it's")).toBe("'it'\\''s'");
    expect(quoteArg('$(touch /tmp/x)')).toBe("'$(touch /tmp/x)'");
  });

  it('refuses NUL, which no shell argument can carry', () => {
    expect(() => quoteArg('a\0b')).toThrow(/NUL/);
  });

  for (const shell of ['/bin/sh', '/bin/bash']) {
    it(`round-trips any argument list through ${shell} byte for byte`, () => {
      fc.assert(
        fc.property(fc.array(shellSafeString, { minLength: 1, maxLength: 5 }), (args) => {
          expect(echoThroughShell(shell, args)).toEqual(args);
        }),
        { numRuns: 150 },
      );
    });
  }
});

describe('command composition', () => {
  it('joins pipelines and sequences, grouping compound parts', () => {
    const a = command(['echo', 'a|b']);
    const b = command(['cat']);
    expect(pipeline(a, b).text).toBe("echo 'a|b' | cat");
    expect(andThen(pipeline(a, b), command(['true'])).text).toBe("{ echo 'a|b' | cat; } && true");
  });

  it('redirects without letting arguments escape', () => {
    const text = redirect(command(['zfs']), { stderr: 'stdout' }).text;
    expect(text).toBe('zfs 2>&1');
    expect(execFileSync('/bin/sh', ['-c', redirect(command(['sh', '-c', 'echo out; echo err >&2']), { stderr: 'stdout' }).text]).toString()).toBe(
      'out\nerr\n',
    );
  });

  it('passes environment values verbatim and rejects bad variable names', () => {
    const text = withEnv({ GREETING: "it's $HOME" }, ['sh', '-c', 'printf %s "$GREETING"']).text;
    expect(execFileSync('/bin/sh', ['-c', text]).toString()).toBe("it's $HOME");
    expect(() => withEnv({ 'A;B': 'x' }, ['true'])).toThrow(/environment variable name/);
  });
});

/**
 * A composition of commands, and what a POSIX shell must do with it: the
 * model below says what each node prints, which files it writes and its exit
 * status; /bin/sh must agree for any arguments, quotes included.
 */
type Tree =
  | { kind: 'print'; args: string[] }
  | { kind: 'fail' }
  | { kind: 'cat' }
  | { kind: 'andThen' | 'sequence' | 'pipeline'; parts: Tree[] }
  | { kind: 'orElse'; first: Tree; second: Tree }
  | { kind: 'toFile'; inner: Tree }
  | { kind: 'toNull'; inner: Tree };

const trickyArg = fc.oneof(
  shellSafeString,
  fc.constantFrom("'", "it's", "a'b", "'&&'", '&&', ';', '|', '{', '}', "'; }", '\\', "\\'", '"'),
);

const CAT: Tree = { kind: 'cat' };
const tree = fc.letrec<{ node: Tree; reader: Tree }>((tie) => ({
  reader: fc.oneof(
    fc.constant(CAT),
    fc.constant<Tree>({ kind: 'toFile', inner: CAT }),
    fc.constant<Tree>({ kind: 'toNull', inner: CAT }),
    tie('node').map((node): Tree => ({ kind: 'sequence', parts: [CAT, node] })),
  ),
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ kind: fc.constant('print' as const), args: fc.array(trickyArg, { minLength: 1, maxLength: 3 }) }),
    fc.record({ kind: fc.constant('fail' as const) }),
    fc.record({ kind: fc.constant('cat' as const) }),
    fc.record({ kind: fc.constantFrom('andThen' as const, 'sequence' as const), parts: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) }),
    // After the first part, each reads its input to the end first: a reader that exits unread would kill
    // its writer with SIGPIPE or not, as the scheduler decides, which no model can say.
    fc.record({ kind: fc.constant('pipeline' as const), parts: fc.tuple(tie('node'), fc.array(tie('reader'), { maxLength: 2 })).map(([first, rest]) => [first, ...rest]) }),
    fc.record({ kind: fc.constant('orElse' as const), first: tie('node'), second: tie('node') }),
    fc.record({ kind: fc.constant('toFile' as const), inner: tie('node') }),
    fc.record({ kind: fc.constant('toNull' as const), inner: tie('node') }),
  ),
})).node;

interface Outcome {
  stdout: string;
  status: number;
}

/** Build the command; each redirection to a file gets its own file, named in `files` in build order. */
function build(node: Tree, dir: string, files: string[]): ShellCommand {
  switch (node.kind) {
    case 'print':
      return command(['printf', '%s\\0', ...node.args]);
    case 'fail':
      return command(['false']);
    case 'cat':
      return command(['cat']);
    case 'andThen':
      return andThen(...node.parts.map((p) => build(p, dir, files)));
    case 'sequence':
      return sequence(...node.parts.map((p) => build(p, dir, files)));
    case 'pipeline':
      return pipeline(...node.parts.map((p) => build(p, dir, files)));
    case 'orElse':
      return orElse(build(node.first, dir, files), build(node.second, dir, files));
    case 'toNull':
      return redirect(build(node.inner, dir, files), { stdout: 'null' });
    case 'toFile': {
      // The file name needs quoting too: a quote and a space in it.
      const file = path.join(dir, `it's out ${files.length}`);
      files.push(file);
      return redirect(build(node.inner, dir, files), { stdoutFile: file });
    }
  }
}

/** What the shell should do; `written` gets each file's expected content, in the same order as build. */
function model(node: Tree, stdin: { data: string }, written: (string | null)[]): Outcome {
  switch (node.kind) {
    case 'print':
      return { stdout: node.args.map((a) => `${a}\0`).join(''), status: 0 };
    case 'fail':
      return { stdout: '', status: 1 };
    case 'cat': {
      const data = stdin.data;
      stdin.data = '';
      return { stdout: data, status: 0 };
    }
    case 'andThen': {
      let stdout = '';
      let status = 0;
      for (const part of node.parts) {
        if (status !== 0) {
          skip(part, written);
          continue;
        }
        const out = model(part, stdin, written);
        stdout += out.stdout;
        status = out.status;
      }
      return { stdout, status };
    }
    case 'sequence': {
      let stdout = '';
      let status = 0;
      for (const part of node.parts) {
        const out = model(part, stdin, written);
        stdout += out.stdout;
        status = out.status;
      }
      return { stdout, status };
    }
    case 'pipeline': {
      let input = stdin;
      let last: Outcome = { stdout: '', status: 0 };
      for (const part of node.parts) {
        last = model(part, input, written);
        input = { data: last.stdout };
      }
      return last;
    }
    case 'orElse': {
      const first = model(node.first, stdin, written);
      if (first.status === 0) {
        skip(node.second, written);
        return first;
      }
      const second = model(node.second, stdin, written);
      return { stdout: first.stdout + second.stdout, status: second.status };
    }
    case 'toNull':
      return { stdout: '', status: model(node.inner, stdin, written).status };
    case 'toFile': {
      const index = written.length;
      written.push('');
      const out = model(node.inner, stdin, written);
      written[index] = out.stdout;
      return { stdout: '', status: out.status };
    }
  }
}

/** A part that does not run still owns its file numbers; it creates no file. */
function skip(node: Tree, written: (string | null)[]): void {
  switch (node.kind) {
    case 'print':
    case 'fail':
    case 'cat':
      return;
    case 'andThen':
    case 'sequence':
    case 'pipeline':
      node.parts.forEach((p) => skip(p, written));
      return;
    case 'orElse':
      skip(node.first, written);
      skip(node.second, written);
      return;
    case 'toNull':
      skip(node.inner, written);
      return;
    case 'toFile':
      written.push(null);
      skip(node.inner, written);
      return;
  }
}

describe('composed commands through /bin/sh', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'quote-compose-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let run = 0;

  it('print, write files and exit exactly as their structure says, whatever the arguments', () => {
    fc.assert(
      fc.property(tree, (node) => {
        const dir = path.join(root, String(run++));
        execFileSync('mkdir', [dir]);
        const files: string[] = [];
        const text = build(node, dir, files).text;
        const expectedFiles: (string | null)[] = [];
        const expected = model(node, { data: '' }, expectedFiles);
        const result = spawnSync('/bin/sh', ['-c', text], { stdio: ['ignore', 'pipe', 'pipe'] });
        expect({ stdout: result.stdout.toString('utf8'), status: result.status }).toEqual(expected);
        const actualFiles = files.map((file) => (readdirSync(dir).includes(path.basename(file)) ? readFileSync(file, 'utf8') : null));
        expect(actualFiles).toEqual(expectedFiles);
      }),
      { numRuns: 300 },
    );
  }, 30_000);

  it('keeps the braces around a compound command whose quoted argument holds a quote', () => {
    const text = redirect(andThen(command(['printf', "a'b"]), command(['printf', 'x y'])), { stdout: 'null' }).text;
    expect(execFileSync('/bin/sh', ['-c', text]).toString()).toBe('');
  });
});

describe('strictPipeline in every POSIX shell', () => {
  // This machine's dash (Debian 12, 0.5.12-2) has no pipefail: `set -o pipefail`
  // is an error of a special builtin there, which exits the shell.
  const shells = ['dash', 'bash', 'busybox sh'].filter((shell) => spawnSync('sh', ['-c', `command -v ${shell.split(' ')[0]}`]).status === 0);
  const run = (shell: string, cmd: ShellCommand) => {
    const [program, ...args] = shell.split(' ');
    return spawnSync(program!, [...args, '-c', cmd.text], { encoding: 'utf8' });
  };

  it('runs the pipeline in a dash without pipefail, and in bash and busybox', () => {
    expect(shells).toContain('dash');
    for (const shell of shells) {
      const result = run(shell, strictPipeline(command(['printf', 'a\\nb\\n']), command(['sort', '-r']), command(['head', '-n', '1'])));
      expect({ shell, stdout: result.stdout, status: result.status }).toEqual({ shell, stdout: 'b\n', status: 0 });
    }
  });

  it('fails when a producer fails, even though the last command succeeds, in every shell', () => {
    for (const shell of shells) {
      const result = run(shell, strictPipeline(command(['sh', '-c', 'echo partial; exit 3']), command(['cat'])));
      expect({ shell, stdout: result.stdout, failed: result.status !== 0 }).toEqual({ shell, stdout: 'partial\n', failed: true });
      const middle = run(shell, strictPipeline(command(['echo', 'x']), command(['false']), command(['cat'])));
      expect({ shell, failed: middle.status !== 0 }).toEqual({ shell, failed: true });
    }
  });

  it("reports the last command's failure as its own", () => {
    for (const shell of shells) expect(run(shell, strictPipeline(command(['echo', 'x']), command(['sh', '-c', 'cat >/dev/null; exit 4']))).status).toBe(4);
  });
});
