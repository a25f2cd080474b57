/**
 * The fibonacci service's `store` setting, in process: an SQLite file shared by two suites one
 * after the other continues the sequence; a database that cannot be used stops the suite from
 * starting with a ConfigError at the setting's path.
 */
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createReactor } from "../../src/core/reactor.js";
import { ConfigError } from "../../src/services/errors.js";
import { startSuite } from "../../src/services/suite/index.js";
import { failureOf } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "weft-fib-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function suiteWith(store: string) {
  return startSuite(createReactor(), {
    services: { fibonacci: { store, listen: [{ protocol: "line", endpoint: "tcp:0" }] } },
  });
}

/** Asks `count` numbers on one connection. */
function ask(port: number, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => s.write("n\r\n".repeat(count)));
    let buf = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      buf += d;
      const got = buf.split("\r\n").slice(0, -1);
      if (got.length >= count) {
        s.destroy();
        resolve(got);
      }
    });
    s.on("error", reject);
  });
}

describe("fibonacci's store setting", () => {
  it("keeps the sequence in an SQLite file across suites", async () => {
    const url = `sqlite:${join(dir, "fib.db")}`;
    const first = await suiteWith(url);
    expect(await ask(first.frontEnds[0]?.address.port ?? 0, 4)).toEqual(["2", "3", "5", "8"]);
    await first.stop();
    const second = await suiteWith(url);
    expect(await ask(second.frontEnds[0]?.address.port ?? 0, 2)).toEqual(["13", "21"]);
    await second.stop();
  });

  it("refuses to start on a database it cannot use", async () => {
    const bad = await failureOf(suiteWith("mysql://nowhere/x"));
    expect(bad).toBeInstanceOf(ConfigError);
    expect(bad.message).toContain("config.services.fibonacci");
    const unreachable = await failureOf(suiteWith("postgres://weft@localhost/x?host=/nonexistent"));
    expect(unreachable).toBeInstanceOf(ConfigError);
    expect(unreachable.message).toMatch(/Cannot connect to PostgreSQL/);
  });
});
