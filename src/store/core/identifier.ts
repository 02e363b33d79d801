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
const SUSPECT = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Zs}\p{DI}\p{Noncharacter_Code_Point}]/u;
/** A character that can carry a joiner or a variation selector: letters, marks, digits, symbols, not invisible. */
const VISIBLE = /^(?![\p{Cf}\p{DI}])[\p{L}\p{M}\p{N}\p{S}]$/u;
const VARIATION_SELECTOR = /^[\uFE00-\uFE0F\u{E0100}-\u{E01EF}]$/u;

/** The first code point of `value` that the rule refuses, or undefined. `value` is well-formed. */
export function hiddenCharacter(value: string): number | undefined {
  const chars = Array.from(value);
  for (const [i, ch] of chars.entries()) {
    if (ch === " " || !SUSPECT.test(ch)) continue;
    const prev = chars[i - 1] ?? "";
    if (VARIATION_SELECTOR.test(ch) && VISIBLE.test(prev)) continue;
    // a joiner between visible characters, or after a variation selector (accepted only after one): 🏳️‍🌈
    if (
      /^[\u200C\u200D]$/.test(ch) &&
      (VISIBLE.test(prev) || VARIATION_SELECTOR.test(prev)) &&
      VISIBLE.test(chars[i + 1] ?? "")
    )
      continue;
    return ch.codePointAt(0);
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
