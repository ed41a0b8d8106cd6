/**
 * The last line of defence for secret values: one registry per run of every secret value seen
 * (Secret data as rendered, before masking; credentials from flags and inputs), and one scrub
 * that every string leaving the process goes through (stdout, logs, annotations, action
 * outputs, job summary, PR comment, files written for the user).
 *
 * API (kept tiny on purpose; other layers only ever call these):
 *   const secrets = new SecretRegistry();
 *   secrets.add(value);           // register a value, in every form it may be printed in
 *   secrets.redact(text);         // `text` with every registered form replaced by `***`
 *   secrets.onAdd(fn);            // fn(form) for each new form (the action: core.setSecret)
 *
 * Masking at the source (src/render/secrets.ts) replaces Secret values by markers so a diff still
 * shows *that* a value changed; this scrub only catches what slipped past it.
 */

/**
 * Values shorter than this are not registered: scrubbing `1` or `no` would rewrite ordinary
 * text everywhere, and GitHub's own log masking leaves very short values alone as well.
 */
export const MIN_SECRET_LENGTH = 4;

export const REDACTED = '***';

export class SecretRegistry {
  private readonly forms = new Set<string>();
  private readonly listeners: ((form: string) => void)[] = [];
  private pattern?: RegExp;

  /**
   * Registers `value` raw, base64-encoded (as Secret `data` holds it), JSON-escaped (as JSON
   * output prints it), and each line of a multi-line value (as a diff prints it).
   */
  add(value: string | undefined): void {
    if (!value) return;
    const lines = value.split(/\r?\n/).map((l) => l.trim());
    const candidates = [
      value,
      Buffer.from(value, 'utf8').toString('base64'),
      JSON.stringify(value).slice(1, -1),
      ...(lines.length > 1 ? lines : []),
    ];
    for (const form of candidates) {
      if (form.length < MIN_SECRET_LENGTH || this.forms.has(form)) continue;
      this.forms.add(form);
      this.pattern = undefined;
      for (const listen of this.listeners) listen(form);
    }
  }

  onAdd(listener: (form: string) => void): void {
    this.listeners.push(listener);
    for (const form of this.forms) listener(form);
  }

  get size(): number {
    return this.forms.size;
  }

  redact(text: string): string {
    if (!this.forms.size || !text) return text;
    // Longest first, so a value is replaced whole before any of its lines.
    this.pattern ??= new RegExp(
      [...this.forms]
        .sort((a, b) => b.length - a.length)
        .map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('|'),
      'g',
    );
    return text.replace(this.pattern, REDACTED);
  }
}

/**
 * A credential flag's value and its parts that may show up alone: `[HOST=]USER:PASSWORD` is
 * registered whole, as `USER:PASSWORD` and as the password.
 */
export function credentialParts(value: string): string[] {
  const parts = [value];
  const eq = value.indexOf('=');
  const pair = eq > 0 && eq < value.indexOf(':') ? value.slice(eq + 1) : value;
  if (pair !== value) parts.push(pair);
  const colon = pair.indexOf(':');
  if (colon > 0) parts.push(pair.slice(colon + 1));
  return parts;
}
