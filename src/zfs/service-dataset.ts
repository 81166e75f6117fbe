/**
 * One dataset per service path. The dataset's name is the host's
 * `zfs_dataset` plus the path relative to `appdata_path`
 * (`/srv/alpha/appdata/authelia` → `alpha/appdata/authelia`).
 */
import type { HostConfig } from '../config/schema.js';
import { InvalidInputError } from '../errors.js';
import { relativePathInside, validateDatasetName } from '../names/validate.js';
import { ASIDE_SUFFIX, convertDirectoryToDataset, removeVerifiedLeftover, VERIFIED_SUFFIX, type ConversionResult } from './convert-directory.js';
import { ConversionError, DatasetMountMismatchError } from './errors.js';
import { pathKinds } from './path-kind.js';
import type { ZfsHost } from './zfs-host.js';

export interface ServiceDataset {
  readonly path: string;
  readonly dataset: string;
  readonly action: 'existing' | 'created' | 'converted';
  readonly conversion?: ConversionResult;
  /** What an earlier conversion left of the verified original and could not remove (the dataset holds the data). */
  readonly leftover?: string;
}

export interface ServiceDatasetLayout {
  readonly appdataPath: string;
  readonly appdataDataset: string;
}

/** The host's appdata path and dataset, or a clear error when it has none. */
export function serviceDatasetLayout(host: HostConfig): ServiceDatasetLayout {
  if (!host.zfs_capable || !host.zfs_dataset || !host.appdata_path) {
    throw new InvalidInputError('host', host.id, 'needs zfs_capable: true, zfs_dataset and appdata_path in hosts.yml for per-service datasets');
  }
  return { appdataPath: host.appdata_path, appdataDataset: host.zfs_dataset };
}

/** Pure: the dataset a service path maps to. */
export function datasetForPath(layout: ServiceDatasetLayout, servicePath: string): string {
  const relative = relativePathInside(layout.appdataPath, servicePath, 'service path');
  return validateDatasetName(`${layout.appdataDataset}/${relative}`);
}

/** Pure: the path a dataset maps to (the inverse, for the target host). */
export function pathForDataset(layout: ServiceDatasetLayout, dataset: string): string {
  if (!dataset.startsWith(`${layout.appdataDataset}/`)) {
    throw new InvalidInputError('dataset', dataset, `is not under ${layout.appdataDataset}`);
  }
  return `${layout.appdataPath}/${dataset.slice(layout.appdataDataset.length + 1)}`;
}

export async function ensureServiceDataset(zfs: ZfsHost, host: HostConfig, servicePath: string): Promise<ServiceDataset> {
  const layout = serviceDatasetLayout(host);
  const dataset = datasetForPath(layout, servicePath);
  const aside = `${servicePath}${ASIDE_SUFFIX}`;
  const components = dataset.slice(layout.appdataDataset.length + 1).split('/');
  const between = components.slice(1).map((_, index) => components.slice(0, index + 1).join('/'));
  // Asked at once: each is a round trip, and a final sync runs this inside the outage.
  const [filesystems, [asideKind, verifiedKind, kind, ...betweenKinds]] = await Promise.all([
    zfs.filesystems(),
    pathKinds(zfs.transport, [aside, `${servicePath}${VERIFIED_SUFFIX}`, servicePath, ...between.map((relative) => `${layout.appdataPath}/${relative}`)]),
  ]);
  const byName = new Map(filesystems.map((fs) => [fs.name, fs]));

  const parent = byName.get(layout.appdataDataset);
  if (!parent) throw new ConversionError(`on ${host.id}: zfs_dataset ${layout.appdataDataset} does not exist`);
  if (parent.mountpoint !== layout.appdataPath) {
    throw new DatasetMountMismatchError(host.id, layout.appdataDataset, layout.appdataPath, parent.mountpoint);
  }

  // A conversion that was interrupted is finished first, whatever else is there.
  if (asideKind === 'directory') {
    const conversion = await convertDirectoryToDataset(zfs, servicePath, dataset);
    return { path: servicePath, dataset, action: 'converted', conversion, ...(conversion.leftover ? { leftover: conversion.leftover } : {}) };
  }

  const mountedHere = filesystems.find((fs) => fs.mountpoint === servicePath);
  if (mountedHere) {
    const leftover = await removeVerifiedLeftover(zfs, servicePath, verifiedKind);
    return { path: servicePath, dataset: mountedHere.name, action: 'existing', ...(leftover ? { leftover } : {}) };
  }
  const named = byName.get(dataset);
  if (named) throw new DatasetMountMismatchError(host.id, dataset, servicePath, named.mountpoint);

  // Datasets between appdata and the service must exist, or be creatable
  // without hiding a directory that already holds data.
  between.forEach((relative, index) => {
    const betweenDataset = `${layout.appdataDataset}/${relative}`;
    const betweenPath = `${layout.appdataPath}/${relative}`;
    if (!byName.has(betweenDataset) && betweenKinds[index] !== 'missing') {
      throw new ConversionError(
        `on ${host.id}: ${servicePath} lies in ${betweenPath}, a plain directory; a dataset for it would need ${betweenDataset}, ` +
          'which would hide that directory. Convert the outer directory first, or keep service paths one level under appdata.',
      );
    }
  });

  if (kind === 'other') throw new ConversionError(`on ${host.id}: ${servicePath} exists and is not a directory`);
  if (kind === 'directory') {
    const conversion = await convertDirectoryToDataset(zfs, servicePath, dataset);
    return { path: servicePath, dataset, action: 'converted', conversion, ...(conversion.leftover ? { leftover: conversion.leftover } : {}) };
  }
  await zfs.createDataset(dataset);
  const created = await zfs.dataset(dataset);
  if (!created?.mounted || created.mountpoint !== servicePath) {
    throw new DatasetMountMismatchError(host.id, dataset, servicePath, created?.mountpoint ?? '(not mounted)');
  }
  return { path: servicePath, dataset, action: 'created' };
}
