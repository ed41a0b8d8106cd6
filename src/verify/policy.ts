/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are read here as untyped JSON */
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { isMap, isScalar, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { apiVersionStatus, isRemovedBy, NEWEST_FLUX } from './api-versions.js';

export interface Finding {
  severity: 'error' | 'warning' | 'info';
  rule: 'deprecated-api' | 'insecure-source' | 'unverified-source' | 'mutable-ref' | 'invalid-yaml';
  file: string;
  line: number;
  object: string;
  message: string;
}

export interface PolicyOptions {
  requireSignatures: boolean;
  requireDigests: boolean;
  fluxVersion?: string;
}

interface Located {
  file: string;
  line: number;
  object: Record<string, any>;
  /** Line of a top-level key (apiVersion, spec…) when known. */
  lineOf(path: string[]): number;
}

/** Every Kubernetes object in the repository's YAML files, with its file and line. */
export function scanObjects(repo: string): { objects: Located[]; findings: Finding[] } {
  const objects: Located[] = [];
  const findings: Finding[] = [];
  const walk = (dir: string) => {
    // Hidden directories and chart templates are not what Flux applies.
    if (existsSync(join(dir, 'Chart.yaml'))) return;
    for (const entry of readdirSync(dir).sort()) {
      if (entry.startsWith('.') || entry === 'node_modules') continue;
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(entry)) scanFile(path);
    }
  };
  const scanFile = (path: string) => {
    const file = relative(repo, path).split(sep).join('/');
    const counter = new LineCounter();
    const docs = parseAllDocuments(readFileSync(path, 'utf8'), { lineCounter: counter });
    for (const doc of docs as Document[]) {
      if (doc.errors.length) {
        const line = counter.linePos(doc.errors[0]!.pos[0]).line;
        findings.push({
          severity: 'error',
          rule: 'invalid-yaml',
          file,
          line,
          object: '',
          message: `invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`,
        });
        continue;
      }
      const object = doc.toJSON();
      if (!object || typeof object !== 'object' || !object.apiVersion || !object.kind) continue;
      const lineOf = (keys: string[]) => {
        let node: unknown = doc.contents;
        let offset = (doc.contents as { range?: number[] } | null)?.range?.[0] ?? 0;
        for (const key of keys) {
          if (!isMap(node)) break;
          const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
          if (!pair) break;
          offset = (pair.key as { range?: number[] }).range?.[0] ?? offset;
          node = pair.value;
        }
        return counter.linePos(offset).line;
      };
      objects.push({ file, line: lineOf([]), object, lineOf });
    }
  };
  walk(repo);
  return { objects, findings };
}

const describe = (o: Record<string, any>) =>
  `${o.kind}/${o.metadata?.namespace ? o.metadata.namespace + '/' : ''}${o.metadata?.name ?? ''}`;

/** The Flux policy checks, on objects with their files and lines. */
export function checkPolicies(objects: Located[], options: PolicyOptions): Finding[] {
  const target = options.fluxVersion ?? NEWEST_FLUX;
  const findings: Finding[] = [];
  const add = (l: Located, keys: string[], f: Omit<Finding, 'file' | 'line' | 'object'>) =>
    findings.push({ ...f, file: l.file, line: l.lineOf(keys), object: describe(l.object) });
  const ociRepos = new Set<string>();
  for (const l of objects) {
    const o = l.object;
    if (o.kind === 'HelmRepository' && o.spec?.type === 'oci')
      ociRepos.add(`${o.metadata?.namespace ?? ''}/${o.metadata?.name}`);
  }
  for (const l of objects) {
    const o = l.object;
    const group = String(o.apiVersion).split('/')[0];
    const status = apiVersionStatus(o.apiVersion, o.kind);
    if (status) {
      const removed = isRemovedBy(status, target);
      add(l, ['apiVersion'], {
        severity: removed ? 'error' : 'warning',
        rule: 'deprecated-api',
        message: `${o.apiVersion} ${o.kind} is ${removed ? `removed in Flux ${status.removedIn}` : `deprecated since Flux ${status.deprecatedIn}${status.removedIn ? `, removed in ${status.removedIn}` : ''}`}: migrate to ${status.group}/${status.migrateTo}`,
      });
    }
    if (group !== 'source.toolkit.fluxcd.io') continue;
    const url: string = o.spec?.url ?? o.spec?.endpoint ?? '';
    if (/^http:\/\//i.test(url)) {
      add(l, ['spec', 'url'], {
        severity: 'warning',
        rule: 'insecure-source',
        message: `${o.kind} fetches over plain HTTP (${url})`,
      });
    }
    if (o.spec?.insecure === true) {
      add(l, ['spec', 'insecure'], {
        severity: 'warning',
        rule: 'insecure-source',
        message: `${o.kind} sets insecure: true (plain HTTP, RFC-0004)`,
      });
    }
    const oci =
      o.kind === 'OCIRepository' ||
      (o.kind === 'HelmChart' && ociRepos.has(`${o.metadata?.namespace ?? ''}/${o.spec?.sourceRef?.name}`));
    if (oci && !o.spec?.verify) {
      add(l, ['spec'], {
        severity: options.requireSignatures ? 'error' : 'warning',
        rule: 'unverified-source',
        message: `${o.kind} has no spec.verify: Flux applies it without checking a signature`,
      });
    }
    if (
      o.kind === 'OCIRepository' &&
      options.requireDigests &&
      !o.spec?.ref?.digest &&
      !o.spec?.ref?.semver
    ) {
      add(l, ['spec', 'ref'], {
        severity: 'error',
        rule: 'mutable-ref',
        message: `OCIRepository follows the mutable tag '${o.spec?.ref?.tag ?? 'latest'}': pin a digest or a semver range`,
      });
    }
  }
  // HelmReleases whose chart comes from an OCI HelmRepository without verify.
  for (const l of objects) {
    const o = l.object;
    const spec = o.kind === 'HelmRelease' ? o.spec?.chart?.spec : undefined;
    if (!spec || spec.sourceRef?.kind !== 'HelmRepository') continue;
    const ns = spec.sourceRef.namespace ?? o.metadata?.namespace ?? '';
    if (ociRepos.has(`${ns}/${spec.sourceRef.name}`) && !spec.verify) {
      add(l, ['spec', 'chart'], {
        severity: options.requireSignatures ? 'error' : 'warning',
        rule: 'unverified-source',
        message: `HelmRelease chart ${spec.chart} from OCI HelmRepository ${ns}/${spec.sourceRef.name} has no verify`,
      });
    }
  }
  return findings;
}
