/**
 * Where compose v1 and v2 read the same `.env` differently. docker-compose
 * 1.x reads it with python-dotenv, which replaces `${NAME}` and
 * `${NAME:-default}` in every value, single-quoted ones included; compose v2
 * keeps a single-quoted value as written. Pure.
 */

/** The variables whose single-quoted value in this `.env` text holds `${...}`, in file order. */
export function singleQuotedExpansions(envText: string): string[] {
  const names: string[] = [];
  for (const line of envText.split('\n')) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*'([^']*)'/.exec(line);
    if (match && /\$\{[^}]*\}/.test(match[2] as string) && !names.includes(match[1] as string)) names.push(match[1] as string);
  }
  return names;
}
