/**
 * The engine's compose labels as hints: believed only when they resolve into
 * one stack folder directly under compose_path. Where each path resolves is
 * given here as the host's realpath would answer (the integration tests in
 * stack-labels.test.ts ask a real host).
 */
import { describe, expect, it } from 'vitest';
import { judgeLabelHint, type LabelHint } from '../../src/docker/label-location.js';
import { stackNameOfComposeFile, stackNameOfFolder } from '../../src/docker/stack-folder-layout.js';
import type { ResolvedKind, ResolvedPath } from '../../src/host/resolve-paths.js';

const ROOT = '/srv/compose';

function host(entries: Record<string, [string, ResolvedKind]>): Map<string, ResolvedPath> {
  return new Map(Object.entries({ [ROOT]: [ROOT, 'directory'] as [string, ResolvedKind], ...entries }).map(([p, [real, kind]]) => [p, { path: p, real, kind }]));
}
const hint = (workingDir: string | null, configFiles: string[]): LabelHint => ({ project: 'x', workingDir, configFiles });

describe('labels of a compose project', () => {
  it('are believed when they name compose files in one stack folder under compose_path (v1 writes them relative)', () => {
    const resolved = host({ '/srv/compose/app': ['/srv/compose/app', 'directory'], '/srv/compose/app/docker-compose.yml': ['/srv/compose/app/docker-compose.yml', 'file'], '/srv/compose/app/docker-compose.override.yml': ['/srv/compose/app/docker-compose.override.yml', 'file'] });
    expect(judgeLabelHint(hint('/srv/compose/app', ['docker-compose.yml', 'docker-compose.override.yml']), ROOT, resolved)).toEqual({
      location: { project: 'x', workingDir: '/srv/compose/app', configFiles: ['/srv/compose/app/docker-compose.yml', '/srv/compose/app/docker-compose.override.yml'] },
    });
  });

  it('are believed through a link to compose_path, and give the place as hosts.yml writes it', () => {
    const resolved = host({ [ROOT]: ['/data/compose', 'directory'], '/data/compose/app': ['/data/compose/app', 'directory'], '/data/compose/app/compose.yaml': ['/data/compose/app/compose.yaml', 'file'] });
    expect(judgeLabelHint(hint('/data/compose/app', ['/data/compose/app/compose.yaml']), ROOT, resolved)).toEqual({
      location: { project: 'x', workingDir: '/srv/compose/app', configFiles: ['/srv/compose/app/compose.yaml'] },
    });
  });

  it('are ignored when a file is not a compose file of that folder: /etc/shadow, a link out, another folder, a missing file', () => {
    const base = { '/srv/compose/app': ['/srv/compose/app', 'directory'] as [string, ResolvedKind] };
    const cases: [string[], Record<string, [string, ResolvedKind]>][] = [
      [['/etc/shadow'], { '/etc/shadow': ['/etc/shadow', 'file'] }],
      [['docker-compose.yml'], { '/srv/compose/app/docker-compose.yml': ['/etc/shadow', 'file'] }],
      [['/srv/compose/other/docker-compose.yml'], { '/srv/compose/other/docker-compose.yml': ['/srv/compose/other/docker-compose.yml', 'file'] }],
      [['notes.yml'], { '/srv/compose/app/notes.yml': ['/srv/compose/app/notes.yml', 'file'] }],
      [['docker-compose.yml'], {}],
    ];
    for (const [files, entries] of cases) {
      const verdict = judgeLabelHint(hint('/srv/compose/app', files), ROOT, host({ ...base, ...entries }));
      expect(verdict, files.join()).toMatchObject({ ignored: expect.stringMatching(/config_files label .*not a compose file in \/srv\/compose\/app/) });
    }
  });

  it('are ignored when working_dir is compose_path itself, a parent, a folder deeper down, or missing', () => {
    for (const [dir, real] of [[ROOT, ROOT], ['/srv', '/srv'], ['/srv/compose/app/sub', '/srv/compose/app/sub'], ['/srv/compose/link', '/etc']]) {
      const resolved = host({ [dir as string]: [real as string, 'directory'], [`${dir}/docker-compose.yml`]: [`${real}/docker-compose.yml`, 'file'] });
      expect(judgeLabelHint(hint(dir as string, ['docker-compose.yml']), ROOT, resolved)).toMatchObject({ ignored: expect.stringMatching(/working_dir label .*not a stack folder/) });
    }
    for (const labels of [hint(null, ['docker-compose.yml']), hint('relative/dir', ['docker-compose.yml']), hint('/srv/compose/app', [])]) {
      expect(judgeLabelHint(labels, ROOT, host({}))).toMatchObject({ ignored: expect.stringMatching(/no usable/) });
    }
  });
});

describe('the stack folder layout', () => {
  it('is <compose_path>/<valid stack name>/<compose file name>, overrides only when asked', () => {
    expect(stackNameOfComposeFile(ROOT, '/srv/compose/app/compose.yml')).toBe('app');
    expect(stackNameOfComposeFile(ROOT, '/srv/compose/app/docker-compose.override.yml')).toBeNull();
    expect(stackNameOfComposeFile(ROOT, '/srv/compose/app/docker-compose.override.yml', { overrides: true })).toBe('app');
    for (const file of ['/srv/compose/docker-compose.yml', '/srv/compose/a/b/compose.yml', '/srv/composeX/a/compose.yml', '/srv/compose/My App/compose.yml', '/srv/compose/../compose.yml']) {
      expect(stackNameOfComposeFile(ROOT, file), file).toBeNull();
    }
    expect(stackNameOfFolder(ROOT, ROOT)).toBeNull();
    expect(stackNameOfFolder(ROOT, '/srv/compose/app')).toBe('app');
  });
});
