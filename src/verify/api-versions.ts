/**
 * Flux API versions by release (FORMATS.md §5, read from each controller's CRDs at the tags
 * flux2 pins): when a version was deprecated, when it was removed, and what to migrate to
 * (the targets of `flux migrate`). "≤2.2" rows are recorded as 2.2, the oldest release checked.
 */
export interface ApiVersionStatus {
  group: string;
  version: string;
  kinds: string[];
  deprecatedIn: string;
  removedIn?: string;
  migrateTo: string;
  /** On the roadmap of an unreleased Flux minor, not in a release yet. */
  planned?: boolean;
}

import {
  HELM_GROUP as HELM,
  IMAGE_GROUP as IMAGE,
  KUSTOMIZE_GROUP as KUSTOMIZE,
  NOTIFICATION_GROUP as NOTIFICATION,
  SOURCE_GROUP as SOURCE,
} from '../flux/objects.js';

const minor = (v: string) => Number(v.split('.')[1] ?? 0);

export const FLUX_API_VERSIONS: ApiVersionStatus[] = [
  {
    group: SOURCE,
    version: 'v1beta1',
    kinds: ['GitRepository'],
    deprecatedIn: '2.2',
    removedIn: '2.7',
    migrateTo: 'v1',
  },
  {
    group: SOURCE,
    version: 'v1beta2',
    kinds: ['GitRepository'],
    deprecatedIn: '2.2',
    removedIn: '2.8',
    migrateTo: 'v1',
  },
  {
    group: SOURCE,
    version: 'v1beta1',
    kinds: ['HelmRepository', 'HelmChart'],
    deprecatedIn: '2.3',
    removedIn: '2.7',
    migrateTo: 'v1',
  },
  {
    group: SOURCE,
    version: 'v1beta2',
    kinds: ['HelmRepository', 'HelmChart'],
    deprecatedIn: '2.3',
    removedIn: '2.8',
    migrateTo: 'v1',
  },
  {
    group: SOURCE,
    version: 'v1beta1',
    kinds: ['Bucket'],
    deprecatedIn: '2.3',
    removedIn: '2.7',
    migrateTo: 'v1',
  },
  {
    group: SOURCE,
    version: 'v1beta2',
    kinds: ['Bucket'],
    deprecatedIn: '2.4',
    removedIn: '2.8',
    migrateTo: 'v1',
  },
  {
    group: SOURCE,
    version: 'v1beta2',
    kinds: ['OCIRepository'],
    deprecatedIn: '2.6',
    removedIn: '2.8',
    migrateTo: 'v1',
  },
  {
    group: KUSTOMIZE,
    version: 'v1beta1',
    kinds: ['Kustomization'],
    deprecatedIn: '2.2',
    removedIn: '2.7',
    migrateTo: 'v1',
  },
  {
    group: KUSTOMIZE,
    version: 'v1beta2',
    kinds: ['Kustomization'],
    deprecatedIn: '2.2',
    removedIn: '2.8',
    migrateTo: 'v1',
  },
  {
    group: HELM,
    version: 'v2beta1',
    kinds: ['HelmRelease'],
    deprecatedIn: '2.2',
    removedIn: '2.7',
    migrateTo: 'v2',
  },
  {
    group: HELM,
    version: 'v2beta2',
    kinds: ['HelmRelease'],
    deprecatedIn: '2.3',
    removedIn: '2.8',
    migrateTo: 'v2',
  },
  {
    group: NOTIFICATION,
    version: 'v1beta1',
    kinds: ['Alert', 'Provider'],
    deprecatedIn: '2.2',
    removedIn: '2.7',
    migrateTo: 'v1beta3',
  },
  {
    group: NOTIFICATION,
    version: 'v1beta2',
    kinds: ['Alert', 'Provider'],
    deprecatedIn: '2.2',
    removedIn: '2.9',
    migrateTo: 'v1beta3',
  },
  {
    group: NOTIFICATION,
    version: 'v1beta1',
    kinds: ['Receiver'],
    deprecatedIn: '2.2',
    removedIn: '2.7',
    migrateTo: 'v1',
  },
  {
    group: NOTIFICATION,
    version: 'v1beta2',
    kinds: ['Receiver'],
    deprecatedIn: '2.2',
    removedIn: '2.9',
    migrateTo: 'v1',
  },
  // v1beta1 image APIs were never marked deprecated before their removal.
  {
    group: IMAGE,
    version: 'v1beta1',
    kinds: ['ImageRepository', 'ImagePolicy'],
    deprecatedIn: '2.7',
    removedIn: '2.7',
    migrateTo: 'v1',
  },
  {
    group: IMAGE,
    version: 'v1beta2',
    kinds: ['ImageRepository', 'ImagePolicy'],
    deprecatedIn: '2.7',
    removedIn: '2.9',
    migrateTo: 'v1',
  },
  {
    group: IMAGE,
    version: 'v1beta1',
    kinds: ['ImageUpdateAutomation'],
    deprecatedIn: '2.3',
    removedIn: '2.7',
    migrateTo: 'v1',
  },
  {
    group: IMAGE,
    version: 'v1beta2',
    kinds: ['ImageUpdateAutomation'],
    deprecatedIn: '2.7',
    removedIn: '2.9',
    migrateTo: 'v1',
  },
  // The v2.10 milestone (fluxcd.io/roadmap, provisional): Alert and Provider go GA as v1, and
  // v1beta3 becomes deprecated.
  {
    group: NOTIFICATION,
    version: 'v1beta3',
    kinds: ['Alert', 'Provider'],
    deprecatedIn: '2.10',
    migrateTo: 'v1',
    planned: true,
  },
];

/** The first Flux release serving a version (GA and new APIs): using it against an older target fails. */
export const FLUX_API_INTRODUCED: {
  group: string;
  version: string;
  kinds: string[];
  servedFrom: string;
  planned?: boolean;
}[] = [
  { group: SOURCE, version: 'v1', kinds: ['HelmRepository', 'HelmChart'], servedFrom: '2.3' },
  { group: SOURCE, version: 'v1', kinds: ['Bucket'], servedFrom: '2.4' },
  { group: SOURCE, version: 'v1', kinds: ['OCIRepository'], servedFrom: '2.6' },
  { group: SOURCE, version: 'v1', kinds: ['ExternalArtifact'], servedFrom: '2.7' },
  {
    group: 'source.extensions.fluxcd.io',
    version: 'v1beta1',
    kinds: ['ArtifactGenerator'],
    servedFrom: '2.7',
  },
  { group: HELM, version: 'v2', kinds: ['HelmRelease'], servedFrom: '2.3' },
  {
    group: IMAGE,
    version: 'v1',
    kinds: ['ImageRepository', 'ImagePolicy', 'ImageUpdateAutomation'],
    servedFrom: '2.7',
  },
  { group: NOTIFICATION, version: 'v1', kinds: ['Alert', 'Provider'], servedFrom: '2.10', planned: true },
];

/** The newest Flux release the table covers; the default target of the check. */
export const NEWEST_FLUX = '2.9';
/** The oldest release the table was read from, and the newest milestone it knows the plan of. */
export const OLDEST_FLUX = '2.2';
export const PLANNED_FLUX = '2.10';

/** `2.9`, `v2.9`, `2.9.4` → `2.9`; undefined when it is no Flux 2 release the table covers. */
export function normalizeFluxVersion(v: string): string | undefined {
  const m = /^v?2\.(\d+)(\.\d+)?$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return n >= minor(OLDEST_FLUX) && n <= minor(PLANNED_FLUX) ? `2.${n}` : undefined;
}

export function servedFrom(apiVersion: string, kind: string) {
  const [group, version] = apiVersion.split('/');
  return FLUX_API_INTRODUCED.find(
    (s) => s.group === group && s.version === version && s.kinds.includes(kind),
  );
}

export function isDeprecatedBy(status: ApiVersionStatus, fluxVersion: string): boolean {
  return minor(status.deprecatedIn) <= minor(fluxVersion);
}

export function isServedBy(servedFromVersion: string, fluxVersion: string): boolean {
  return minor(servedFromVersion) <= minor(fluxVersion);
}

export function apiVersionStatus(apiVersion: string, kind: string): ApiVersionStatus | undefined {
  const [group, version] = apiVersion.split('/');
  return FLUX_API_VERSIONS.find((s) => s.group === group && s.version === version && s.kinds.includes(kind));
}

export function isRemovedBy(status: ApiVersionStatus, fluxVersion: string): boolean {
  return status.removedIn !== undefined && minor(status.removedIn) <= minor(fluxVersion);
}
