/**
 * Hosts from the user's ~/.ssh/config, for `import_ssh`. The file is only
 * scanned for concrete `Host` aliases; what each alias resolves to comes from
 * OpenSSH itself (`ssh -G`), so Include, Match and defaults work as ssh does.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { InvalidInputError } from '../errors.js';

export interface SshAlias {
  readonly alias: string;
  readonly hostname: string;
  readonly user: string;
  readonly port: number;
  readonly identityFile: string | null;
}

export function defaultSshConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.HOME ?? os.homedir(), '.ssh', 'config');
}

/** Concrete aliases named on `Host` lines; patterns (`*`, `?`, `!`) are not hosts. */
export function sshConfigAliases(text: string): string[] {
  const aliases = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const match = /^host(?:\s*=\s*|\s+)(.+)$/i.exec(line);
    if (!match?.[1]) continue;
    for (const name of match[1].split(/\s+/)) {
      const unquoted = name.replace(/^"(.*)"$/, '$1');
      if (unquoted && !/[*?!]/.test(unquoted)) aliases.add(unquoted);
    }
  }
  return [...aliases];
}

/** What OpenSSH would use for `alias`, from `ssh -G` (which connects nowhere). */
export async function resolveSshAlias(alias: string, configFile?: string): Promise<SshAlias> {
  if (alias.startsWith('-')) throw new InvalidInputError('ssh alias', alias, 'must not start with "-"');
  const result = await execa('ssh', [...(configFile ? ['-F', configFile] : []), '-G', '--', alias], { reject: false, stdin: 'ignore' });
  if (result.exitCode !== 0) throw new InvalidInputError('ssh alias', alias, `ssh -G could not resolve it: ${result.stderr.trim()}`);
  const values = new Map<string, string>();
  const identityFiles: string[] = [];
  for (const line of result.stdout.split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const [key, value] = [line.slice(0, space), line.slice(space + 1)];
    if (key === 'identityfile') identityFiles.push(value);
    else if (!values.has(key)) values.set(key, value);
  }
  // ssh -G lists its default key names too, existing or not: keep the first that exists.
  const home = process.env.HOME ?? os.homedir();
  const identityFile = identityFiles.map((file) => file.replace(/^~(?=\/)/, home)).find((file) => !file.includes('%') && existsSync(file)) ?? null;
  return {
    alias,
    hostname: values.get('hostname') ?? alias,
    user: values.get('user') ?? os.userInfo().username,
    port: Number(values.get('port') ?? 22),
    identityFile,
  };
}

export async function readSshAliases(configFile = defaultSshConfigPath()): Promise<string[]> {
  try {
    return sshConfigAliases(await readFile(configFile, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new InvalidInputError('ssh config', configFile, 'does not exist');
    throw error;
  }
}
