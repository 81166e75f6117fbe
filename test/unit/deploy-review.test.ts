import { describe, expect, it } from 'vitest';
import { deployQuestion, refuseForeignProjectName, riskySettings, type DeployReview } from '../../src/docker/deploy-review.js';

const places = { appdataPath: '/srv/alpha/appdata', stackFolder: '/srv/alpha/compose/b-app' };

// As `docker compose config --format json` (v2) prints a file that asks for the host.
const V2_PRINTED = JSON.stringify({
  name: 'b-app',
  services: {
    root: {
      image: 'busybox',
      volumes: [
        { type: 'bind', source: '/', target: '/host' },
        { type: 'bind', source: '/var/run/docker.sock', target: '/var/run/docker.sock', read_only: true },
        { type: 'bind', source: '/srv/alpha/appdata/b-app', target: '/data' },
        { type: 'bind', source: '/srv/alpha/compose/b-app/config', target: '/config' },
        { type: 'volume', source: 'cache', target: '/cache' },
        { type: 'volume', source: 'etc', target: '/etc-host' },
      ],
      privileged: true,
      pid: 'host',
      network_mode: 'host',
      ipc: 'host',
      cap_add: ['SYS_ADMIN', 'NET_ADMIN'],
      devices: [{ source: '/dev/sda', target: '/dev/sda', permissions: 'rwm' }],
      security_opt: ['seccomp=unconfined', 'no-new-privileges:true'],
    },
    tame: { image: 'busybox', volumes: [{ type: 'bind', source: '/srv/alpha/appdata/b-tame', target: '/data' }], security_opt: ['no-new-privileges:true'] },
  },
  volumes: { cache: { name: 'b-app_cache' }, etc: { name: 'b-app_etc', driver_opts: { type: 'none', o: 'bind', device: '/etc' } } },
  secrets: { shadow: { file: '/etc/shadow' }, token: { file: '/srv/alpha/compose/b-app/token' } },
  configs: { conf: { file: '/srv/alpha/appdata/b-app/app.conf' } },
});

// As docker-compose 1.x prints one: YAML, short volume syntax.
const V1_PRINTED = `services:
  web:
    image: busybox
    volumes:
    - /var/run/docker.sock:/var/run/docker.sock:rw
    - /srv/alpha/appdata/b-app:/data:rw
    - /home:/home:ro
    security_opt:
    - apparmor:unconfined
    devices:
    - /dev/fuse:/dev/fuse
version: '3.8'
`;

describe('the settings of a compose file that reach outside its stack', () => {
  it('names each one by service, as compose v2 resolves them', () => {
    expect(riskySettings(V2_PRINTED, places)).toEqual([
      'root: bind / → /host (outside appdata and the stack folder)',
      'root: bind /var/run/docker.sock → /var/run/docker.sock, read-only (the Docker socket: root on the host)',
      'root: volume etc (a bind of) /etc → /etc-host (outside appdata and the stack folder)',
      'secret shadow: file /etc/shadow (outside appdata and the stack folder)',
      'root: privileged: true',
      'root: pid: host',
      'root: network_mode: host',
      'root: ipc: host',
      'root: cap_add: SYS_ADMIN, NET_ADMIN',
      'root: devices: /dev/sda:/dev/sda:rwm',
      'root: security_opt: seccomp=unconfined',
    ]);
  });

  it('reads compose v1 output too', () => {
    expect(riskySettings(V1_PRINTED, places)).toEqual([
      'web: bind /var/run/docker.sock → /var/run/docker.sock (the Docker socket: root on the host)',
      'web: bind /home → /home, read-only (outside appdata and the stack folder)',
      'web: devices: /dev/fuse:/dev/fuse',
      'web: security_opt: apparmor:unconfined',
    ]);
  });

  it('finds nothing in a stack that keeps to its appdata and its folder', () => {
    expect(riskySettings(JSON.stringify({ services: { web: { image: 'x', volumes: [{ type: 'bind', source: '/srv/alpha/appdata/b-app', target: '/d' }], network_mode: 'none' } } }), places)).toEqual([]);
  });
});

describe('the project name of a deployed stack', () => {
  it("is the folder's: a name: or COMPOSE_PROJECT_NAME naming another project is refused", () => {
    expect(() => refuseForeignProjectName('evil', { declaredName: 'victim', resolvedName: null, environmentName: null })).toThrow(/name: says project "victim", not the stack's folder name "evil"/);
    expect(() => refuseForeignProjectName('evil', { declaredName: null, resolvedName: null, environmentName: 'victim' })).toThrow(/COMPOSE_PROJECT_NAME says project "victim"/);
    expect(() => refuseForeignProjectName('evil', { declaredName: null, resolvedName: 'victim', environmentName: null })).toThrow(/compose resolves .* "victim"/);
    expect(() => refuseForeignProjectName('app', { declaredName: 'app', resolvedName: 'app', environmentName: 'app' })).not.toThrow();
  });
});

describe('the question a deploy asks', () => {
  const review: DeployReview = {
    host: 'alpha',
    stack: 'b-app',
    project: 'b-app',
    folder: '/srv/alpha/compose/b-app',
    composeFile: '/srv/alpha/compose/b-app/docker-compose.yml',
    envFile: '/srv/alpha/compose/b-app/.env',
    replaces: ['/srv/alpha/compose/b-app/docker-compose.yml', '/srv/alpha/compose/b-app/.env'],
    risky: ['web: privileged: true'],
    needsConfirmation: true,
  };

  it('names the project and the files acted on, and lists the risky lines', () => {
    expect(deployQuestion({ ...review, envFile: null, replaces: [], risky: [] }).effect).toBe('deploying project b-app on alpha writes /srv/alpha/compose/b-app/docker-compose.yml');
    expect(deployQuestion(review)).toEqual({
      effect:
        "deploying project b-app on alpha replaces /srv/alpha/compose/b-app/docker-compose.yml and /srv/alpha/compose/b-app/.env (the old ones kept as .bak); its compose file reaches outside the stack's own data",
      details: ['web: privileged: true'],
    });
  });
});
