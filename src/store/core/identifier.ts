/**
 * The rule for identifying strings (id, subject, keyId, clientId, type, issuer, and the JWT
 * claims and Access identities that name them): no character that is invisible, or that hides
 * or reorders the text around it. PRECIS (RFC 8264, IdentifierClass) is the reference; the
 * rule and its choices are in docs/security.md. Refused:
 * - controls (C0, C1, DEL), line and paragraph separators, noncharacters;
 * - format characters (bidirectional marks, embeddings, overrides and isolates, zero widths,
 *   the word joiner, the byte order mark, tag characters) and every other default-ignorable
 *   code point (Hangul fillers, the combining grapheme joiner…);
 * - spaces other than U+0020.
 * Allowed in context, as written text needs them: zero-width joiner and non-joiner between two
 * visible characters (Persian, Indic scripts, emoji sequences), and a variation selector right
 * after a visible character (emoji presentation: ❤️).
 */
const SUSPECT = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Zs}\p{DI}\p{Noncharacter_Code_Point}]/gu;
/** A character that can carry a joiner or a variation selector: letters, marks, digits, symbols. */
const VISIBLE = /^[\p{L}\p{M}\p{N}\p{S}]$/u;
const INVISIBLE = /^[\p{Cf}\p{DI}]$/u;

const isJoiner = (cp: number) => cp === 0x200c || cp === 0x200d;
const isVariationSelector = (cp: number) => (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef);

function visible(ch: string | undefined): boolean {
  return ch !== undefined && VISIBLE.test(ch) && !INVISIBLE.test(ch);
}

/** The code point before index `i` of `s`, as a string (a surrogate pair whole). */
function before(s: string, i: number): string | undefined {
  if (i === 0) return undefined;
  const low = s.charCodeAt(i - 1);
  return low >= 0xdc00 && low <= 0xdfff && i >= 2 ? s.slice(i - 2, i) : s[i - 1];
}

/** The first code point of `value` that the rule refuses, or undefined. `value` is well-formed. */
export function hiddenCharacter(value: string): number | undefined {
  for (const m of value.matchAll(SUSPECT)) {
    const cp = m[0].codePointAt(0)!;
    if (cp === 0x20) continue;
    const prev = before(value, m.index);
    if (isVariationSelector(cp) && visible(prev)) continue;
    // after a visible character, or after a variation selector (accepted only after one): 🏳️‍🌈
    if (isJoiner(cp) && (visible(prev) || isVariationSelector(prev?.codePointAt(0) ?? 0))) {
      const next = String.fromCodePoint(value.codePointAt(m.index + m[0].length) ?? 0);
      if (visible(next)) continue;
    }
    return cp;
  }
  return undefined;
}

/** U+XXXX for a code point. */
export function codePoint(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** What is wrong with an identifying string under the rule, naming the field and the code point. */
export function identifierProblem(name: string, value: string): string | undefined {
  const cp = hiddenCharacter(value);
  return cp === undefined
    ? undefined
    : `${name} holds ${codePoint(cp)}, a control, format, invisible or separator character`;
}
