/**
 * Where `serve --http` gets its bearer token: a file (`--token-file`) or
 * `$DOCKER_MCP_TOKEN`. Never the command line, which every local user can
 * read in the process list.
 */
import { readFileSync, statSync } from 'node:fs';
import { InvalidInputError } from '../errors.js';

export const TOKEN_ENV = 'DOCKER_MCP_TOKEN';

export function readToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (tokenFile !== undefined) {
    let text: string;
    try {
      refuseSharedTokenFile(tokenFile);
      text = readFileSync(tokenFile, 'utf8');
    } catch (error) {
      if (error instanceof InvalidInputError) throw error;
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

/** A token that group or others can read is a token every local user may already have. */
function refuseSharedTokenFile(tokenFile: string): void {
  const mode = statSync(tokenFile).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new InvalidInputError('--token-file', tokenFile, `has mode ${mode.toString(8).padStart(4, '0')}: group and others may read it; it must be 0600 or stricter (chmod 600 ${tokenFile})`);
  }
}

/** `--token VALUE` is refused rather than honoured: by the time we see it, it has already been visible in `ps`. */
export function refuseCommandLineToken(): never {
  throw new InvalidInputError(
    '--token',
    '(not shown)',
    `a token on the command line shows in every local user's process list; put it in a file readable only by you and pass --token-file FILE, or set $${TOKEN_ENV}`,
  );
}
