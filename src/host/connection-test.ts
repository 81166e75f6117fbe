/**
 * `hosts test`: can we reach the host, does it accept our key, does Docker
 * answer? Each question gets its own answer so the user knows which to fix.
 */
import { DockerMcpError, describeError } from '../errors.js';
import { command } from '../ssh/quote.js';
import type { SshTransport } from '../ssh/transport.js';

export type CheckResult = { readonly ok: true; readonly detail: string } | { readonly ok: false; readonly error: string };

export interface ConnectionTest {
  readonly hostId: string;
  readonly ssh: CheckResult;
  readonly docker: CheckResult | null;
  readonly roundTripMs: number | null;
}

export async function testConnection(transport: SshTransport): Promise<ConnectionTest> {
  const hostId = transport.hostId;
  try {
    await transport.connect();
  } catch (error) {
    const message = describeError(error);
    return { hostId, ssh: { ok: false, error: message }, docker: null, roundTripMs: null };
  }
  const started = Date.now();
  let whoami: string;
  try {
    whoami = (await transport.exec(command(['id', '-un']))).stdout.trim();
  } catch (error) {
    // With `sudo: true` every command goes through `sudo -n`: a password prompt fails here, not mid-migration.
    if (!transport.host.sudo) throw error;
    return { hostId, ssh: { ok: false, error: `logged in as ${transport.host.user}, but sudo -n failed (passwordless sudo is needed): ${describeError(error)}` }, docker: null, roundTripMs: null };
  }
  const roundTripMs = Date.now() - started;
  const login = transport.host.sudo ? `logged in as ${transport.host.user}, commands run as ${whoami} through sudo` : `logged in as ${whoami}`;
  let docker: CheckResult;
  try {
    const result = await transport.exec(command(['docker', 'version', '--format', '{{.Server.Version}}']), {
      timeoutMs: 20_000,
    });
    docker = { ok: true, detail: `Docker ${result.stdout.trim()}` };
  } catch (error) {
    docker = { ok: false, error: error instanceof DockerMcpError ? error.message : describeError(error) };
  }
  return { hostId, ssh: { ok: true, detail: login }, docker, roundTripMs };
}
