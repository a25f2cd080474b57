import type { Producer } from "../../src/core/interfaces.js";
import { Protocol } from "../../src/core/protocol.js";
import type { SocketTransport } from "../../src/core/transport.js";

/** What a {@link streamer} protocol observed while sending. */
export interface StreamerStats {
  /** Largest `bufferSize` seen right after a write. */
  maxBuffered: number;
  /** How many times the transport paused the producer. */
  pauses: number;
}

/**
 * A protocol class that registers itself as a streaming producer and writes `chunk` until `total`
 * bytes are sent, then unregisters and closes. `onPause(sent)` runs on every pause, after
 * `stats.pauses` is counted.
 */
export function streamer(
  total: number,
  chunk: Uint8Array,
  onPause?: (sent: number) => void,
): { Streamer: new () => Protocol; stats: StreamerStats } {
  const stats: StreamerStats = { maxBuffered: 0, pauses: 0 };
  class Streamer extends Protocol implements Producer {
    sent = 0;
    isPaused = false;
    override connectionMade(): void {
      this.transport.registerProducer(this, true);
      this.resumeProducing();
    }
    pauseProducing(): void {
      this.isPaused = true;
      stats.pauses += 1;
      onPause?.(this.sent);
    }
    resumeProducing(): void {
      this.isPaused = false;
      const t = this.transport as SocketTransport;
      while (!this.isPaused && this.sent < total) {
        t.write(chunk);
        this.sent += chunk.length;
        stats.maxBuffered = Math.max(stats.maxBuffered, t.bufferSize);
      }
      if (this.sent >= total && !this.isPaused) {
        t.unregisterProducer();
        t.loseConnection();
      }
    }
    stopProducing(): void {}
  }
  return { Streamer, stats };
}
