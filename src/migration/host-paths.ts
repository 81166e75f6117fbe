/**
 * Binds outside appdata and the stack folder: which of them the target host
 * provides itself (its clock, its Docker socket, its devices), and which hold
 * data of the stack's own that would not move. Pure.
 *
 * Interfaces of the kernel and the host's daemons (`/dev`, `/run`,
 * `/var/run`, `/sys`, `/proc`) are provided by the host whether the service
 * mounts them read-only or read-write: nothing written there is stored data
 * (the Docker socket, D-Bus, a serial device). The host's own configuration
 * (`/etc/localtime`, `/etc/timezone`, CA certificates, …) and the host views
 * monitoring tools read (`/`, `/var/log`, `/var/lib/docker`) are provided
 * only read-only: a service that may write them writes the host's files, and
 * what it writes would stay behind. Any other path outside appdata and the
 * stack folder holds the stack's own data (read-write) or input it was given
 * (read-only): refused, as it would not move.
 */
import { normaliseHostPath } from '../names/validate.js';

export type OutsideBind =
  | { readonly kind: 'host-provided'; readonly what: string }
  | { readonly kind: 'not-moved'; readonly reason: string };

/** Provided by the host in either mode: kernel and daemon interfaces. */
const INTERFACES: readonly { readonly under: string; readonly what: string }[] = [
  { under: '/var/run/docker.sock', what: "the host's Docker socket" },
  { under: '/run/docker.sock', what: "the host's Docker socket" },
  { under: '/dev', what: 'a device of the host' },
  { under: '/run', what: 'a runtime file or socket of the host' },
  { under: '/var/run', what: 'a runtime file or socket of the host' },
  { under: '/sys', what: "the host's kernel interface (sysfs)" },
  { under: '/proc', what: "the host's kernel interface (procfs)" },
];

/** Provided by the host when mounted read-only: its configuration, and views of it that monitoring tools read. */
const READ_ONLY_VIEWS: readonly { readonly under: string; readonly what: string; readonly exact?: boolean }[] = [
  { under: '/etc/localtime', what: "the host's time zone" },
  { under: '/etc/timezone', what: "the host's time zone" },
  { under: '/usr/share/zoneinfo', what: "the host's time zone database" },
  { under: '/etc/hostname', what: "the host's name" },
  { under: '/etc/hosts', what: "the host's hosts file" },
  { under: '/etc/resolv.conf', what: "the host's DNS configuration" },
  { under: '/etc/machine-id', what: "the host's machine id" },
  { under: '/etc/os-release', what: "the host's OS release" },
  { under: '/etc/passwd', what: "the host's users" },
  { under: '/etc/group', what: "the host's groups" },
  { under: '/etc/ssl/certs', what: "the host's CA certificates" },
  { under: '/etc/ca-certificates', what: "the host's CA certificates" },
  { under: '/etc/pki/ca-trust', what: "the host's CA certificates" },
  { under: '/usr/share/ca-certificates', what: "the host's CA certificates" },
  { under: '/lib/modules', what: "the host's kernel modules" },
  { under: '/usr/lib/modules', what: "the host's kernel modules" },
  { under: '/boot', what: "the host's boot files" },
  { under: '/var/log', what: "the host's logs" },
  { under: '/var/lib/docker', what: "the host's Docker engine files" },
  { under: '/', what: "the host's root filesystem", exact: true },
];

const isAtOrUnder = (source: string, base: string) => source === base || source.startsWith(`${base}/`);

/** What a bind outside appdata and the stack folder is, as the migration treats it. `appdata` names where data should live. */
export function classifyOutsideBind(source: string, readOnly: boolean, appdata: string): OutsideBind {
  const normalised = normaliseHostPath(source);
  const iface = INTERFACES.find((entry) => isAtOrUnder(normalised, entry.under));
  if (iface) return { kind: 'host-provided', what: iface.what };
  const view = READ_ONLY_VIEWS.find((entry) => (entry.exact ? normalised === entry.under : isAtOrUnder(normalised, entry.under)));
  if (view && readOnly) return { kind: 'host-provided', what: view.what };
  if (view) {
    return {
      kind: 'not-moved',
      reason: `${view.what}, mounted read-write: the service may write the host's own file, and what it writes would stay on the source. Mount it read-only (":ro") and the target's own is used, or --force to go without it`,
    };
  }
  return {
    kind: 'not-moved',
    reason: readOnly
      ? `a read-only bind outside appdata_path and the stack folder: what the service reads there would not move. Put it in the stack folder or under ${appdata} (and write that path), or create it at the same path on the target and use --force`
      : `a read-write bind outside appdata_path and the stack folder: the stack's own data, which would not move. Move it under ${appdata} and write that path in the stack's files, or --force to leave it on the source (the target's services get whatever is at that path there)`,
  };
}
