/* eslint-disable no-control-regex -- finding control characters is this module's job */
// One pure cleaner for every piece of text that can reach a report, a Slack or Discord message or the
// console: ideas, page titles and text, model output. It removes what a reader cannot see but a terminal,
// a renderer or a model still obeys (decision 039): terminal escape sequences, control characters and
// the bidirectional overrides that make text read differently from how it is stored.

// ESC-introduced strings (OSC `ESC ]`, DCS `ESC P`, SOS `ESC X`, PM `ESC ^`, APC `ESC _`) run to BEL or
// ST (`ESC \` or U+009C). An unterminated one stops at the end of its line, so one bad byte on a page cannot
// swallow the rest of the page.
const ESC_STRING = /\x1b[\]PX^_][^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?/g;
// CSI `ESC [` parameters, intermediates, final byte (the final byte may be missing when the text was cut).
const ESC_CSI = /\x1b\[[0-?]*[ -/]*[@-~]?/g;
// Every other escape: intermediates then one final byte (nF, Fp, Fe, Fs), or a lone ESC.
const ESC_OTHER = /\x1b[ -/]*[0-~]?/g;
// The 8-bit forms: CSI U+009B, and the C1 string introducers DCS, SOS, OSC, PM, APC.
const C1_STRING = /[\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?/g;
const C1_CSI = /\x9b[0-?]*[ -/]*[@-~]?/g;
/**
 * What is left: C0 controls but tab and newline (CR becomes a newline first), DEL, C1 controls, the bidi
 * embeddings/overrides U+202A–U+202E and isolates U+2066–U+2069, the bidi marks LRM, RLM and ALM, and the
 * invisible Unicode tag characters U+E0000–U+E007F (used to smuggle instructions past a reader to a model).
 */
const INVISIBLE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const TAGS = /[\u{e0000}-\u{e007f}]/gu;
const ANYTHING = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\udb40]/;

/** Removes escape sequences, control characters (keeping tab and newline) and bidi controls. */
export function cleanText(text: string): string {
  // Fast path: most strings hold nothing to remove. Not a `u` regex (faster): a tag character is found by
  // its high surrogate U+DB40.
  if (!ANYTHING.test(text)) return text;
  return text
    .replace(/\r\n?|[\u2028\u2029]/g, '\n')
    .replace(ESC_STRING, '')
    .replace(ESC_CSI, '')
    .replace(ESC_OTHER, '')
    .replace(C1_STRING, '')
    .replace(C1_CSI, '')
    .replace(INVISIBLE, '')
    .replace(TAGS, '');
}

/**
 * cleanText on every string of a JSON-like value (model output, a report, a row for a page), keeping its
 * shape. Only arrays and plain objects are walked: a Date or any other instance is returned as it is.
 */
export function cleanDeep<T>(value: T): T {
  if (typeof value === 'string') return cleanText(value) as T;
  if (Array.isArray(value)) return value.map((v) => cleanDeep(v)) as T;
  if (value && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cleanDeep(v)])) as T;
  }
  return value;
}
