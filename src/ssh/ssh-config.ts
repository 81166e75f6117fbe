/**
 * Hosts from the user's ~/.ssh/config, for `import_ssh`. The file is only
 * scanned for concrete `Host` aliases; what each alias resolves to comes from
 * OpenSSH itself (`ssh -G`), so Include, Match and defaults work as ssh does.
 */
import { existsSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { InvalidInputError } from '../errors.js';
import { toolWrittenPlaces } from '../config/tool-files.js';

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

/**
 * The ssh config `import_ssh` reads. `ssh -G` runs `Match exec` commands, so
 * the file is code: over MCP only the user's own ~/.ssh/config (a client may
 * not name another file), from the CLI a file the user names; and never a file
 * this tool wrote (hosts.yml, its backup, our config, state and testbed
 * folders), whose text MCP clients partly choose. Returns the file.
 */
export function sshConfigFileForImport(
  requested: string | undefined,
  options: { readonly caller: 'mcp' | 'cli'; readonly hostsFile: string; readonly env?: NodeJS.ProcessEnv },
): string {
  const env = options.env ?? process.env;
  const home = env.HOME ?? os.homedir();
  const own = defaultSshConfigPath(env);
  const file = requested === undefined ? own : path.resolve(requested.replace(/^~(?=\/)/, home));
  if (options.caller === 'mcp' && file !== own) {
    throw new InvalidInputError('ssh_config_path', requested ?? '', `over MCP, import_ssh reads only ~/.ssh/config (${own}): a client may not name another file`);
  }
  const real = realPathOf(file);
  const written = toolWrittenPlaces(options.hostsFile, env).map(realPathOf).find((place) => real === place || real.startsWith(`${place}/`) || isTemporaryOf(real, place));
  if (written) throw new InvalidInputError('ssh config', file, `is a file written by docker-mcp (${real}), never read as an ssh config`);
  return file;
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

/**
 * What OpenSSH would use for `alias`, from `ssh -G` (which connects nowhere,
 * but runs `Match exec`): `configFile` must come from sshConfigFileForImport.
 */
export async function resolveSshAlias(alias: string, configFile?: string): Promise<SshAlias> {
  const values = await sshEffectiveOptions(alias, { configFile });
  // ssh -G lists its default key names too, existing or not: keep the first that exists.
  const home = process.env.HOME ?? os.homedir();
  const identityFile = (values.get('identityfile') ?? []).map((file) => file.replace(/^~(?=\/)/, home)).find((file) => !file.includes('%') && existsSync(file)) ?? null;
  return {
    alias,
    hostname: values.get('hostname')?.[0] ?? alias,
    user: values.get('user')?.[0] ?? os.userInfo().username,
    port: Number(values.get('port')?.[0] ?? 22),
    identityFile,
  };
}

/**
 * Every option OpenSSH would use to reach `destination` (`ssh -G`, which
 * connects nowhere but runs `Match exec`): each key lower-case, with its
 * values in ssh's order. `port` is the one given on the command line, as the
 * tool's own ssh calls give it.
 */
export async function sshEffectiveOptions(destination: string, options: { readonly configFile?: string | undefined; readonly port?: number } = {}): Promise<Map<string, string[]>> {
  if (destination.startsWith('-')) throw new InvalidInputError('ssh alias', destination, 'must not start with "-"');
  const args = [...(options.configFile ? ['-F', options.configFile] : []), ...(options.port === undefined ? [] : ['-p', String(options.port)]), '-G', '--', destination];
  const result = await execa('ssh', args, { reject: false, stdin: 'ignore' });
  if (result.exitCode !== 0) throw new InvalidInputError('ssh alias', destination, `ssh -G could not resolve it: ${result.stderr.trim()}`);
  const values = new Map<string, string[]>();
  for (const line of result.stdout.split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const key = line.slice(0, space);
    values.set(key, [...(values.get(key) ?? []), line.slice(space + 1)]);
  }
  return values;
}

export async function readSshAliases(configFile = defaultSshConfigPath()): Promise<string[]> {
  try {
    return sshConfigAliases(await readFile(configFile, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new InvalidInputError('ssh config', configFile, 'does not exist');
    throw error;
  }
}

/** The temporary file writeConfigFile renames over hosts.yml. */
function isTemporaryOf(file: string, hostsFile: string): boolean {
  return path.dirname(file) === path.dirname(hostsFile) && path.basename(file).startsWith(`.${path.basename(hostsFile)}.`);
}

function realPathOf(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}
