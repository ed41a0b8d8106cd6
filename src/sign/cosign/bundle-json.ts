/**
 * A Sigstore bundle read as cosign and sigstore-go read it: google.golang.org/protobuf
 * encoding/protojson Unmarshal into protobuf-specs' Bundle (cosign pkg/oci/remote/signatures.go
 * Bundle, sigstore-go pkg/bundle/bundle.go UnmarshalJSON). protojson is stricter than the
 * ts-proto readers @sigstore/bundle uses (they ignore what they do not know): an unknown field,
 * a field given twice (also under its two names), two members of one oneof, a value of the wrong
 * JSON type, bad base64 or an integer out of range is a parse error. Both a field's lowerCamel
 * JSON name and its proto name are accepted. The result is rewritten in lowerCamel with canonical
 * values, which is what @sigstore/bundle's bundleFromJSON reads.
 */
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';

type Json =
  | { kind: 'object'; entries: Array<[string, Json]> }
  | { kind: 'array'; items: Json[] }
  | { kind: 'string'; value: string }
  | { kind: 'number'; raw: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null' };

export class BundleJsonError extends Error {}

/** The protobuf-specs schema (v0.5.1, the version cosign v3 pins) reachable from Bundle. */
type Scalar = 'string' | 'bytes' | 'int64' | 'int32' | 'bool';
interface Field {
  proto: string;
  type: Scalar | { enum: readonly string[] } | { message: () => Message };
  repeated?: boolean;
  oneof?: string;
}
interface Message {
  name: string;
  fields: Field[];
}

// sigstore_common.proto HashAlgorithm, by number.
const HASH_ALGORITHM = [
  'HASH_ALGORITHM_UNSPECIFIED',
  'SHA2_256',
  'SHA2_384',
  'SHA2_512',
  'SHA3_256',
  'SHA3_384',
];

const msg = (name: string, fields: Field[]): Message => ({ name, fields });
const LOG_ID = msg('dev.sigstore.common.v1.LogId', [{ proto: 'key_id', type: 'bytes' }]);
const KIND_VERSION = msg('dev.sigstore.rekor.v1.KindVersion', [
  { proto: 'kind', type: 'string' },
  { proto: 'version', type: 'string' },
]);
const CHECKPOINT = msg('dev.sigstore.rekor.v1.Checkpoint', [{ proto: 'envelope', type: 'string' }]);
const INCLUSION_PROOF = msg('dev.sigstore.rekor.v1.InclusionProof', [
  { proto: 'log_index', type: 'int64' },
  { proto: 'root_hash', type: 'bytes' },
  { proto: 'tree_size', type: 'int64' },
  { proto: 'hashes', type: 'bytes', repeated: true },
  { proto: 'checkpoint', type: { message: () => CHECKPOINT } },
]);
const INCLUSION_PROMISE = msg('dev.sigstore.rekor.v1.InclusionPromise', [
  { proto: 'signed_entry_timestamp', type: 'bytes' },
]);
const TLOG_ENTRY = msg('dev.sigstore.rekor.v1.TransparencyLogEntry', [
  { proto: 'log_index', type: 'int64' },
  { proto: 'log_id', type: { message: () => LOG_ID } },
  { proto: 'kind_version', type: { message: () => KIND_VERSION } },
  { proto: 'integrated_time', type: 'int64' },
  { proto: 'inclusion_promise', type: { message: () => INCLUSION_PROMISE } },
  { proto: 'inclusion_proof', type: { message: () => INCLUSION_PROOF } },
  { proto: 'canonicalized_body', type: 'bytes' },
]);
const X509_CERTIFICATE = msg('dev.sigstore.common.v1.X509Certificate', [
  { proto: 'raw_bytes', type: 'bytes' },
]);
const VERIFICATION_MATERIAL = msg('dev.sigstore.bundle.v1.VerificationMaterial', [
  {
    proto: 'public_key',
    oneof: 'content',
    type: {
      message: () => msg('dev.sigstore.common.v1.PublicKeyIdentifier', [{ proto: 'hint', type: 'string' }]),
    },
  },
  {
    proto: 'x509_certificate_chain',
    oneof: 'content',
    type: {
      message: () =>
        msg('dev.sigstore.common.v1.X509CertificateChain', [
          { proto: 'certificates', type: { message: () => X509_CERTIFICATE }, repeated: true },
        ]),
    },
  },
  { proto: 'certificate', oneof: 'content', type: { message: () => X509_CERTIFICATE } },
  { proto: 'tlog_entries', type: { message: () => TLOG_ENTRY }, repeated: true },
  {
    proto: 'timestamp_verification_data',
    type: {
      message: () =>
        msg('dev.sigstore.bundle.v1.TimestampVerificationData', [
          {
            proto: 'rfc3161_timestamps',
            repeated: true,
            type: {
              message: () =>
                msg('dev.sigstore.common.v1.RFC3161SignedTimestamp', [
                  { proto: 'signed_timestamp', type: 'bytes' },
                ]),
            },
          },
        ]),
    },
  },
]);
const MESSAGE_SIGNATURE = msg('dev.sigstore.common.v1.MessageSignature', [
  {
    proto: 'message_digest',
    type: {
      message: () =>
        msg('dev.sigstore.common.v1.HashOutput', [
          { proto: 'algorithm', type: { enum: HASH_ALGORITHM } },
          { proto: 'digest', type: 'bytes' },
        ]),
    },
  },
  { proto: 'signature', type: 'bytes' },
]);
const DSSE_ENVELOPE = msg('io.intoto.Envelope', [
  { proto: 'payload', type: 'bytes' },
  { proto: 'payloadType', type: 'string' },
  {
    proto: 'signatures',
    repeated: true,
    type: {
      message: () =>
        msg('io.intoto.Signature', [
          { proto: 'sig', type: 'bytes' },
          { proto: 'keyid', type: 'string' },
        ]),
    },
  },
]);
const BUNDLE = msg('dev.sigstore.bundle.v1.Bundle', [
  { proto: 'media_type', type: 'string' },
  { proto: 'verification_material', type: { message: () => VERIFICATION_MATERIAL } },
  { proto: 'message_signature', oneof: 'content', type: { message: () => MESSAGE_SIGNATURE } },
  { proto: 'dsse_envelope', oneof: 'content', type: { message: () => DSSE_ENVELOPE } },
]);

/** protoc's default JSON name: underscores dropped, the letter after each one upper-cased. */
const jsonName = (proto: string) => proto.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * A bundle's bytes read as protojson.Unmarshal reads them into protobuf-specs' Bundle, then
 * handed to @sigstore/bundle (which asserts the fields it needs). Throws BundleJsonError, or
 * @sigstore/bundle's validation error, with protojson's wording where it has one.
 */
export function parseBundleJson(bytes: Buffer | string): Bundle {
  return bundleFromJSON(protoJsonBundle(bytes));
}

/** The bundle rewritten in lowerCamel with canonical values, as protojson.Marshal would write it. */
export function protoJsonBundle(bytes: Buffer | string): Record<string, unknown> {
  let text: string;
  try {
    // protojson refuses invalid UTF-8 (internal/encoding/json decode_string.go).
    text = typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new BundleJsonError('invalid UTF-8');
  }
  return readMessage(new JsonReader(text).document(), BUNDLE);
}

function readMessage(value: Json, message: Message): Record<string, unknown> {
  if (value.kind !== 'object') throw new BundleJsonError(`${message.name}: expected an object`);
  const out: Record<string, unknown> = {};
  const seen = new Set<Field>();
  const oneofs = new Set<string>();
  for (const [name, v] of value.entries) {
    // encoding/protojson decode.go unmarshalMessage: the JSON name first, then the proto name.
    const field =
      message.fields.find((f) => jsonName(f.proto) === name) ?? message.fields.find((f) => f.proto === name);
    if (!field) throw new BundleJsonError(`${message.name}: unknown field "${name}"`);
    if (seen.has(field)) throw new BundleJsonError(`${message.name}: duplicate field "${name}"`);
    seen.add(field);
    // null leaves any field unset, before the oneof check (as decode.go does).
    if (v.kind === 'null') continue;
    const key = jsonName(field.proto);
    if (field.repeated) {
      if (v.kind !== 'array') throw new BundleJsonError(`${message.name}: field ${key} expects a list`);
      out[key] = v.items.map((item) => readValue(item, field, message));
      continue;
    }
    if (field.oneof) {
      if (oneofs.has(field.oneof))
        throw new BundleJsonError(`${message.name}: oneof ${field.oneof} is already set (field ${key})`);
      oneofs.add(field.oneof);
    }
    out[key] = readValue(v, field, message);
  }
  return out;
}

function readValue(value: Json, field: Field, parent: Message): unknown {
  const { type } = field;
  const invalid = () =>
    new BundleJsonError(
      `${parent.name}: invalid value for ${typeof type === 'string' ? type : 'enum' in type ? 'enum' : 'message'} field ${jsonName(field.proto)}`,
    );
  if (typeof type === 'object' && 'message' in type) return readMessage(value, type.message());
  if (typeof type === 'object') {
    // unmarshalEnum: a known name, or any int32 number (proto3 enums are open).
    if (value.kind === 'string' && type.enum.includes(value.value)) return value.value;
    if (value.kind === 'number') {
      const n = integer(value.raw, 32);
      if (n === undefined) throw invalid();
      return type.enum[Number(n)] ?? Number(n);
    }
    throw invalid();
  }
  switch (type) {
    case 'string':
      if (value.kind === 'string') return value.value;
      throw invalid();
    case 'bool':
      if (value.kind === 'bool') return value.value;
      throw invalid();
    case 'bytes': {
      const bytes = value.kind === 'string' ? base64(value.value) : undefined;
      if (!bytes) throw invalid();
      return bytes.toString('base64');
    }
    case 'int32':
    case 'int64': {
      // unmarshalInt: a JSON number, or a string holding exactly one.
      const raw = value.kind === 'number' ? value.raw : value.kind === 'string' ? value.value : undefined;
      const n = raw !== undefined && NUMBER.test(raw) ? integer(raw, type === 'int32' ? 32 : 64) : undefined;
      if (n === undefined) throw invalid();
      return type === 'int32' ? Number(n) : n.toString();
    }
  }
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * A JSON number's integer value when it has one within `bits` (signed), as protobuf-go
 * internal/encoding/json normalizeToIntString and Token.Int: a fraction or exponent is fine
 * when the value is whole ("1.0", "1e2"); more than 20 digits is refused.
 */
function integer(raw: string, bits: 32 | 64): bigint | undefined {
  const m = /^(-?)(?:0|([1-9]\d*))(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(raw);
  if (!m) return undefined;
  const [, sign, intPart = '', fracRaw = '', expRaw] = m;
  const frac = fracRaw.replace(/0+$/, '');
  let digits: string;
  if (!intPart && !frac) digits = '0';
  else {
    const exp = expRaw === undefined ? 0 : Number(expRaw);
    if (!Number.isInteger(exp) || Math.abs(exp) > 2 ** 31 - 1) return undefined;
    if (exp >= 0) {
      if (frac.length > exp || intPart.length + exp > 20) return undefined;
      digits = intPart + frac + '0'.repeat(exp - frac.length);
    } else {
      const index = intPart.length + exp;
      if (frac || index < 0 || /[^0]/.test(intPart.slice(index))) return undefined;
      digits = intPart.slice(0, index);
    }
  }
  const n = BigInt(sign + (digits || '0'));
  const limit = 1n << BigInt(bits - 1);
  return n >= -limit && n < limit ? n : undefined;
}

/**
 * protojson unmarshalBytes: URL-safe alphabet when the text has `-` or `_`, else standard;
 * padded when its length is a multiple of 4, else unpadded. Go's decoder skips CR and LF.
 */
function base64(text: string): Buffer | undefined {
  const url = /[-_]/.test(text);
  const padded = text.length % 4 === 0;
  const body = text.replace(/[\r\n]/g, '');
  const alphabet = url ? 'A-Za-z0-9\\-_' : 'A-Za-z0-9+/';
  const shape = padded
    ? new RegExp(`^(?:[${alphabet}]{4})*(?:[${alphabet}]{2}==|[${alphabet}]{3}=)?$`)
    : new RegExp(`^[${alphabet}]*$`);
  if (!shape.test(body) || (!padded && body.length % 4 === 1)) return undefined;
  return Buffer.from(body, url ? 'base64url' : 'base64');
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * RFC 8259 JSON, keeping what JSON.parse loses and protojson looks at: every member of an
 * object in order (a name given twice is a duplicate field) and the text of each number.
 */
class JsonReader {
  private at = 0;
  constructor(private readonly text: string) {}

  document(): Json {
    const value = this.value(0);
    this.space();
    if (this.at !== this.text.length) this.fail('unexpected content after the top-level value');
    return value;
  }

  private fail(what: string): never {
    throw new BundleJsonError(`syntax error at offset ${this.at}: ${what}`);
  }

  private space() {
    while (/[ \t\r\n]/.test(this.text[this.at] ?? '')) this.at++;
  }

  private value(depth: number): Json {
    // Deeper than any Bundle goes: protojson fails such a document anyway (a wrong type).
    if (depth > 64) this.fail('nested too deeply');
    this.space();
    const c = this.text[this.at];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return { kind: 'string', value: this.string() };
    for (const [word, json] of [
      ['true', { kind: 'bool', value: true }],
      ['false', { kind: 'bool', value: false }],
      ['null', { kind: 'null' }],
    ] as const) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return json;
      }
    }
    const number = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(
      this.text.slice(this.at, this.at + 400),
    );
    if (!number) this.fail('unexpected character');
    this.at += number[0].length;
    return { kind: 'number', raw: number[0] };
  }

  private object(depth: number): Json {
    this.at++;
    const entries: Array<[string, Json]> = [];
    this.space();
    if (this.text[this.at] === '}') {
      this.at++;
      return { kind: 'object', entries };
    }
    for (;;) {
      this.space();
      if (this.text[this.at] !== '"') this.fail('expected a member name');
      const name = this.string();
      this.space();
      if (this.text[this.at++] !== ':') this.fail("expected ':'");
      entries.push([name, this.value(depth + 1)]);
      this.space();
      const next = this.text[this.at++];
      if (next === '}') return { kind: 'object', entries };
      if (next !== ',') this.fail("expected ',' or '}'");
    }
  }

  private array(depth: number): Json {
    this.at++;
    const items: Json[] = [];
    this.space();
    if (this.text[this.at] === ']') {
      this.at++;
      return { kind: 'array', items };
    }
    for (;;) {
      items.push(this.value(depth + 1));
      this.space();
      const next = this.text[this.at++];
      if (next === ']') return { kind: 'array', items };
      if (next !== ',') this.fail("expected ',' or ']'");
    }
  }

  /** A string token, decoded by JSON.parse (escapes; control characters refused). */
  private string(): string {
    const start = this.at++;
    for (;;) {
      const c = this.text[this.at++];
      if (c === undefined) this.fail('unterminated string');
      if (c === '\\') this.at++;
      else if (c === '"') break;
    }
    let value: string;
    try {
      value = JSON.parse(this.text.slice(start, this.at)) as string;
    } catch {
      return this.fail('invalid string');
    }
    // An escaped surrogate must pair with the next one (decode_string.go parseString).
    if (LONE_SURROGATE.test(value)) this.fail('invalid escape code in string');
    return value;
  }
}
