/**
 * The testbed's only image, `local/busybox:test`: no registry is reachable,
 * so it is built from the machine's static busybox and imported into each
 * engine.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { dockerEnv } from './docker-engines.js';
import { TESTBED_IMAGE, testbedSharedPaths, type TestbedHostSpec } from './layout.js';
import { runLocal, succeeds } from './local-command.js';

const BUSYBOX = '/bin/busybox';

let tarballBuild: Promise<string> | undefined;

/** Build the image's tarball once (hosts import it in parallel); returns its path. */
function imageTarball(): Promise<string> {
  tarballBuild ??= buildImageTarball();
  return tarballBuild;
}

async function buildImageTarball(): Promise<string> {
  const { imageRoot } = testbedSharedPaths();
  const tarball = `${imageRoot}.tar`;
  if (existsSync(tarball)) return tarball;
  await rm(imageRoot, { recursive: true, force: true });
  const bin = path.join(imageRoot, 'bin');
  await mkdir(bin, { recursive: true });
  for (const dir of ['tmp', 'data', 'etc']) await mkdir(path.join(imageRoot, dir), { recursive: true });
  await copyFile(BUSYBOX, path.join(bin, 'busybox'));
  const applets = (await runLocal(BUSYBOX, ['--list'])).stdout.split('\n').filter((name) => /^[\w.[-]+$/.test(name));
  for (const applet of applets) if (applet !== 'busybox') await symlink('busybox', path.join(bin, applet));
  await runLocal('tar', ['-C', imageRoot, '-cf', tarball, '.']);
  return tarball;
}

/** Import the image into the host's engine unless it has it. Returns whether it imported. */
export async function ensureImage(host: TestbedHostSpec): Promise<boolean> {
  const env = dockerEnv(host);
  if (await succeeds('docker', ['image', 'inspect', TESTBED_IMAGE], { env })) return false;
  await runLocal('docker', ['import', '--change', 'ENV PATH=/bin', '--change', 'CMD ["sh"]', await imageTarball(), TESTBED_IMAGE], { env });
  return true;
}
