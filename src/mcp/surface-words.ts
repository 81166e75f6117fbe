/**
 * Engine errors name what to do next the way the CLI spells it (`--force`,
 * `--yes`). Read over MCP, those are the tool's parameters: the same advice
 * in the words of the surface it is read on.
 */
const CLI_FLAG_TO_PARAMETER: readonly (readonly [RegExp, string])[] = [
  [/--force\b(?!-)/g, 'force: true'],
  [/--yes\b/g, 'confirm: true'],
  [/--dry-run\b/g, 'dry_run: true'],
  [/--keep-failed\b/g, 'keep_failed: true'],
  [/--remove-source\b/g, 'remove_source: true'],
  [/--cold\b/g, 'cold: true'],
  [/--bwlimit\b/g, 'bwlimit'],
  [/(?:docker-mcp )?migrate --resume\b/g, 'migrate with resume'],
  [/--resume\b/g, 'resume'],
];

export function inMcpWords(message: string): string {
  return CLI_FLAG_TO_PARAMETER.reduce((text, [flag, parameter]) => text.replace(flag, parameter), message);
}
