/**
 * The rolling log file in-process: rolled by time (a short period here), opened again on the same
 * base path (a restart), every line written exactly once across the files, a folder that cannot be
 * made refused before anything is served,
 * and the option checks `weft serve` applies before pino-roll sees the values.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkLogFileOptions, rollingFileLog } from "../../src/cli/serve/log-file.js";

let dir = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-log-roll-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const numbered = (folder: string) =>
  readdirSync(folder)
    .filter((f) => /^weft\.\d+\.log$/.test(f))
    .sort((a, b) => Number(a.split(".")[1]) - Number(b.split(".")[1]));

describe("rolling log file", () => {
  it("rolls by time and across a restart loses and repeats no line", async () => {
    const folder = join(dir, "by-time");
    const options = { file: join(folder, "weft.log"), maxSize: "10m", rotate: "150", keep: 100 };
    let n = 0;
    for (let run = 0; run < 2; run++) {
      const log = await rollingFileLog("info", options);
      for (let i = 0; i < 8; i++) {
        log.logger.info({ n: n++ }, "tick");
        await new Promise((r) => setTimeout(r, 60));
      }
      await log.close();
    }
    const files = numbered(folder);
    expect(files.length).toBeGreaterThanOrEqual(4);
    const seen = files.flatMap((f) =>
      readFileSync(join(folder, f), "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => (JSON.parse(l) as { n: number }).n),
    );
    // pino-roll appends a restart's lines to the numbered files of the current period: the order
    // across files is not the writing order, but every line is there once.
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it("refuses sizes, periods and counts pino-roll would misread", () => {
    const ok = { file: "x.log", maxSize: "10m", rotate: "daily", keep: 3 };
    expect(checkLogFileOptions(ok)).toBeNull();
    expect(checkLogFileOptions({ ...ok, maxSize: "500K" })).toBeNull();
    expect(checkLogFileOptions({ ...ok, rotate: "60000" })).toBeNull();
    expect(checkLogFileOptions({ ...ok, maxSize: "ten" })).toMatch(/--log-max-size/);
    expect(checkLogFileOptions({ ...ok, rotate: "weekly" })).toMatch(/--log-rotate/);
    expect(checkLogFileOptions({ ...ok, keep: -1 })).toMatch(/--log-keep/);
  });

  it("a folder that cannot be created is a typed error naming the file", async () => {
    // A folder under a regular file: ENOTDIR, for root too.
    const file = join(dir, "a-file", "logs", "weft.log");
    writeFileSync(join(dir, "a-file"), "");
    await expect(
      rollingFileLog("info", { file, maxSize: "1m", rotate: "never", keep: 0 }),
    ).rejects.toMatchObject({ code: "ERR_LOG_FILE", message: expect.stringContaining(file) });
  });
});
