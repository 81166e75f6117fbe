import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigInvalidError } from '../../src/config/errors.js';
import { findHost, loadConfig, parseConfigText } from '../../src/config/load.js';
import { locateConfig } from '../../src/config/locate.js';
import { removeHost, setHostFields, writeConfigFile } from '../../src/config/write.js';

const PYTHON_STYLE = `# my homelab
hosts:
  squirts:
    hostname: squirts.lan
    user: jmagar
    port: 2222
    identity_file: ~/.ssh/id_ed25519
    description: "main box"   # the big one
    tags: [prod, zfs]
    compose_path: /mnt/cache/compose
    appdata_path: /mnt/appdata
    zfs_capable: true
    zfs_dataset: rpool/appdata
    docker_context: squirts
    future_field: {nested: 1}
  shart:
    hostname: shart
    user: root
    enabled: false
server:
  host: 127.0.0.1
  port: 8000
transfer:
  parallel: 2
`;

function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-config-'));
}

function problemsOf(text: string) {
  try {
    parseConfigText(text, '/etc/hosts.yml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigInvalidError);
    return { message: (error as ConfigInvalidError).message, problems: (error as ConfigInvalidError).problems };
  }
  throw new Error('expected the config to be refused');
}

describe('loading hosts.yml', () => {
  it('reads the Python docker-mcp schema with its defaults', () => {
    const { hosts } = parseConfigText(PYTHON_STYLE, 'hosts.yml');
    expect(hosts.map((h) => h.id)).toEqual(['squirts', 'shart']);
    const [squirts, shart] = hosts;
    expect(squirts).toMatchObject({ port: 2222, zfs_capable: true, zfs_dataset: 'rpool/appdata', tags: ['prod', 'zfs'] });
    expect(shart).toMatchObject({ port: 22, enabled: false, zfs_capable: false, tags: [], description: '' });
  });

  it('names file, host, field and line for a bad field', () => {
    const { message, problems } = problemsOf('hosts:\n  alpha:\n    hostname: a\n    user: root\n    port: "twenty-two"\n');
    expect(problems).toEqual([expect.objectContaining({ host: 'alpha', field: 'port', line: 5 })]);
    expect(message).toContain('/etc/hosts.yml');
    expect(message).toMatch(/line 5, host "alpha", field "port"/);
  });

  it('names a missing required field and a bad dataset', () => {
    const { problems } = problemsOf('hosts:\n  beta:\n    hostname: b\n    zfs_dataset: "pool/../x"\n');
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ host: 'beta', field: 'user', line: 2, message: 'is required' }),
        expect.objectContaining({ host: 'beta', field: 'zfs_dataset', line: 4 }),
      ]),
    );
  });

  it('refuses a relative appdata_path and a host id with shell characters', () => {
    expect(problemsOf('hosts:\n  a:\n    hostname: a\n    user: u\n    appdata_path: srv/x\n').problems[0]).toMatchObject({
      field: 'appdata_path',
      line: 5,
    });
    expect(problemsOf('hosts:\n  "a;b":\n    hostname: a\n    user: u\n').message).toMatch(/host id/);
  });

  it('gives the YAML parser line for broken YAML', () => {
    const { problems } = problemsOf('hosts:\n  alpha:\n    hostname: [unclosed\n    user: root\n');
    expect(problems[0]?.line).toBeGreaterThanOrEqual(3);
  });

  it('expands allowed environment variables in values, leaving unknown ones as written', () => {
    const { hosts } = parseConfigText('hosts:\n  a:\n    hostname: ${NAS}\n    user: $USERX\n    compose_path: $HOME/compose\n', 'f', { NAS: 'nas.lan', HOME: '/home/me' });
    expect(hosts[0]).toMatchObject({ hostname: '${NAS}', user: '$USERX', compose_path: '/home/me/compose' });
  });

  it('says which hosts exist when an unknown or disabled one is asked for', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'hosts.yml'), PYTHON_STYLE);
    const config = await loadConfig(path.join(dir, 'hosts.yml'), {});
    expect(() => findHost(config, 'nope')).toThrow(/unknown host "nope"; configured hosts: squirts/);
    expect(() => findHost(config, 'shart')).toThrow(/unknown host "shart"/);
  });
});

describe('locating hosts.yml', () => {
  it('prefers --config, then DOCKER_MCP_CONFIG, then DOCKER_HOSTS_CONFIG', () => {
    const dir = tempDir();
    const flag = path.join(dir, 'flag.yml');
    const env = path.join(dir, 'env.yml');
    for (const file of [flag, env]) writeFileSync(file, 'hosts: {}\n');
    expect(locateConfig(flag, { DOCKER_MCP_CONFIG: env }, dir)).toMatchObject({ path: flag, source: 'flag' });
    expect(locateConfig(undefined, { DOCKER_MCP_CONFIG: env }, dir)).toMatchObject({ path: env, source: 'DOCKER_MCP_CONFIG' });
    expect(locateConfig(undefined, { DOCKER_HOSTS_CONFIG: env }, dir)).toMatchObject({ source: 'DOCKER_HOSTS_CONFIG' });
  });

  it("does not read the current folder's config/hosts.yml unless it is named, and says it is there", () => {
    const home = tempDir();
    const folder = tempDir();
    const user = path.join(home, '.config/docker-mcp/hosts.yml');
    mkdirSync(path.dirname(user), { recursive: true });
    writeFileSync(user, 'hosts: {}\n');
    // A cloned repository's file pointing the user's alpha elsewhere.
    const cloned = path.join(folder, 'config/hosts.yml');
    mkdirSync(path.dirname(cloned));
    writeFileSync(cloned, 'hosts:\n  alpha:\n    hostname: 127.0.0.12\n    user: root\n');
    const env = { HOME: home, DOCKER_MCP_TESTBED_DIR: path.join(home, 'none') };
    expect(locateConfig(undefined, env, folder)).toEqual({ path: user, source: 'user', exists: true, ignoredFolderFile: cloned });
    // With no file of the user's either, there are still no hosts, never the folder's.
    expect(locateConfig(undefined, { ...env, HOME: folder }, folder)).toMatchObject({ source: 'user', exists: false, ignoredFolderFile: cloned });
    expect(locateConfig(cloned, env, folder)).toEqual({ path: cloned, source: 'flag', exists: true });
  });

  it('keeps a named file that does not exist (no hosts yet) instead of falling back to another', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'hosts.yml'), 'hosts: {}\n');
    expect(locateConfig('/nonexistent/hosts.yml', { HOME: dir }, dir)).toEqual({ path: '/nonexistent/hosts.yml', source: 'flag', exists: false });
  });

  it('with no hosts.yml anywhere, starts with no hosts in the user\'s file, which the first add creates', async () => {
    const dir = tempDir();
    const env = { HOME: dir, DOCKER_MCP_TESTBED_DIR: path.join(dir, 'none') };
    const location = locateConfig(undefined, env, dir);
    expect(location).toEqual({ path: path.join(dir, '.config/docker-mcp/hosts.yml'), source: 'user', exists: false });
    const config = await loadConfig(location.path, env);
    expect(config.hosts).toEqual([]);
    setHostFields(config.document, 'alpha', { hostname: 'alpha.lan', user: 'root' });
    await writeConfigFile(location.path, config.document);
    expect(readFileSync(location.path, 'utf8')).toBe('hosts:\n  alpha:\n    hostname: alpha.lan\n    user: root\n');
    expect((await loadConfig(location.path, env)).hosts.map((h) => h.id)).toEqual(['alpha']);
  });
});

describe('writing hosts.yml back', () => {
  it('keeps comments, unknown fields and other blocks, and keeps a .bak', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'hosts.yml');
    writeFileSync(file, PYTHON_STYLE);
    const config = await loadConfig(file, {});
    setHostFields(config.document, 'squirts', { zfs_dataset: 'tank/appdata' });
    setHostFields(config.document, 'gamma', { hostname: '127.0.0.13', user: 'root' });
    removeHost(config.document, 'shart');
    await writeConfigFile(file, config.document);

    const written = readFileSync(file, 'utf8');
    expect(written).toContain('# my homelab');
    expect(written).toContain('# the big one');
    expect(written).toContain('future_field');
    expect(written).toContain('docker_context: squirts');
    expect(written).toContain('transfer:');
    expect(written).not.toContain('shart');
    expect(readFileSync(`${file}.bak`, 'utf8')).toBe(PYTHON_STYLE);
    const reread = await loadConfig(file, {});
    expect(reread.hosts.map((h) => [h.id, h.zfs_dataset ?? null])).toEqual([
      ['squirts', 'tank/appdata'],
      ['gamma', null],
    ]);
  });

  it('refuses to write a document that would not load, leaving the file as it was', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'hosts.yml');
    writeFileSync(file, PYTHON_STYLE);
    const config = await loadConfig(file, {});
    setHostFields(config.document, 'squirts', { port: 70000 });
    await expect(writeConfigFile(file, config.document)).rejects.toThrow(/field "port"/);
    expect(readFileSync(file, 'utf8')).toBe(PYTHON_STYLE);
  });
});
