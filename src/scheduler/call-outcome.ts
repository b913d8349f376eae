// What a failed call tells us about its effect. A 202 only means "queued"; a failure is not always "not done":
// the master answered with an error (it did not take the call), the call never left this process (not
// subscribed, no connection), or the answer was lost (timeout, connection reset after the request went out:
// the master may have taken it). Only the last case needs the master to be asked what happened.
import { MesosCallError } from '../mesos/scheduler-client.js';

export type CallOutcome = 'refused' | 'unknown';

/** Errors raised before a connection exists: the request was never sent. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

export function failedCallOutcome(err: unknown): CallOutcome {
  if (!(err instanceof MesosCallError)) return 'unknown';
  // The master answered (4xx, 5xx, 307): it did not take the call. (A 2xx whose body could not be read was taken.)
  if (err.status !== undefined) return err.status >= 200 && err.status < 300 ? 'unknown' : 'refused';
  const cause = err.cause as NodeJS.ErrnoException | undefined;
  // No cause: refused before sending (not subscribed).
  if (cause === undefined) return 'refused';
  return cause.code !== undefined && NOT_SENT_CODES.has(cause.code) ? 'refused' : 'unknown';
}

/** Whether the master answered and may still hold the call's offers (so they should be given back). */
export function masterAnswered(err: unknown): number | undefined {
  return err instanceof MesosCallError ? err.status : undefined;
}
