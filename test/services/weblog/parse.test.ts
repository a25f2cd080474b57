import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatHit, type Hit, logTime, parseHit } from "../../../src/services/weblog/parse.js";

describe("access-log lines", () => {
  it.each([
    [
      '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
      {
        host: "127.0.0.1",
        ident: null,
        user: "frank",
        time: "10/Oct/2000:13:55:36 -0700",
        request: "GET /apache_pb.gif HTTP/1.0",
        status: 200,
        bytes: 2326,
        referrer: null,
        agent: null,
      },
    ],
    [
      '::1 - - [03/Dec/2026:19:00:00 +0000] "GET /a\\"b HTTP/1.1" 304 - "http://x/" "curl/8 \\"q\\""',
      {
        host: "::1",
        ident: null,
        user: null,
        time: "03/Dec/2026:19:00:00 +0000",
        request: 'GET /a"b HTTP/1.1',
        status: 304,
        bytes: null,
        referrer: "http://x/",
        agent: 'curl/8 "q"',
      },
    ],
  ])("parses %s", (line, hit) => {
    expect(parseHit(line)).toEqual(hit);
  });

  it.each([
    "",
    "garbage",
    '1.2.3.4 - - [x] "GET /" 2000 1',
    '1.2.3.4 - - [x] "GET /" 200 1 "only-referrer"',
    '1.2.3.4 - - x "GET /" 200 1',
  ])("refuses %j", (line) => {
    expect(parseHit(line)).toBeNull();
  });

  it("formatHit and parseHit round-trip any hit", () => {
    const token = fc.stringMatching(/^[!-~]{1,12}$/).filter((s) => s !== "-" && !s.includes("]"));
    const text = fc.string({ maxLength: 30 }).filter((s) => !/[\r\n]/.test(s) && s !== "-");
    const hit: fc.Arbitrary<Hit> = fc.record({
      host: token,
      ident: fc.option(token),
      user: fc.option(token),
      time: fc.date({ noInvalidDate: true }).map(logTime),
      request: text,
      status: fc.integer({ min: 100, max: 599 }),
      bytes: fc.option(fc.nat()),
      referrer: fc.option(text),
      agent: fc.option(text),
    });
    fc.assert(
      fc.property(hit, (h) => {
        const back = parseHit(formatHit(h));
        // Common format has no referrer/agent: a hit with only one of them writes the other as "-".
        expect(back).toEqual(h);
      }),
      { numRuns: 300 },
    );
  });
});
