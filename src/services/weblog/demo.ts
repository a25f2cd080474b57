/**
 * The demo access log `weft serve` tails when no `log` is configured, so `npm start` needs no files:
 * a temporary file that a LoopingCall on the suite's clock appends made-up Combined Log Format hits
 * to. Removed on stop.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LoopingCall } from "../../core/clock.js";
import type { ReactorTime } from "../../core/interfaces.js";
import { formatHit, logTime } from "./parse.js";

const PATHS = ["/", "/index.html", "/about", "/poems/dickinson-hope", "/feed.xml", "/missing"];
const AGENTS = ["Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "Twisted PageGetter"];

/** Options of {@link DemoLog}. */
export interface DemoLogOptions {
  /** The clock hits are appended on. */
  clock: ReactorTime;
  /** Seconds between appends. Default 1. */
  interval?: number;
  /** Hits appended each time. Default 3. */
  hitsPerInterval?: number;
}

/** A temporary access log growing on a clock. */
export class DemoLog {
  /** The log file. */
  readonly path: string;
  readonly #dir: string;
  readonly #loop: LoopingCall;
  readonly #perInterval: number;
  #n = 0;

  constructor(options: DemoLogOptions) {
    this.#dir = mkdtempSync(join(tmpdir(), "weft-weblog-demo-"));
    this.path = join(this.#dir, "access.log");
    writeFileSync(this.path, "");
    this.#perInterval = options.hitsPerInterval ?? 3;
    this.#loop = new LoopingCall(() => this.append(this.#perInterval));
    this.#loop.clock = options.clock;
    this.#loop.start(options.interval ?? 1, false);
  }

  /** Append `count` made-up hits now. */
  append(count: number): void {
    let text = "";
    for (let i = 0; i < count; i++) {
      const n = this.#n++;
      const path = PATHS[n % PATHS.length] as string;
      text += `${formatHit({
        host: `192.0.2.${(n % 254) + 1}`,
        ident: null,
        user: null,
        time: logTime(new Date()),
        request: `GET ${path} HTTP/1.1`,
        status: path === "/missing" ? 404 : 200,
        bytes: 200 + ((n * 7919) % 5000),
        referrer: n % 3 === 0 ? "https://example.org/" : null,
        agent: AGENTS[n % AGENTS.length] as string,
      })}\n`;
    }
    appendFileSync(this.path, text);
  }

  /** Stop appending and remove the file. */
  stop(): void {
    if (this.#loop.running) this.#loop.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
