// Pool URLs: stratum+tcp://host:port only (no TLS transport is implemented, so other schemes are refused).
import { isIP } from 'node:net';
import { hostPort } from '../listen-address.js';

export interface PoolUrl {
  host: string;
  port: number;
  /** Normalised form, used as the pool's name in events and logs. */
  url: string;
}

const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

export function parsePoolUrl(input: string): PoolUrl {
  if (typeof input !== 'string' || input.trim() === '') throw new Error('pool URL is empty');
  const text = input.trim();
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text);
  if (!scheme) throw new Error(`pool URL "${text}" must look like stratum+tcp://host:port`);
  if (scheme[1].toLowerCase() !== 'stratum+tcp') {
    throw new Error(`pool URL "${text}": unsupported scheme "${scheme[1]}" (only stratum+tcp:// is supported)`);
  }
  const rest = text.slice(scheme[0].length).replace(/\/$/, '');
  if (rest.includes('/') || rest.includes('@') || rest.includes('?')) {
    throw new Error(`pool URL "${text}": expected only host:port after the scheme (put the worker in --user)`);
  }
  let host: string;
  let portText: string;
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(rest);
  if (v6) {
    host = v6[1];
    portText = v6[2];
    if (isIP(host) !== 6) throw new Error(`pool URL "${text}": "${host}" is not an IPv6 address`);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon === -1) throw new Error(`pool URL "${text}": missing port (stratum+tcp://host:port)`);
    host = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
    if (host === '') throw new Error(`pool URL "${text}": missing host`);
    if (isIP(host) === 0 && !HOSTNAME.test(host)) throw new Error(`pool URL "${text}": bad host "${host}"`);
  }
  if (!/^\d{1,5}$/.test(portText)) throw new Error(`pool URL "${text}": missing or bad port "${portText}"`);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw new Error(`pool URL "${text}": port ${port} out of range 1-65535`);
  return { host, port, url: `stratum+tcp://${hostPort(host, port)}` };
}
