/**
 * Where `serve --http` gets its bearer token: a file (`--token-file`) or
 * `$DOCKER_MCP_TOKEN`. Never the command line, which every local user can
 * read in the process list.
 */
import { readFileSync } from 'node:fs';
import { InvalidInputError } from '../errors.js';

export const TOKEN_ENV = 'DOCKER_MCP_TOKEN';

export function readToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(tokenFile, 'utf8');
    } catch (error) {
      throw new InvalidInputError('--token-file', tokenFile, `cannot be read: ${(error as Error).message}`);
    }
    const token = text.trim();
    if (!token) throw new InvalidInputError('--token-file', tokenFile, 'is empty');
    if (/\s/.test(token)) throw new InvalidInputError('--token-file', tokenFile, 'must hold the token alone, on one line');
    return token;
  }
  const token = env[TOKEN_ENV]?.trim();
  return token ? token : undefined;
}

/** `--token VALUE` is refused rather than honoured: by the time we see it, it has already been visible in `ps`. */
export function refuseCommandLineToken(): never {
  throw new InvalidInputError(
    '--token',
    '(not shown)',
    `a token on the command line shows in every local user's process list; put it in a file readable only by you and pass --token-file FILE, or set $${TOKEN_ENV}`,
  );
}
