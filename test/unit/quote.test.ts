import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { andThen, command, pipeline, quoteArg, redirect, withEnv } from '../../src/ssh/quote.js';

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
