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

export const hostSchema = z.looseObject({
  hostname: z.string().min(1, 'must not be empty'),
  user: z.string().min(1, 'must not be empty'),
  port: z.number().int().min(1).max(65535).default(22),
  identity_file: z.string().min(1).nullish(),
  description: z.string().default(''),
  tags: z.array(z.string()).default([]),
  docker_context: z.string().nullish(),
  compose_path: absolutePath.nullish(),
  appdata_path: absolutePath.nullish(),
  zfs_capable: z.boolean().default(false),
  zfs_dataset: checkedBy(validateDatasetName).nullish(),
  enabled: z.boolean().default(true),
  // Ours, not the Python tool's: a known_hosts file just for this host (the
  // testbed uses it); host keys are still checked strictly against it.
  known_hosts_file: absolutePath.nullish(),
});

export const configFileSchema = z.looseObject({
  hosts: z
    .record(checkedBy(validateHostId), hostSchema)
    .nullish()
    .transform((hosts) => hosts ?? {}),
});

export type HostFields = z.output<typeof hostSchema>;

/** One configured host, with the id it has in hosts.yml. */
export interface HostConfig extends HostFields {
  readonly id: string;
}
