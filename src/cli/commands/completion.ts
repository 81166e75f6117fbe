/**
 * `docker-mcp completion bash|zsh`: a completion script generated from the
 * command tree itself, so it never falls behind the commands.
 */
import type { Command } from 'commander';
import { InvalidInputError } from '../../errors.js';
import { quoteArg } from '../../ssh/quote.js';

export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('Print a shell completion script: eval "$(docker-mcp completion bash)" (or zsh)')
    .argument('<shell>', 'bash or zsh')
    .action((shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh') throw new InvalidInputError('shell', shell, 'must be bash or zsh');
      process.stdout.write(completionScript(program, shell));
    });
}

/** Command path (words after the program name, space-separated) → what may follow it. */
export function completionTable(root: Command): Map<string, string[]> {
  const table = new Map<string, string[]>();
  const visit = (command: Command, path: string) => {
    const words = [...command.commands.map((c) => c.name()), ...command.options.map((o) => o.long).filter((long): long is string => long !== undefined)];
    table.set(path, words);
    for (const child of command.commands) visit(child, path === '' ? child.name() : `${path} ${child.name()}`);
  };
  visit(root, '');
  return table;
}

export function completionScript(root: Command, shell: 'bash' | 'zsh'): string {
  const name = root.name();
  const fn = `_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
  const cases = [...completionTable(root)].map(([path, words]) => `    ${quoteArg(path)}) echo ${quoteArg(words.join(' '))} ;;`).join('\n');
  return `${shell === 'zsh' ? 'autoload -U +X bashcompinit && bashcompinit\n' : ''}${fn}_words() {
  case "$1" in
${cases}
    *) return 1 ;;
  esac
}
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" next i
  for ((i = 1; i < COMP_CWORD; i++)); do
    next="\${path:+$path }\${COMP_WORDS[i]}"
    ${fn}_words "$next" >/dev/null && path="$next"
  done
  COMPREPLY=($(compgen -W "$(${fn}_words "$path")" -- "$cur"))
}
complete -F ${fn} ${name}
`;
}
