import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Credentials for one registry: basic (user + password) or a ready bearer token. */
export type Credentials =
  { kind: 'basic'; username: string; password: string } | { kind: 'token'; token: string };

/** `--creds user:password`; without a ':' the value is a registry bearer token (as the flux CLI). */
export function parseCreds(creds: string): Credentials {
  const i = creds.indexOf(':');
  return i < 0
    ? { kind: 'token', token: creds }
    : { kind: 'basic', username: creds.slice(0, i), password: creds.slice(i + 1) };
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

/** Credentials from `$DOCKER_CONFIG/config.json` or `~/.docker/config.json` (`auths` only). */
export function dockerConfigCredentials(registry: string, env: NodeJS.ProcessEnv): Credentials | undefined {
  const dir = env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
  let config: {
    auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  };
  try {
    config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  } catch {
    return undefined;
  }
  for (const key of configKeys(registry)) {
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
  return undefined;
}

/** The credentials fluxgate uses for a registry, most specific first. */
export function resolveCredentials(
  registry: string,
  creds: string | undefined,
  env: NodeJS.ProcessEnv,
): Credentials | undefined {
  if (creds) return parseCreds(creds);
  if (registry === 'ghcr.io' && env.GITHUB_TOKEN) {
    return { kind: 'basic', username: env.GITHUB_ACTOR || 'x-access-token', password: env.GITHUB_TOKEN };
  }
  return dockerConfigCredentials(registry, env);
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
