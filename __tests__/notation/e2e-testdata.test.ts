/**
 * The notation CLI's own end-to-end material (notaryproject/notation test/e2e/testdata, see
 * SOURCES.md): its pre-signed OCI layouts pushed byte for byte to the test registry (their
 * signatures sit under the referrers tag schema, as in the layouts), its trust policies and its
 * trust-store certificates, verified through `fluxgate verify oci://… --provider notation`, each
 * with the outcome notation's e2e suite asserts (test/e2e/suite/trustpolicy/*.go). The suite's
 * registry is `localhost:5000`; its scopes name it, so the reference keeps that name and
 * `--registry-mirror` sends the requests to the test registry.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../src/oci/client.js';
import { runCli } from '../support/cli.js';
import { pushOciLayout } from '../support/oci-layout.js';
import { sharedRegistryHost } from '../support/registry.js';
import { FIXTURES } from '../support/tools.js';

const E2E = join(FIXTURES, 'vectors', 'notation-e2e');
const POLICIES = join(E2E, 'config', 'trustpolicies');
const KEYS = join(E2E, 'config', 'localkeys');
const SUITE_REGISTRY = 'localhost:5000';

type Layout =
  'e2e-valid-signature' | 'e2e-expired-signature' | 'e2e-invalid-signature' | 'e2e-with-expired-cert';

interface E2eCase {
  /** The e2e suite's `It(...)` title, prefixed with its file. */
  name: string;
  layout: Layout;
  /** The repository the suite copies the layout to (GenerateArtifact's newRepo). */
  repo?: string;
  policy: string;
  /** Named `ca` stores: certificate files of config/localkeys. */
  stores?: Record<string, string[]>;
  verified: boolean;
  /** What the reason (failure) or a warning (logged check) names. */
  says: RegExp;
}

const BASE = { e2e: ['e2e.crt'] };
const NEW = { e2e: ['new_e2e.crt'] };
const EXPIRED = { e2e: ['expired_e2e.crt'] };

/**
 * test/e2e/suite/trustpolicy: verification_level.go, trust_store.go, trusted_identity.go,
 * registry_scope.go, multi_statements.go. Where the suite signs a fresh artifact with e2e.key
 * before verifying, the pre-signed e2e-valid-signature layout (same key and certificate) stands in.
 * Where a case sets a policy and then replaces it (AddTrustPolicyOption twice), the last one is used.
 */
const CASES: E2eCase[] = [
  // verification_level.go
  {
    name: 'level: strict level with expired signature',
    layout: 'e2e-expired-signature',
    policy: 'trustpolicy',
    stores: BASE,
    verified: false,
    says: /expir/,
  },
  {
    name: 'level: strict level with expired authentic timestamp',
    layout: 'e2e-with-expired-cert',
    policy: 'trustpolicy',
    stores: EXPIRED,
    verified: false,
    says: /authenticTimestamp|authentic timestamp/,
  },
  {
    name: 'level: strict level with invalid authenticity',
    layout: 'e2e-valid-signature',
    policy: 'trustpolicy',
    stores: NEW,
    verified: false,
    says: /authenticity/,
  },
  {
    name: 'level: strict level with invalid integrity',
    layout: 'e2e-invalid-signature',
    policy: 'trustpolicy',
    stores: BASE,
    verified: false,
    says: /integrity/,
  },
  {
    name: 'level: permissive level with expired signature',
    layout: 'e2e-expired-signature',
    policy: 'permissive_trustpolicy',
    stores: BASE,
    verified: true,
    says: /expiry.*expired/,
  },
  {
    name: 'level: permissive level with expired authentic timestamp',
    layout: 'e2e-with-expired-cert',
    policy: 'permissive_trustpolicy',
    stores: EXPIRED,
    verified: true,
    says: /authenticTimestamp/,
  },
  {
    name: 'level: permissive level with invalid authenticity',
    layout: 'e2e-valid-signature',
    policy: 'permissive_trustpolicy',
    stores: NEW,
    verified: false,
    says: /authenticity/,
  },
  {
    name: 'level: permissive level with invalid integrity',
    layout: 'e2e-invalid-signature',
    policy: 'permissive_trustpolicy',
    stores: BASE,
    verified: false,
    says: /integrity/,
  },
  {
    name: 'level: audit level with expired signature',
    layout: 'e2e-expired-signature',
    policy: 'audit_trustpolicy',
    stores: BASE,
    verified: true,
    says: /expiry.*expired/,
  },
  {
    name: 'level: audit level with expired authentic timestamp',
    layout: 'e2e-with-expired-cert',
    policy: 'audit_trustpolicy',
    stores: EXPIRED,
    verified: true,
    says: /authenticTimestamp/,
  },
  {
    name: 'level: audit level with invalid authenticity',
    layout: 'e2e-valid-signature',
    policy: 'audit_trustpolicy',
    stores: NEW,
    verified: true,
    says: /authenticity/,
  },
  {
    name: 'level: audit level with invalid integrity',
    layout: 'e2e-invalid-signature',
    policy: 'audit_trustpolicy',
    stores: BASE,
    verified: false,
    says: /integrity/,
  },
  {
    name: 'level: skip level with invalid integrity',
    layout: 'e2e-invalid-signature',
    policy: 'skip_trustpolicy',
    stores: BASE,
    verified: true,
    says: /skip/,
  },
  {
    name: 'level: strict level with Expiry overridden as log level',
    layout: 'e2e-expired-signature',
    policy: 'override_strict_trustpolicy',
    stores: BASE,
    verified: true,
    says: /expiry.*expired/,
  },
  {
    name: 'level: strict level with Authentic timestamp overridden as log level',
    layout: 'e2e-with-expired-cert',
    policy: 'override_strict_trustpolicy',
    stores: EXPIRED,
    verified: true,
    says: /authenticTimestamp/,
  },
  {
    name: 'level: strict level with Authenticity overridden as log level',
    layout: 'e2e-valid-signature',
    policy: 'override_strict_trustpolicy',
    stores: NEW,
    verified: true,
    says: /authenticity/,
  },
  {
    name: 'level: permissive level with Expiry overridden as enforce level',
    layout: 'e2e-expired-signature',
    policy: 'override_permissive_trustpolicy',
    stores: BASE,
    verified: false,
    says: /expir/,
  },
  {
    name: 'level: permissive level with Authentic timestamp overridden as enforce level (then trustpolicy.json)',
    layout: 'e2e-with-expired-cert',
    policy: 'trustpolicy',
    stores: EXPIRED,
    verified: false,
    says: /authenticTimestamp|authentic timestamp/,
  },
  {
    name: 'level: permissive level with Authenticity overridden as log level',
    layout: 'e2e-valid-signature',
    policy: 'override_permissive_trustpolicy',
    stores: NEW,
    verified: true,
    says: /authenticity/,
  },
  {
    name: 'level: permissive level with Integrity overridden as log level',
    layout: 'e2e-valid-signature',
    policy: 'override_integrity_for_permissive_trustpolicy',
    stores: NEW,
    verified: false,
    says: /integrity cannot be overridden/,
  },
  {
    name: 'level: audit level with Expiry overridden as enforce level',
    layout: 'e2e-expired-signature',
    policy: 'override_audit_trustpolicy',
    stores: BASE,
    verified: false,
    says: /expir/,
  },
  {
    name: 'level: audit level with Authentic timestamp overridden as enforce level (then trustpolicy.json)',
    layout: 'e2e-with-expired-cert',
    policy: 'trustpolicy',
    stores: EXPIRED,
    verified: false,
    says: /authenticTimestamp|authentic timestamp/,
  },
  {
    name: 'level: audit level with Authenticity overridden as enforce level',
    layout: 'e2e-valid-signature',
    policy: 'override_audit_trustpolicy',
    stores: NEW,
    verified: false,
    says: /authenticity/,
  },
  // trust_store.go
  {
    name: 'store: unset trust store',
    layout: 'e2e-valid-signature',
    policy: 'unset_trust_store_trustpolicy',
    stores: BASE,
    verified: false,
    says: /trust ?[sS]tores/,
  },
  {
    name: 'store: invalid trust store',
    layout: 'e2e-valid-signature',
    policy: 'invalid_trust_store_trustpolicy',
    stores: BASE,
    verified: false,
    says: /invalid_store/,
  },
  {
    name: 'store: malformed trust store',
    layout: 'e2e-valid-signature',
    policy: 'malformed_trust_store_trustpolicy',
    stores: BASE,
    verified: false,
    says: /trust store name ""/,
  },
  {
    name: 'store: wildcard (malformed) trust store',
    layout: 'e2e-valid-signature',
    policy: 'wildcard_trust_store_trustpolicy',
    stores: BASE,
    verified: false,
    says: /"\*"/,
  },
  {
    name: 'store: multiple trust stores (artifact2)',
    layout: 'e2e-valid-signature',
    policy: 'multiple_trust_store_trustpolicy',
    stores: { 'e2e-new': ['new_e2e.crt'], e2e: ['e2e.crt'] },
    verified: true,
    says: /ca:e2e/,
  },
  // trusted_identity.go
  {
    name: 'identity: with unset trusted identity',
    layout: 'e2e-valid-signature',
    policy: 'unset_trusted_identity_trustpolicy',
    stores: BASE,
    verified: false,
    says: /trustedIdentities|trusted identit/,
  },
  {
    name: 'identity: with valid trusted identity',
    layout: 'e2e-valid-signature',
    policy: 'valid_trusted_identity_trustpolicy',
    stores: BASE,
    verified: true,
    says: /CN=e2e/,
  },
  {
    name: 'identity: with invalid trusted identity',
    layout: 'e2e-valid-signature',
    policy: 'invalid_trusted_identity_trustpolicy',
    stores: BASE,
    verified: false,
    says: /does not match the trusted identities/,
  },
  {
    name: 'identity: with malformed trusted identity',
    layout: 'e2e-valid-signature',
    policy: 'malformed_trusted_identity_trustpolicy',
    stores: BASE,
    verified: false,
    says: /x509\.subject CN=e2e/,
  },
  {
    name: 'identity: with empty trusted identity',
    layout: 'e2e-valid-signature',
    policy: 'empty_trusted_identity_trustpolicy',
    stores: BASE,
    verified: false,
    says: /empty trusted identity/,
  },
  {
    name: 'identity: with multiple trusted identity (artifact2)',
    layout: 'e2e-valid-signature',
    policy: 'multiple_trusted_identity_trustpolicy',
    stores: { e2e: ['new_e2e.crt', 'e2e.crt'] },
    verified: true,
    says: /CN=e2e/,
  },
  {
    name: 'identity: with overlapped trusted identities',
    layout: 'e2e-valid-signature',
    policy: 'overlapped_trusted_identity_trustpolicy',
    stores: BASE,
    verified: false,
    says: /overlap/,
  },
  {
    name: 'identity: with wildcard plus other trusted identities',
    layout: 'e2e-valid-signature',
    policy: 'wildcard_plus_other_trusted_identity_trustpolicy',
    stores: BASE,
    verified: false,
    says: /\*/,
  },
  {
    name: 'identity: with trusted identities missing organization',
    layout: 'e2e-valid-signature',
    policy: 'missing_organization_trusted_identity_trustpolicy',
    stores: BASE,
    verified: false,
    says: /\bO\b/,
  },
  {
    name: 'identity: with trusted identities missing state',
    layout: 'e2e-valid-signature',
    policy: 'missing_state_trusted_identity_trustpolicy',
    stores: BASE,
    verified: false,
    says: /\bST\b/,
  },
  {
    name: 'identity: with trusted identities missing country',
    layout: 'e2e-valid-signature',
    policy: 'missing_country_trusted_identity_trustpolicy',
    stores: BASE,
    verified: false,
    says: /\bC\b/,
  },
  // registry_scope.go
  {
    name: 'scope: empty registryScope',
    layout: 'e2e-valid-signature',
    policy: 'empty_registry_scope_trustpolicy',
    stores: BASE,
    verified: false,
    says: /registryScopes|registry scope/,
  },
  {
    name: 'scope: malformed registryScope',
    layout: 'e2e-valid-signature',
    policy: 'malformed_registry_scope_trustpolicy',
    stores: BASE,
    verified: false,
    says: /localhost:5000\\\\test-repo|not valid/,
  },
  {
    name: 'scope: registryScope with a repository',
    layout: 'e2e-valid-signature',
    repo: 'test-repo',
    policy: 'registry_scope_trustpolicy',
    stores: BASE,
    verified: true,
    says: /CN=e2e/,
  },
  {
    name: 'scope: registryScope with multiple repositories (test-repo2)',
    layout: 'e2e-valid-signature',
    repo: 'test-repo2',
    policy: 'multiple_registry_scope_trustpolicy',
    stores: BASE,
    verified: true,
    says: /CN=e2e/,
  },
  {
    name: 'scope: registryScope with multiple repositories (test-repo3)',
    layout: 'e2e-valid-signature',
    repo: 'test-repo3',
    policy: 'multiple_registry_scope_trustpolicy',
    stores: BASE,
    verified: true,
    says: /CN=e2e/,
  },
  {
    name: 'scope: registryScope with any(*) repository (test-repo4)',
    layout: 'e2e-valid-signature',
    repo: 'test-repo4',
    policy: 'any_registry_scope_trust_policy',
    stores: BASE,
    verified: true,
    says: /CN=e2e/,
  },
  {
    name: 'scope: registryScope with any(*) repository (test-repo5)',
    layout: 'e2e-valid-signature',
    repo: 'test-repo5',
    policy: 'any_registry_scope_trust_policy',
    stores: BASE,
    verified: true,
    says: /CN=e2e/,
  },
  {
    name: 'scope: overlapped registryScope',
    layout: 'e2e-valid-signature',
    repo: 'test-repo6',
    policy: 'overlapped_registry_scope_trustpolicy',
    stores: BASE,
    verified: false,
    says: /localhost:5000\/test-repo6/,
  },
  {
    name: 'scope: wildcard plus specific repo registryScope',
    layout: 'e2e-valid-signature',
    repo: 'test-repo7',
    policy: 'wildcard_plus_other_registry_scope_trustpolicy',
    stores: BASE,
    verified: false,
    says: /wildcard/,
  },
  {
    name: 'scope: invalid registryScope',
    layout: 'e2e-valid-signature',
    policy: 'invalid_registry_scope_trustpolicy',
    stores: BASE,
    verified: false,
    says: /no trust policy statement/,
  },
  // multi_statements.go
  {
    name: 'statements: multiple statements with the same registryScope',
    layout: 'e2e-valid-signature',
    repo: 'test-repo8',
    policy: 'multi_statements_with_the_same_registry_scope_trustpolicy',
    stores: BASE,
    verified: false,
    says: /localhost:5000\/test-repo8/,
  },
  {
    name: 'statements: multiple statements with wildcard registry scope',
    layout: 'e2e-valid-signature',
    repo: 'test-repo9',
    policy: 'multi_statements_with_wildcard_registry_scope_trustpolicy',
    stores: BASE,
    verified: true,
    says: /CN=e2e/,
  },
  {
    name: 'statements: multiple statements with the same name',
    layout: 'e2e-valid-signature',
    repo: 'test-repo10',
    policy: 'multi_statements_with_the_same_name_trustpolicy',
    stores: BASE,
    verified: false,
    says: /"e2e"/,
  },
  {
    name: 'statements: multiple statements with multi-wildcard registry scopes',
    layout: 'e2e-valid-signature',
    policy: 'multi_statements_with_multi_wildcard_registry_scope_trustpolicy',
    stores: BASE,
    verified: false,
    says: /"\*"/,
  },
];

let host: string;
let work: string;
const client = new RegistryClient({ env: {} });
const pushed = new Map<string, Promise<string>>();

/** The layout's signed artifact in `repo` (pushed once per repository), by digest. */
function artifact(layout: Layout, repo: string): Promise<string> {
  const key = `${repo}|${layout}`;
  if (!pushed.has(key))
    pushed.set(
      key,
      pushOciLayout(client, host, repo, join(E2E, 'registry', 'oci_layout', layout)).then((tags) =>
        tags.get('v1')!,
      ),
    );
  return pushed.get(key)!;
}

function storeFlags(name: string, stores: Record<string, string[]>): string[] {
  return Object.entries(stores).flatMap(([store, files]) => {
    const dir = join(work, name.replace(/\W+/g, '-'), store);
    mkdirSync(dir, { recursive: true });
    for (const f of files) copyFileSync(join(KEYS, f), join(dir, f));
    return ['--trust-store', `ca:${store}=${dir}`];
  });
}

beforeAll(() => {
  host = sharedRegistryHost();
  work = mkdtempSync(join(tmpdir(), 'notation-e2e-data-'));
});

describe('notation e2e testdata: trust policies against pre-signed layouts, as notation verify decides', () => {
  it('covers every verify case of the suite that needs no signing key, no network and no plugin', () => {
    expect(CASES).toHaveLength(53);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    // The scopes name the suite's repositories at the registry's top level.
    const repo = c.repo ?? `notation-e2e/${c.layout}`;
    const digest = await artifact(c.layout, repo);
    const ref = `oci://${SUITE_REGISTRY}/${repo}@${digest}`;
    const r = await runCli([
      'verify',
      ref,
      '--provider',
      'notation',
      '--registry-mirror',
      `${SUITE_REGISTRY}=${host}`,
      '--trust-policy',
      join(POLICIES, `${c.policy}.json`),
      ...storeFlags(c.name, c.stores ?? BASE),
      '--format',
      'json',
    ]);
    const source = r.stdout ? JSON.parse(r.stdout).sources[0] : undefined;
    const said = [source?.reason, source?.by, ...(source?.warnings ?? []), r.stderr]
      .filter(Boolean)
      .join('\n');
    expect({ verified: source?.verified ?? false, code: r.code }).toEqual({
      verified: c.verified,
      code: c.verified ? 0 : expect.any(Number),
    });
    if (!c.verified) expect(r.code).not.toBe(0);
    expect({ said }).toEqual({ said: expect.stringMatching(c.says) });
  });
});
