/**
 * The hosts.yml schema, field for field the one the Python docker-mcp reads,
 * so users keep their file. Unknown fields are accepted and kept.
 */
import { z } from 'zod';
import { DockerMcpError } from '../errors.js';
import {
  validateAbsolutePath,
  validateDatasetName,
  validateHostId,
  validateNotUnderProc,
  validateSingleLine,
  validateSshHostname,
  validateSshUser,
} from '../names/validate.js';

/** Adapt one of our validators (which throw InvalidInputError) to a zod check. */
function checkedBy(validate: (value: string) => string) {
  return z.string().superRefine((value, ctx) => {
    try {
      validate(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof DockerMcpError ? error.message : String(error) });
    }
  });
}

const absolutePath = checkedBy((value) => validateAbsolutePath(value));
// Every string in a host is one line: a newline in hosts.yml starts a new
// line of YAML, or of ssh_config if the file is ever read as one.
const singleLine = checkedBy((value) => validateSingleLine(value));

/** Unknown fields are kept, and their strings are held to the same rule. */
const unknownField = z.unknown().superRefine((value, ctx) => {
  const visit = (item: unknown, at: (string | number)[]): void => {
    if (typeof item === 'string') {
      try {
        validateSingleLine(item);
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: at, message: error instanceof DockerMcpError ? error.message : String(error) });
      }
    } else if (Array.isArray(item)) {
      item.forEach((element, index) => visit(element, [...at, index]));
    } else if (item !== null && typeof item === 'object') {
      for (const [key, element] of Object.entries(item)) visit(element, [...at, key]);
    }
  };
  visit(value, []);
});

export const hostSchema = z.object({
  hostname: checkedBy(validateSshHostname),
  user: checkedBy(validateSshUser),
  port: z.number().int().min(1).max(65535).default(22),
  identity_file: checkedBy((value) => validateNotUnderProc(validateSingleLine(value), 'identity_file')).min(1).nullish(),
  description: singleLine.default(''),
  tags: z.array(singleLine).default([]),
  docker_context: singleLine.nullish(),
  compose_path: absolutePath.nullish(),
  appdata_path: absolutePath.nullish(),
  zfs_capable: z.boolean().default(false),
  zfs_dataset: checkedBy(validateDatasetName).nullish(),
  enabled: z.boolean().default(true),
  // Ours, not the Python tool's: a known_hosts file just for this host (the
  // testbed uses it); host keys are still checked strictly against it.
  known_hosts_file: checkedBy((value) => validateNotUnderProc(validateAbsolutePath(value), 'known_hosts_file')).nullish(),
  // Ours: the login user is not root and runs the tool's commands through
  // `sudo -n` (passwordless); see docs/zfs.md.
  sudo: z.boolean().default(false),
}).catchall(unknownField);

/**
 * The Python tool's `server:` section. What means something here sets the
 * defaults of `serve`; other keys are kept and warned about (config/sections.ts).
 */
export const serverSectionSchema = z.looseObject({
  host: singleLine.optional(),
  port: z.number().int().min(0).max(65535).optional(),
  log_level: singleLine.optional(),
  max_connections: z.number().int().min(1).optional(),
});

/** The Python tool's `transfer:` section: `method` ssh or containerized, `docker_image`. */
export const transferSectionSchema = z.looseObject({
  method: z.enum(['ssh', 'containerized']).optional(),
  docker_image: singleLine.optional(),
});

export const configFileSchema = z.looseObject({
  hosts: z
    .record(checkedBy(validateHostId), hostSchema)
    .nullish()
    .transform((hosts) => hosts ?? {}),
  server: serverSectionSchema.nullish().transform((section) => section ?? {}),
  transfer: transferSectionSchema.nullish().transform((section) => section ?? {}),
});

export type ServerSection = z.output<typeof serverSectionSchema>;
export type TransferSection = z.output<typeof transferSectionSchema>;

export type HostFields = z.output<typeof hostSchema>;

/** One configured host, with the id it has in hosts.yml. */
export interface HostConfig extends HostFields {
  readonly id: string;
}
