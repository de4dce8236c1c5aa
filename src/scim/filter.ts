/**
 * SCIM filter expressions (RFC 7644 §3.4.2.2) for the lookups the engine needs.
 */

/**
 * Escapes a value for a quoted SCIM filter string. The RFC's string literal is JSON's, so `\`
 * and `"` are the two characters that would otherwise end or corrupt the literal.
 */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\"]/g, (c) => `\\${c}`);
}

/** `attribute eq "value"`, the only filter scimsync sends. */
export function equalityFilter(attribute: string, value: string): string {
  return `${attribute} eq "${escapeFilterValue(value)}"`;
}
