import { ArgReader } from '../options/flags.js';
import type { FlagSpec } from '../options/flags.js';
import { UsageError } from '../errors.js';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { RegistryClient } from '../oci/client.js';
import {
  normalizeHost,
  parseCredsEntry,
  UNBOUND_CREDENTIALS,
  type Credentials,
  type RegistryCredentials,
} from '../oci/auth.js';
import { parseOciReference, type OciReference } from '../oci/reference.js';
import type { CommandIO } from './types.js';
import type { ContentOptions } from '../oci/artifact/options.js';
import type { SigningOptions } from '../sign/options.js';
import type { SignTarget } from '../sign/types.js';
import { RegistryError } from '../oci/errors.js';

export type { ContentOptions } from '../oci/artifact/options.js';
export type { SigningOptions } from '../sign/options.js';

/** How the content of a Flux artifact is collected (build, push, diff-artifact). */
export const contentFlags: FlagSpec[] = [
  {
    name: 'path',
    type: 'string',
    value: 'DIR|FILE|-',
    description: 'Directory, single file, or - for stdin, as `flux build artifact` takes it.',
  },
  {
    name: 'ignore-paths',
    type: 'list',
    value: 'PATTERN',
    description:
      'gitignore patterns left out; a given list replaces the flux CLI defaults (VCS files and binary extensions).',
  },
  {
    name: 'resolve-symlinks',
    type: 'boolean',
    description: 'Copy the targets of symlinks instead of skipping them (cycles are broken).',
  },
];

export function readContentOptions(args: ArgReader, raw: { values: Map<string, unknown> }): ContentOptions {
  return {
    path: args.requiredString('path'),
    ignorePaths: raw.values.has('ignore-paths') ? args.list('ignore-paths') : undefined,
    resolveSymlinks: args.boolean('resolve-symlinks'),
  };
}

export function readSigningOptions(
  command: string,
  args: ArgReader,
  provider: 'cosign' | 'notation',
  env: NodeJS.ProcessEnv,
): SigningOptions {
  const opts: SigningOptions = {
    provider,
    cosignKey: args.string('cosign-key') || undefined,
    cosignPassword: args.string('cosign-password') ?? env.COSIGN_PASSWORD,
    keyless: args.boolean('keyless'),
    bundleFormat: args.boolean('bundle-format'),
    fulcioUrl: args.string('fulcio-url') || undefined,
    rekorUrl: args.string('rekor-url') || undefined,
    notationKey: args.string('notation-key') || undefined,
    notationCert: args.string('notation-cert') || undefined,
    signatureFormat: args.choice('signature-format', ['jws', 'cose'] as const, 'jws'),
    expiry: args.string('expiry') || undefined,
  };
  if (provider === 'cosign') {
    if (opts.cosignKey && opts.keyless)
      throw new UsageError(`${command}: --cosign-key and --keyless exclude each other`);
    // As cosign: without a key, signing is keyless (in the action: `sign: cosign` alone).
    if (!opts.cosignKey) opts.keyless = true;
  } else if (!opts.notationKey || !opts.notationCert) {
    throw new UsageError(`${command}: notation signing needs --notation-key FILE and --notation-cert FILE`);
  }
  return opts;
}

/** The registry client every registry-talking command uses, from its common flags. */
export function registryClientFor(
  options: { insecureRegistry: boolean; creds?: RegistryCredentials },
  io: CommandIO,
): RegistryClient {
  return new RegistryClient({
    insecure: options.insecureRegistry,
    creds: options.creds,
    env: io.env,
    log: io.log,
  });
}

/** Where credentials may come from besides argv (documented in the README, "Registry credentials"). */
export const CREDS_ENV = 'FLUXGATE_CREDS';

/**
 * Registry credentials, each bound to one host: `--creds HOST=USER:PASSWORD` (repeatable, or one
 * per line), then `--creds-file`, then the FLUXGATE_CREDS environment variable (one entry per
 * line). A bare `--creds USER:PASSWORD` (the flux CLI's form) is bound to `reference`'s host: the
 * positional the user typed. Without one (render, diff, verify --path) a bare value is sent
 * nowhere, since there the repository under review names the registries. Messages never echo a value.
 */
export function readRegistryCredentials(
  command: string,
  args: ArgReader,
  env: NodeJS.ProcessEnv,
  reference?: string,
): RegistryCredentials | undefined {
  const creds = new Map<string, Credentials>();
  const add = (entries: { host?: string; credentials: Credentials; where: string }[], explicit: boolean) => {
    for (const e of entries) {
      if (!e.host) {
        if (!explicit) throw new UsageError(`${command}: ${e.where} is not HOST=USER:PASSWORD`);
        // No host to bind it to: kept aside, never sent (the client warns that it is unused).
        e.host = reference
          ? normalizeHost(parseArtifactUrl(command, reference).registry)
          : UNBOUND_CREDENTIALS;
      }
      if (!creds.has(e.host)) creds.set(e.host, e.credentials);
    }
  };
  const lines = (text: string, where: (n: number) => string) =>
    text
      .split(/\r?\n/)
      .map((line, n) => ({ line: line.trim(), where: where(n + 1) }))
      .filter((l) => l.line && !l.line.startsWith('#'))
      .map((l) => ({ ...parseCredsEntry(l.line), where: l.where }));

  const flagValues = args.lines('creds');
  const bare = flagValues.filter((v) => !parseCredsEntry(v).host);
  if (bare.length > 1) throw new UsageError(`${command}: more than one --creds without a HOST=`);
  // Host-bound entries first: an explicit HOST= wins over a bare value bound to the same host.
  const fromFlags = flagValues.map((v) => ({ ...parseCredsEntry(v), where: '--creds' }));
  add(
    fromFlags.filter((e) => e.host),
    true,
  );
  add(
    fromFlags.filter((e) => !e.host),
    true,
  );
  const file = args.string('creds-file');
  if (file) {
    let text: string;
    try {
      text = readFileSync(resolve(file), 'utf8');
    } catch (err) {
      throw new UsageError(
        `${command}: --creds-file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      );
    }
    add(
      lines(text, (n) => `--creds-file ${file} line ${n}`),
      false,
    );
  }
  if (env[CREDS_ENV])
    add(
      lines(env[CREDS_ENV], (n) => `${CREDS_ENV} line ${n}`),
      false,
    );
  return creds.size ? creds : undefined;
}

/** An `oci://` reference that must name a digest or a tag (bad usage otherwise). */
export function parseArtifactUrl(command: string, url: string): OciReference {
  try {
    return parseOciReference(url);
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message}`);
  }
}

/** JSON on stdout, indented as the flux CLI prints it. */
export function printJson(io: CommandIO, value: unknown): void {
  io.stdout(JSON.stringify(value, null, 2) + '\n');
}

/**
 * The manifest a sign or attest command writes about: `url` by digest, or the digest its tag points
 * at now (with a warning). A registry that answers a digest request with another digest is refused,
 * so nothing is ever signed that the user did not name.
 */
export async function resolveSubject(
  command: string,
  options: { url: string; insecureRegistry: boolean; creds?: RegistryCredentials },
  io: CommandIO,
): Promise<{ client: RegistryClient; subject: SignTarget }> {
  const ref = parseArtifactUrl(command, options.url);
  const client = registryClientFor(options, io);
  if (!ref.digest)
    io.log.warn(
      `${command}: ${options.url} names a tag; using the digest it points at now (name a digest to be sure)`,
    );
  const descriptor = await client.headManifest(
    ref.registry,
    ref.repository,
    ref.digest ?? ref.tag ?? 'latest',
  );
  if (!descriptor) throw new RegistryError(`${command}: ${options.url}: not found`);
  if (ref.digest && descriptor.digest !== ref.digest)
    throw new RegistryError(`${command}: ${options.url}: the registry returned ${descriptor.digest}`);
  const { registry, repository } = ref;
  const { digest, mediaType, size } = descriptor;
  return { client, subject: { registry, repository, digest, mediaType, size } };
}
