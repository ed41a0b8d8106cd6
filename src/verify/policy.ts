/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are read here as untyped JSON */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { isMap, isScalar, LineCounter, parse, parseAllDocuments, type Document } from 'yaml';
import { groupOf as fluxGroupOf, KUSTOMIZATION_FILES, SOURCE_GROUP } from '../flux/objects.js';
import {
  apiVersionStatus,
  isDeprecatedBy,
  isRemovedBy,
  isServedBy,
  NEWEST_FLUX,
  servedFrom,
} from './api-versions.js';
import { generatedObjects } from './generated.js';

export interface Finding {
  severity: 'error' | 'warning' | 'info';
  rule:
    | 'deprecated-api'
    | 'unsupported-api'
    | 'insecure-source'
    | 'unverified-source'
    | 'weak-verification'
    | 'mutable-ref'
    | 'invalid-yaml'
    | 'plaintext-secret';
  file: string;
  line: number;
  object: string;
  message: string;
  /** deprecated-api: the finding's line as `fluxgate migrate` rewrites it (review suggestions; not in JSON). */
  suggestion?: string;
}

export interface PolicyOptions {
  requireSignatures: boolean;
  requireDigests: boolean;
  /** A Secret committed in clear is an error, not a warning. */
  requireEncryptedSecrets?: boolean;
  fluxVersion?: string;
}

export interface Located {
  /** Repository-relative path, `/`-separated. */
  file: string;
  line: number;
  object: Record<string, any>;
  /**
   * The namespace the object lands in: a `namespace:` of the kustomization.yaml that lists the
   * file wins (kustomize overrides), then metadata.namespace.
   */
  namespace?: string;
  /** Line of a nested key (`['spec','verify']`), or of the deepest one that exists. */
  lineOf(path: string[]): number;
}

export const HELM_CHART_LAYER = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';

/** `Kind/namespace/name`, as findings and verdicts name objects. */
export const describeObject = (l: Located) =>
  `${l.object.kind}/${l.namespace ? l.namespace + '/' : ''}${l.object.metadata?.name ?? ''}`;

/** `namespace: X` of the kustomization.yaml in `dir` when it lists `file` among its resources. */
function kustomizeNamespace(dir: string, file: string): string | undefined {
  for (const name of KUSTOMIZATION_FILES) {
    const path = join(dir, name);
    if (!existsSync(path)) continue;
    try {
      const k = parse(readFileSync(path, 'utf8'));
      const resources: unknown[] = Array.isArray(k?.resources) ? k.resources : [];
      const listed = resources.some((r) => typeof r === 'string' && r.replace(/^\.\//, '') === file);
      return listed && typeof k?.namespace === 'string' ? k.namespace : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Every Kubernetes object in the repository's YAML files, with its file and line; `root` (a
 * directory or a file of the repository) limits the scan to it. `files` are the YAML files read.
 */
export function scanObjects(
  repo: string,
  root = '.',
): { objects: Located[]; findings: Finding[]; files: string[] } {
  const objects: Located[] = [];
  const findings: Finding[] = [];
  const files: string[] = [];
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
    files.push(file);
    const counter = new LineCounter();
    const docs = parseAllDocuments(readFileSync(path, 'utf8'), { lineCounter: counter });
    const kNamespace = kustomizeNamespace(dirname(path), path.slice(dirname(path).length + 1));
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
      const namespace = kNamespace ?? (object.metadata?.namespace || undefined);
      objects.push({ file, line: lineOf([]), object, namespace, lineOf });
    }
  };
  const start = join(repo, root);
  if (statSync(start).isDirectory()) walk(start);
  else if (/\.ya?ml$/.test(start)) scanFile(start);
  objects.push(...generatedObjects(objects));
  return { objects, findings, files };
}

const groupOf = (o: Record<string, any>) => fluxGroupOf(String(o.apiVersion));
const isSource = (o: Record<string, any>, kind: string) => o.kind === kind && groupOf(o) === SOURCE_GROUP;

/** Index of the repository's objects by `Kind/namespace/name` (namespace as it lands). */
export function indexObjects(objects: Located[]): Map<string, Located> {
  const index = new Map<string, Located>();
  for (const l of objects) index.set(`${l.object.kind}/${l.namespace ?? ''}/${l.object.metadata?.name}`, l);
  return index;
}

/**
 * The object a reference names: exact namespace first; a namespace-less object (its namespace
 * comes from a Kustomization's targetNamespace) when it is the only one of that kind and name.
 */
export function lookupObject(
  index: Map<string, Located>,
  kind: string,
  namespace: string | undefined,
  name: string,
): Located | undefined {
  const exact = index.get(`${kind}/${namespace ?? ''}/${name}`);
  if (exact) return exact;
  const loose = [...index.values()].filter(
    (l) => l.object.kind === kind && l.object.metadata?.name === name && !l.namespace,
  );
  return loose.length === 1 ? loose[0] : undefined;
}

/** The OCI HelmRepository a HelmChart or HelmRelease chart template pulls from, if it is one. */
export function ociHelmRepository(
  index: Map<string, Located>,
  sourceRef: { kind?: string; name?: string; namespace?: string } | undefined,
  namespace: string | undefined,
): Located | undefined {
  if (sourceRef?.kind !== 'HelmRepository' || !sourceRef.name) return undefined;
  const repo = lookupObject(index, 'HelmRepository', sourceRef.namespace ?? namespace, sourceRef.name);
  return repo && repo.object.spec?.type === 'oci' ? repo : undefined;
}

/** The Flux policy checks, on objects with their files and lines. */
export function checkPolicies(objects: Located[], options: PolicyOptions): Finding[] {
  const target = options.fluxVersion ?? NEWEST_FLUX;
  const findings: Finding[] = [];
  const add = (l: Located, keys: string[], f: Omit<Finding, 'file' | 'line' | 'object'>) =>
    findings.push({
      severity: f.severity,
      rule: f.rule,
      file: l.file,
      line: l.lineOf(keys),
      object: describeObject(l),
      message: f.message,
    });
  const unverified = options.requireSignatures ? 'error' : 'warning';
  const index = indexObjects(objects);
  const decrypting = decryptingPaths(objects);

  for (const l of objects) {
    const o = l.object;
    const status = apiVersionStatus(o.apiVersion, o.kind);
    if (status) {
      const to = `migrate to ${status.group}/${status.migrateTo}`;
      if (isRemovedBy(status, target))
        add(l, ['apiVersion'], {
          severity: 'error',
          rule: 'deprecated-api',
          message: `${o.apiVersion} ${o.kind} is removed in Flux ${status.removedIn}: ${to}`,
        });
      else if (isDeprecatedBy(status, target))
        add(l, ['apiVersion'], {
          severity: 'warning',
          rule: 'deprecated-api',
          message: `${o.apiVersion} ${o.kind} is deprecated since Flux ${status.deprecatedIn}${status.planned ? ' (planned)' : ''}${status.removedIn ? `, removed in ${status.removedIn}` : ''}: ${to}`,
        });
      else
        add(l, ['apiVersion'], {
          severity: 'info',
          rule: 'deprecated-api',
          message: `${o.apiVersion} ${o.kind} is to be deprecated in Flux ${status.deprecatedIn}${status.planned ? ' (planned)' : ''}: ${to} from then on`,
        });
    }
    const served = servedFrom(o.apiVersion, o.kind);
    if (served && !isServedBy(served.servedFrom, target))
      add(l, ['apiVersion'], {
        severity: 'error',
        rule: 'unsupported-api',
        message: `${o.apiVersion} ${o.kind} is not served before Flux ${served.servedFrom}${served.planned ? ' (planned)' : ''}; the target is Flux ${target}`,
      });

    const url: string = o.spec?.url ?? o.spec?.endpoint ?? '';
    const fetches = groupOf(o) === SOURCE_GROUP || o.kind === 'ImageRepository';
    if (fetches && /^http:\/\//i.test(url))
      add(l, ['spec', o.spec?.url ? 'url' : 'endpoint'], {
        severity: 'warning',
        rule: 'insecure-source',
        message: `${o.kind} fetches over plain HTTP (${url})`,
      });
    if (fetches && o.spec?.insecure === true)
      add(l, ['spec', 'insecure'], {
        severity: 'warning',
        rule: 'insecure-source',
        message: `${o.kind} sets insecure: true (plain HTTP, RFC-0004)`,
      });

    if (isSource(o, 'OCIRepository')) {
      if (!o.spec?.verify)
        add(l, ['spec'], {
          severity: unverified,
          rule: 'unverified-source',
          message: 'OCIRepository has no spec.verify: Flux applies it without checking a signature',
        });
      else weakVerification(l, ['spec', 'verify'], o.spec.verify, add);
      if (options.requireDigests && !o.spec?.ref?.digest && !o.spec?.ref?.semver)
        add(l, ['spec', 'ref'], {
          severity: 'error',
          rule: 'mutable-ref',
          message: `OCIRepository follows the mutable tag '${o.spec?.ref?.tag ?? 'latest'}': pin a digest or a semver range`,
        });
    }

    if (o.kind === 'Secret' && o.apiVersion === 'v1') plaintextSecret(l, decrypting, options, add);

    // Charts: HelmChart objects, and the HelmChart a HelmRelease's chart template makes.
    const chart = isSource(o, 'HelmChart')
      ? { spec: o.spec, keys: ['spec'], ns: l.namespace, what: `chart ${o.spec?.chart}` }
      : o.kind === 'HelmRelease' && o.spec?.chart?.spec
        ? {
            spec: o.spec.chart.spec,
            keys: ['spec', 'chart', 'spec'],
            ns: o.spec.chart.spec.sourceRef?.namespace ?? l.namespace,
            what: `chart ${o.spec.chart.spec.chart}`,
          }
        : undefined;
    if (chart) {
      const repo = ociHelmRepository(index, chart.spec?.sourceRef, chart.ns);
      const source = `${chart.spec?.sourceRef?.kind ?? '?'} ${chart.spec?.sourceRef?.name ?? '?'}`;
      if (repo && !chart.spec.verify)
        add(l, chart.keys, {
          severity: unverified,
          rule: 'unverified-source',
          message: `${chart.what} from OCI HelmRepository ${describeObject(repo)} has no verify: Flux installs it without checking a signature`,
        });
      else if (!repo && chart.spec?.verify)
        // source-controller verifies charts of OCI HelmRepositories only; elsewhere verify does nothing.
        add(l, [...chart.keys, 'verify'], {
          severity: unverified,
          rule: 'unverified-source',
          message: `${chart.what}: verify is ignored because ${source} is not an OCI HelmRepository in this repository; Flux verifies only charts of HelmRepositories with type: oci`,
        });
      else if (repo && chart.spec.verify)
        // helm-controller copies only provider and secretRef from the template (no identities).
        weakVerification(
          l,
          [...chart.keys, 'verify'],
          o.kind === 'HelmRelease'
            ? { ...chart.spec.verify, matchOIDCIdentity: undefined }
            : chart.spec.verify,
          add,
        );
    }
  }
  return findings;
}

/** Keyless verification with no identity to match accepts a signature by anyone Fulcio certified. */
function weakVerification(
  l: Located,
  keys: string[],
  verify: Record<string, any>,
  add: (l: Located, keys: string[], f: Omit<Finding, 'file' | 'line' | 'object'>) => void,
) {
  const keyless = (verify.provider ?? 'cosign') === 'cosign' && !verify.secretRef;
  if (keyless && !(Array.isArray(verify.matchOIDCIdentity) && verify.matchOIDCIdentity.length))
    add(l, keys, {
      severity: 'warning',
      rule: 'weak-verification',
      message:
        'keyless cosign verification without matchOIDCIdentity accepts any Sigstore-certified signer (and fails for sigstore bundles)',
    });
}

/** `spec.path` (repository-relative, no `./`) of each Kustomization that decrypts SOPS, by name. */
function decryptingPaths(objects: Located[]): Map<string, string> {
  const paths = new Map<string, string>();
  for (const l of objects) {
    const o = l.object;
    if (o.kind !== 'Kustomization' || groupOf(o) !== 'kustomize.toolkit.fluxcd.io') continue;
    if (o.spec?.decryption?.provider !== 'sops') continue;
    const path = String(o.spec?.path ?? '')
      .replace(/^\.?\/+/, '')
      .replace(/\/+$/, '');
    paths.set(describeObject(l), path);
  }
  return paths;
}

/**
 * A Secret whose `data`/`stringData` holds a value in clear: committed without SOPS metadata, or
 * a value outside the encryption rules of a SOPS file. A value that is only postBuild variables
 * (`${DB_PASSWORD}`) holds no secret itself.
 */
function plaintextSecret(
  l: Located,
  decrypting: Map<string, string>,
  options: PolicyOptions,
  add: (l: Located, keys: string[], f: Omit<Finding, 'file' | 'line' | 'object'>) => void,
) {
  const o = l.object;
  const clear: string[][] = [];
  for (const field of ['data', 'stringData']) {
    const values = o[field];
    if (!values || typeof values !== 'object') continue;
    for (const [key, value] of Object.entries(values)) {
      const text = value === null || value === undefined ? '' : String(value);
      if (!text.trim() || /^ENC\[AES256_GCM,/.test(text)) continue;
      if (/^(\s*\$\{[^}]*\}\s*)+$/.test(text)) continue;
      if (publicMaterial(key, field === 'data' ? Buffer.from(text, 'base64').toString('utf8') : text))
        continue;
      clear.push([field, key]);
    }
  }
  if (!clear.length) return;
  const names = clear.map((k) => k.join('.')).join(', ');
  const severity = options.requireEncryptedSecrets ? 'error' : 'warning';
  if (o.sops) {
    add(l, clear[0]!, {
      severity,
      rule: 'plaintext-secret',
      message: `SOPS-encrypted Secret holds values in clear, outside its encryption rules: ${names}`,
    });
    return;
  }
  const dir = l.file.includes('/') ? l.file.slice(0, l.file.lastIndexOf('/')) : '';
  const decryptor = [...decrypting].find(
    ([, path]) => path === '' || dir === path || dir.startsWith(`${path}/`),
  );
  add(l, clear[0]!, {
    severity,
    rule: 'plaintext-secret',
    message: decryptor
      ? `Secret committed in clear (${names}) where ${decryptor[0]} decrypts SOPS: encrypt it with sops`
      : `Secret committed in clear (${names}): encrypt it with sops, or keep it out of the repository`,
  });
}

/**
 * Public material Flux keeps in Secrets (a verify Secret's `*.pub` keys and certificates, a
 * notation trust policy, a trusted root, known_hosts): not a secret in clear.
 */
function publicMaterial(key: string, value: string): boolean {
  if (/\.(pub|crt)$|^(known_hosts|trustpolicy\.json|trusted_root\.json)$/.test(key)) return true;
  const blocks = value.match(/-----BEGIN ([A-Z ]+)-----/g);
  return !!blocks && blocks.every((b) => /BEGIN (PUBLIC KEY|CERTIFICATE)-----/.test(b));
}
