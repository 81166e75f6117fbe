import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { completionScript } from '../../src/cli/commands/completion.js';

/** What real bash completes after the given words (the last one is being typed). */
async function complete(words: string[]): Promise<string[]> {
  const script = `${completionScript(buildProgram(), 'bash')}
COMP_WORDS=(docker-mcp "$@"); COMP_CWORD=$#
_docker_mcp
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const result = await execa('bash', ['-c', script, 'bash', ...words]);
  return result.stdout.split('\n').filter(Boolean).sort();
}

describe('shell completion from the command tree', () => {
  it('completes top-level commands', async () => {
    expect(await complete(['st'])).toEqual(['stacks', 'standby']);
    expect(await complete(['sta'])).toEqual(['stacks', 'standby']);
    expect(await complete(['standby', ''])).toEqual(expect.arrayContaining(['add', 'list', 'remove']));
    expect(await complete([''])).toEqual(expect.arrayContaining(['containers', 'hosts', 'migrate', 'migrations', 'serve', 'stacks', 'standby', 'testbed']));
  });

  it('completes subcommands and options of the command typed so far, past options and arguments', async () => {
    expect(await complete(['stacks', 'd'])).toEqual(['deploy', 'discover', 'down']);
    expect(await complete(['--config', 'x.yml', 'hosts', ''])).toEqual(['add', 'discover', 'list', 'test']);
    expect(await complete(['migrate', 'alpha', 'beta', 'web', '--c'])).toEqual(expect.arrayContaining(['--cold']));
    expect(await complete(['serve', '--h'])).toEqual(['--host', '--http']);
  });
});
