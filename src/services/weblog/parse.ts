/**
 * Access-log lines in the Common Log Format and its Combined extension (Apache's and nginx's
 * defaults): `host ident user [time] "request" status bytes` and, Combined, `"referrer" "agent"`.
 * One grammar, one parser ({@link parseHit}); {@link formatHit} writes the same format (the demo
 * log, tests).
 */

/** One hit of the access log, by field. `-` (absent) is `null`, as in the log's own convention. */
export interface Hit {
  /** The client's address (or name). */
  readonly host: string;
  /** RFC 1413 identity (almost always null). */
  readonly ident: string | null;
  /** The authenticated user, or null. */
  readonly user: string | null;
  /** The time as written in the log, e.g. `10/Oct/2000:13:55:36 -0700`. */
  readonly time: string;
  /** The request line, e.g. `GET /index.html HTTP/1.0` (escapes as in the log). */
  readonly request: string;
  /** The HTTP status. */
  readonly status: number;
  /** Bytes sent, or null (`-`). */
  readonly bytes: number | null;
  /** The Referer header (Combined format), or null. */
  readonly referrer: string | null;
  /** The User-Agent header (Combined format), or null. */
  readonly agent: string | null;
}

const QUOTED = String.raw`"((?:[^"\\]|\\.)*)"`;
const LINE = new RegExp(
  String.raw`^(\S+) (\S+) (\S+) \[([^\]]+)\] ${QUOTED} (\d{3}) (\d+|-)(?: ${QUOTED} ${QUOTED})?[ \t\r]*$`,
);

const dash = (s: string | undefined): string | null => (s === undefined || s === "-" ? null : s);
/** A quoted field's text: `\"` and `\\` unescaped (other escapes, such as `\x0a`, kept as written). */
const unquote = (s: string): string => (s.includes("\\") ? s.replace(/\\(["\\])/g, "$1") : s);
const quotedDash = (s: string | undefined): string | null =>
  s === undefined || s === "-" ? null : unquote(s);

/** The hit on one log line (without its newline), or null when the line is not CLF/Combined. */
export function parseHit(line: string): Hit | null {
  const m = LINE.exec(line);
  if (m === null) return null;
  const bytes = m[7] as string;
  return {
    host: m[1] as string,
    ident: dash(m[2]),
    user: dash(m[3]),
    time: m[4] as string,
    request: unquote(m[5] as string),
    status: Number(m[6]),
    bytes: bytes === "-" ? null : Number(bytes),
    referrer: quotedDash(m[8]),
    agent: quotedDash(m[9]),
  };
}

const quote = (s: string | null): string =>
  s === null ? '"-"' : `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/** A hit as one Combined Log Format line (no newline); Common format when referrer and agent are null. */
export function formatHit(hit: Hit): string {
  const base = `${hit.host} ${hit.ident ?? "-"} ${hit.user ?? "-"} [${hit.time}] ${quote(hit.request)} ${hit.status} ${hit.bytes ?? "-"}`;
  return hit.referrer === null && hit.agent === null
    ? base
    : `${base} ${quote(hit.referrer)} ${quote(hit.agent)}`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const two = (n: number): string => String(n).padStart(2, "0");

/** `date` in the log's time format, in UTC (`10/Oct/2000:13:55:36 +0000`). */
export function logTime(date: Date): string {
  return `${two(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`;
}
