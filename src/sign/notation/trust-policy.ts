/**
 * The OCI trust policy document (`trustpolicy.json`, version 1.0): validation and statement
 * selection as notation-go does them (verifier/trustpolicy), and the verification levels.
 */

export class TrustPolicyError extends Error {}

export type CheckType = 'integrity' | 'authenticity' | 'authenticTimestamp' | 'expiry' | 'revocation';
export type Action = 'enforce' | 'log' | 'skip';
export type Level = Record<CheckType, Action>;

const CHECKS: CheckType[] = ['integrity', 'authenticity', 'authenticTimestamp', 'expiry', 'revocation'];

export const LEVELS: Record<string, Level> = {
  strict: {
    integrity: 'enforce',
    authenticity: 'enforce',
    authenticTimestamp: 'enforce',
    expiry: 'enforce',
    revocation: 'enforce',
  },
  permissive: {
    integrity: 'enforce',
    authenticity: 'enforce',
    authenticTimestamp: 'log',
    expiry: 'log',
    revocation: 'log',
  },
  audit: {
    integrity: 'enforce',
    authenticity: 'log',
    authenticTimestamp: 'log',
    expiry: 'log',
    revocation: 'log',
  },
  skip: {
    integrity: 'skip',
    authenticity: 'skip',
    authenticTimestamp: 'skip',
    expiry: 'skip',
    revocation: 'skip',
  },
};

export interface TrustPolicyStatement {
  name: string;
  registryScopes: string[];
  levelName: string;
  level: Level;
  skip: boolean;
  verifyTimestamp: 'always' | 'afterCertExpiry';
  trustStores: string[];
  trustedIdentities: string[];
}

export interface TrustPolicyDocument {
  statements: TrustPolicyStatement[];
}

const STORE_TYPES = ['ca', 'signingAuthority', 'tsa'];
const STORE_NAME = /^[a-zA-Z0-9_.-]+$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))+)?(?::[0-9]+)?$/;
const REPOSITORY =
  /^[a-z0-9]+(?:(?:(?:[._]|__|[-]*)[a-z0-9]+)+)?(?:(?:\/[a-z0-9]+(?:(?:(?:[._]|__|[-]*)[a-z0-9]+)+)?)+)?$/;

function validateScope(scope: string): void {
  const hint =
    'it must be a fully qualified repository without scheme or tag, e.g. registry.example.com/team/app';
  if (scope.length > 1 && scope.includes('*'))
    throw new TrustPolicyError(`registry scope "${scope}" has wildcards: ${hint}`);
  const slash = scope.indexOf('/');
  const domain = slash < 0 ? '' : scope.slice(0, slash);
  const repository = slash < 0 ? '' : scope.slice(slash + 1);
  if (!DOMAIN.test(domain) || !REPOSITORY.test(repository))
    throw new TrustPolicyError(`registry scope "${scope}" is not valid: ${hint}`);
}

/**
 * An RFC 4514 distinguished name as notation accepts it for `x509.subject:` identities: single
 * valued RDNs, no `=#` hex values, no duplicate attribute, with C, ST (or S) and O.
 */
export function parseDistinguishedName(dn: string): Map<string, string> {
  if (dn.includes('=#'))
    throw new TrustPolicyError(`distinguished name "${dn}": "=#" values are not supported`);
  const attrs = new Map<string, string>();
  let i = 0;
  const fail = (why: string): never => {
    throw new TrustPolicyError(`distinguished name "${dn}" is not valid: ${why}`);
  };
  while (i < dn.length) {
    const eq = dn.indexOf('=', i);
    if (eq < 0) fail('an attribute has no "="');
    let type = dn.slice(i, eq).trim();
    if (!/^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/.test(type)) fail(`bad attribute type "${type}"`);
    i = eq + 1;
    let value = '';
    let pendingSpaces = '';
    let quoted = false;
    while (i < dn.length && dn[i] === ' ') i++;
    if (dn[i] === '"') {
      quoted = true;
      i++;
    }
    let end = false;
    while (i < dn.length && !end) {
      const c = dn[i]!;
      if (c === '\\') {
        const next = dn.slice(i + 1, i + 3);
        if (/^[0-9a-fA-F]{2}$/.test(next)) {
          const bytes: number[] = [];
          while (dn[i] === '\\' && /^[0-9a-fA-F]{2}$/.test(dn.slice(i + 1, i + 3))) {
            bytes.push(parseInt(dn.slice(i + 1, i + 3), 16));
            i += 3;
          }
          value += pendingSpaces + Buffer.from(bytes).toString('utf8');
          pendingSpaces = '';
          continue;
        }
        if (i + 1 >= dn.length) fail('a trailing backslash');
        value += pendingSpaces + dn[i + 1];
        pendingSpaces = '';
        i += 2;
        continue;
      }
      if (quoted) {
        if (c === '"') {
          quoted = false;
          i++;
          while (dn[i] === ' ') i++;
          if (i < dn.length && dn[i] !== ',' && dn[i] !== ';' && dn[i] !== '+')
            fail('text after a quoted value');
          continue;
        }
        value += c;
        i++;
        continue;
      }
      if (c === '+') fail('multi-valued RDNs are not supported');
      if (c === ',' || c === ';') {
        end = true;
        i++;
        break;
      }
      if (c === ' ') pendingSpaces += c;
      else {
        value += pendingSpaces + c;
        pendingSpaces = '';
      }
      i++;
    }
    if (quoted) fail('an unterminated quoted value');
    if (type === 'S') type = 'ST';
    if (attrs.has(type)) fail(`duplicate attribute ${type}`);
    attrs.set(type, value);
    if (end && i >= dn.length) fail('a trailing separator');
  }
  for (const required of ['C', 'ST', 'O'])
    if (!attrs.get(required))
      throw new TrustPolicyError(
        `distinguished name "${dn}" must contain C, ST (or S) and O; ${required} is missing`,
      );
  return attrs;
}

/** Every attribute of `subset` has the same value in `dn`. */
export const isSubsetDn = (subset: Map<string, string>, dn: Map<string, string>) =>
  [...subset].every(([k, v]) => dn.get(k) === v);

function resolveLevel(name: string, raw: Record<string, unknown>): Level {
  const levelName = raw.level;
  if (typeof levelName !== 'string' || !levelName)
    throw new TrustPolicyError(`statement "${name}": signatureVerification.level is missing`);
  const base = LEVELS[levelName];
  if (!base)
    throw new TrustPolicyError(`statement "${name}": unknown signatureVerification.level "${levelName}"`);
  const override = raw.override;
  if (override === undefined || override === null) return base;
  if (typeof override !== 'object' || Array.isArray(override))
    throw new TrustPolicyError(`statement "${name}": signatureVerification.override must be an object`);
  const entries = Object.entries(override as Record<string, unknown>);
  if (!entries.length) return base;
  if (levelName === 'skip')
    throw new TrustPolicyError(`statement "${name}": level skip cannot be overridden`);
  const level = { ...base };
  for (const [check, action] of entries) {
    if (!CHECKS.includes(check as CheckType))
      throw new TrustPolicyError(`statement "${name}": override of unknown verification "${check}"`);
    if (action !== 'enforce' && action !== 'log' && action !== 'skip')
      throw new TrustPolicyError(
        `statement "${name}": override action "${String(action)}" is not enforce, log or skip`,
      );
    if (check === 'integrity')
      throw new TrustPolicyError(`statement "${name}": integrity cannot be overridden`);
    if (check !== 'revocation' && action === 'skip')
      throw new TrustPolicyError(`statement "${name}": ${check} cannot be skipped`);
    level[check as CheckType] = action;
  }
  return level;
}

const stringList = (value: unknown, what: string, name: string): string[] => {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    throw new TrustPolicyError(`statement "${name}": ${what} must be a list of strings`);
  return value as string[];
};

function validateIdentities(name: string, identities: string[]): void {
  if (identities.length > 1 && identities.includes('*'))
    throw new TrustPolicyError(
      `statement "${name}": the wildcard identity "*" cannot be combined with others`,
    );
  const dns: Array<[string, Map<string, string>]> = [];
  for (const identity of identities) {
    if (!identity) throw new TrustPolicyError(`statement "${name}": an empty trusted identity`);
    if (identity === '*') continue;
    const colon = identity.indexOf(':');
    if (colon < 0)
      throw new TrustPolicyError(`statement "${name}": trusted identity "${identity}" has no "type:" prefix`);
    if (identity.slice(0, colon) !== 'x509.subject') continue;
    const value = identity.slice(colon + 1);
    if (!value)
      throw new TrustPolicyError(`statement "${name}": trusted identity "${identity}" has no value`);
    try {
      dns.push([identity, parseDistinguishedName(value)]);
    } catch (err) {
      throw new TrustPolicyError(`statement "${name}": trusted identity: ${(err as Error).message}`);
    }
  }
  for (const [a, dnA] of dns)
    for (const [b, dnB] of dns)
      if (a !== b && isSubsetDn(dnA, dnB))
        throw new TrustPolicyError(`statement "${name}": trusted identities "${a}" and "${b}" overlap`);
}

/**
 * Parses and validates a trust policy document; throws TrustPolicyError naming the rule broken.
 * `cleanSkipStatements`: first empty the trust stores and identities of `skip` statements, as
 * source-controller does with a verify Secret's policy (internal/oci/notation CleanTrustPolicy).
 */
export function parseTrustPolicy(
  json: string,
  options: { cleanSkipStatements?: boolean } = {},
): TrustPolicyDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    throw new TrustPolicyError('not valid JSON');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new TrustPolicyError('not a JSON object');
  const { version, trustPolicies } = doc as Record<string, unknown>;
  if (!version) throw new TrustPolicyError('"version" is missing');
  if (version !== '1.0')
    throw new TrustPolicyError(`unsupported version ${JSON.stringify(version)} (only "1.0")`);
  if (!Array.isArray(trustPolicies) || !trustPolicies.length)
    throw new TrustPolicyError('"trustPolicies" has no statement');

  const names = new Set<string>();
  const statements = trustPolicies.map((raw: unknown): TrustPolicyStatement => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw))
      throw new TrustPolicyError('a statement is not an object');
    const s = raw as Record<string, unknown>;
    const name = typeof s.name === 'string' ? s.name : '';
    if (!name) throw new TrustPolicyError('a statement has no name');
    if (names.has(name)) throw new TrustPolicyError(`statement name "${name}" is used twice`);
    names.add(name);
    const sv = (s.signatureVerification ?? {}) as Record<string, unknown>;
    const level = resolveLevel(name, sv);
    const verifyTimestamp = sv.verifyTimestamp ?? 'always';
    if (verifyTimestamp !== 'always' && verifyTimestamp !== 'afterCertExpiry')
      throw new TrustPolicyError(
        `statement "${name}": verifyTimestamp must be "always" or "afterCertExpiry"`,
      );
    const skip = sv.level === 'skip';
    const cleaned = skip && options.cleanSkipStatements;
    const trustStores = cleaned ? [] : stringList(s.trustStores, 'trustStores', name);
    const trustedIdentities = cleaned ? [] : stringList(s.trustedIdentities, 'trustedIdentities', name);
    if (skip) {
      if (trustStores.length || trustedIdentities.length)
        throw new TrustPolicyError(
          `statement "${name}": level skip must not list trust stores or trusted identities`,
        );
    } else {
      if (!trustStores.length || !trustedIdentities.length)
        throw new TrustPolicyError(
          `statement "${name}": both trustStores and trustedIdentities are required`,
        );
      for (const store of trustStores) {
        const colon = store.indexOf(':');
        if (colon < 0)
          throw new TrustPolicyError(`statement "${name}": trust store "${store}" is not TYPE:NAME`);
        if (!STORE_TYPES.includes(store.slice(0, colon)))
          throw new TrustPolicyError(
            `statement "${name}": trust store type "${store.slice(0, colon)}" is not ca, signingAuthority or tsa`,
          );
        if (!STORE_NAME.test(store.slice(colon + 1)))
          throw new TrustPolicyError(
            `statement "${name}": trust store name "${store.slice(colon + 1)}" must match [a-zA-Z0-9_.-]+`,
          );
      }
      validateIdentities(name, trustedIdentities);
    }
    return {
      name,
      registryScopes: stringList(s.registryScopes, 'registryScopes', name),
      levelName: sv.level as string,
      level,
      skip,
      verifyTimestamp,
      trustStores,
      trustedIdentities,
    };
  });

  const scopeCount = new Map<string, number>();
  for (const s of statements) {
    if (!s.registryScopes.length) throw new TrustPolicyError(`statement "${s.name}" has no registryScopes`);
    if (s.registryScopes.length > 1 && s.registryScopes.includes('*'))
      throw new TrustPolicyError(
        `statement "${s.name}": the wildcard scope "*" cannot be combined with others`,
      );
    for (const scope of s.registryScopes) {
      if (scope !== '*') validateScope(scope);
      scopeCount.set(scope, (scopeCount.get(scope) ?? 0) + 1);
    }
  }
  for (const [scope, count] of scopeCount)
    if (count > 1)
      throw new TrustPolicyError(`registry scope "${scope}" is in ${count} statements; one is allowed`);
  return { statements };
}

/** The statement for `registry/repository`: an exact scope first, else the `*` statement. */
export function selectStatement(doc: TrustPolicyDocument, artifactPath: string): TrustPolicyStatement {
  const exact = doc.statements.find((s) => s.registryScopes.includes(artifactPath));
  if (exact) return exact;
  const wildcard = doc.statements.find((s) => s.registryScopes.includes('*'));
  if (wildcard) return wildcard;
  throw new TrustPolicyError(`no trust policy statement has registry scope "${artifactPath}" or "*"`);
}
