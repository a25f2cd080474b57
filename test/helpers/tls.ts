/** A throwaway self-signed certificate for TLS tests on loopback (made with openssl). */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Where {@link selfSignedCertificate} wrote its files (remove `dir` when done). */
export interface TestCertificate {
  /** The temporary folder holding everything (also usable for Unix sockets). */
  dir: string;
  /** A folder holding only the certificate: a `caCertsDir` that trusts it. */
  certDir: string;
  certFile: string;
  keyFile: string;
}

/**
 * A key and a self-signed certificate for `localhost` and 127.0.0.1, valid one day, in a new
 * temporary folder named after `prefix`.
 */
export function selfSignedCertificate(prefix: string): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const certDir = join(dir, "ca");
  mkdirSync(certDir);
  const certFile = join(certDir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"],
      ...["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
      ...["-keyout", keyFile, "-out", certFile],
    ],
    { stdio: "ignore" },
  );
  return { dir, certDir, certFile, keyFile };
}
