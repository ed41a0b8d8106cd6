import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Credentials for one registry: basic (user + password) or a ready bearer token. */
export type Credentials =
  { kind: 'basic'; username: string; password: string } | { kind: 'token'; token: string };

/** Where a bare `--creds` is kept when no reference names its host: no host is called that. */
export const UNBOUND_CREDENTIALS = '<unbound>';

/** Credentials bound to registry hosts (`host[:port]`, see normalizeHost): sent to that host only. */
export type RegistryCredentials = ReadonlyMap<string, Credentials>;

/** `user:password`; without a ':' the value is a registry bearer token (as the flux CLI). */
export function parseCreds(creds: string): Credentials {
  const i = creds.indexOf(':');
  return i < 0
    ? { kind: 'token', token: creds }
    : { kind: 'basic', username: creds.slice(0, i), password: creds.slice(i + 1) };
}

const HOST =
  /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/** Docker Hub answers under several names; they are one registry for credentials. */
export function normalizeHost(host: string): string {
  const h = host.toLowerCase();
  return h === 'docker.io' || h === 'registry-1.docker.io' ? 'index.docker.io' : h;
}

/**
 * One credentials entry: `HOST=USER:PASSWORD` / `HOST=TOKEN`, or bare `USER:PASSWORD` / `TOKEN`.
 * It is host-bound when what precedes the first `=` reads as a registry host and what follows is
 * more than base64 padding (a bare token may end in `=`).
 */
export function parseCredsEntry(entry: string): { host?: string; credentials: Credentials } {
  const i = entry.indexOf('=');
  const rest = entry.slice(i + 1);
  if (i > 0 && HOST.test(entry.slice(0, i)) && !/^=*$/.test(rest)) {
    return { host: normalizeHost(entry.slice(0, i)), credentials: parseCreds(rest) };
  }
  return { credentials: parseCreds(entry) };
}

/** The secret parts of a credentials value, for masking: each whole entry and each password. */
export function credentialSecrets(value: string): string[] {
  const secrets: string[] = [];
  for (const line of value.split(/\r?\n/)) {
    const entry = line.trim();
    if (!entry) continue;
    const { credentials } = parseCredsEntry(entry);
    secrets.push(entry, credentials.kind === 'basic' ? credentials.password : credentials.token);
  }
  return secrets.filter((s) => s.length > 0);
}

/** Docker config.json `auths` keys as docker writes them (Docker Hub under its v1 URL). */
function configKeys(registry: string): string[] {
  if (registry === 'index.docker.io' || registry === 'docker.io') {
    return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];
  }
  return [
    registry,
    `https://${registry}`,
    `http://${registry}`,
    `https://${registry}/v1/`,
    `https://${registry}/v2/`,
  ];
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/**
 * Credentials from `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, as docker looks them
 * up for one host: its `credHelpers` entry, else its `auths` entry, else the `credsStore`.
 * Helpers are asked for this host only (`docker-credential-NAME get`, the host on stdin).
 */
export function dockerConfigCredentials(registry: string, env: NodeJS.ProcessEnv): Credentials | undefined {
  const dir = env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
  let config: DockerConfig;
  try {
    config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as DockerConfig;
  } catch {
    return undefined;
  }
  const keys = configKeys(registry);
  const helperKey = keys.find((k) => typeof config.credHelpers?.[k] === 'string');
  if (helperKey) return credentialHelper(config.credHelpers![helperKey]!, helperKey, env);
  for (const key of keys) {
    const entry = config.auths?.[key];
    if (!entry) continue;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i > 0) return { kind: 'basic', username: decoded.slice(0, i), password: decoded.slice(i + 1) };
    }
    if (entry.username && entry.password)
      return { kind: 'basic', username: entry.username, password: entry.password };
  }
  if (typeof config.credsStore === 'string' && config.credsStore) {
    return credentialHelper(config.credsStore, keys[0]!, env);
  }
  return undefined;
}

/** docker-credential-helpers protocol: `get` with the server URL on stdin, JSON {Username, Secret} out. */
function credentialHelper(name: string, serverUrl: string, env: NodeJS.ProcessEnv): Credentials | undefined {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) return undefined;
  let out: { Username?: unknown; Secret?: unknown };
  try {
    out = JSON.parse(
      execFileSync(`docker-credential-${name}`, ['get'], {
        input: serverUrl,
        env,
        timeout: 10_000,
        maxBuffer: 1024 * 1024,
        encoding: 'utf8',
        stdio: ['pipe', 'pipe', 'ignore'],
      }),
    ) as typeof out;
  } catch {
    return undefined; // not stored there, or no such helper: anonymous, as docker would be
  }
  if (typeof out.Username !== 'string' || typeof out.Secret !== 'string' || !out.Secret) return undefined;
  // `<token>` marks an OAuth identity (refresh) token, which needs a token exchange we do not do.
  if (out.Username === '<token>') return undefined;
  return { kind: 'basic', username: out.Username, password: out.Secret };
}

/**
 * The credentials fluxgate sends to `host` (the host it connects to: a mirror's own name),
 * most specific first: host-bound `--creds`/`--creds-file`/FLUXGATE_CREDS, GITHUB_TOKEN for
 * ghcr.io only, docker config.json (credHelpers, auths, credsStore) for that host. Nothing else
 * reaches a host.
 */
export function resolveCredentials(
  host: string,
  creds: RegistryCredentials | undefined,
  env: NodeJS.ProcessEnv,
): Credentials | undefined {
  const bound = creds?.get(normalizeHost(host));
  if (bound) return bound;
  if (normalizeHost(host) === 'ghcr.io' && env.GITHUB_TOKEN) {
    return { kind: 'basic', username: env.GITHUB_ACTOR || 'x-access-token', password: env.GITHUB_TOKEN };
  }
  return dockerConfigCredentials(normalizeHost(host), env);
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `WWW-Authenticate: Bearer realm="…",service="…",scope="…"`. */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

export function basicHeader(username: string, password: string): string {
  return 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');
}
