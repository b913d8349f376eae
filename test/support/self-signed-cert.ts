// A throwaway self-signed certificate for 127.0.0.1 (openssl CLI), for tests of HTTPS endpoints.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Whether the openssl CLI is available; TLS tests skip without it. */
export const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Writes key.pem and cert.pem (EC P-256, valid one day, SAN IP:127.0.0.1) into `dir`. */
export function writeSelfSignedCert(dir: string): { keyFile: string; certFile: string } {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1',
    '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  return { keyFile, certFile };
}
