/**
 * github.com/gosimple/slug Make, as the Flux Operator configures it (resourceset.go init:
 * MaxLength 63, EnableSmartTruncate): trim, `&` → and, `@` → at, transliterate to ASCII
 * (unidecode; here: Unicode decomposition plus the common letters it spells out), lower-case,
 * every character outside [a-zA-Z0-9-_] becomes `-`, runs of `-` collapse, `-` and `_` trimmed
 * at both ends, then cut at the last `-` within 63 characters.
 */
const MAX_LENGTH = 63;

const SPELLED: Record<string, string> = {
  ß: 'ss',
  æ: 'ae',
  Æ: 'AE',
  ø: 'o',
  Ø: 'O',
  œ: 'oe',
  Œ: 'OE',
  đ: 'd',
  Đ: 'D',
  ð: 'd',
  Ð: 'D',
  þ: 'th',
  Þ: 'TH',
  ł: 'l',
  Ł: 'L',
  ı: 'i',
  '’': "'",
  '‘': "'",
  '“': '"',
  '”': '"',
  '–': '-',
  '—': '--',
  '…': '...',
  '€': 'EUR',
};

function unidecode(s: string): string {
  let out = '';
  for (const ch of s) {
    if (ch.charCodeAt(0) < 0x80) {
      out += ch;
      continue;
    }
    const spelled = SPELLED[ch];
    if (spelled !== undefined) {
      out += spelled;
      continue;
    }
    const base = ch.normalize('NFKD').replace(/\p{M}/gu, '');
    out += /^[\x00-\x7f]*$/.test(base) ? base : '';
  }
  return out;
}

export function slugify(input: string): string {
  let slug = input.replace(/^[\s\u0085\u00a0]+|[\s\u0085\u00a0]+$/gu, '');
  slug = slug.replace(/&/g, 'and').replace(/@/g, 'at');
  slug = unidecode(slug);
  slug = slug.toLowerCase();
  slug = slug.replace(/[^a-zA-Z0-9\-_]/g, '-');
  slug = slug.replace(/-+/g, '-');
  slug = slug.replace(/^[-_]+|[-_]+$/g, '');
  if (slug.length > MAX_LENGTH) {
    let cut = -1;
    for (let i = MAX_LENGTH; i >= 0; i--) {
      if (slug[i] === '-') {
        cut = i;
        break;
      }
    }
    slug = cut >= 0 ? slug.slice(0, cut) : slug.slice(0, MAX_LENGTH);
  }
  return slug;
}
