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
}

const SOURCE = 'source.toolkit.fluxcd.io';
const KUSTOMIZE = 'kustomize.toolkit.fluxcd.io';
const HELM = 'helm.toolkit.fluxcd.io';
const NOTIFICATION = 'notification.toolkit.fluxcd.io';
const IMAGE = 'image.toolkit.fluxcd.io';

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
];

/** The newest Flux release the table covers; the default target of the check. */
export const NEWEST_FLUX = '2.9';

const minor = (v: string) => Number(v.split('.')[1] ?? 0);

export function apiVersionStatus(apiVersion: string, kind: string): ApiVersionStatus | undefined {
  const [group, version] = apiVersion.split('/');
  return FLUX_API_VERSIONS.find((s) => s.group === group && s.version === version && s.kinds.includes(kind));
}

export function isRemovedBy(status: ApiVersionStatus, fluxVersion: string): boolean {
  return status.removedIn !== undefined && minor(status.removedIn) <= minor(fluxVersion);
}
