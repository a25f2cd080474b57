/**
 * A client endpoint that talks to a child process as if it were a socket (Twisted's
 * `ProcessEndpoint`): the protocol's `write` goes to the child's stdin, the child's stdout comes to
 * `dataReceived`, its stderr is logged (or dropped), and the process's end is the connection's end
 * (`ConnectionDone` after exit code 0, `ConnectionLost` otherwise, with the ProcessTerminated or
 * ProcessSpawnError as `cause`). `loseConnection` closes the pipes; `abortConnection` kills it.
 *
 * Description string: `process:EXECUTABLE[:ARG…][:path=DIR][:errFlag=log|drop][:inheritEnv=true]`
 * (escape colons inside values as `\:`). As with `spawnProcess`, the environment is empty unless
 * `inheritEnv=true`. argv[0] is the executable.
 */
import { Deferred } from "./deferred.js";
import { ConnectionDone, ConnectionLost } from "./errors.js";
import type { Factory } from "./factory.js";
import type { Address } from "./interfaces.js";
import type { SpawnProcessOptions } from "./process.js";
import type { ProcessReactor } from "./process-output.js";
import { ProcessDone, type ProcessEndReason, ProcessProtocol } from "./process-protocol.js";
import type { Protocol } from "./protocol.js";
import { consoleErrorLogger, type ErrorLogger } from "./transport.js";

const PIPE_ADDRESS: Address = Object.freeze({ type: "PIPE", host: "", port: 0 });

/** Options of a {@link ProcessEndpoint}. */
export interface ProcessEndpointOptions extends Omit<SpawnProcessOptions, "childFDs" | "usePTY"> {
  /** What to do with the child's stderr: log it (default, as Twisted) or drop it. */
  errFlag?: "log" | "drop";
}

/** Drives a stream Protocol from a child process's pipes (Twisted's `_WrapIProtocol`). */
class WrappedProtocol extends ProcessProtocol {
  constructor(
    readonly wrapped: Protocol,
    readonly executable: string,
    readonly errFlag: "log" | "drop",
    readonly logger: ErrorLogger,
  ) {
    super();
  }
  override connectionMade(): void {
    this.wrapped.makeConnection(this.transport);
  }
  override childDataReceived(fd: number, data: Uint8Array): void {
    if (fd === 1) this.wrapped.dataReceived(data);
    else if (fd === 2 && this.errFlag === "log") {
      this.logger(`Process ${this.executable} wrote to stderr:`, Buffer.from(data).toString());
    }
  }
  override processEnded(reason: ProcessEndReason): void {
    this.wrapped.connectionLost(
      reason instanceof ProcessDone
        ? new ConnectionDone()
        : new ConnectionLost(`The process ended: ${reason.message}`, { cause: reason }),
    );
  }
}

/** See the module documentation. */
export class ProcessEndpoint {
  constructor(
    /** The reactor that spawns the process. */
    readonly reactor: ProcessReactor,
    /** The program to run (looked up on `PATH` when it has no slash). */
    readonly executable: string,
    /** Its arguments, without the program name. */
    readonly args: readonly string[] = [],
    /** Environment, working directory, ids and what to do with stderr. */
    readonly options: ProcessEndpointOptions = {},
  ) {}

  /**
   * Starts the process and connects a protocol built by `factory`; fires with it after its
   * `connectionMade`. A process that cannot start still connects, and its protocol then sees
   * `connectionLost` with the ProcessSpawnError as `cause` (as in Twisted). Fails only when the
   * factory refuses (returns null) or throws.
   */
  connect<P extends Protocol>(factory: Factory<P>): Deferred<P> {
    const result = new Deferred<P>();
    let protocol: P | null;
    try {
      protocol = factory.buildProtocol(PIPE_ADDRESS);
    } catch (err) {
      result.errback(err);
      return result;
    }
    if (protocol === null) {
      result.errback(new ConnectionLost("The factory refused the connection."));
      return result;
    }
    const { errFlag, ...spawnOptions } = this.options;
    const logger = this.options.logger ?? consoleErrorLogger;
    const wrapper = new WrappedProtocol(protocol, this.executable, errFlag ?? "log", logger);
    try {
      this.reactor.spawnProcess(
        wrapper,
        this.executable,
        [this.executable, ...this.args],
        spawnOptions,
      );
    } catch (err) {
      result.errback(err);
      return result;
    }
    result.callback(protocol);
    return result;
  }

  /** A description string that `clientFromString` parses back to the same endpoint (`process:…`). */
  describe(): string {
    const esc = (v: string): string =>
      v.replace(/\\/g, "\\\\").replace(/:/g, "\\:").replace(/=/g, "\\=");
    let s = `process:${[this.executable, ...this.args].map(esc).join(":")}`;
    if (this.options.path !== undefined) s += `:path=${esc(this.options.path)}`;
    if (this.options.errFlag !== undefined) s += `:errFlag=${this.options.errFlag}`;
    if (this.options.env === null) s += ":inheritEnv=true";
    return s;
  }
}
