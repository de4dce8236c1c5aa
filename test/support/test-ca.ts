/**
 * A throwaway certificate authority and a server certificate for 127.0.0.1, for fakes that
 * must speak HTTPS: @azure/identity (MSAL) refuses a non-https authority, and the Microsoft Graph
 * client only attaches its bearer token to https URLs. The certificates are made with the
 * `openssl` CLI (OpenSSL 3; no dependency needed) in a temporary directory that is removed again,
 * and are valid for one day: nothing long-lived ever exists, and the CA key never leaves memory
 * of this process.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestCertificates {
  /** The CA's certificate (PEM): what clients must trust. */
  caPem: string;
  /** The server certificate (PEM), signed by the CA, for IP 127.0.0.1 and DNS localhost. */
  certPem: string;
  /** The server certificate's private key (PEM, PKCS#8). */
  keyPem: string;
}

let cached: Promise<TestCertificates> | undefined;

/**
 * The CA and server certificate, made once per process (openssl takes ~50 ms a run, and every
 * fake in a test file can share one CA, so one trust call covers them all).
 */
export function makeTestCertificates(): Promise<TestCertificates> {
  cached ??= generate().catch((error: unknown) => {
    cached = undefined; // let a later call try again rather than caching the failure
    throw error;
  });
  return cached;
}

async function generate(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), "scimsync-test-ca-"));
  const file = (name: string) => join(dir, name);
  const openssl = async (...args: string[]) => {
    try {
      await run("openssl", args, { cwd: dir });
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === "ENOENT") throw new Error("makeTestCertificates needs the openssl CLI on PATH");
      throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? String(error)}`);
    }
  };
  try {
    // P-256 keys: generating them is instant, unlike RSA, and Node's TLS accepts them.
    await openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file("ca.key"));
    // A CA certificate needs basicConstraints CA:TRUE and keyCertSign, or OpenSSL (and so Node)
    // won't accept it as the issuer of the server certificate.
    await openssl(
      "req", "-x509", "-new", "-key", file("ca.key"), "-sha256", "-days", "1",
      "-subj", "/CN=scimsync throwaway test CA",
      "-addext", "basicConstraints=critical,CA:TRUE",
      "-addext", "keyUsage=critical,keyCertSign,cRLSign",
      "-out", file("ca.pem"),
    );
    await openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file("server.key"));
    await openssl("req", "-new", "-key", file("server.key"), "-subj", "/CN=127.0.0.1", "-out", file("server.csr"));
    // Node checks the subjectAltName only (the CN is ignored when a SAN is present), so the IP
    // must be an IP entry: https://127.0.0.1:PORT is what the fakes hand out.
    await writeFile(
      file("server.ext"),
      [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "",
      ].join("\n"),
    );
    await openssl(
      "x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"),
      "-CAcreateserial", "-days", "1", "-sha256", "-extfile", file("server.ext"), "-out", file("server.pem"),
    );
    const [caPem, certPem, keyPem] = await Promise.all(
      ["ca.pem", "server.pem", "server.key"].map((name) => readFile(file(name), "utf8")),
    );
    return { caPem: caPem!, certPem: certPem!, keyPem: keyPem! };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const trusted = new Set<string>();

/**
 * Makes this process trust `caPem` for every TLS connection that uses Node's default CA list:
 * `https.request` / `https.globalAgent` and new `https.Agent`s (what @azure/identity's pipeline
 * uses) and global `fetch` / undici (what the Graph client uses). `tls.setDefaultCACertificates`
 * exists since Node 22.19 / 24.5 and replaces the default list, so the bundled roots are kept by
 * passing them along. It affects connections made afterwards only, so call it before the first
 * request (agents with pooled sockets keep the old ones).
 *
 * A spawned process (the CLI under test) does not inherit this: pass the CA in a file named by
 * `NODE_EXTRA_CA_CERTS` in its environment instead (read once at its startup).
 */
export function trustTestCa(caPem: string): void {
  if (trusted.has(caPem)) return;
  const setDefault = (tls as { setDefaultCACertificates?: (certs: string[]) => void }).setDefaultCACertificates;
  if (typeof setDefault !== "function") {
    throw new Error(
      `trustTestCa needs tls.setDefaultCACertificates (Node >= 22.19 / 24.5); this is Node ${process.versions.node}`,
    );
  }
  setDefault([...tls.getCACertificates("default"), caPem]);
  trusted.add(caPem);
}

/**
 * Writes `caPem` to a temporary file for `NODE_EXTRA_CA_CERTS` of a spawned process; returns the
 * path and a cleanup. (Node reads that variable once, at startup, so setting it in
 * `process.env` of the running test process has no effect on it.)
 */
export async function writeCaFile(caPem: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "scimsync-test-ca-"));
  const path = join(dir, "ca.pem");
  await writeFile(path, caPem);
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}
