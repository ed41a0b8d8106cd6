/**
 * Sigstore bundles read as protojson reads them for cosign and sigstore-go (protobuf-go
 * encoding/protojson decode.go), on a sigstore-conformance bundle: what protojson accepts that
 * @sigstore/bundle alone would not (proto field names, integers written as numbers, URL-safe or
 * unpadded base64), and what it refuses that @sigstore/bundle alone would take.
 */
import { describe, expect, it } from '@jest/globals';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBundleJson, protoJsonBundle } from '../../src/sign/cosign/bundle-json.js';

const CASE = join(
  import.meta.dirname,
  '..',
  'fixtures',
  'vectors',
  'sigstore-conformance',
  'bundle-verify',
  'happy-path-intoto-in-dsse-v3',
  'bundle.sigstore.json',
);
const original = readFileSync(CASE, 'utf8');
type Doc = Record<string, any>;
const doc = (): Doc => JSON.parse(original);
const reads = (value: Doc | string) => () =>
  parseBundleJson(typeof value === 'string' ? value : JSON.stringify(value));

/** Every key of the document renamed to its proto field name (lowerCamel → snake_case). */
function protoNames(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(protoNames);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      // io.intoto.Envelope's fields are lowerCamel in the .proto itself.
      k === 'payloadType' ? k : k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
      protoNames(v),
    ]),
  );
}

describe('a conformance bundle as protojson reads it', () => {
  it('reads the bundle as @sigstore/bundle does', () => {
    expect(bundleToJSON(parseBundleJson(original))).toEqual(bundleToJSON(bundleFromJSON(doc())));
  });

  it('accepts every field under its proto name, and both spellings mixed', () => {
    const renamed = protoNames(doc()) as Doc;
    expect(Object.keys(renamed)).toEqual(['media_type', 'verification_material', 'dsse_envelope']);
    expect(renamed.verification_material.tlog_entries[0].inclusion_proof.root_hash).toBeDefined();
    expect(protoJsonBundle(JSON.stringify(renamed))).toEqual(protoJsonBundle(original));
    const mixed: Doc = { ...doc(), verification_material: doc().verificationMaterial };
    delete mixed.verificationMaterial;
    expect(protoJsonBundle(JSON.stringify(mixed))).toEqual(protoJsonBundle(original));
  });

  it('refuses an unknown field at the top or nested, naming it and its message', () => {
    expect(reads({ ...doc(), extra: 1 })).toThrow('dev.sigstore.bundle.v1.Bundle: unknown field "extra"');
    const nested = doc();
    nested.verificationMaterial.tlogEntries[0].inclusionProof.note = 'x';
    expect(reads(nested)).toThrow('dev.sigstore.rekor.v1.InclusionProof: unknown field "note"');
    const inEnvelope = doc();
    inEnvelope.dsseEnvelope.signatures[0].key_id = 'k';
    expect(reads(inEnvelope)).toThrow('io.intoto.Signature: unknown field "key_id"');
    // The right name in the wrong case is unknown too: protojson matches names exactly.
    const wrongCase: Doc = { ...doc(), MediaType: doc().mediaType };
    delete wrongCase.mediaType;
    expect(reads(wrongCase)).toThrow('unknown field "MediaType"');
    // @sigstore/bundle alone ignores them all.
    expect(() => bundleFromJSON({ ...doc(), extra: 1 })).not.toThrow();
  });

  it('refuses a field given twice, under one name or both', () => {
    const twice = original.replace(/^\{/, '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",');
    expect(JSON.parse(twice)).toEqual(doc());
    expect(reads(twice)).toThrow('duplicate field "mediaType"');
    expect(reads({ ...doc(), media_type: doc().mediaType })).toThrow('duplicate field "media_type"');
  });

  it('refuses two members of one oneof; null leaves a field unset', () => {
    const both = doc();
    both.messageSignature = { signature: 'AAAA' };
    expect(reads(both)).toThrow('oneof content is already set');
    const twoMaterials = doc();
    twoMaterials.verificationMaterial.publicKey = { hint: 'k' };
    expect(reads(twoMaterials)).toThrow('oneof content is already set');
    expect(protoJsonBundle(JSON.stringify({ ...doc(), messageSignature: null }))).toEqual(
      protoJsonBundle(original),
    );
  });

  it('reads integers as numbers or strings, whole values in any notation, within int64', () => {
    const entry = (logIndex: unknown) => {
      const d = doc();
      d.verificationMaterial.tlogEntries[0].logIndex = logIndex;
      return JSON.stringify(d);
    };
    const logIndex = (text: string) =>
      (protoJsonBundle(text).verificationMaterial as Doc).tlogEntries[0].logIndex as string;
    expect(logIndex(entry(155690850))).toBe('155690850');
    expect(logIndex(entry('N').replace('"N"', '1.5569085e8'))).toBe('155690850');
    expect(logIndex(entry('9223372036854775807'))).toBe('9223372036854775807');
    expect(reads(entry('9223372036854775808'))).toThrow('invalid value for int64 field logIndex');
    expect(reads(entry(1.5))).toThrow('invalid value for int64 field logIndex');
    expect(reads(entry(' 1'))).toThrow('invalid value for int64 field logIndex');
    expect(reads(entry(true))).toThrow('invalid value for int64 field logIndex');
  });

  it('reads bytes in standard or URL-safe base64, padded or not; refuses anything else', () => {
    const sig = doc().dsseEnvelope.signatures[0].sig as string;
    const withSig = (value: unknown) => {
      const d = doc();
      d.dsseEnvelope.signatures[0].sig = value;
      return JSON.stringify(d);
    };
    const urlSafe = sig.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    expect(urlSafe).not.toBe(sig);
    expect(protoJsonBundle(withSig(urlSafe))).toEqual(protoJsonBundle(original));
    expect(reads(withSig(`${sig.slice(0, -4)}!${sig.slice(-3)}`))).toThrow(
      'invalid value for bytes field sig',
    );
    expect(reads(withSig(`${sig}A`))).toThrow('invalid value for bytes field sig');
    expect(reads(withSig(42))).toThrow('invalid value for bytes field sig');
  });

  it('refuses a value of the wrong JSON type and text that is not JSON', () => {
    expect(reads({ ...doc(), mediaType: 3 })).toThrow('invalid value for string field mediaType');
    expect(reads({ ...doc(), verificationMaterial: [] })).toThrow('VerificationMaterial: expected an object');
    const list = doc();
    list.verificationMaterial.tlogEntries = list.verificationMaterial.tlogEntries[0];
    expect(reads(list)).toThrow('field tlogEntries expects a list');
    expect(reads(`${original} {}`)).toThrow('unexpected content after the top-level value');
    expect(reads("{'mediaType': 1}")).toThrow('syntax error');
    expect(reads({ ...doc(), mediaType: 'a\ud800b' })).toThrow('invalid escape code in string');
    expect(protoJsonBundle(original.replace('"dsse"', '"\\u0064sse"'))).toEqual(protoJsonBundle(original));
    expect(() =>
      parseBundleJson(Buffer.concat([Buffer.from(original.slice(0, 20)), Buffer.from([0xff])])),
    ).toThrow('invalid UTF-8');
  });
});
