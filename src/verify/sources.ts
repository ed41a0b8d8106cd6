/**
 * Signature verification of the repository's sources, each with the policy in its own
 * `spec.verify`, as source-controller applies it (FORMATS.md §2): OCIRepository artifacts, the
 * charts of HelmCharts and of HelmRelease chart templates that pull from an OCI HelmRepository.
 */
import { resolveOciRef, type OciRefSpec } from '../flux/oci-ref.js';
import { groupOf, SOURCE_GROUP } from '../flux/objects.js';
import { exactVersion, highestSatisfying } from '../flux/versions.js';
import type { Logger } from '../log.js';
import { RegistryClient } from '../oci/client.js';
import { parseOciReference } from '../oci/reference.js';
import { readPublicKey } from '../sign/cosign/keys.js';
import { goRegExpProblem } from '../util/go-regexp.js';
import { verifyArtifact } from '../sign/index.js';
import type { CertificateIdentity, VerifyPolicy } from '../sign/types.js';
import { mapPool } from '../util/pool.js';
import { describeObject, HELM_CHART_LAYER, indexObjects, ociHelmRepository, type Located } from './policy.js';
import { firstCertificate, VerifySecrets } from './secrets.js';

/** One verdict, as `verify --format json` prints it (DESIGN.md). */
export interface SourceVerdict {
  ref: string;
  digest?: string;
  provider: string;
  verified: boolean;
  by?: string;
  reason?: string;
  /**
   * What a notation trust policy only logs (level permissive, audit or skip): the checks that
   * failed but let the signature pass. Absent when there are none.
   */
  warnings?: string[];
}

/** A verdict with the object it is about, for the table, annotations and the PR review. */
export interface CheckedSource extends SourceVerdict {
  /** `Kind/namespace/name` of the object carrying the verify policy. */
  object?: string;
  file?: string;
  line?: number;
}

interface VerifySpec {
  provider?: string;
  secretRef?: { name?: string };
  matchOIDCIdentity?: { issuer?: string; subject?: string }[];
  trustedRootSecretRef?: { name?: string };
}

/** What to verify for one object: where the artifact is, how its ref resolves, with which policy. */
export interface VerifyTarget {
  object: string;
  file: string;
  /** Line of the verify block. */
  line: number;
  /** `oci://host/repo` of the artifact (for a chart: the repository URL and the chart name). */
  url: string;
  resolve: { oci: OciRefSpec | undefined; helmTags: boolean } | { chartVersion: string };
  insecure: boolean;
  verify: VerifySpec;
  /** Namespace the verify Secrets are read from (the source's own, as the controller does). */
  namespace: string;
  /**
   * `Kind/namespace/name` of every object whose change changes this verification: the object,
   * the HelmRepository it pulls from, its Secrets. The diff review picks touched sources by them.
   */
  related: string[];
}

const DEFAULT_NAMESPACE = 'flux-system';
const key = (kind: string, ns: string | undefined, name: string) => `${kind}/${ns ?? ''}/${name}`;

/** Every source in the scanned objects that asks for signature verification. */
export function verifyTargets(objects: Located[]): VerifyTarget[] {
  const index = indexObjects(objects);
  const targets: VerifyTarget[] = [];
  const secretKeys = (ns: string, v: VerifySpec) =>
    [v.secretRef?.name, v.trustedRootSecretRef?.name].filter(Boolean).map((n) => key('Secret', ns, n!));
  for (const l of objects) {
    const o = l.object;
    if (groupOf(o.apiVersion) === SOURCE_GROUP) {
      if (o.kind === 'OCIRepository' && o.spec?.verify) {
        const ns = l.namespace ?? DEFAULT_NAMESPACE;
        targets.push({
          object: describeObject(l),
          file: l.file,
          line: l.lineOf(['spec', 'verify']),
          url: String(o.spec.url ?? ''),
          resolve: { oci: o.spec.ref, helmTags: o.spec.layerSelector?.mediaType === HELM_CHART_LAYER },
          insecure: o.spec.insecure === true,
          verify: o.spec.verify,
          namespace: ns,
          related: [key('OCIRepository', l.namespace, o.metadata?.name), ...secretKeys(ns, o.spec.verify)],
        });
      }
      if (o.kind === 'HelmChart' && o.spec?.verify) {
        const repo = ociHelmRepository(index, o.spec.sourceRef, l.namespace);
        if (!repo) continue; // reported by the policy checks: verify does nothing there
        const ns = l.namespace ?? DEFAULT_NAMESPACE;
        // HelmChart verification has no trustedRootSecretRef (FORMATS.md §2.5).
        const verify: VerifySpec = {
          provider: o.spec.verify.provider,
          secretRef: o.spec.verify.secretRef,
          matchOIDCIdentity: o.spec.verify.matchOIDCIdentity,
        };
        targets.push({
          object: describeObject(l),
          file: l.file,
          line: l.lineOf(['spec', 'verify']),
          url: `${String(repo.object.spec.url).replace(/\/+$/, '')}/${o.spec.chart}`,
          resolve: { chartVersion: String(o.spec.version ?? '*') },
          insecure: repo.object.spec.insecure === true,
          verify,
          namespace: ns,
          related: [
            key('HelmChart', l.namespace, o.metadata?.name),
            key('HelmRepository', repo.namespace, repo.object.metadata?.name),
            ...secretKeys(ns, verify),
          ],
        });
      }
    }
    const chart = o.kind === 'HelmRelease' ? o.spec?.chart?.spec : undefined;
    if (chart?.verify) {
      // helm-controller creates the HelmChart in the source's namespace and copies only
      // provider and secretRef of the template's verify.
      const ns = chart.sourceRef?.namespace ?? l.namespace;
      const repo = ociHelmRepository(index, chart.sourceRef, ns);
      if (!repo) continue;
      const verify: VerifySpec = { provider: chart.verify.provider, secretRef: chart.verify.secretRef };
      targets.push({
        object: describeObject(l),
        file: l.file,
        line: l.lineOf(['spec', 'chart', 'spec', 'verify']),
        url: `${String(repo.object.spec.url).replace(/\/+$/, '')}/${chart.chart}`,
        resolve: { chartVersion: String(chart.version ?? '*') },
        insecure: repo.object.spec.insecure === true,
        verify,
        namespace: ns ?? DEFAULT_NAMESPACE,
        related: [
          key('HelmRelease', l.namespace, o.metadata?.name),
          key('HelmRepository', repo.namespace, repo.object.metadata?.name),
          ...secretKeys(ns ?? DEFAULT_NAMESPACE, verify),
        ],
      });
    }
  }
  return targets;
}

export interface SourceCheckOptions {
  insecureRegistry: boolean;
  creds?: import('../oci/auth.js').RegistryCredentials;
  registryMirrors?: Map<string, string>;
  concurrency?: number;
}

/** Verifies each target; fail-closed: anything not positively verified is a verdict with a reason. */
export async function checkSources(
  targets: VerifyTarget[],
  secrets: VerifySecrets,
  options: SourceCheckOptions,
  ctx: { log: Logger; env: NodeJS.ProcessEnv },
): Promise<CheckedSource[]> {
  const clients = new Map<boolean, RegistryClient>();
  const clientFor = (insecure: boolean) => {
    if (!clients.has(insecure))
      clients.set(
        insecure,
        new RegistryClient({
          insecure,
          creds: options.creds,
          env: ctx.env,
          log: ctx.log,
          mirrors: options.registryMirrors,
        }),
      );
    return clients.get(insecure)!;
  };
  return mapPool(targets, options.concurrency ?? 4, (t) =>
    checkSource(t, secrets, clientFor(options.insecureRegistry || t.insecure), ctx),
  );
}

async function checkSource(
  t: VerifyTarget,
  secrets: VerifySecrets,
  client: RegistryClient,
  ctx: { log: Logger; env: NodeJS.ProcessEnv },
): Promise<CheckedSource> {
  const provider = t.verify.provider ?? 'cosign';
  const verdict: CheckedSource = {
    ref: t.url,
    provider,
    verified: false,
    object: t.object,
    file: t.file,
    line: t.line,
  };
  const fail = (reason: string): CheckedSource => ({ ...verdict, reason });
  try {
    const ref = parseOciReference(t.url);
    if (ref.tag || ref.digest)
      return fail(`URL must not contain a tag or digest; remove ':${ref.tag ?? ref.digest}'`);
    let digest: string;
    if ('chartVersion' in t.resolve) {
      const chart = await resolveChart(client, ref.registry, ref.repository, t.resolve.chartVersion);
      verdict.ref = `${t.url}:${chart.tag}`;
      digest = chart.digest;
    } else {
      digest = (
        await resolveOciRef(client, ref.registry, ref.repository, t.resolve.oci, {
          helmTags: t.resolve.helmTags,
        })
      ).digest;
    }
    verdict.digest = digest;
    const descriptor = await client.headManifest(ref.registry, ref.repository, digest);
    if (!descriptor) return fail(`${ref.registry}/${ref.repository}@${digest}: not found`);
    const policy = policyFor(t, provider, secrets);
    if (typeof policy === 'string') return fail(policy);
    const outcome = await verifyArtifact(
      client,
      {
        registry: ref.registry,
        repository: ref.repository,
        digest,
        mediaType: descriptor.mediaType,
        size: descriptor.size,
      },
      policy,
      // The provider's warnings come back in the outcome; annotate() reports them at the file and
      // line of the verify block, so they are not logged twice.
      { ...ctx, log: quietWarnings(ctx.log) },
    );
    return {
      ...verdict,
      verified: outcome.verified,
      by: outcome.by,
      reason: outcome.reason,
      ...(outcome.warnings?.length ? { warnings: outcome.warnings } : {}),
    };
  } catch (err) {
    return fail(oneLine(err));
  }
}

const quietWarnings = (log: Logger): Logger => ({
  debug: (m) => log.debug(m),
  info: (m) => log.info(m),
  warn: (m) => log.debug(m),
  error: (m, a) => log.error(m, a),
  group: (name, fn) => log.group(name, fn),
  mask: (secret) => log.mask(secret),
});

const oneLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;

/** The provider policy of a source's verify block and its Secrets, or why there is none. */
function policyFor(t: VerifyTarget, provider: string, secrets: VerifySecrets): VerifyPolicy | string {
  const ns = t.namespace;
  const secretName = t.verify.secretRef?.name;
  if (provider === 'notation') {
    if (!secretName)
      return 'notation verification needs spec.verify.secretRef: a Secret with trustpolicy.json and certificates';
    const read = secrets.read(ns, secretName);
    if ('missing' in read) return read.missing;
    const policy = read.files.get('trustpolicy.json');
    if (!policy) return `'trustpolicy.json' not found in Secret ${ns}/${secretName}`;
    const certs = [...read.files]
      .filter(([k]) => k.endsWith('.crt') || k.endsWith('.pem'))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => ({ name: `${ns}/${secretName}/${k}`, data: firstCertificate(v) }));
    if (!certs.length) return `no certificates (*.crt, *.pem) found in Secret ${ns}/${secretName}`;
    return {
      provider: 'notation',
      trustPolicy: { source: `Secret ${ns}/${secretName} trustpolicy.json`, json: policy.toString('utf8') },
      // The controller hands every certificate of the Secret to whichever store the policy names.
      trustStores: new Map([['*', certs]]),
      fluxSecret: true,
    };
  }
  if (provider !== 'cosign') return `unknown verify provider '${provider}' (cosign or notation)`;
  if (secretName) {
    const read = secrets.read(ns, secretName);
    if ('missing' in read) return read.missing;
    const keys = [...read.files]
      .filter(([k]) => k.endsWith('.pub'))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, pem]) => ({
        name: `${ns}/${secretName}/${k}`,
        key: readPublicKey(pem.toString('utf8'), `Secret ${ns}/${secretName} key ${k}`),
      }));
    if (!keys.length) return `Secret ${ns}/${secretName} holds no *.pub key`;
    // Key-based verification in Flux is offline: no Rekor entry is required.
    return { provider: 'cosign', keys, identities: [], ignoreTlog: true };
  }
  // Keyless: matchOIDCIdentity fields are regular expressions.
  const identities: CertificateIdentity[] = (t.verify.matchOIDCIdentity ?? []).map((i) => ({
    issuerRegExp: i.issuer,
    subjectRegExp: i.subject,
  }));
  for (const [i, id] of identities.entries())
    for (const [field, re] of [
      ['issuer', id.issuerRegExp],
      ['subject', id.subjectRegExp],
    ] as const) {
      // Go syntax, as source-controller hands these to cosign (RE2: `\z`, `(?i)`, no lookaround).
      const problem = re === undefined ? undefined : goRegExpProblem(re);
      if (problem)
        return `matchOIDCIdentity[${i}].${field} '${re}' is not a valid regular expression: ${problem}`;
    }
  let trustedRoot: { source: string; json: string } | undefined;
  const rootName = t.verify.trustedRootSecretRef?.name;
  if (rootName) {
    const read = secrets.read(ns, rootName);
    if ('missing' in read) return read.missing;
    const json = read.files.get('trusted_root.json');
    if (!json) return `'trusted_root.json' not found in Secret ${ns}/${rootName}`;
    trustedRoot = { source: `Secret ${ns}/${rootName} trusted_root.json`, json: json.toString('utf8') };
  }
  return { provider: 'cosign', keys: [], identities, trustedRoot, ignoreTlog: false };
}

/**
 * A chart version in an OCI Helm repository as source-controller picks it: an exact semver
 * version is the tag itself; otherwise an exact tag match, else the highest tag satisfying the
 * range (`*` or empty: the latest stable). Tags carry `_` where versions have `+`.
 */
export async function resolveChart(
  client: RegistryClient,
  registry: string,
  repository: string,
  version: string,
): Promise<{ digest: string; tag: string }> {
  const wanted = version.trim() || '*';
  const where = `${registry}/${repository}`;
  let tag: string | undefined;
  const exact = exactVersion(wanted);
  if (exact) tag = exact.replace(/\+/g, '_');
  else {
    const tags = (await client.listTags(registry, repository)).map((t) => ({
      tag: t,
      version: t.replace(/_/g, '+'),
    }));
    if (!tags.length) throw new Error(`${where}: no tags: the chart is not in the repository`);
    tag = tags.find((t) => t.version === wanted)?.tag;
    if (!tag) {
      let best: string | undefined;
      try {
        best = highestSatisfying(
          tags.map((t) => t.version),
          wanted,
        );
      } catch {
        throw new Error(`${where}: '${version}' is not a semver range`);
      }
      if (!best) throw new Error(`${where}: no chart version matches '${version}'`);
      tag = tags.find((t) => t.version === best)!.tag;
    }
  }
  const descriptor = await client.headManifest(registry, repository, tag);
  if (!descriptor) throw new Error(`${where}:${tag}: not found`);
  return { digest: descriptor.digest, tag };
}
