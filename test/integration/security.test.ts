/**
 * Hostile layouts on the hosts themselves: data paths with shell syntax in
 * them, symlinks out of appdata, stack folders whose names forge entries,
 * secrets in files other users can read. Every name starts with `secc`.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stackSourceOf } from '../fixtures/stack-source.js';
import { listContainers } from '../../src/docker/containers.js';
import { UnknownStackError } from '../../src/docker/errors.js';
import { deployStack, listStacks, stackAction, stackComposeFile } from '../../src/docker/stacks.js';
import { planStackMigration } from '../../src/migration/execute.js';
import { planMigration } from '../../src/migration/plan.js';
import { removeSourceCopy } from '../../src/migration/remove-source.js';
import { command, withEnv } from '../../src/ssh/quote.js';
import { rsyncArguments } from '../../src/transfer/rsync-transfer.js';
import { MigrateKit } from './migrate-kit.js';

const prefix = `secc${process.pid}`;
let kit: MigrateKit;

beforeAll(async () => {
  kit = await MigrateKit.open(prefix);
});

afterAll(async () => {
  await kit.sh('alpha', 'rm -rf /tmp/"$1"-*', prefix);
  await kit.sh('gamma', 'rm -rf /tmp/"$1"-*', prefix);
  await kit.close();
});

describe('a data path with shell syntax in it', () => {
  const canary = `/tmp/${prefix}-pwned`;

  it('reaches the target as one argument of rsync, even where the source rsync would hand it to the target shell', async () => {
    const source = `/srv/alpha/appdata/${prefix}-plain`;
    const target = `/srv/gamma/appdata/${prefix}-r$(touch ${canary});x`;
    await kit.sh('alpha', 'mkdir -p "$1" "$2" && echo data > "$1/file"', source, target);
    // RSYNC_OLD_ARGS=1 makes rsync 3.2.4+ pass remote paths to the remote shell as rsync <= 3.2.3 did.
    const run = withEnv({ RSYNC_OLD_ARGS: '1' }, rsyncArguments(source, kit.hosts.gamma.host, target));
    await kit.hosts.alpha.transport.exec(run);
    expect(await kit.exists('gamma', canary)).toBe(false);
    expect(await kit.exists('gamma', `${target}/file`)).toBe(true);
  });

  it('is refused before anything moves, naming the character', async () => {
    const canary = `/tmp/${prefix}-pwned-too`;
    const stack = `${prefix}-inject`;
    // Backquotes rather than $(...), which compose would take for a variable.
    const bind = `/srv/alpha/appdata/${prefix}-q\`touch ${canary}\`;x`;
    await kit.sh('alpha', 'mkdir -p "$1"', bind);
    await deployStack(kit.hosts.alpha, stack, `services:\n  app:\n    image: local/busybox:test\n    command: ["sleep", "3600"]\n    network_mode: none\n    volumes:\n      - type: bind\n        source: "${bind}"\n        target: /data\n`, { start: false });
    const run = await kit.cli(['migrate', 'alpha', 'gamma', stack, '--method', 'rsync', '--start-timeout', '10']);
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toMatch(/data path .*"`"/);
    expect(await kit.exists('gamma', `/srv/gamma/compose/${stack}`)).toBe(false);
    expect(await kit.exists('gamma', bind.replace('/srv/alpha/', '/srv/gamma/'))).toBe(false);
    expect(await kit.exists('gamma', canary)).toBe(false);
  });

  afterAll(async () => {
    await kit.hosts.alpha.transport.exec(command(['rm', '-f', '--', canary, `${canary}-too`]));
  });
});

describe('stack folders whose names hold a tab or a newline', () => {
  const root = '/srv/alpha/compose';
  const victim = `${prefix}-victim`;
  const forged = [`${prefix}-x\n${victim}`, `${prefix}-t\tab`, `${prefix}-n\n`];
  const service = (name: string) => `services:\n  ${name}:\n    image: local/busybox:test\n    command: ["sleep", "3600"]\n    network_mode: none\n    init: true\n`;

  beforeAll(async () => {
    await deployStack(kit.hosts.alpha, victim, service('real'), { start: false });
    // Each forged folder holds the attacker's compose file; so does a plain
    // file the newline makes the victim's entry point at.
    await kit.sh('alpha', 'evil="$1/$3" && printf "%s" "$2" > "$evil" && shift 3 && for d in "$@"; do mkdir -p "$d" && cp "$evil" "$d/docker-compose.yml"; done', root, service('evil'), `${prefix}-x`, ...forged.map((name) => `${root}/${name}`));
  });

  // Other tests listing alpha's stacks would see the warning about them.
  afterAll(async () => {
    await kit.sh('alpha', 'rm -rf -- "$@"', ...forged.map((name) => `${root}/${name}`), `${root}/${prefix}-x`);
  });

  it('are left out of the list, and no entry of another stack points elsewhere', async () => {
    const stacks = await listStacks(kit.hosts.alpha);
    expect(stacks.filter((s) => /[\t\n]|^secc\d+-[xtn]/.test(s.name) || /[\t\n]/.test(s.composeFile ?? ''))).toEqual([]);
    expect(stacks.find((s) => s.name === victim)?.composeFile).toBe(`${root}/${victim}/docker-compose.yml`);
    await expect(stackComposeFile(kit.hosts.alpha, `${prefix}-t`)).rejects.toThrow(UnknownStackError);
  });

  it('do not change what up, down and migrate of the victim act on', async () => {
    await stackAction(kit.hosts.alpha, victim, 'up');
    const services = (await listContainers(kit.hosts.alpha)).filter((c) => c.stack === victim).map((c) => c.service);
    await stackAction(kit.hosts.alpha, victim, 'down');
    expect(services).toEqual(['real']);
    expect((await listContainers(kit.hosts.alpha)).filter((c) => c.stack === victim)).toEqual([]);
    const plan = await planStackMigration(kit.hosts.alpha, kit.hosts.beta, victim);
    expect(plan.sourceStackDir).toBe(`${root}/${victim}`);
  });
});

describe('a data path through a symlink out of appdata', () => {
  const outside = `/tmp/${prefix}-outside`;
  const app = `/srv/gamma/appdata/${prefix}-app`;
  const bind = `${app}/link/etc`;
  const compose = `services:\n  app:\n    image: local/busybox:test\n    command: ["sleep", "3600"]\n    network_mode: none\n    init: true\n    volumes:\n      - ${bind}:/data\n`;

  beforeEach(async () => {
    await kit.sh('gamma', 'mkdir -p "$1/etc" "$2" && echo keep > "$1/etc/canary" && ln -sfn "$1" "$2/link"', outside, app);
  });

  it('is refused by pre-flight: nothing copied, nothing removed', async () => {
    const stack = `${prefix}-link`;
    await deployStack(kit.hosts.gamma, stack, compose, { start: false });
    const run = await kit.cli(['migrate', 'gamma', 'alpha', stack, '--remove-source', '--yes', '--start-timeout', '10']);
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toMatch(new RegExp(`${bind}.* resolves to ${outside}/etc`));
    expect(await kit.exists('gamma', `${outside}/etc/canary`)).toBe(true);
    expect(await kit.exists('gamma', `/srv/gamma/compose/${stack}/docker-compose.yml`)).toBe(true);
    expect(await kit.exists('alpha', `/srv/alpha/appdata/${prefix}-app`)).toBe(false);
    expect(await kit.exists('alpha', `/srv/alpha/compose/${stack}`)).toBe(false);
  });

  it('is checked again right before the source copy is removed', async () => {
    // As if the link appeared after pre-flight: the plan names the path as text.
    const plan = planMigration({
      id: `${prefix}-late`,
      stack: `${prefix}-late`,
      source: kit.hosts.gamma.host,
      target: kit.hosts.alpha.host,
      stackSource: stackSourceOf(`/srv/gamma/compose/${prefix}-late`, `${prefix}-late`, { app: { binds: [`${bind}:/data`] } }),
    });
    await kit.sh('gamma', 'mkdir -p "$1" && echo x > "$1/docker-compose.yml"', `/srv/gamma/compose/${prefix}-late`);
    await expect(removeSourceCopy(plan, kit.hosts.gamma, {})).rejects.toThrow(new RegExp(`resolves to ${outside}/etc`));
    expect(await kit.exists('gamma', `${outside}/etc/canary`)).toBe(true);
    expect(await kit.exists('gamma', `/srv/gamma/compose/${prefix}-late/docker-compose.yml`)).toBe(true);
  });
});

describe('secrets written on a host', () => {
  const value = `a'b$HOME"c\\d #e`;
  const compose = `services:\n  app:\n    image: local/busybox:test\n    command: ["sleep", "3600"]\n    network_mode: none\n    init: true\n    environment:\n      SECRET: "\${SECC_SECRET}"\n`;

  for (const id of ['alpha', 'beta'] as const) {
    it(`reach the container literally and are readable by their owner only, on ${id} (compose ${id === 'alpha' ? 'v1' : 'v2'})`, async () => {
      const stack = `${prefix}-env-${id}`;
      const dir = `/srv/${id}/compose/${stack}`;
      await deployStack(kit.hosts[id], stack, compose, { environment: { SECC_SECRET: value } });
      const container = (await listContainers(kit.hosts[id])).find((c) => c.stack === stack);
      const env = await kit.sh(id, 'docker inspect --format "{{range .Config.Env}}{{println .}}{{end}}" "$1"', container?.name ?? 'missing');
      expect(env.stdout.split('\n')).toContain(`SECRET=${value}`);
      const modes = await kit.sh(id, 'stat -c "%a %n" "$1/.env" "$1/docker-compose.yml"', dir);
      expect(modes.stdout.trim().split('\n')).toEqual([`600 ${dir}/.env`, `600 ${dir}/docker-compose.yml`]);
      await stackAction(kit.hosts[id], stack, 'down');
    });
  }

  it('refuses a value that compose v1 and v2 would read differently', async () => {
    for (const bad of ['a\\\\b', "a\\'b", 'a\\']) {
      await expect(deployStack(kit.hosts.alpha, `${prefix}-env-bad`, compose, { environment: { SECC_SECRET: bad } })).rejects.toThrow(/backslash/);
    }
    expect(await kit.exists('alpha', `/srv/alpha/compose/${prefix}-env-bad`)).toBe(false);
  });
});
