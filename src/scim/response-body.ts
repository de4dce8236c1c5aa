/**
 * Reading and decoding response bodies, bounded so that a misbehaving target cannot exhaust
 * memory.
 */
import type { IncomingHttpHeaders } from "node:http";

/** Far above a page of 100 rich users (a few hundred kB) and far below trouble. */
export const MAX_RESPONSE_BYTES = 20 * 1024 * 1024;

/**
 * The most a response's status line and headers may take. Real SCIM answers need a few kB; a
 * gateway's cookies may need more. Beyond it undici fails the request with UND_ERR_HEADERS_OVERFLOW.
 */
export const MAX_RESPONSE_HEADER_BYTES = 64 * 1024;

export class ResponseTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`response body exceeds ${Math.round(limit / 1024 / 1024)} MB`);
  }
}

interface BodyStream extends AsyncIterable<Buffer | string> {
  destroy(error?: Error): unknown;
}

/** The body as UTF-8 text; throws ResponseTooLarge (after discarding the rest) beyond `limit`. */
export async function readBodyText(body: BodyStream, headers: IncomingHttpHeaders, limit = MAX_RESPONSE_BYTES): Promise<string> {
  const declared = Number(headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    body.destroy();
    throw new ResponseTooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > limit) {
      body.destroy();
      throw new ResponseTooLarge(limit);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** application/json, application/scim+json and any other `+json` type; absent counts as JSON. */
export function isJsonContentType(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === "") return true;
  const media = value.split(";")[0]!.trim().toLowerCase();
  return media === "application/json" || /^application\/[\w.+-]*\+json$/.test(media);
}

/** The media type alone, for messages. */
export function mediaType(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(";")[0]?.trim() || "no content type";
}

export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}
