/**
 * Echo client: sends one line to an echo server and prints the line that comes back.
 * Run: `node --import tsx examples/echo-client.ts PORT [HOST] [MESSAGE]`.
 */
import { Deferred } from "../src/core/deferred.js";
import { connectProtocol, TCPClientEndpoint } from "../src/core/endpoints.js";
import { Protocol } from "../src/core/protocol.js";
import { createReactor } from "../src/core/reactor.js";

/** Sends `message` and a newline; `reply` fires with the line echoed back. */
class EchoClient extends Protocol {
  readonly reply = new Deferred<string>();
  private received = "";
  private readonly decoder = new TextDecoder();

  constructor(private readonly message: string) {
    super();
  }

  override connectionMade(): void {
    this.transport.write(`${this.message}\n`);
  }

  override dataReceived(data: Uint8Array): void {
    this.received += this.decoder.decode(data, { stream: true });
    if (this.received.endsWith("\n")) {
      this.reply.callback(this.received.slice(0, -1));
      this.transport.loseConnection();
    }
  }

  override connectionLost(reason: Error): void {
    if (!this.reply.called) this.reply.errback(reason);
  }
}

const [port = "8000", host = "127.0.0.1", message = "hello, weft"] = process.argv.slice(2);
const reactor = createReactor();
const endpoint = new TCPClientEndpoint(reactor, host, Number(port));
const client = await connectProtocol(endpoint, new EchoClient(message));
console.log(await client.reply);
